"""The PyTorch model with exactly the weights of the ONNX file being benchmarked.

The training checkpoint is used when it holds those weights; runs/ is not committed (and the
checkpoint moves on while training), so otherwise the model is rebuilt from the fp32 ONNX file's
initializers. Either way its outputs are checked against onnxruntime before any timing.

The dynamo exporter keeps the parameter names (features.0.0.weight, classifier.1.bias, ...) and
folds each BatchNorm into the conv before it: the conv weight is the fused one and the fused bias
is stored as `<conv>.weight_bias`. The rebuilt model keeps its BatchNorm modules (so PyTorch eager
does the work the trained model does) set to the identity plus that bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from training.model import DigitNet

TOLERANCE = 1e-4


class WeightsError(RuntimeError):
    """No PyTorch model with the ONNX file's weights could be made."""


@dataclass
class TorchModel:
    model: DigitNet
    source: str  # where the weights came from, for the report
    max_abs_diff: float  # against onnxruntime fp32 on the parity images
    images: int


def onnx_initializers(path: Path) -> dict[str, np.ndarray]:
    model = onnx.load(str(path))
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def from_onnx(path: Path) -> DigitNet:
    """A DigitNet whose forward pass computes what the fp32 ONNX file computes."""
    inits = onnx_initializers(path)
    if "features.0.0.weight" not in inits:
        raise WeightsError(f"{path} has no initializer features.0.0.weight: not a DigitNet export "
                           f"(initializers: {sorted(inits)[:8]}...)")
    model = DigitNet(width=int(inits["features.0.0.weight"].shape[0])).eval()
    state = model.state_dict()
    loaded: set[str] = set()
    for key in state:
        if key in inits:
            state[key] = torch.from_numpy(inits[key].copy()).reshape(state[key].shape)
            loaded.add(key)
    for name, module in model.named_modules():
        if not isinstance(module, nn.BatchNorm2d):
            continue
        conv = name.rsplit(".", 1)[0] + ".0"  # conv_bn: Sequential(conv, bn, relu)
        fused_bias = inits.get(f"{conv}.weight_bias")
        keys = [f"{name}.{p}" for p in ("weight", "bias", "running_mean", "running_var")]
        if all(k in loaded for k in keys):
            continue  # exported unfused
        if fused_bias is None:
            raise WeightsError(f"{path}: BatchNorm {name} is neither in the file nor folded into {conv}")
        n = fused_bias.shape[0]
        state[f"{name}.weight"] = torch.ones(n)
        state[f"{name}.bias"] = torch.from_numpy(fused_bias.copy())
        state[f"{name}.running_mean"] = torch.zeros(n)
        state[f"{name}.running_var"] = torch.full((n,), 1.0 - module.eps)
        loaded.update(keys + [f"{name}.num_batches_tracked"])
    missing = [k for k in state if k not in loaded and not k.endswith("num_batches_tracked")]
    if missing:
        raise WeightsError(f"{path} lacks weights for {missing}")
    model.load_state_dict(state)
    return model


def from_checkpoint(path: Path) -> DigitNet:
    """The weights the export takes from a checkpoint (export.onnx_export decides which)."""
    from export.onnx_export import load_checkpoint

    return load_checkpoint(path)


def parity_images(count: int = 256, seed: int = 0) -> np.ndarray:
    """Digit-like inputs without needing MNIST: sparse strokes of random intensity."""
    rng = np.random.default_rng(seed)
    x = rng.random((count, 1, 28, 28), dtype=np.float32)
    x[x < 0.7] = 0
    return x


def max_diff(model: nn.Module, onnx_path: Path, images: np.ndarray) -> float:
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    expected = sess.run(None, {sess.get_inputs()[0].name: images})[0]
    with torch.inference_mode():
        actual = model.eval()(torch.from_numpy(images)).numpy()
    return float(np.abs(expected - actual).max())


def torch_model(onnx_path: Path, checkpoint: Path | None) -> TorchModel:
    """The checkpoint if it matches the ONNX file to TOLERANCE, else the ONNX file's weights."""
    images = parity_images()
    notes = []
    if checkpoint is not None and checkpoint.is_file():
        try:
            model = from_checkpoint(checkpoint)
            diff = max_diff(model, onnx_path, images)
        except Exception as err:  # a checkpoint being rewritten by a training run, an old format
            notes.append(f"checkpoint {checkpoint} unreadable ({type(err).__name__})")
        else:
            if diff <= TOLERANCE:
                return TorchModel(model, f"checkpoint {checkpoint}", diff, len(images))
            notes.append(f"checkpoint {checkpoint} differs from the ONNX file by {diff:.2g}")
    elif checkpoint is not None:
        notes.append(f"no checkpoint at {checkpoint}")
    model = from_onnx(onnx_path)
    diff = max_diff(model, onnx_path, images)
    if diff > TOLERANCE:
        raise WeightsError(f"the model rebuilt from {onnx_path} differs from onnxruntime by {diff:.2g}")
    source = f"rebuilt from the initializers of {onnx_path.name}"
    return TorchModel(model, source + (f" ({'; '.join(notes)})" if notes else ""), diff, len(images))
