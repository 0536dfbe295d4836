"""Reading whole numbers made of MNIST test digits, separated and touching.

Set 1: numbers of 2 to 6 digits on one line, gaps from wide to nearly touching (ink boxes never
overlap). Set 2: the same digits set close, one row per CLOSE_GAPS, where digits form one region
of ink the reader must read as several (the sequence model, serving.sequence). The "model
ceiling" column is the share of numbers whose every digit the model reads right from the original
28×28. What the columns mean and the full run: docs/numbers.md ("What it reads").
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from PIL import Image

from bench.common import made_images_parser, md_table
from serving.card import ModelError
from serving.decode import InputError
from serving.numbers import Box
from serving.reader import Reader
from serving.sequence import DEFAULT_NUMBER_MODEL
from training.data import load_mnist

INK_LEVEL = 90  # MNIST pixel value (of 255) taken as ink when recording where a digit was pasted


@dataclass(frozen=True)
class MadeNumber:
    image: Image.Image
    digits: list[int]
    boxes: list[Box]  # where each digit's ink (MNIST value ≥ INK_LEVEL) lies in the image
    indices: list[int]  # the MNIST test indices used
    gaps: list[int]  # pixels between neighbouring digits' pasted patches (negative: overlap)
    dark_ink: bool  # black on white (True) or white on black (False)


def digit_patch(image28: np.ndarray, scale: float) -> np.ndarray:
    """An MNIST digit cropped to its ink and enlarged `scale` times (bilinear), uint8."""
    rows, cols = np.nonzero(image28)
    crop = image28[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BILINEAR))


def make_number(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, length: int | None = None,
                gap_range: tuple[float, float] | None = None, dark_ink: bool | None = None,
                gap_px: int | None = None) -> MadeNumber:
    """One number of MNIST digits written on a line, a little jittered, either polarity, light noise.

    gap_range is (low, high) as a share of the digit height (20 MNIST pixels × scale), negative to
    overlap; None: log-uniform from 1 px to 0.6. gap_px sets every gap to that many pixels instead.
    """
    n = int(length if length is not None else rng.integers(2, 7))
    indices = [int(i) for i in rng.integers(0, len(images), n)]
    scale = float(rng.uniform(2.5, 5.0))
    height = 20 * scale
    patches = [digit_patch(images[i], scale * float(rng.uniform(0.85, 1.15))) for i in indices]
    gaps = []
    for left, right in zip(patches[:-1], patches[1:], strict=True):
        if gap_px is not None:
            gaps.append(gap_px)
            continue
        if gap_range is None:
            gap = float(np.exp(rng.uniform(np.log(1.0), np.log(0.6 * height))))
        else:
            share = float(rng.uniform(*gap_range))
            # Overlap is bounded by the narrower digit, so a "1" is not swallowed whole.
            narrow = min(left.shape[1], right.shape[1])
            gap = share * height if share >= 0 else max(share * height, -0.6 * narrow)
        gaps.append(int(np.floor(gap)) if gap >= 1 or gap < 0 else 1)
    margin = int(rng.uniform(0.2, 1.0) * height) + 4
    jitter = [int(rng.uniform(-0.1, 0.1) * height) for _ in patches]
    width = 2 * margin + sum(p.shape[1] for p in patches) + sum(gaps)
    tallest = max(p.shape[0] for p in patches)
    canvas_h = 2 * margin + tallest + 2 * int(0.1 * height) + 2
    canvas = np.zeros((canvas_h, width), np.uint8)
    x = margin
    boxes: list[Box] = []
    for k, (patch, dy) in enumerate(zip(patches, jitter, strict=True)):
        ph, pw = patch.shape
        y = canvas_h // 2 - ph // 2 + dy
        region = canvas[y : y + ph, x : x + pw]
        np.maximum(region, patch, out=region)  # overlapping strokes stay strokes, not brighter
        rows, cols = np.nonzero(patch >= INK_LEVEL)
        boxes.append((x + int(cols.min()), y + int(rows.min()),
                      x + int(cols.max()) + 1, y + int(rows.max()) + 1))
        x += pw + (gaps[k] if k < len(gaps) else 0)
    dark = bool(rng.integers(0, 2)) if dark_ink is None else dark_ink
    if dark:
        paper, ink = rng.uniform(190, 255), rng.uniform(0, 70)
    else:
        paper, ink = rng.uniform(0, 60), rng.uniform(180, 255)
    pixels = paper + (ink - paper) * canvas.astype(np.float64) / 255
    pixels += rng.normal(0, 2.0, pixels.shape)  # light noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return MadeNumber(image, [int(labels[i]) for i in indices], boxes, indices, gaps, dark)


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def score(made: MadeNumber, digits: list[int], boxes: list[Box]) -> dict:
    """Whole-number and per-digit outcome; digits are matched to the truth by box (IoU ≥ 0.5)."""
    truth = "".join(map(str, made.digits))
    read = "".join(map(str, digits))
    correct_digits = 0
    used: set[int] = set()
    for true_box, true_digit in zip(made.boxes, made.digits, strict=True):
        best = max(((iou(true_box, b), k) for k, b in enumerate(boxes) if k not in used), default=(0.0, -1))
        if best[0] >= 0.5:
            used.add(best[1])
            correct_digits += digits[best[1]] == true_digit
    outcome = ("right" if read == truth else "merged (too few digits)" if len(read) < len(truth)
               else "split (too many digits)" if len(read) > len(truth) else "right count, wrong digit(s)")
    segmented = len(boxes) == len(made.boxes) and len(used) == len(made.boxes)
    return {"truth": truth, "read": read, "exact": read == truth, "outcome": outcome,
            "correct_digits": correct_digits, "n_digits": len(truth), "segmented": segmented}


CLOSE_GAPS = (  # Set 2's rows: (name, gap_range as a share of the height, gap_px)
    ("a: 3 px apart", None, 3),
    ("b: touching (0 px)", None, 0),
    ("c: overlap 1/16 height", (-1 / 16, -1 / 16), None),
    ("d: overlap 1/8 height", (-1 / 8, -1 / 8), None),
    ("e: mixed, 1/20 apart to 1/8 overlap", (-1 / 8, 1 / 20), None),
)


def run_set(reader: Reader, images: np.ndarray, labels: np.ndarray, raw_right: np.ndarray,
            count: int, rng: np.random.Generator, gap_range: tuple[float, float] | None,
            gap_px: int | None = None) -> list[dict]:
    rows = []
    for _ in range(count):
        made = make_number(images, labels, rng, gap_range=gap_range, gap_px=gap_px)
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            result = reader.read_number(made.image)
            digits, boxes = [d.digit for d in result.digits], [d.box for d in result.digits]
        except InputError:
            digits, boxes = [], []
        gap = min(made.gaps)
        rows.append({**score(made, digits, boxes), "ms": 1000 * (time.perf_counter() - start),
                     "cpu_ms": 1000 * (time.process_time() - cpu_start), "indices": made.indices,
                     "reachable": bool(raw_right[made.indices].all()), "length": str(len(made.digits)),
                     "polarity": "black on white" if made.dark_ink else "white on black",
                     "closest gap": "≤ 3 px" if gap <= 3 else ("4–10 px" if gap <= 10 else "> 10 px")})
    return rows


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def summary_table(rows: list[dict], key: str) -> str:
    table = []
    for k in sorted({r[key] for r in rows}) + ["all"]:
        rs = [r for r in rows if k in ("all", r[key])]
        table.append([k, len(rs), pct(sum(r["exact"] for r in rs), len(rs)),
                      pct(sum(r["correct_digits"] for r in rs), sum(r["n_digits"] for r in rs)),
                      pct(sum(r["segmented"] for r in rs), len(rs)),
                      pct(sum(r["reachable"] for r in rs), len(rs))])
    return md_table([key, "numbers", "read exactly", "digits right", "segmented right", "model ceiling"],
                    table)


def outcome_table(rows: list[dict]) -> str:
    outcomes = Counter(r["outcome"] for r in rows).most_common()
    return md_table(["outcome", "numbers", "share"], [(k, n, pct(n, len(rows))) for k, n in outcomes])


def print_sets(apart: list[dict], close: list[dict], raw_right: np.ndarray, args: argparse.Namespace) -> None:
    print(f"## Set 1: {args.count} numbers of 2–6 separate MNIST test digits (seed {args.seed}, "
          f"model {args.model})\n")
    print(f"MNIST test accuracy of this model on the raw 28×28: {100 * raw_right.mean():.2f}%; "
          f"median time per number {np.median([r['ms'] for r in apart]):.0f} ms.\n")
    for key in ("polarity", "length", "closest gap"):
        print(summary_table(apart, key) + "\n")
    print(outcome_table(apart) + "\n")
    wrong = [r for r in apart if not r["exact"]][: args.show_errors]
    if wrong:
        print("misread (truth → read, outcome, MNIST test indices):")
        for r in wrong:
            ceiling = "" if r["reachable"] else "; the model misreads a raw digit too"
            print(f"  {r['truth']} → {r['read'] or '(nothing)'}: {r['outcome']}{ceiling}; {r['indices']}")
        print()
    print(f"## Set 2: {args.count} numbers for each gap between neighbouring digits, "
          "from 3 px apart to ink overlapping by 1/8 of the digit height\n")
    print(summary_table(close, "gap") + "\n")
    times = []
    for name, *_ in CLOSE_GAPS:
        six = [r for r in close if r["gap"] == name and r["n_digits"] == 6]
        ms, cpu = [r["ms"] for r in six], [r["cpu_ms"] for r in six]
        times.append([name, f"{np.median(ms):.1f}", f"{np.median(cpu):.1f}", f"{max(ms):.0f}"] if six
                     else [name, "–", "–", "–"])
    print(md_table(["gap", "median ms, 6-digit numbers", "CPU ms", "slowest"], times) + "\n")
    print(outcome_table(close) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = made_images_parser(__doc__, 1000, "numbers in each set")
    p.add_argument("--sequence-model", default=str(DEFAULT_NUMBER_MODEL))
    p.add_argument("--show-errors", type=int, default=10, help="list up to this many misreadings")
    args = p.parse_args(argv)
    try:
        reader = Reader(args.model, args.sequence_model, verify=not args.no_verify)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    mnist = load_mnist()
    images, labels = mnist.test_images, mnist.test_labels
    raw_right = reader.digits.probabilities(images.astype(np.float32) / 255).argmax(axis=1) == labels
    rng = np.random.default_rng(args.seed)  # Set 1, then Set 2
    apart = run_set(reader, images, labels, raw_right, args.count, rng, None)
    close = [{**r, "gap": name} for name, gap_range, gap_px in CLOSE_GAPS
             for r in run_set(reader, images, labels, raw_right, args.count, rng, gap_range, gap_px)]
    print_sets(apart, close, raw_right, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
