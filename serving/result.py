"""One image's digit as the model read it, and when that reading is only a guess."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from serving.explain import heatmap

UNSURE_BELOW = 0.6  # top probability under which the answer is flagged as a guess
# ... on a photo of paper, where a piece of the digit (a stroke cut at a shadow's edge, a line's
# remains) can look like a clean 1 or 7, and the confidence overstates how often it is right.
PHOTO_UNSURE_BELOW = 0.8


def unsure(confidence: float, photo: bool) -> bool:
    """Whether an answer this confident is flagged as a guess. The photo bar was set on single
    digits, so the digits of a number are judged by the plain one."""
    return confidence < (PHOTO_UNSURE_BELOW if photo else UNSURE_BELOW)


@dataclass(frozen=True)
class DigitResult:
    digit: int
    confidence: float
    probabilities: list[float]
    model_input: np.ndarray = field(repr=False)  # the 28×28 float32 image the model saw
    class_maps: np.ndarray | None = field(default=None, repr=False)  # (10, 7, 7) when explained
    photo: bool = False  # read from a photo of paper (serving.ink.InkMap.photo)
    several: bool = False  # the picture seems to hold more than one digit: this is one of them
    not_digit: bool = False  # the not-a-digit check (predictor.MarkCheck) finds a mark, not a digit

    @property
    def unsure(self) -> bool:
        return self.not_digit or unsure(self.confidence, self.photo)

    @property
    def runner_up(self) -> int:
        return int(np.argsort(self.probabilities)[-2])

    def heatmap(self, digit: int | None = None) -> np.ndarray:
        """Where the evidence for `digit` (default: the answer) lies: (28, 28) in 0–1, aligned
        with model_input. Only for a result made with explain=True."""
        if self.class_maps is None:
            raise ValueError("this result was made without explain=True, so it has no class maps")
        return heatmap(self.class_maps[self.digit if digit is None else digit])

    def top(self, k: int = 3) -> dict[str, float]:
        order = np.argsort(self.probabilities)[::-1][:k]
        return {str(int(d)): float(self.probabilities[d]) for d in order}
