"""Page digits to learn from: python -m bench.page_digits --count 2000 --out runs/page_digits.npz

bench.pages' photographed pages, written with MNIST *training* digits (never the test set the
benchmark reads), read by the page reader; each digit of a number read with as many digits as were
written is kept as the digit model saw it (its 28×28 input), labelled with the digit written there.
The file has the corrections export's form, a share held out for the export gate, so the digit model
is fine-tuned on it as on corrections: python -m training.train --init ... --extra FILE
(docs/model.md, "Fine-tuned on page digits"). With --numbers-out, the strips the number model read
of those numbers are kept too, with the numbers written, for training.train_numbers --extra.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from bench.pages import page
from serving import ModelError, Reader
from training.corrections import HOLDOUT, counts_table, held_out
from training.data import DataError, load_mnist

FIRST_SEED = 101  # the benchmark's pages use seeds 0 and up; these pages are others

_reader: Reader | None = None
_digits: dict[str, list[np.ndarray]] = {}


def start_worker() -> None:
    global _reader, _digits
    _reader = Reader()
    data = load_mnist()
    _digits = {str(d): list(data.train_images[data.train_labels == d]) for d in range(10)}


@dataclass
class Learnt:
    """What one page gives: digit inputs with the digits written and read there, and the number
    model's strips with the numbers written and read there."""

    inputs: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    read: list[int] = field(default_factory=list)
    strips: list[np.ndarray] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    numbers_read: list[str] = field(default_factory=list)


def shape_of(number: str) -> str:
    """A number with its digits as "d": "-3.25" → "-d.dd"."""
    return "".join("d" if c.isdigit() else c for c in number)


def page_digits(index: int, seed: int) -> Learnt:
    """The digit inputs of one page read as written (its numbers as many, each with as many digits),
    their labels and what the reader made of them; and the strips of those numbers read with their
    sign and point where written (so the strip holds what the label says), with the numbers."""
    made = page(index, seed, _digits)
    numbers = _reader.read_page(made.jpeg).numbers
    kept = Learnt()
    if len(numbers) != len(made.numbers):
        return kept
    for number, written in zip(numbers, made.numbers, strict=True):
        digits = [c for c in number.characters if c.char.isdigit()]
        truth = [int(c) for c in written if c.isdigit()]
        if len(digits) != len(truth) or any(c.model_input is None for c in digits):
            continue
        kept.inputs += [to_uint8(c.model_input) for c in digits]
        kept.labels += truth
        kept.read += [int(c.char) for c in digits]
        if number.strip is not None and shape_of(number.number) == shape_of(written):
            kept.strips.append(to_uint8(number.strip))
            kept.numbers.append(written)
            kept.numbers_read.append(number.number)
    return kept


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def save_numbers(pages: list[Learnt], out: Path, share: float) -> None:
    """The strips side by side (all STRIP_HEIGHT rows tall) with each one's width, the numbers
    written and read, and a share held out by each strip's hash, as the digits are."""
    strips = [x for kept in pages for x in kept.strips]
    np.savez_compressed(out, columns=np.concatenate(strips, axis=1),
                        widths=np.array([x.shape[1] for x in strips], np.int64),
                        numbers=np.array([n for kept in pages for n in kept.numbers]),
                        read=np.array([n for kept in pages for n in kept.numbers_read]),
                        holdout=np.array([held_out(x.tobytes(), share) for x in strips], bool))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000, help="pages to write and read")
    p.add_argument("--seed", type=int, default=FIRST_SEED)
    p.add_argument("--jobs", type=int, default=2, help="processes reading pages side by side")
    p.add_argument("--holdout", type=float, default=HOLDOUT, help="share held out for the export gate")
    p.add_argument("--out", type=Path, default=Path("runs/page_digits.npz"))
    p.add_argument("--numbers-out", type=Path,
                   help="also write the number model's strips of the numbers read here (page_numbers.npz)")
    args = p.parse_args(argv)
    try:
        start_worker()  # fails here, once, when the models or MNIST are missing
    except (ModelError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tasks = [(i, args.seed) for i in range(args.count)]
    if args.jobs > 1:
        with Pool(args.jobs, initializer=start_worker) as pool:
            pages = pool.starmap(page_digits, tasks, chunksize=8)
    else:
        pages = [page_digits(*task) for task in tasks]
    strips = sum(len(k.strips) for k in pages)
    if not any(k.inputs for k in pages) or (args.numbers_out is not None and not strips):
        print(f"error: none of the {args.count} pages was read number for number, so there is nothing "
              "to learn from: write more pages (--count)", file=sys.stderr)
        return 1
    images = np.stack([x for kept in pages for x in kept.inputs])
    labels = np.array([y for kept in pages for y in kept.labels], np.int64)
    arrays = {"images": images, "labels": labels,
              "predicted": np.array([r for kept in pages for r in kept.read], np.int64),
              "holdout": np.array([held_out(x.tobytes(), args.holdout) for x in images], bool)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    wrong = int((arrays["predicted"] != labels).sum())
    kept = sum(1 for k in pages if k.inputs)
    print(f"{args.count} pages (seed {args.seed}, MNIST training digits), {kept} with digits kept: "
          f"{len(labels):,} digits, {wrong} read wrong today → {args.out}")
    print(counts_table(labels, arrays["holdout"]))
    if args.numbers_out is not None:
        args.numbers_out.parent.mkdir(parents=True, exist_ok=True)
        save_numbers(pages, args.numbers_out, args.holdout)
        wrong = sum(a != b for k in pages for a, b in zip(k.numbers, k.numbers_read, strict=True))
        print(f"{strips:,} number strips, {wrong} read wrong today → {args.numbers_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
