"""The digit CNN (five 3×3 conv layers, global average pooling, one linear layer), the shipped
ensemble of several, and the not-a-digit check. Input normalization is part of the graph, so the
exported models take raw [0, 1] floats, white on black (serving/contract.py).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from serving.contract import DIGITS

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DigitNet(nn.Module):
    """`body`: the conv layers, pixels → the (N, 4w, MAP_SIDE, MAP_SIDE) feature map; `head`: the
    linear layer over that map's average."""

    def __init__(self, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        self.config = {"width": width, "dropout": dropout}  # what a checkpoint saves to rebuild it
        self.body = nn.Sequential(
            conv_bn(1, width),
            conv_bn(width, width),
            nn.MaxPool2d(2),  # FIELD / 2
            conv_bn(width, 2 * width),
            conv_bn(2 * width, 2 * width),
            nn.MaxPool2d(2),  # FIELD / 4 = MAP_SIDE
            conv_bn(2 * width, 4 * width),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(4 * width, DIGITS)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Raw [0, 1] pixels in, the last conv layer's (N, 4w, MAP_SIDE, MAP_SIDE) map out."""
        return self.body((x - MNIST_MEAN) / MNIST_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw [0, 1] pixels in, logits out."""
        return self.head(self.dropout(self.feature_map(x).mean((2, 3))))


# The parts were reached by position before they were named: the shipped models/digitnet.onnx and
# checkpoints trained before then carry those names.
NAMES_BEFORE = ((re.compile(r"(^|\.)features\."), r"\1body."),
                (re.compile(r"(^|\.)classifier\.1\."), r"\1head."))


def current_names(state: dict) -> dict:
    """A DigitNet's (or an Ensemble's) weights by name, any names from before the parts were named
    (features.K, classifier.1) given today's (body.K, head); current names pass unchanged."""
    def renamed(key: str) -> str:
        for before, now in NAMES_BEFORE:
            key = before.sub(now, key, count=1)
        return key

    return {renamed(key): value for key, value in state.items()}


FIRST_SURE = 0.9  # the first member's answer stands alone when it is at least this sure


class Ensemble(nn.Module):
    """Several nets as one: the logarithm of their mean probabilities (softmax gives those back, so
    serving code stays the same) and their mean class activation maps (where each class's evidence lies).

    With `first_sure`, the other members run only for a batch holding an image the first is less
    sure of; an image it is sure of keeps the first member's outputs alone (an If in the ONNX graph)."""

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
    """A member's probabilities (N, DIGITS) and class activation maps (N, DIGITS, MAP_SIDE, MAP_SIDE)."""
    features = member.feature_map(x)
    probabilities = torch.softmax(member.head(features.mean((2, 3))), dim=1)
    return probabilities, torch.einsum("kc,nchw->nkhw", member.head.weight, features)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class MarkNet(nn.Module):
    """The not-a-digit check: the digit model's input in, two logits out (a digit, a mark that is
    none). Small: it tells a digit's shape from a tap or a scribble, not one digit from another."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.config = {"width": width}
        self.body = nn.Sequential(conv_bn(1, width), nn.MaxPool2d(2), conv_bn(width, 2 * width),
                                  nn.MaxPool2d(2), conv_bn(2 * width, 4 * width))
        self.head = nn.Linear(8 * width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Strokes widened first (a 3×3 max): a fine pen's digit and MNIST's thick one then look
        # alike, so the check judges the shape and not the pen.
        widened = nn.functional.max_pool2d(x, 3, stride=1, padding=1)
        features = self.body((widened - MNIST_MEAN) / MNIST_STD)
        return self.head(torch.cat([features.mean((2, 3)), features.amax((2, 3))], 1))
