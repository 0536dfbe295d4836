"""The CNN: five 3×3 conv layers with batch norm, global average pooling, one linear layer.

About 140k parameters and 22M multiply-adds per image: chosen from measurements on this 2-core
CPU (see README, "Choosing the model"), where it reaches ≥ 99.6% within the time budget while
wider nets cost more time than they gain. Input normalization is part of the graph, so the
exported ONNX model takes raw [0, 1] floats, white digit on black, shape (N, 1, 28, 28).
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw [0, 1] pixels in, logits out."""
        x = (x - MNIST_MEAN) / MNIST_STD
        return self.classifier(self.features(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
