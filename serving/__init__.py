"""Torch-free serving: any image → MNIST-style 28×28 → onnxruntime → the digit."""

from serving.predictor import DigitResult, ModelError, Predictor
from serving.preprocess import InputError, NoDigitError, to_mnist

__all__ = ["DigitResult", "InputError", "ModelError", "NoDigitError", "Predictor", "to_mnist"]
