"""app/inputs.py: each input kind becomes what serving reads, or a clear InputError."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app.inputs import base64_bytes, pad_png, read_input, read_upload, sketch_image
from serving import InputError, NoDigitError


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_pad_png():
    data = png(Image.new("RGBA", (4, 4)))
    assert pad_png("data:image/png;base64," + base64.b64encode(data).decode()) == data
    assert pad_png(None) is None and pad_png("") is None
    for value, why in (
        ("data:image/jpeg;base64,AAAA", "PNG data URL"),
        (42, "PNG data URL"),
        ("data:image/png;base64,%%%", "not valid base64"),
        ("data:image/png;base64," + "A" * 5_000_000, "larger than a drawing pad makes"),
    ):
        with pytest.raises(InputError, match=why):
            pad_png(value)


def test_sketch_strokes_become_ink_on_a_transparent_field():
    layer = np.zeros((20, 30, 4), np.uint8)
    layer[5:15, 10:12] = (200, 30, 30, 255)  # a red stroke: the colour does not matter, the alpha does
    image = sketch_image(
        {"background": np.full((20, 30, 4), 51, np.uint8), "layers": [layer], "composite": None}
    )
    rgba = np.asarray(image)
    assert image.mode == "RGBA" and (rgba[..., 3] == layer[..., 3]).all() and (rgba[..., :3] == 255).all()


def test_a_sketch_without_strokes_is_its_composite_or_an_empty_sketch():
    composite = np.full((8, 8, 3), 255, np.uint8)
    assert sketch_image({"background": None, "layers": [], "composite": composite}) is composite
    with pytest.raises(NoDigitError, match="the sketch is empty"):
        sketch_image({"background": None, "layers": [None], "composite": None})


def test_read_upload_tries_a_file_being_written_again(tmp_path):
    path = tmp_path / "up.png"
    path.write_bytes(b"half")
    calls = []

    def read(data: bytes) -> bytes:
        calls.append(data)
        if len(calls) == 1:
            path.write_bytes(b"whole")  # the other request finished writing the shared file
            raise InputError("the image is truncated")
        return data

    assert read_upload(read, path) == b"whole" and len(calls) == 2


def test_read_upload_gives_up_and_never_retries_a_blank_image(tmp_path):
    path = tmp_path / "up.png"
    path.write_bytes(b"x")
    calls = []

    def blank(data: bytes):
        calls.append(data)
        raise NoDigitError("no digit found: the image is blank")

    with pytest.raises(NoDigitError):
        read_upload(blank, path)
    assert len(calls) == 1
    with pytest.raises(InputError, match="could not be read: send it again"):
        read_upload(len, tmp_path / "gone.png")


def test_read_input_dispatches_every_kind(tmp_path):
    data = png(Image.new("L", (4, 4)))
    (tmp_path / "a.png").write_bytes(data)
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert read_input("pad", url, len) == len(data) and read_input(
        "upload", str(tmp_path / "a.png"), len
    ) == len(data)
    assert read_input("pad", None, len) is None and read_input("pad", "", len) is None
    with pytest.raises(ValueError, match="unknown input kind"):
        read_input("fax", b"", len)


def test_base64_bytes():
    data = bytes(range(200))
    text = base64.b64encode(data).decode()
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert (
        base64_bytes(text) == base64_bytes(wrapped) == base64_bytes("data:image/png;base64," + text) == data
    )
    with pytest.raises(ValueError, match="not valid base64"):
        base64_bytes("!!!")
