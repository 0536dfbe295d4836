"""Pages of handwritten numbers, photographed: made here with a fixed seed, read by the page reader.

Each page holds 1–8 numbers of MNIST *test* digits (some signed or with a decimal point) on 1–6
lines, on paper photographed as bench.paper photographs one digit; the truth is the numbers in
reading order. With --peers, RapidOCR and Tesseract read the same pages (an optional extra: never
serving dependencies). Exit status 0 when every accuracy target is met. Results: docs/results.md.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.common import encoded, machine_line, made_images_parser, md_table, time_calls, timed
from bench.paper import mnist_ink, on_paper, photographed, reduced_strokes
from bench.redrawn import FINE
from serving import ModelError, Reader
from training.data import DataError, load_mnist
from training.marks import SHAPES, jittered

PAPERS = ("plain", "ruled", "squared")
INKS = ("blue", "black", "pencil")
PAGE_SIZE = (900, 1200)
HEIGHTS = (40, 85)  # a page's digits, in pixels tall
SMALL_PAGE, SMALL_HEIGHTS = (1800, 2400), (44, 80)  # a whole sheet photographed: writing 2–3% of its height
SMALL_PAGES = 200  # pages read again with small writing
PHONE_PHOTO = (3000, 4000)  # a 12-MP phone photo
MARKED = 300  # pages read again with a mark beside the numbers
SIGNED, DECIMAL = 0.25, 0.3  # shares of numbers with a leading minus, with a decimal point
NUMBER_GAP = (2.0, 5.0)  # between numbers on a line, in digit heights
DIGIT_GAP = (0.08, 0.35)  # between the characters of a number, in digit heights


@dataclass(frozen=True)
class Page:
    jpeg: bytes
    numbers: list[str]  # in reading order: top to bottom, then left to right
    paper: str
    ink: str


def number_text(rng: np.random.Generator) -> str:
    digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, 7))))
    if len(digits) > 1 and rng.random() < DECIMAL:
        k = int(rng.integers(1, len(digits)))
        digits = digits[:k] + "." + digits[k:]
    return ("-" if rng.random() < SIGNED else "") + digits


def mark(kind: str, height: int, pen: float, rng: np.random.Generator) -> np.ndarray:
    """A minus sign (a short bar, a little tilted) or a decimal point (a blob or a short dab), as
    ink coverage in 0–1 (reduced_strokes)."""
    k = FINE
    if kind == "-":
        length = rng.uniform(0.3, 0.6) * height
        tilt = np.tan(np.radians(rng.uniform(-8, 8))) * length
        points = [(0.0, max(tilt, 0.0)), (length, max(-tilt, 0.0))]
    else:
        size = rng.uniform(0.06, 0.14) * height
        points = [(0.0, 0.0)] if rng.random() < 0.6 else [(0.0, size), (size * 0.6, 0.0)]
    pad = pen + 2
    w = int(max(p[0] for p in points) + 2 * pad + 1)
    h = int(max(p[1] for p in points) + 2 * pad + 1)
    scaled = [((x + pad) * k, (y + pad) * k) for x, y in points]
    return reduced_strokes([scaled], (w, h), pen * k * (1.6 if kind == "." else 1.0))


def write_number(text: str, digits: dict[str, list[np.ndarray]], height: int,
                 rng: np.random.Generator) -> np.ndarray:
    """The number's ink coverage: its characters side by side on one baseline."""
    pen = max(2.0, height * rng.uniform(0.06, 0.1))
    glyphs = []
    for ch in text:
        if ch.isdigit():
            pool = digits[ch]
            glyph = mnist_ink(pool[int(rng.integers(len(pool)))], height, rng)
        else:
            glyph = mark(ch, height, pen, rng)
        glyphs.append((ch, glyph))
    gaps = [int(rng.uniform(*DIGIT_GAP) * height) for _ in glyphs]
    width = sum(g.shape[1] for _, g in glyphs) + sum(gaps[:-1])
    out = np.zeros((height + 4, width + 2), np.float32)
    x = 1
    for (ch, glyph), gap in zip(glyphs, gaps, strict=True):
        gh, gw = glyph.shape
        y = {"-": height // 2 - gh // 2, ".": height - gh + 2}.get(ch, (height - gh) // 2)
        y = int(np.clip(y + rng.integers(-2, 3), 0, out.shape[0] - gh))
        region = out[y : y + gh, x : x + gw]
        np.maximum(region, glyph[: region.shape[0], : region.shape[1]], out=region)
        x += gw + gap
    return out


def lay_out(count: int, rng: np.random.Generator) -> list[int]:
    """How many numbers stand on each line (1–3, at most 6 lines)."""
    lines: list[int] = []
    left = count
    while left:
        room = 6 - len(lines)
        take = left if room == 1 else int(rng.integers(max(1, left - 3 * (room - 1)), min(3, left) + 1))
        lines.append(take)
        left -= take
    return lines


def write_page(numbers: list[list[str]], digits: dict[str, list[np.ndarray]], rng: np.random.Generator,
               size: tuple[int, int] = PAGE_SIZE, heights: tuple[int, int] = HEIGHTS) -> np.ndarray:
    """Ink coverage of the page (`size`): each line's numbers left to right, the lines top to bottom."""
    w, h = size
    coverage = np.zeros((h, w), np.float32)
    height = int(rng.integers(*heights))
    pitch = (0.82 * h) / max(len(numbers), 1)
    for row, line in enumerate(numbers):
        inks = [write_number(text, digits, height, rng) for text in line]
        gaps = [int(rng.uniform(*NUMBER_GAP) * height) for _ in inks[1:]]
        total = sum(i.shape[1] for i in inks) + sum(gaps)
        scale = min(1.0, 0.86 * w / total)
        x = int(rng.uniform(0.06, max(0.07, 0.94 - total * scale / w)) * w)
        y = int(0.08 * h + row * pitch + rng.uniform(0, max(1.0, min(pitch - height * 1.3, 0.3 * pitch))))
        for k, ink in enumerate(inks):
            if scale < 1:
                size = (max(1, int(ink.shape[1] * scale)), max(1, int(ink.shape[0] * scale)))
                ink = np.asarray(Image.fromarray(ink, "F").resize(size))
            ih, iw = ink.shape
            region = coverage[y : y + ih, x : x + iw]
            np.maximum(region, ink[: region.shape[0], : region.shape[1]], out=region)
            x += iw + (int(gaps[k] * scale) if k < len(gaps) else 0)
    return coverage


def scribbled(coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """coverage with a mark that is no digit (a scribble, a spiral, hatching, a wave, a dash: the
    not-a-digit check's kinds) drawn on a blank spot, 1–2 digit heights across (reduced_strokes)."""
    k, side = FINE, int(rng.integers(60, 150))
    width, box = side * rng.uniform(0.04, 0.1) * k, 0.8 * k * side
    strokes = [[(0.1 * k * side + box * x, 0.1 * k * side + box * y) for x, y in stroke]
               for stroke in jittered(SHAPES[str(rng.choice(list(SHAPES)))](rng), rng)]
    mark_ink = reduced_strokes(strokes, (side, side), width)
    h, w = coverage.shape
    for _ in range(50):  # a spot clear of the writing by half the mark's side all round
        x, y = int(rng.integers(side, w - 2 * side)), int(rng.integers(side, h - 2 * side))
        if not coverage[y - side // 2 : y + 3 * side // 2, x - side // 2 : x + 3 * side // 2].any():
            out = coverage.copy()
            out[y : y + side, x : x + side] = np.maximum(out[y : y + side, x : x + side], mark_ink)
            return out
    return coverage


def pages(count: int, seed: int, images: np.ndarray, labels: np.ndarray, marked: bool = False,
          small: bool = False) -> list[Page]:
    """`count` pages, papers and inks in turn, their digits drawn from `images` (MNIST test); with
    `marked`, the same pages each with a mark beside the numbers (scribbled); with `small`, written
    small on a bigger photo (SMALL_PAGE)."""
    digits = {str(d): [images[i] for i in np.flatnonzero(labels == d)] for d in range(10)}
    return [page(i, seed, digits, marked, small) for i in range(count)]


def page(i: int, seed: int, digits: dict[str, list[np.ndarray]], marked: bool = False,
         small: bool = False) -> Page:
    """The i-th of `pages` (each page has its own random stream, so it can be made alone)."""
    paper, ink = PAPERS[i % len(PAPERS)], INKS[(i // len(PAPERS)) % len(INKS)]
    rng = np.random.default_rng((seed, i))
    lines = [[number_text(rng) for _ in range(n)] for n in lay_out(int(rng.integers(1, 9)), rng)]
    size, heights = (SMALL_PAGE, SMALL_HEIGHTS) if small else (PAGE_SIZE, HEIGHTS)
    coverage = write_page(lines, digits, rng, size, heights)
    if marked:
        coverage = scribbled(coverage, np.random.default_rng((seed, i, 1)))
    picture, desk = on_paper(coverage, paper, ink, rng)
    jpeg = photographed(picture, desk, rng, tilt=True, writing=coverage)
    return Page(jpeg, [text for line in lines for text in line], paper, ink)


COLUMNS = ["pages", "count", "read exactly", "numbers right"]
NUMBER_TOKEN = re.compile(r"-?\d+(?:\.\d+)?")
TARGET_PAGES, TARGET_EACH = 0.95, 0.90  # pages read exactly: overall, and for every paper and ink


@dataclass(frozen=True)
class Read:
    page: Page
    numbers: list[str]  # what a reader gave, in its reading order
    seconds: float

    @property
    def exact(self) -> bool:
        return self.numbers == self.page.numbers

    @property
    def right(self) -> int:
        """Numbers read right: the longest common subsequence of the truth and the reading."""
        row = [0] * (len(self.numbers) + 1)
        for t in self.page.numbers:
            previous = 0
            for j, r in enumerate(self.numbers):
                previous, row[j + 1] = row[j + 1], previous + 1 if t == r else max(row[j + 1], row[j])
        return row[-1]


def rapidocr() -> Callable[[bytes], list[str]] | None:
    """RapidOCR (PP-OCRv4 on onnxruntime), its numbers in reading order; None when not installed."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    engine = RapidOCR()

    def read(jpeg: bytes) -> list[str]:
        found, _ = engine(jpeg)
        boxes = [(np.array(box), text) for box, text, _ in found or []]
        return in_reading_order([(b[:, 0].min(), b[:, 1].min(), b[:, 0].max(), b[:, 1].max(), t)
                                 for b, t in boxes])

    return read


def tesseract() -> Callable[[bytes], list[str]] | None:
    """Tesseract 5 (digits, "-" and "." only), its numbers in reading order; None when not installed."""
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:  # the package or the tesseract program is missing
        return None

    def read(jpeg: bytes) -> list[str]:
        data = pytesseract.image_to_data(Image.open(io.BytesIO(jpeg)), output_type=pytesseract.Output.DICT,
                                         config="--psm 11 -c tessedit_char_whitelist=0123456789.-")
        words = zip(data["left"], data["top"], data["width"], data["height"], data["text"], strict=True)
        return in_reading_order([(x, y, x + w, y + h, t) for x, y, w, h, t in words if t.strip()])

    return read


def in_reading_order(words: list[tuple[float, float, float, float, str]]) -> list[str]:
    """A peer's words (box, text) as numbers top to bottom, then left to right: words whose middles
    lie within half a word's height of each other are on one line."""
    words = sorted(words, key=lambda w: (w[1] + w[3]) / 2)
    lines: list[list] = []
    for word in words:
        middle, height = (word[1] + word[3]) / 2, word[3] - word[1]
        if lines and abs(middle - lines[-1][0]) <= height / 2:
            lines[-1][1].append(word)
        else:
            lines.append([middle, [word]])
    return [token for _, line in lines for word in sorted(line, key=lambda w: w[0])
            for token in NUMBER_TOKEN.findall(word[4])]


def read_all(read: Callable[[bytes], list[str]], made: list[Page]) -> list[Read]:
    return [Read(page, *timed(partial(read, page.jpeg))) for page in made]


def share_row(name: str, reads: list[Read]) -> list[str]:
    pages = sum(r.exact for r in reads) / len(reads)
    numbers = sum(r.right for r in reads) / max(1, sum(len(r.page.numbers) for r in reads))
    return [name, str(len(reads)), f"{100 * pages:.1f}%", f"{100 * numbers:.1f}%"]


def groups(reads: list[Read]) -> list[tuple[str, list[Read]]]:
    """The pages by paper, ink, how many numbers, and whether they hold a sign or a decimal point."""
    keys: list[tuple[str, Callable[[Page], bool]]] = (
        [(f"paper: {p}", lambda page, p=p: page.paper == p) for p in PAPERS]
        + [(f"ink: {i}", lambda page, i=i: page.ink == i) for i in INKS]
        + [(f"{n} number(s)", lambda page, n=n: len(page.numbers) == n) for n in range(1, 9)]
        + [("with a minus sign", lambda page: any(t.startswith("-") for t in page.numbers)),
           ("with a decimal point", lambda page: any("." in t for t in page.numbers))])
    return [(name, [r for r in reads if keep(r.page)]) for name, keep in keys]


def report(name: str, reads: list[Read]) -> tuple[str, bool]:
    rows = [share_row("all pages", reads)] + [share_row(k, g) for k, g in groups(reads) if g]
    ms = 1000 * float(np.median([r.seconds for r in reads]))
    table = md_table(COLUMNS, rows)
    by_kind = [sum(r.exact for r in g) / len(g) for k, g in groups(reads)
               if g and k.startswith(("paper", "ink"))]
    passed = sum(r.exact for r in reads) / len(reads) >= TARGET_PAGES and min(by_kind) >= TARGET_EACH
    return f"### {name}: {ms:.0f} ms a page (median)\n\n{table}\n", passed


def small_report(reads: list[Read]) -> str:
    """The pages written small on a whole sheet: read exactly and numbers right, overall and by ink."""
    inks = [share_row(k, g) for k, g in groups(reads) if g and k.startswith("ink:")]
    rows = [share_row("all pages", reads), *inks]
    ms = 1000 * float(np.median([r.seconds for r in reads]))
    return (f"The first {len(reads)} pages again, written small on a whole sheet ({SMALL_PAGE[0]}×"
            f"{SMALL_PAGE[1]} photos, digits {SMALL_HEIGHTS[0]}–{SMALL_HEIGHTS[1]} px tall: 2–3% of the "
            f"height): {ms:.0f} ms a page (median)\n\n"
            f"{md_table(COLUMNS, rows)}\n")


def figure(reader: Reader, page: Page, path: Path) -> None:
    """The page as the reader read it: each number boxed, what it read above the box."""
    image = Image.open(io.BytesIO(page.jpeg)).convert("RGB")
    pen, font = ImageDraw.Draw(image), ImageFont.load_default(size=30)
    for number in reader.read_page(page.jpeg).numbers:
        pen.rectangle(number.box, outline=(220, 30, 30), width=4)
        pen.text((number.box[0], number.box[1] - 34), number.number, fill=(220, 30, 30), font=font)
    image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    p = made_images_parser(__doc__, 1000)
    p.add_argument("--peers", action="store_true", help="also read the pages with RapidOCR and Tesseract")
    p.add_argument("--figure", type=Path, default=None,
                   help="also draw the first page of 5 numbers or more, as read, into this PNG")
    args = p.parse_args(argv)
    try:
        reader = Reader(args.model, verify=not args.no_verify)
        data = load_mnist()
    except (ModelError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    made = pages(args.count, args.seed, data.test_images, data.test_labels)

    def ours(jpeg: bytes) -> list[str]:
        return [n.number for n in reader.read_page(jpeg).numbers]

    mine = read_all(ours, made)
    if args.figure:
        figure(reader, next(page for page in made if len(page.numbers) >= 5), args.figure)
    text, passed = report("this project's page reader", mine)
    print(f"{machine_line()}\n{len(made)} pages, seed {args.seed}\n\n{text}")
    enlarged = Image.open(io.BytesIO(made[0].jpeg)).resize(PHONE_PHOTO, Image.Resampling.BICUBIC)
    photo = encoded(enlarged, "JPEG", quality=85)  # as a phone sends it
    photo_ms = 1000 * float(np.median(time_calls(lambda: reader.read_page(photo), 5)[0]))
    print(f"A 12-MP photo of a page ({PHONE_PHOTO[0]}×{PHONE_PHOTO[1]} JPEG, the first page enlarged): "
          f"{photo_ms:.0f} ms (median of 5)\n")
    small = pages(min(args.count, SMALL_PAGES), args.seed, data.test_images, data.test_labels, small=True)
    print(small_report(read_all(ours, small)))
    marked = pages(min(args.count, MARKED), args.seed, data.test_images, data.test_labels, marked=True)
    exact = [sum(r.exact for r in some) for some in (mine[: len(marked)], read_all(ours, marked))]
    print(f"The first {len(marked)} pages again, each with a mark that is no digit drawn on a blank spot "
          f"(scribbled): {100 * exact[1] / len(marked):.1f}% read exactly, against "
          f"{100 * exact[0] / len(marked):.1f}% without the mark\n")
    peers = (("RapidOCR 1.4 (rapidocr-onnxruntime)", rapidocr), ("Tesseract 5 (pytesseract)", tesseract))
    for peer_name, make in peers if args.peers else ():
        peer = make()
        print(report(peer_name, read_all(peer, made))[0] if peer
              else f"{peer_name}: not installed, left out\n")
    print("PASS" if passed else f"FAIL: targets are ≥ {TARGET_PAGES:.0%} of pages read exactly, and ≥ "
          f"{TARGET_EACH:.0%} for every paper and ink")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
