"""Accuracy of an ONNX file through onnxruntime, and parity of an ONNX file with PyTorch."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import onnxruntime as ort
import torch

from serving.contract import DIGITS, to_model_input
from serving.session import load_session

session = partial(load_session, threads=0)  # the served session setup, all cores unless told


def onnx_logits(sess: ort.InferenceSession, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """images: uint8 (N, FIELD, FIELD). Returns (N, DIGITS) float32 outputs."""
    name = sess.get_inputs()[0].name
    out = []
    for start in range(0, len(images), batch_size):
        x = to_model_input(images[start : start + batch_size])
        out.append(sess.run([sess.get_outputs()[0].name], {name: x})[0])
    return np.concatenate(out)


@dataclass(frozen=True)
class Accuracy:
    overall: float
    per_class: list[float]
    errors: int
    count: int

    def as_dict(self) -> dict:
        return {"overall": round(self.overall, 6), "errors": self.errors, "count": self.count,
                "per_class": {str(d): round(a, 6) for d, a in enumerate(self.per_class)}}


def accuracy(sess: ort.InferenceSession, images: np.ndarray, labels: np.ndarray) -> Accuracy:
    predicted = onnx_logits(sess, images).argmax(1)
    right = predicted == labels
    per_class = [float(right[labels == d].mean()) if (labels == d).any() else float("nan")
                 for d in range(DIGITS)]
    return Accuracy(float(right.mean()), per_class, int((~right).sum()), len(labels))


class ParityError(AssertionError):
    """The ONNX file does not compute what the PyTorch model computes."""


def check_parity(model: torch.nn.Module, sess: ort.InferenceSession, images: np.ndarray,
                 tolerance: float = 1e-4) -> dict:
    """Same argmax on every image and max |diff| ≤ tolerance on the outputs, or ParityError."""
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(to_model_input(images)))
    expected = (expected[0] if isinstance(expected, tuple) else expected).numpy()
    actual = onnx_logits(sess, images)
    max_abs_diff = float(np.abs(expected - actual).max())
    argmax_mismatches = int((expected.argmax(1) != actual.argmax(1)).sum())
    result = {"images": len(images), "max_abs_diff": max_abs_diff,
              "argmax_mismatches": argmax_mismatches, "tolerance": tolerance}
    if argmax_mismatches or max_abs_diff > tolerance:
        raise ParityError(f"ONNX output differs from PyTorch: {result}")
    return result
