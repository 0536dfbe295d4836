"""Accuracy on real handwritten digits that are not MNIST, by kind of image.

    python -m bench.realworld [--dir ../shared/realworld-dev] [--model models/digitnet.onnx]

Reads labels.tsv (file, label, ..., kind) and prints a table of accuracy per kind, and the
files it gets wrong.
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
    for row, result in zip(rows, results, strict=False):
        digit = None if isinstance(result, Exception) else result.digit
        out.append({"file": row["file"], "kind": row["kind"], "label": int(row["label"]),
                    "digit": digit, "confidence": None if digit is None else result.confidence,
                    "unsure": digit is None or result.unsure,
                    "error": str(result) if digit is None else None})
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
    caught = sum(r["unsure"] for r in wrong)
    flagged = sum(r["unsure"] for r in right)
    print(f'\n"not sure" note (confidence < {UNSURE_BELOW:.0%}, < {PHOTO_UNSURE_BELOW:.0%} on photos of '
          f"paper): catches {caught} of {len(wrong)} misreads; flags {flagged} of {len(right)} right answers")
    if wrong:
        print("\nwrong:")
        for r in wrong:
            detail = r["error"] or f"read {r['digit']} ({r['confidence']:.2f})"
            print(f"  {r['file']} ({r['kind']}, label {r['label']}): {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
