"""python -m serving FILE [FILE...]: one JSON line per file with its digit (a stable contract).

    {"file": "7.png", "digit": 7, "confidence": 0.998, "probabilities": [10 floats]}
    {"file": "x.txt", "digit": null, "error": "not an image that can be read: ..."}

Exit status 0 when every file got a digit, 1 otherwise, 2 when the model can't be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from serving.predictor import DEFAULT_MODEL, ModelError, Predictor


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="ONNX model (e.g. the INT8 one)")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the sha256 check against the model card")
    p.add_argument("--batch-size", type=int, default=64)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        predictor = Predictor(args.model, threads=args.threads, verify=not args.no_verify)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    all_ok = True
    for start in range(0, len(args.files), args.batch_size):
        names = args.files[start : start + args.batch_size]
        for name, result in zip(names, predictor.predict_batch(names), strict=False):
            if isinstance(result, Exception):
                all_ok = False
                line = {"file": name, "digit": None, "error": str(result)}
            else:
                line = {"file": name, "digit": result.digit,
                        "confidence": round(result.confidence, 6),
                        "probabilities": [round(p, 6) for p in result.probabilities]}
            print(json.dumps(line), flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
