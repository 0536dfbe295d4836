"""Any image file, bytes, array or PIL image → a loaded, upright PIL image, or a clear InputError;
and what a batch does with an image that can't be read (its InputError in its place).

A big image's cost is bounded: pixels and decoded bytes are capped before decoding, and it is
decoded reduced (JPEGs by the decoder, others a band of rows at a time, never copied whole into
another mode), keeping its upright size in `info["original_size"]` for boxes in the sender's pixels."""

from __future__ import annotations

import io
import os
import stat
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 50_000_000  # a 12-MP phone photo is far below; 40,000² "bombs" are far above
MAX_DECODED_BYTES = 200 * 2**20  # decoded pixels' memory at most: a 50-MP RGBA PNG (4 bytes a pixel)
DECODE_SIDE = 1024  # big images other than JPEG are reduced down to about this size
JPEG_SIDE = 640  # JPEGs are decoded at reduced scale down to about this size (photos are read at it)
CAMERA_SIDE = 2000  # a JPEG this long on its longer side is a camera's photo
BAND_PIXELS = 4_000_000  # reducing converts this many pixels at a time (16 MB as RGBA)
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}  # else 4
ORIGINAL_SIZE = "original_size"  # image.info key: (width, height) before a reduced decode
TRANSPOSE_FOR_ORIENTATION = {  # EXIF orientation tag (0x0112) → what makes the picture upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image | np.ndarray
# How PIL's decoders fail on data that is not, or not all, an image (UnidentifiedImageError is an
# OSError), by format.
CORRUPT = (OSError, ValueError, SyntaxError, EOFError, struct.error)
StopCheck = Callable[[], bool]
T = TypeVar("T")


class InputError(ValueError):
    """The input can't be read as a picture of a digit; the message says why and what to do."""


class NoDigitError(InputError):
    """The image is readable but holds no ink: blank, uniform or fully transparent."""


class Stopped(Exception):
    """A batch was told to stop (the client that asked has gone)."""


def too_large(what: str) -> InputError:
    return InputError(f"the image is too large ({what}): send a smaller image")


def open_image(source: ImageSource) -> Image.Image:
    """Decodes a path, bytes, file object, PIL image or array into a loaded, upright PIL image (a
    big one reduced: see the module's docstring)."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return array_to_image(source)
    data = read_source(source)
    image = identify(data)
    full_size = image.size
    check_size(image, data)
    try:
        image.load()
        orientation = image.getexif().get(0x0112)  # phone photos are stored sideways
        factor = max(image.size) // DECODE_SIDE
        if factor >= 2:
            image = reduce_in_bands(image, factor)
    except Image.DecompressionBombError:
        raise too_large(f"over {MAX_PIXELS // 1_000_000} megapixels") from None
    except CORRUPT as err:
        raise InputError(f"the image is truncated or corrupt ({err}): send the complete file") from None
    if image.size != full_size:  # reduced here, or by the JPEG decoder
        image.info[ORIGINAL_SIZE] = full_size
    return upright(image, orientation)


def read_source(source: Any) -> bytes:
    """The file's bytes; a path that is not a readable regular file gets a message saying what it is."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = read_path(Path(source))
    else:
        data = source.read()
    if not data:
        raise InputError("the file is empty (0 bytes): send a PNG, JPEG or other image")
    return data


def read_path(path: Path) -> bytes:
    # stat before open: opening a FIFO would wait for a writer, and /dev/zero never ends
    try:
        mode = path.stat().st_mode
        kind = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else None)
        if kind is None:
            return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as err:
        raise InputError(f"can't read {path}: {err.strerror or err}") from None
    raise InputError(f"{path} is {kind}, not an image file: give the path of a PNG, JPEG or other image file")


def identify(data: bytes) -> Image.Image:
    """Image.open (the header only), PNG text chunks left out first: a large compressed one (XMP
    metadata) makes PIL give up on the whole file."""
    if data.startswith(PNG_SIGNATURE) and any(kind in data for kind in PNG_TEXT_CHUNKS):
        data = without_png_text(data)
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InputError("not an image that can be read: send a PNG, JPEG, GIF, BMP, TIFF "
                         "or WebP file") from None
    except Image.DecompressionBombError:
        raise too_large(f"over {MAX_PIXELS // 1_000_000} megapixels") from None
    except CORRUPT as err:
        raise InputError(f"the image could not be read ({err}): is the file complete?") from None


def without_png_text(data: bytes) -> bytes:
    """A PNG's bytes without its text chunks (tEXt, zTXt, iTXt: metadata, never pixels)."""
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if kind not in PNG_TEXT_CHUNKS:
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


def check_size(image: Image.Image, data: bytes) -> None:
    """Refuses, from the header alone, what would cost too much to decode or can't hold pixels."""
    width, height = image.size
    if width == 0 or height == 0:
        raise InputError("the image has no pixels")
    if width * height > MAX_PIXELS:
        raise InputError(f"the image is {width}×{height} = {width * height / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS // 1_000_000}: send a smaller image")
    if image.format == "JPEG":
        check_jpeg_length(image, data)
        # A camera's photo is decoded in grey (a photo of paper is read in grey): no colour conversion.
        grey = image.mode == "RGB" and max(image.size) >= CAMERA_SIDE
        image.draft("L" if grey else image.mode, (JPEG_SIDE, JPEG_SIDE))  # at 1/2, 1/4, 1/8 scale
    cost = image.width * image.height * BYTES_PER_PIXEL.get(image.mode, 4)
    if cost > MAX_DECODED_BYTES:
        raise too_large(f"{image.width}×{image.height} {image.mode} pixels take "
                        f"{cost / 2**20:.0f} MB decoded; the limit is {MAX_DECODED_BYTES // 2**20} MB")


def check_jpeg_length(image: Image.Image, data: bytes) -> None:
    """A JPEG too short to hold the pixels it claims is truncated, even if it ends properly: libjpeg
    fills what is missing with grey and only warns, which PIL ignores. Huffman-coded JPEGs (all but
    the rare arithmetic-coded ones) spend at least one bit on every 8×8 block's DC value."""
    width, height = image.size
    blocks = -(-width // 8) * -(-height // 8)
    if len(data) * 8 < blocks and not is_arithmetic_jpeg(data[: 1 << 16]):
        raise InputError(f"the image is truncated: a {width}×{height} JPEG takes at least "
                         f"{blocks // 8:,} bytes and this file has {len(data):,}: send the complete file")


def is_arithmetic_jpeg(head: bytes) -> bool:
    """Whether the JPEG's frame header (SOFn, found by walking the segments) is arithmetic-coded."""
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        if marker in (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return True
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xDA):
            return False
        pos += 2 + int.from_bytes(head[pos + 2 : pos + 4], "big")
    return False


def reduce_in_bands(image: Image.Image, factor: int) -> Image.Image:
    """Area-averaged 1/factor of `image`, in L, RGB or RGBA, converted a band of rows at a time."""
    top = value_top(image)
    rows = factor * max(1, BAND_PIXELS // (image.width * factor))
    bands = [np.asarray(to_standard_mode(image.crop((0, y, image.width, min(image.height, y + rows))), top)
                        .reduce(factor)) for y in range(0, image.height, rows)]
    return fewest_channels(Image.fromarray(np.concatenate(bands)))


def fewest_channels(image: Image.Image) -> Image.Image:
    """RGBA without transparency → RGB, grey RGB → L: the ink finder then has less to go through."""
    if image.mode == "RGBA" and image.getextrema()[3][0] == 255:
        image = image.convert("RGB")
    if image.mode == "RGB":
        r, g, b = image.split()
        if r.tobytes() == g.tobytes() == b.tobytes():
            return r
    return image


def upright(image: Image.Image, orientation: int | None) -> Image.Image:
    """The picture as the camera saw it (EXIF orientation applied), with its full size kept right."""
    method = TRANSPOSE_FOR_ORIENTATION.get(orientation or 1)
    if method is None:
        return image
    turned = image.transpose(method)  # keeps image.info
    turned.info.pop("exif", None)  # its orientation is applied: nothing may apply it again
    if ORIGINAL_SIZE in turned.info and orientation in (5, 6, 7, 8):  # a quarter turn swaps the sides
        turned.info[ORIGINAL_SIZE] = turned.info[ORIGINAL_SIZE][::-1]
    return turned


def original_size(image: Image.Image) -> tuple[int, int]:
    """The (width, height) of the picture as sent (upright), even when it was decoded reduced."""
    return tuple(image.info.get(ORIGINAL_SIZE, image.size))  # type: ignore[return-value]


def array_to_image(array: np.ndarray) -> Image.Image:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), not {a.shape}")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise too_large(f"{a.shape[1]}×{a.shape[0]} pixels")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        top = 255.0 if a.max(initial=0) > 1 else 1.0
        a = np.clip(a / top * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def value_top(image: Image.Image) -> float:
    """The value that maps to white for 16- and 32-bit grey (I;16*, I, F); 255 for the rest."""
    mode = image.mode
    if mode.startswith("I;16"):
        return 65535.0
    if mode in ("I", "F"):
        top = max(float(image.getextrema()[1]), 1.0)
        return 255.0 if mode == "I" and top <= 255 else top
    return 255.0


def to_standard_mode(image: Image.Image, top: float | None = None) -> Image.Image:
    """Any PIL mode → L, RGB or RGBA, 8 bits a channel. `top`: the white of 16/32-bit grey."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA"):
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        top = value_top(image) if top is None else top
        values = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(values / top * 255, 0, 255).astype(np.uint8))
    if mode in ("P", "PA", "LA", "RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("L" if mode == "1" else "RGB")  # RGB: CMYK, YCbCr, LAB, HSV


def shrink(image: Image.Image, side: int) -> Image.Image:
    """Area-averaged downscale so the longer side is at most `side`."""
    longest = max(image.size)
    if longest <= side:
        return image
    scale = longest / side
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
    return image.resize(size, Image.Resampling.BOX)


def guarded(read: Callable[[ImageSource], Any], source: ImageSource) -> Any:
    """read(source), or the InputError saying why the image can't be read (anything else
    propagates). The error handed back is a fresh one: a caught one's traceback holds the frames
    that hold the decoded image, which nothing would free until the cycle collector ran."""
    try:
        return read(source)
    except InputError as err:
        message, kind = str(err), type(err)
    return kind(message)


def each(read: Callable[[ImageSource], T], sources: Sequence[ImageSource],
         stop: StopCheck | None) -> list[T | InputError]:
    """read(source) for each source in turn, its InputError in its place; Stopped, and the rest not
    read, as soon as `stop` says so."""
    results: list[T | InputError] = []
    for source in sources:
        if stop is not None and stop():
            raise Stopped
        results.append(guarded(read, source))
    return results
