"""The not-a-digit check: how likely the digit model's input is a mark that is no digit (a tap, a
dash, a scribble, a letter), and the threshold at which the answer says so.

MNIST has no such class, so the digit model's softmax must pick a digit for anything; this small
second model (training.train_marks) was trained on digits and on marks, all as serving makes them.
Its threshold was chosen on the validation split (models/marknet.json) and travels in its card.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serving.card import ModelError, card_entry
from serving.contract import MARK_LOGITS, NOT_A_DIGIT
from serving.session import OnnxModel
from serving.stats import softmax

# The check overrules only a digit answer less sure than this: few marks make the digit model this
# sure, while the check's own mistakes, real digits unlike MNIST (fine pens, small crops), often do.
DIGIT_SURE = 0.98


class MarkCheck(OnnxModel):
    """The check's session and its threshold. One per process, shared; thread-safe."""

    def __init__(self, model_path: str | Path, threads: int = 1, verify: bool = True) -> None:
        super().__init__(model_path, threads, verify)
        if MARK_LOGITS not in {output.name for output in self.session.get_outputs()}:
            raise ModelError(f"{self.model_path} is not the not-a-digit check: it has no output "
                             f"{MARK_LOGITS!r}. Export it with `python -m export.marks`.")
        entry = self.card or card_entry(self.model_path) or {}
        self.threshold = float(entry.get("threshold", 0.5))

    def not_digits(self, batch: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """(N,) bool: which inputs are marks, not digits (their digit confidences given)."""
        return (self.mark_probabilities(batch) >= self.threshold) & (np.asarray(confidences) < DIGIT_SURE)

    def mark_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 model inputs → (N,) the probability that each is no digit."""
        return softmax(self.run_fields([MARK_LOGITS], batch)[0])[:, NOT_A_DIGIT]
