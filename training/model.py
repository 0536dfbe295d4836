"""The CNN: five 3×3 conv layers with batch norm, global average pooling, one linear layer;
and the ensemble of several such nets that is shipped.

About 140k parameters and 22M multiply-adds per image per net. Input normalization is part of
the graph, so the exported ONNX model takes raw [0, 1] floats, white digit on black, shape
(N, 1, 28, 28).
"""

from __future__ import annotations

import torch
from torch import nn

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DigitNet(nn.Module):
    def __init__(self, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn(1, w),
            conv_bn(w, w),
            nn.MaxPool2d(2),  # 14×14
            conv_bn(w, 2 * w),
            conv_bn(2 * w, 2 * w),
            nn.MaxPool2d(2),  # 7×7
            conv_bn(2 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, 10))

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Raw [0, 1] pixels in, the last conv layer's (N, 4w, 7, 7) map out (before pooling)."""
        return self.features[:-2]((x - MNIST_MEAN) / MNIST_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw [0, 1] pixels in, logits out."""
        return self.classifier(self.features[-2:](self.feature_map(x)))


class Ensemble(nn.Module):
    """Several nets as one: the mean of their probabilities, given as its logarithm (softmax turns
    it back into those probabilities, so serving code stays the same), and their mean class
    activation maps (N, 10, 7, 7). With global average pooling and one linear layer, a class's
    logit is the mean over the 7×7 cells of its weights times the feature map, so that weighted
    map shows exactly where the evidence for each class lies."""

    def __init__(self, members: list[DigitNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities, maps = [], []
        for member in self.members:
            features = member.feature_map(x)
            linear = member.classifier[-1]
            logits = linear(features.mean((2, 3)))
            probabilities.append(torch.softmax(logits, dim=1))
            maps.append(torch.einsum("kc,nchw->nkhw", linear.weight, features))
        mean = torch.stack(probabilities).mean(0)
        return torch.log(mean.clamp_min(1e-30)), torch.stack(maps).mean(0)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
