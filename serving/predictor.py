"""The Predictor: the digit model's session, and images in, digits out; and the not-a-digit check."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serving.card import ModelError, card_entry
from serving.contract import CLASS_MAPS, DIGIT_LOGITS, MARK_LOGITS, NOT_A_DIGIT
from serving.decode import ImageSource, InputError, StopCheck, each
from serving.ink import ink_map
from serving.paths import DEFAULT_MARK_MODEL, DEFAULT_MODEL
from serving.preprocess import digit_and_others
from serving.result import DigitResult
from serving.session import OnnxModel
from serving.stats import softmax

# The check overrules only a digit answer less sure than this: few marks make the digit model this
# sure, while the check's own mistakes, real digits unlike MNIST (fine pens, small crops), often do.
DIGIT_SURE = 0.98


class MarkCheck(OnnxModel):
    """The not-a-digit check: how likely the digit model's input is a mark that is no digit (a tap,
    a dash, a scribble, a letter), which MNIST's ten classes can't say (training.train_marks); its
    threshold, chosen on the validation split, travels in its card. Thread-safe."""

    def __init__(self, model_path: str | Path, threads: int = 1, verify: bool = True) -> None:
        super().__init__(model_path, threads, verify)
        if MARK_LOGITS not in {output.name for output in self.session.get_outputs()}:
            raise ModelError(f"{self.model_path} is not the not-a-digit check: it has no output "
                             f"{MARK_LOGITS!r}. Export it with `python -m export.marks`.")
        entry = self.card or card_entry(self.model_path) or {}
        self.threshold = float(entry.get("threshold", 0.5))

    def not_digits(self, batch: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """(N,) bool: which inputs are marks, not digits (their digit confidences given); only the
        inputs the digit model is less than sure of are checked."""
        marks = np.asarray(confidences) < DIGIT_SURE
        if marks.any():
            marks[marks] = self.mark_probabilities(batch[marks]) >= self.threshold
        return marks

    def mark_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 model inputs → (N,) the probability that each is no digit."""
        return softmax(self.run_fields([MARK_LOGITS], batch)[0])[:, NOT_A_DIGIT]


class Predictor(OnnxModel):
    """Image(s) in, digit(s) out. Create one per process and share it; it is thread-safe."""

    def __init__(self, model_path: str | Path = DEFAULT_MODEL, threads: int = 1, verify: bool = True) -> None:
        super().__init__(model_path, threads, verify)
        self.marks = MarkCheck(DEFAULT_MARK_MODEL, threads, verify)
        outputs = {output.name for output in self.session.get_outputs()}
        if not {DIGIT_LOGITS, CLASS_MAPS} <= outputs:
            raise ModelError(f"{self.model_path} is not the digit graph serving reads: its outputs are "
                             f"{sorted(outputs)}, not {DIGIT_LOGITS!r} and {CLASS_MAPS!r}. Export it "
                             "with `python -m export`.")

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 model inputs → (N, 10) probabilities."""
        return softmax(self.run_fields([DIGIT_LOGITS], batch)[0])

    def explained(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) inputs → ((N, 10) probabilities, (N, 10, 7, 7) class evidence maps)."""
        logits, maps = self.run_fields([DIGIT_LOGITS, CLASS_MAPS], batch)
        return softmax(logits), maps

    def predict(self, source: ImageSource, explain: bool = False) -> DigitResult:
        """One image (path, bytes, PIL image or array) → its digit; with explain, also where the
        model found the evidence for each digit (DigitResult.heatmap). InputError for the user."""
        return self._results([read_digit(source)], explain)[0]

    def predict_batch(self, sources: Sequence[ImageSource], stop: StopCheck | None = None,
                      explain: bool = False) -> list[DigitResult | InputError]:
        """Several images in one model call; an unreadable one gives its InputError in its place
        (any other failure is raised); `stop` as serving.decode.each."""
        inputs = each(read_digit, sources, stop)
        good = [x for x in inputs if not isinstance(x, InputError)]
        results = iter(self._results(good, explain) if good else [])
        return [x if isinstance(x, InputError) else next(results) for x in inputs]

    def _results(self, reads: list[DigitInput], explain: bool) -> list[DigitResult]:
        batch = np.stack([pixels for pixels, _, _ in reads])
        probs, maps = self.explained(batch) if explain else (self.probabilities(batch), [None] * len(batch))
        marks = self.marks.not_digits(batch, probs.max(axis=1))
        return [DigitResult(int(np.argmax(p)), float(p.max()), [float(x) for x in p], pixels, maps_k,
                            photo, several, bool(mark))
                for (pixels, photo, several), p, maps_k, mark in zip(reads, probs, maps, marks, strict=True)]


DigitInput = tuple[np.ndarray, bool, bool]  # the model's 28×28 input, from a photo of paper, several digits


def read_digit(source: ImageSource) -> DigitInput:
    found = ink_map(source)
    pixels, several = digit_and_others(found)
    return pixels, found.photo, several
