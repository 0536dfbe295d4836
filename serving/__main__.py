"""python -m serving [--number] FILE [FILE...]: one JSON line per file (a stable contract).

    {"file": "7.png", "digit": 7, "confidence": 0.998, "probabilities": [10 floats]}
    {"file": "x.txt", "digit": null, "error": "not an image that can be read: ..."}
    --explain adds "heatmap" (28×28 floats in 0–1, where the model found the digit) and "seen"
    (28×28 integers 0–255, the image the model saw) to each digit's line.
    --number:
    {"file": "n.png", "number": "2026", "confidence": 0.97,
     "digits": [{"digit": 2, "confidence": 0.99, "box": [...]}, ...]}
    {"file": "x.txt", "number": null, "error": "..."}

Exit status 0 when every file got an answer, 1 otherwise, 2 when the model can't be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from serving.numbers import read_number
from serving.predictor import DEFAULT_MODEL, ModelError, Predictor, guarded
from serving.records import digit_record, number_record


def positive_int(text: str) -> int:
    """argparse type: a whole number ≥ 1 (a batch of 0 or -1 images would answer nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--number", action="store_true",
                   help="read each image as a whole number (several digits on one line)")
    p.add_argument("--explain", action="store_true",
                   help='add "heatmap" (where the model looked) and "seen" (its 28×28 input) to each line')
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="ONNX model (e.g. the INT8 one)")
    p.add_argument("--threads", type=positive_int, default=1, help="onnxruntime intra-op threads")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the sha256 check against the model card")
    p.add_argument("--batch-size", type=positive_int, default=64, help="images per model call (≥ 1)")
    return p.parse_args(argv)


def digit_lines(predictor: Predictor, files: list[str], batch_size: int, explain: bool = False):
    for start in range(0, len(files), batch_size):
        names = files[start : start + batch_size]
        for name, result in zip(names, predictor.predict_batch(names, explain=explain), strict=True):
            yield digit_record(name, result)


def number_lines(predictor: Predictor, files: list[str]):
    for name in files:  # a file that fails in any way gets its error line; the next one is read
        yield number_record(name, guarded(lambda source: read_number(predictor, source), name))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        predictor = Predictor(args.model, threads=args.threads, verify=not args.no_verify)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    lines = (number_lines(predictor, args.files) if args.number
             else digit_lines(predictor, args.files, args.batch_size, args.explain))
    key = "number" if args.number else "digit"
    all_ok = True
    for line in lines:
        all_ok &= line[key] is not None
        print(json.dumps(line), flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
