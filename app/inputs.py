"""Every kind of input the app is sent, turned into what serving reads (bytes, a PIL image, an array),
or InputError with a message for the person when it can't be what it claims to be.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from serving.decode import InputError, NoDigitError, open_image

PNG_DATA_URL = "data:image/png;base64,"
MAX_PAD_URL_CHARS = 4 * 1024 * 1024  # a 720×260 drawing is tens of KB; anything near this is not one
UPLOAD_ATTEMPTS = 3  # see upload_bytes
UPLOAD_RETRY_S = 0.05
T = TypeVar("T")


def pad_png(url: str | None) -> bytes | None:
    """The PNG the page's drawing pad sends as a data URL, or None for an empty pad; anything else
    is refused."""
    if not url:
        return None
    if not isinstance(url, str) or not url.startswith(PNG_DATA_URL):
        raise InputError("the drawing did not come as a PNG data URL")
    if len(url) > MAX_PAD_URL_CHARS:
        raise InputError("the drawing is larger than a drawing pad makes")
    try:
        return base64.b64decode(url[len(PNG_DATA_URL):], validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the drawing's PNG data is not valid base64") from None


def sketch_image(value: dict[str, Any]) -> Image.Image | np.ndarray | str:
    """A gr.Sketchpad value (/predict_sketch, /read_number_sketch; any of background, layers and
    composite may be None) → one picture: its layers' strokes, whatever the theme, as white ink whose
    alpha is the stroke (serving reads them by their alpha); without strokes, the composite or the
    background as it came."""
    alphas = [layer_alpha(layer) for layer in value.get("layers") or [] if layer is not None]
    alphas = [a for a in alphas if a.shape == alphas[0].shape] if alphas else []
    if alphas and any(a.any() for a in alphas):
        strokes = Image.fromarray(np.maximum.reduce(alphas))
        white = Image.new("L", strokes.size, 255)
        return Image.merge("RGBA", (white, white, white, strokes))
    for key in ("composite", "background"):
        if value.get(key) is not None:
            return value[key]
    raise NoDigitError("no digit found: the sketch is empty. Draw a digit first.")


def layer_alpha(layer: Any) -> np.ndarray:
    if isinstance(layer, np.ndarray) and layer.ndim == 3 and layer.shape[2] == 4 and layer.dtype == np.uint8:
        return layer[:, :, 3]  # Gradio's numpy layers: skip the round trip through PIL
    return np.asarray(open_image(layer).convert("RGBA"))[:, :, 3]


def read_upload(read: Callable[[bytes], T], path: str | Path) -> T:
    """read(the bytes of a file Gradio stored: an upload, an API client's file, an MCP tool's URL),
    tried again briefly when it fails: Gradio stores uploads under a content hash, so clients sending
    the same file at once share one path, and one may see it while another is still writing it."""
    for attempt in range(UPLOAD_ATTEMPTS - 1):
        try:
            return read(Path(path).read_bytes())
        except NoDigitError:
            raise
        except (InputError, OSError):
            time.sleep(UPLOAD_RETRY_S * (attempt + 1))
    try:
        return read(Path(path).read_bytes())
    except OSError:  # gone from the cache, or unreadable: the client's to resend
        raise InputError("the uploaded file could not be read: send it again") from None


def read_input(kind: str, value: Any, read: Callable[[Any], T]) -> T | None:
    """read(what serving reads of `value`), an input of `kind` ("pad", "sketch" or "upload"); None
    for an empty input (nothing drawn, nothing sent)."""
    if value is None:
        return None
    if kind == "pad":
        png = pad_png(value)
        return None if png is None else read(png)
    if kind == "sketch":
        return read(sketch_image(value))
    if kind == "upload":
        return read_upload(read, value)
    raise ValueError(f"unknown input kind {kind!r}: pad, sketch or upload")


def base64_bytes(text: str) -> bytes:
    """The bytes of a base64 image in a JSON body, plain, wrapped at 76 columns, or as a data: URL (as
    browsers' FileReader and canvas.toDataURL make it); ValueError when it isn't base64."""
    text = text.partition(",")[2] if text.startswith("data:") else text
    for candidate in (text, "".join(text.split())):
        try:
            return base64.b64decode(candidate, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise ValueError("not valid base64")
