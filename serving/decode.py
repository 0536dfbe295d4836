"""Any image file, bytes, array or PIL image → a loaded, upright PIL image, or a clear InputError.

Decoding is where hostile and broken files are met: size limits, truncated or corrupt data,
EXIF rotation, and every PIL mode brought to L, RGB or RGBA.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 50_000_000  # a 12-MP phone photo is far below; 40,000² "bombs" are far above
DECODE_SIDE = 640  # JPEGs are decoded at reduced scale down to about this size (photos are read at it)

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image | np.ndarray | dict


class InputError(ValueError):
    """The input can't be read as a picture of a digit; the message says why and what to do."""


class NoDigitError(InputError):
    """The image is readable but holds no ink: blank, uniform or empty sketch."""


def open_image(source: ImageSource) -> Image.Image:
    """Decodes a path, bytes, file object, PIL image or array into a loaded, upright PIL image."""
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = array_to_image(source)
    else:
        if isinstance(source, (bytes, bytearray)):
            if not source:
                raise InputError("the file is empty (0 bytes): send a PNG, JPEG or other image")
            fp: Any = io.BytesIO(source)
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise InputError(f"no such file: {path}")
            if path.stat().st_size == 0:
                raise InputError("the file is empty (0 bytes): send a PNG, JPEG or other image")
            fp = path
        else:
            fp = source
        try:
            image = Image.open(fp)
        except UnidentifiedImageError:
            raise InputError("not an image that can be read: send a PNG, JPEG, GIF, BMP, TIFF "
                             "or WebP file") from None
        except Image.DecompressionBombError:
            raise InputError(f"the image is too large (over {MAX_PIXELS // 1_000_000} megapixels): "
                             "send a smaller image") from None
        except OSError as err:
            raise InputError(f"the image could not be read ({err}): is the file complete?") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InputError(f"the image is {width}×{height} = {width * height / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS // 1_000_000}: send a smaller image")
    if width == 0 or height == 0:
        raise InputError("the image has no pixels")
    try:
        if image.format == "JPEG":
            image.draft(image.mode, (DECODE_SIDE, DECODE_SIDE))  # decodes at 1/2, 1/4, 1/8 scale
        image.load()
        if 0x0112 in image.getexif():  # EXIF orientation: phone photos are stored sideways
            image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise InputError(f"the image is too large (over {MAX_PIXELS // 1_000_000} megapixels): "
                         "send a smaller image") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise InputError(f"the image is truncated or corrupt ({err}): send the complete file") from None
    return image


def array_to_image(array: np.ndarray) -> Image.Image:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise InputError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), not {a.shape}")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        top = 255.0 if a.max(initial=0) > 1 else 1.0
        a = np.clip(a / top * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def to_standard_mode(image: Image.Image) -> Image.Image:
    """Any PIL mode → L, RGB or RGBA, 8 bits a channel."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA"):
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(values.max(initial=0), 1.0)
        if mode == "I" and top <= 255:
            top = 255.0
        return Image.fromarray(np.clip(values / top * 255, 0, 255).astype(np.uint8))
    if mode in ("1",):
        return image.convert("L")
    if mode in ("P", "PA", "LA", "RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV


def shrink(image: Image.Image, side: int) -> tuple[Image.Image, float]:
    """Area-averaged downscale so the longer side is at most `side`; returns the scale used."""
    longest = max(image.size)
    if longest <= side:
        return image, 1.0
    scale = longest / side
    size = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
    return image.resize(size, Image.Resampling.BOX), scale
