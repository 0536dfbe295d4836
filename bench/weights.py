"""The PyTorch model with exactly the weights of the ONNX file being benchmarked.

runs/ is not committed (and its checkpoints move on while training), so the model is rebuilt
from the fp32 ONNX file's initializers, and its outputs are checked against onnxruntime before
any timing.

The dynamo exporter keeps the parameter names (members.0.features.0.0.weight, ...,
members.0.classifier.1.bias for each member of the ensemble) and folds each BatchNorm into the
conv before it: the conv weight is the fused one and the fused bias is stored as
`<conv>.weight_bias`. The rebuilt model keeps its BatchNorm modules (so PyTorch eager does the
work the trained model does) set to the identity plus that bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from export.onnx_export import all_graphs
from serving.contract import FIELD
from serving.session import load_session
from training.model import FIRST_SURE, DigitNet, Ensemble, current_names

TOLERANCE = 1e-4


class WeightsError(RuntimeError):
    """No PyTorch model with the ONNX file's weights could be made."""


@dataclass
class TorchModel:
    model: Ensemble
    source: str  # where the weights came from, for the report
    max_abs_diff: float  # against onnxruntime fp32 on the parity images
    images: int


def from_onnx(path: Path) -> Ensemble:
    """An Ensemble whose forward pass computes what the fp32 ONNX file computes."""
    graph = onnx.load(str(path)).graph
    # Every weight in the file, the graph's own and those inside an If's branches.
    inits = {i.name: numpy_helper.to_array(i) for g in all_graphs(graph) for i in g.initializer}
    count = len({name.split(".")[1] for name in inits if name.startswith("members.")})
    if count == 0:
        raise WeightsError(f"{path} has no initializers members.N.*: not an ensemble export "
                           f"(initializers: {sorted(inits)[:8]}...)")
    members = [member_from(current_names({k[len(f"members.{i}."):]: v for k, v in inits.items()
                                          if k.startswith(f"members.{i}.")}), path) for i in range(count)]
    # An If in the graph is the first member's shortcut (training.model.Ensemble).
    shortcut = any(node.op_type == "If" for node in graph.node)
    return Ensemble(members, FIRST_SURE if shortcut else None).eval()


def member_from(inits: dict[str, np.ndarray], path: Path) -> DigitNet:
    model = DigitNet(width=int(inits["body.0.0.weight"].shape[0])).eval()
    state = {key: torch.from_numpy(inits[key].copy()).reshape(value.shape)
             for key, value in model.state_dict().items() if key in inits}
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            conv = name.rsplit(".", 1)[0] + ".0"  # conv_bn: Sequential(conv, bn, relu)
            if f"{conv}.weight_bias" not in inits:
                raise WeightsError(f"{path}: BatchNorm {name} is not folded into {conv}")
            bias = torch.from_numpy(inits[f"{conv}.weight_bias"].copy())
            state.update({f"{name}.weight": torch.ones_like(bias), f"{name}.bias": bias,
                          f"{name}.running_mean": torch.zeros_like(bias),
                          f"{name}.running_var": torch.full_like(bias, 1.0 - module.eps),
                          f"{name}.num_batches_tracked": torch.tensor(0)})
    missing = [key for key in model.state_dict() if key not in state]
    if missing:
        raise WeightsError(f"{path} lacks weights for {missing}")
    model.load_state_dict(state)
    return model


def parity_images(count: int = 256, seed: int = 0) -> np.ndarray:
    """Digit-like inputs without needing MNIST: sparse strokes of random intensity."""
    x = np.random.default_rng(seed).random((count, 1, FIELD, FIELD), dtype=np.float32)
    x[x < 0.7] = 0
    return x


def max_diff(model: nn.Module, onnx_path: Path, images: np.ndarray) -> float:
    sess = load_session(onnx_path, threads=0)
    expected = sess.run(None, {sess.get_inputs()[0].name: images})[0]
    with torch.inference_mode():
        actual = model.eval()(torch.from_numpy(images))[0].numpy()
    return float(np.abs(expected - actual).max())


def torch_model(onnx_path: Path) -> TorchModel:
    """The PyTorch ensemble with the ONNX file's own weights, checked against onnxruntime."""
    images = parity_images()
    model = from_onnx(onnx_path)
    diff = max_diff(model, onnx_path, images)
    if diff > TOLERANCE:
        raise WeightsError(f"the model rebuilt from {onnx_path} differs from onnxruntime by {diff:.2g}")
    return TorchModel(model, f"rebuilt from the initializers of {onnx_path.name}", diff, len(images))
