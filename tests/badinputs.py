"""The bad-input corpus: files people (and attackers) send instead of a clean digit picture.

    python tests/badinputs.py [DIR]     # writes the corpus to DIR (default: a temp dir) and lists it

Every case says what must come back: a digit (`digit`: that digit, or ANY for "some digit"), or
an error whose message contains `error`. Everything is built here, small and deterministic
(fixed seeds); the decompression bomb is a real PNG header claiming 40,000×40,000 pixels with a
few bytes of data, so building and refusing it costs no memory.
"""

from __future__ import annotations

import io
import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.make import draw_digits  # noqa: E402

ANY = -1  # "some digit, which one doesn't matter" (e.g. a 1×1 image that still has ink)
OVERSIZE_LIMIT = 2 * 1024 * 1024  # the test server runs with --max-file-size 2mb


@dataclass(frozen=True)
class Case:
    name: str
    file: str  # file name inside the corpus directory
    digit: int | None = None  # expected digit (ANY for any digit); None when an error is expected
    error: str | None = None  # a substring of the expected error message
    oversize: bool = False  # larger than the server's upload limit: refused before any decoding
    make: Callable[[], bytes] = field(default=lambda: b"", compare=False, repr=False)  # the file's bytes

    def check(self, digit: int | None, error: str | None) -> str | None:
        """None when (digit, error) is what this case expects, else what is wrong."""
        if self.error is not None:
            if digit is not None:
                return f"{self.name}: expected an error containing {self.error!r}, got digit {digit}"
            if not error or self.error.lower() not in error.lower():
                return f"{self.name}: expected an error containing {self.error!r}, got {error!r}"
            return None
        if digit is None:
            return f"{self.name}: expected a digit, got error {error!r}"
        if self.digit != ANY and digit != self.digit:
            return f"{self.name}: expected {self.digit}, got {digit}"
        return None


# ---------------------------------------------------------------- builders


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid PNG header claiming width×height 8-bit grey pixels, with a tiny IDAT (a few rows).

    Decoding it fully would need width×height bytes (1.6 GB for 40,000²); a safe decoder refuses it
    from the header alone.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    rows = zlib.compress(b"\x00" + b"\xff" * width, 9)  # one white row; the rest is missing
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", rows)
            + png_chunk(b"IEND", b""))


def digit_image(digit: int, size: tuple[int, int] = (280, 280), ink="black", paper="white",
                pen: int = 22, mode: str = "RGB") -> Image.Image:
    return draw_digits(size, str(digit), ink, paper, pen, mode=mode)


def sixteen_bit(digit: int) -> Image.Image:
    """A 16-bit greyscale scan (I;16): dark ink on light paper, using the full 0..65535 range."""
    grey = np.asarray(digit_image(digit).convert("L"), np.uint16) * 257
    image = Image.fromarray(grey.astype("<u2"))
    assert image.mode == "I;16", image.mode
    return image


def palette_with_transparency(digit: int) -> Image.Image:
    """A GIF-style palette image: transparent paper (index 0), red ink (index 1)."""
    mask = np.asarray(digit_image(digit, ink="white", paper="black").convert("L")) > 127
    image = Image.fromarray(mask.astype(np.uint8), "P")
    image.putpalette([255, 255, 255, 220, 20, 20] + [0, 0, 0] * 254)
    image.info["transparency"] = 0
    return image


def animated_gif(digits: tuple[int, ...]) -> bytes:
    frames = [digit_image(d, size=(140, 140), pen=12).convert("P") for d in digits]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=300, loop=0)
    return buffer.getvalue()


def exif_rotated_jpeg(digit: int) -> bytes:
    """A phone photo stored sideways: pixels rotated, EXIF orientation 6 says "rotate 90° CW"."""
    upright = digit_image(digit, size=(300, 300), pen=24)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # 90° CCW; orientation 6 undoes it
    path = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path.getvalue()


def strip(digit: int) -> Image.Image:
    """A 3,000×200 strip (a scanned line) with one digit in it."""
    image = Image.new("RGB", (3000, 200), "white")
    image.paste(digit_image(digit, size=(180, 180), pen=16), (1400, 10))
    return image


def noisy_scan(digit: int, side: int = 1100, seed: int = 5) -> bytes:
    """A noisy (paper-grain) scan of a digit whose PNG is larger than OVERSIZE_LIMIT.

    Noise doesn't compress, so a readable digit image easily passes 2 MB: this is an ordinary
    file that the server must refuse for its size, and that the CLI (no limit) still reads.
    """
    rng = np.random.default_rng(seed)
    clean = np.asarray(digit_image(digit, size=(side, side), pen=side // 11), np.float32)
    noisy = clean * 0.75 + rng.uniform(0, 64, clean.shape)
    data = png_bytes(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), compress_level=1)
    assert len(data) > OVERSIZE_LIMIT, len(data)
    return data


def png_with_big_text(digit: int) -> bytes:
    """A legal PNG whose compressed text chunk (XMP, as some editors write) unpacks to 3 MB: more
    than PIL keeps of a text chunk (1 MB), which made it refuse the whole file."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", "<x:xmpmeta/>" + " " * 3_000_000, zip=True)
    return png_bytes(digit_image(digit), pnginfo=info)


def jpeg_claiming(side: int = 7000, length: int = 4096) -> bytes:
    """The first `length` bytes of a side×side JPEG, properly ended (EOI): a header that claims
    the pixels, a few rows of data, nothing more. libjpeg fills the rest with grey and only warns."""
    big = Image.new("L", (side, side), 255)
    return jpeg_bytes(big, quality=90)[: length - 2] + b"\xff\xd9"


def big_opaque_rgba(digit: int, side: int = 7000) -> bytes:
    """A 7000×7000 opaque RGBA PNG (49 megapixels, just under the cap) of about 220 KB: decoding
    it the naive way took 2.3 GB and 12 s of CPU (issue #19)."""
    image = Image.new("L", (side, side), 255)
    image.paste(digit_image(digit, size=(side // 2, side // 2), pen=side // 25).convert("L"),
                (side // 4, side // 4))
    return png_bytes(image.convert("RGBA"), compress_level=6)


# ---------------------------------------------------------------- the corpus


def _cases() -> list[Case]:
    rng = np.random.default_rng(0)
    good_png = png_bytes(digit_image(3))
    good_jpeg = jpeg_bytes(digit_image(3), quality=90)
    return [
        Case("empty file", "empty.png", error="empty", make=lambda: b""),
        Case("text renamed .png", "notes.png", error="not an image",
             make=lambda: b"Shopping list:\n- milk\n- eggs\n" * 20),
        Case("truncated PNG", "truncated.png", error="truncated",
             make=lambda: good_png[: len(good_png) // 2]),
        Case("truncated JPEG", "truncated.jpg", error="truncated",
             make=lambda: good_jpeg[: len(good_jpeg) * 2 // 3]),
        Case("random bytes", "random.png", error="not an image", make=lambda: rng.bytes(4096)),
        Case("SVG", "digit.svg", error="not an image",
             make=lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
                          b'<text x="8" y="22" font-size="20">7</text></svg>'),
        Case("HTML", "page.html", error="not an image",
             make=lambda: b"<!doctype html><html><body><h1>7</h1><script>alert(1)</script></body></html>"),
        Case("decompression bomb 40,000x40,000", "bomb.png", error="too large", make=bomb_png),
        Case("1x1 image", "one_pixel.png", error="no digit found",
             make=lambda: png_bytes(Image.new("L", (1, 1), 0))),
        Case("10x10 image", "ten_pixels.png", digit=ANY,
             make=lambda: png_bytes(digit_image(1, size=(10, 10), pen=2))),
        Case("3000x200 strip", "strip.png", digit=7, make=lambda: png_bytes(strip(7))),
        Case("16-bit greyscale (I;16)", "sixteen_bit.png", digit=3, make=lambda: png_bytes(sixteen_bit(3))),
        Case("CMYK JPEG", "cmyk.jpg", digit=3,
             make=lambda: jpeg_bytes(digit_image(3).convert("CMYK"), quality=90)),
        Case("palette with transparency", "palette.png", digit=7,
             make=lambda: png_bytes(palette_with_transparency(7))),
        Case("animated GIF (first frame 2)", "animated.gif", digit=2, make=lambda: animated_gif((2, 5, 8))),
        Case("EXIF-rotated JPEG", "exif_rotated.jpg", digit=7, make=lambda: exif_rotated_jpeg(7)),
        Case("all white", "white.png", error="no digit found",
             make=lambda: png_bytes(Image.new("RGB", (200, 200), "white"))),
        Case("all black", "black.png", error="no digit found",
             make=lambda: png_bytes(Image.new("RGB", (200, 200), "black"))),
        Case("fully transparent", "transparent.png", error="no digit found",
             make=lambda: png_bytes(Image.new("RGBA", (200, 200), (0, 0, 0, 0)))),
        Case("over-size upload (noisy scan > 2 MB)", "oversize.png", digit=4, oversize=True,
             make=lambda: noisy_scan(4)),
        Case("PNG with a 3 MB compressed text chunk", "big_text.png", digit=3,
             make=lambda: png_with_big_text(3)),
        Case("JPEG claiming 7000x7000 in 4 KB", "claims_7000.jpg", error="truncated", make=jpeg_claiming),
        Case("7000x7000 opaque RGBA PNG", "big_rgba.png", digit=7, make=lambda: big_opaque_rgba(7)),
    ]


CASES: list[Case] = _cases()  # what each file is and what must come back; build() writes them


def build(directory: str | Path) -> list[Case]:
    """Writes every bad input into `directory` and returns the cases with their expected outcome."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (d / case.file).write_bytes(case.make())
    return list(CASES)


def main(argv: list[str]) -> None:
    directory = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="badinputs-"))
    for case in build(directory):
        size = (directory / case.file).stat().st_size
        digit = "any" if case.digit == ANY else case.digit
        expect = f"error ~ {case.error!r}" if case.error else f"digit {digit}"
        print(f"{case.file:20} {size:>9,} B  {case.name:40} {expect}")
    print(directory)


if __name__ == "__main__":
    main(sys.argv[1:])
