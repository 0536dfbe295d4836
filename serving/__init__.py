"""Torch-free serving: any image → what the models read → onnxruntime → the answer. Names are
imported on first use, so training and export read `serving.contract` without loading onnxruntime."""

import os
from importlib import import_module

# onnxruntime's official builds keep a telemetry database and device id in the user's cache and
# upload events; only this variable, set before it is first imported, stops all of it (its
# Privacy.md). Every module that loads onnxruntime is inside this package, so this runs first.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

_WHERE = {
    "Reader": "serving.reader", "read_digit": "serving.reader", "read_number": "serving.reader",
    "read_page": "serving.reader", "PageResult": "serving.page",
    "DigitResult": "serving.result", "ModelError": "serving.card", "Predictor": "serving.predictor",
    "Stopped": "serving.decode", "NumberResult": "serving.numbers",
    "InputError": "serving.decode", "NoDigitError": "serving.decode", "to_mnist": "serving.preprocess",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'serving' has no attribute {name!r}")
    return getattr(import_module(_WHERE[name]), name)
