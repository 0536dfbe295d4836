"""Page digits to learn from: python -m bench.page_digits --count 2000 --out runs/page_digits.npz

bench.pages' photographed pages, written with MNIST *training* digits (never the test set the
benchmark reads), read by the page reader; each digit of a number read with as many digits as were
written is kept as the digit model saw it (its 28×28 input), labelled with the digit written there.
The file has the corrections export's form, a share held out for the export gate, so the digit model
is fine-tuned on it as on corrections: python -m training.train --init ... --extra FILE
(docs/model.md, "Fine-tuned on page digits").
"""

from __future__ import annotations

import argparse
import sys
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


def page_digits(index: int, seed: int) -> tuple[list[np.ndarray], list[int], list[int]]:
    """The digit inputs of one page read as written (its numbers as many, each with as many digits),
    their labels and what the reader made of them."""
    made = page(index, seed, _digits)
    numbers = _reader.read_page(made.jpeg).numbers
    inputs, labels, read = [], [], []
    if len(numbers) != len(made.numbers):
        return inputs, labels, read
    for number, written in zip(numbers, made.numbers, strict=True):
        digits = [c for c in number.characters if c.char.isdigit()]
        truth = [int(c) for c in written if c.isdigit()]
        if len(digits) != len(truth) or any(c.model_input is None for c in digits):
            continue
        inputs += [np.round(np.clip(c.model_input, 0, 1) * 255).astype(np.uint8) for c in digits]
        labels += truth
        read += [int(c.char) for c in digits]
    return inputs, labels, read


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000, help="pages to write and read")
    p.add_argument("--seed", type=int, default=FIRST_SEED)
    p.add_argument("--jobs", type=int, default=2, help="processes reading pages side by side")
    p.add_argument("--holdout", type=float, default=HOLDOUT, help="share held out for the export gate")
    p.add_argument("--out", type=Path, default=Path("runs/page_digits.npz"))
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
    images = np.stack([x for inputs, _, _ in pages for x in inputs])
    labels = np.array([y for _, ys, _ in pages for y in ys], np.int64)
    arrays = {"images": images, "labels": labels,
              "predicted": np.array([r for _, _, rs in pages for r in rs], np.int64),
              "holdout": np.array([held_out(x.tobytes(), args.holdout) for x in images], bool)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    kept = sum(1 for inputs, _, _ in pages if inputs)
    wrong = int((arrays["predicted"] != labels).sum())
    print(f"{args.count} pages (seed {args.seed}, MNIST training digits), {kept} with digits kept: "
          f"{len(labels):,} digits, {wrong} read wrong today → {args.out}")
    print(counts_table(labels, arrays["holdout"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
