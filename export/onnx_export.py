"""Checkpoint → one self-contained ONNX file with a dynamic batch, plus metadata."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import onnx
import torch

from serving.predictor import CAM_NAME  # second output: (N, 10, 7, 7) class activation maps
from training.model import DigitNet, Ensemble

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
LABELS = [str(d) for d in range(10)]
INPUT_SPEC = "float32 (N, 1, 28, 28), raw pixels in [0, 1], white digit on black, MNIST-style"


def load_checkpoint(path: Path) -> DigitNet:
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = DigitNet(width=state.get("config", {}).get("width", 32))
    # The moving average of the weights is what training evaluated and reported.
    model.load_state_dict(state.get("ema", state["model"]))
    return model.eval()


def load_ensemble(checkpoints: list[Path]) -> Ensemble:
    return Ensemble([load_checkpoint(path) for path in checkpoints]).eval()


def export_onnx(model: Ensemble, path: Path) -> None:
    """Dynamo export with a named, dynamic batch dimension, weights inside the file."""
    # The exporter warns about every torchvision op it can't register; we use none of them.
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    example = torch.zeros(2, 1, 28, 28)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(
        model,
        (example,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME, CAM_NAME],
        dynamic_shapes={"x": {0: batch}},
        external_data=False,
        dynamo=True,
        verbose=False,
    )
    # Leaves the weights of an earlier export next to this one otherwise.
    Path(str(path) + ".data").unlink(missing_ok=True)
    onnx.checker.check_model(str(path), full_check=True)


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "training", "export"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def write_metadata(path: Path, props: dict[str, object]) -> None:
    """Stores key/value metadata (strings; other values as JSON) in the ONNX file."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(path), save_as_external_data=False)


def opset_of(path: Path) -> int:
    model = onnx.load(str(path), load_external_data=False)
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
