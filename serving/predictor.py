"""The Predictor: the digit model's session, and images in, digits out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.card import ModelError
from serving.contract import CLASS_MAPS, DIGIT_LOGITS, FIELD
from serving.decode import ImageSource, InputError
from serving.guard import Stopped, guarded
from serving.ink import ink_map
from serving.marks import MarkCheck
from serving.paths import DEFAULT_MARK_MODEL, DEFAULT_MODEL
from serving.preprocess import digit_and_others
from serving.result import DigitResult
from serving.session import OnnxModel
from serving.stats import softmax


class Predictor(OnnxModel):
    """Image(s) in, digit(s) out. Create one per process and share it; it is thread-safe."""

    def __init__(self, model_path: str | Path = DEFAULT_MODEL, threads: int = 1,
                 verify: bool = True, mark_model: str | Path | None = DEFAULT_MARK_MODEL) -> None:
        super().__init__(model_path, threads, verify)
        self.marks = MarkCheck(mark_model, threads, verify) if mark_model is not None else None
        outputs = {output.name for output in self.session.get_outputs()}
        if not {DIGIT_LOGITS, CLASS_MAPS} <= outputs:
            raise ModelError(f"{self.model_path} is not the digit graph serving reads: its outputs are "
                             f"{sorted(outputs)}, not {DIGIT_LOGITS!r} and {CLASS_MAPS!r}. Export it "
                             "with `python -m export`.")

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 model inputs → (N, 10) probabilities."""
        return softmax(self.session.run([DIGIT_LOGITS], {self.input_name: _as_batch(batch)})[0])

    def explained(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) inputs → ((N, 10) probabilities, (N, 10, 7, 7) class evidence maps)."""
        logits, maps = self.session.run([DIGIT_LOGITS, CLASS_MAPS], {self.input_name: _as_batch(batch)})
        return softmax(logits), maps

    def not_digits(self, batch: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """(N, 28, 28) inputs and the digit model's confidence in each → (N,) bool: the not-a-digit
        check's judgement (all False without one)."""
        if self.marks is None:
            return np.zeros(len(batch), bool)
        return self.marks.not_digits(batch, confidences)

    def predict(self, source: ImageSource, explain: bool = False) -> DigitResult:
        """One image (path, bytes, PIL image or array) → its digit; with explain, also where the
        model found the evidence for each digit (DigitResult.heatmap).

        Raises InputError (NoDigitError for a blank image) with a message for the user.
        """
        return self._results([read_digit(source)], explain)[0]

    def predict_batch(self, sources: Sequence[ImageSource], stop: Callable[[], bool] | None = None,
                      explain: bool = False) -> list[DigitResult | InputError]:
        """Several images in one model call; an unreadable one gives its InputError in its place.

        Any other failure is a fault of the code or the machine, not of an image, and is raised.
        `stop` is asked before each image; when it says True, Stopped is raised and the rest is
        not read.
        """
        inputs: list[DigitInput | InputError] = []
        for source in sources:
            if stop is not None and stop():
                raise Stopped
            inputs.append(guarded(read_digit, source))
        good = [x for x in inputs if not isinstance(x, InputError)]
        results = iter(self._results(good, explain) if good else [])
        return [x if isinstance(x, InputError) else next(results) for x in inputs]

    def _results(self, reads: list[DigitInput], explain: bool) -> list[DigitResult]:
        batch = np.stack([r.pixels for r in reads])
        probs, maps = self.explained(batch) if explain else (self.probabilities(batch), [None] * len(batch))
        results = []
        marks = self.not_digits(batch, probs.max(axis=1))
        for read, p, class_maps, mark in zip(reads, probs, maps, marks, strict=True):
            digit = int(np.argmax(p))
            results.append(DigitResult(digit, float(p[digit]), [float(x) for x in p], read.pixels,
                                       class_maps, read.photo, read.several, bool(mark)))
        return results


@dataclass(frozen=True)
class DigitInput:
    pixels: np.ndarray  # the model's 28×28 input (as preprocess.to_mnist)
    photo: bool  # it came from a photo of paper
    several: bool  # the picture seems to hold more than one digit


def read_digit(source: ImageSource) -> DigitInput:
    found = ink_map(source)
    pixels, several = digit_and_others(found)
    return DigitInput(pixels, found.photo, several)


def _as_batch(batch: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(batch, np.float32).reshape(-1, 1, FIELD, FIELD)
