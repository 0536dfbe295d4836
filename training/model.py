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


FIRST_SURE = 0.9  # the first member's answer stands alone when it is at least this sure


class Ensemble(nn.Module):
    """Several nets as one: the mean of their probabilities, given as its logarithm (softmax turns
    it back into those probabilities, so serving code stays the same), and their mean class
    activation maps (N, 10, 7, 7). With global average pooling and one linear layer, a class's
    logit is the mean over the 7×7 cells of its weights times the feature map, so that weighted
    map shows exactly where the evidence for each class lies.

    With `first_sure`, the members after the first run only for a batch that holds an image the
    first is less sure of than that; an image it is sure of keeps the first member's outputs
    alone, whatever its batch. Most images are such clear cases that the others would not
    change the answer, so most cost a third (an If in the ONNX graph: README.md, "The model")."""

    def __init__(self, members: list[DigitNet], first_sure: float | None = FIRST_SURE) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.first_sure = first_sure if len(members) > 1 else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.first_sure is None:
            probabilities, maps = mean_of([member_outputs(member, x) for member in self.members])
        else:
            first, first_maps = member_outputs(self.members[0], x)
            sure = first.amax(1) >= self.first_sure
            probabilities, maps = torch.cond(sure.all(), self.first_alone, self.all_members,
                                             (x, first, first_maps, sure))
        return torch.log(probabilities.clamp_min(1e-30)), maps

    @staticmethod
    def first_alone(x: torch.Tensor, first: torch.Tensor, first_maps: torch.Tensor,
                    sure: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return first.clone(), first_maps.clone()  # a branch may not hand back its inputs

    def all_members(self, x: torch.Tensor, first: torch.Tensor, first_maps: torch.Tensor,
                    sure: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, mean_maps = mean_of([(first, first_maps)]
                                  + [member_outputs(member, x) for member in self.members[1:]])
        return (torch.where(sure[:, None], first, mean),
                torch.where(sure[:, None, None, None], first_maps, mean_maps))


def mean_of(outputs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean of several members' (probabilities, class maps)."""
    return torch.stack([p for p, _ in outputs]).mean(0), torch.stack([m for _, m in outputs]).mean(0)


def member_outputs(member: DigitNet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A member's probabilities (N, 10) and class activation maps (N, 10, 7, 7)."""
    features = member.feature_map(x)
    linear = member.classifier[-1]
    probabilities = torch.softmax(linear(features.mean((2, 3))), dim=1)
    return probabilities, torch.einsum("kc,nchw->nkhw", linear.weight, features)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
