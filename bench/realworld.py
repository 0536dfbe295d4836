"""Accuracy on real handwritten digits that are not MNIST, by kind of image.

Reads labels.tsv (file, label, ..., kind) in --dir; prints accuracy per kind and the files it gets wrong.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from bench.common import md_table
from serving.paths import DEFAULT_MODEL
from serving.predictor import Predictor
from serving.result import PHOTO_UNSURE_BELOW, UNSURE_BELOW

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "realworld-dev"


def evaluate(folder: Path, predictor: Predictor) -> list[dict]:
    with open(folder / "labels.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    results = predictor.predict_batch([folder / row["file"] for row in rows])
    out = []
    for row, result in zip(rows, results, strict=True):
        failed = isinstance(result, Exception)
        out.append({"file": row["file"], "kind": row["kind"], "label": int(row["label"]),
                    "digit": None if failed else result.digit, "unsure": failed or result.unsure,
                    "detail": str(result) if failed else f"read {result.digit} ({result.confidence:.2f})"})
    return out


def table(results: list[dict]) -> str:
    table = []
    for kind in sorted({r["kind"] for r in results}) + ["all"]:
        rows = [r for r in results if kind in ("all", r["kind"])]
        right = sum(r["digit"] == r["label"] for r in rows)
        table.append([kind, len(rows), right, f"{100 * right / len(rows):.1f}%"])
    return md_table(["kind", "images", "correct", "accuracy"], table)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--no-verify", action="store_true")
    args = p.parse_args(argv)
    if not (args.dir / "labels.tsv").exists():
        print(f"no labels.tsv in {args.dir}: pass --dir with the realworld-dev folder", file=sys.stderr)
        return 2
    results = evaluate(args.dir, Predictor(args.model, verify=not args.no_verify))
    print(table(results))
    wrong = [r for r in results if r["digit"] != r["label"]]
    right = [r for r in results if r["digit"] == r["label"]]
    print(f'\n"not sure" note (confidence < {UNSURE_BELOW:.0%}, < {PHOTO_UNSURE_BELOW:.0%} on photos of '
          f"paper): catches {sum(r['unsure'] for r in wrong)} of {len(wrong)} misreads; "
          f"flags {sum(r['unsure'] for r in right)} of {len(right)} right answers")
    if wrong:
        print("\nwrong:")
        for r in wrong:
            print(f"  {r['file']} ({r['kind']}, label {r['label']}): {r['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
