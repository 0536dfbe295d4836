"""Torch-free serving: any image → MNIST-style 28×28 → onnxruntime → the digit."""

import os

# onnxruntime's official builds keep a telemetry database and device id in the user's cache
# (~/.cache/Microsoft/DeveloperTools) and upload events; only this variable, set before
# onnxruntime is first imported, stops all of it (its Privacy.md). Every process that loads a
# model imports serving first.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

from serving.predictor import DigitResult, ModelError, Predictor  # noqa: E402
from serving.preprocess import InputError, NoDigitError, to_mnist  # noqa: E402

__all__ = ["DigitResult", "InputError", "ModelError", "NoDigitError", "Predictor", "to_mnist"]
