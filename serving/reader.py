"""The Reader: the served models, loaded once at start-up, and every reading operation on them. A
missing or changed model is a ModelError when the Reader is made, never a problem with an image."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from serving.decode import ImageSource, InputError, StopCheck, each
from serving.numbers import NumberResult
from serving.numbers import read_number as _read_number
from serving.page import PageResult
from serving.page import read_page as _read_page
from serving.paths import DEFAULT_MODEL, DEFAULT_NUMBER_MODEL
from serving.predictor import Predictor
from serving.result import DigitResult
from serving.sequence import SequenceReader


class Reader:
    """The digit model and the sequence model of whole numbers. One per process; thread-safe."""

    def __init__(self, digit_model: str | Path = DEFAULT_MODEL,
                 number_model: str | Path = DEFAULT_NUMBER_MODEL, threads: int = 1,
                 verify: bool = True) -> None:
        self.digits = Predictor(digit_model, threads, verify)
        self.numbers = SequenceReader(number_model, threads, verify)

    def read_digit(self, source: ImageSource, explain: bool = False) -> DigitResult:
        """One image → its digit; with explain, where the model found the evidence for each digit."""
        return self.digits.predict(source, explain)

    def read_digits(self, sources: Sequence[ImageSource], explain: bool = False,
                    stop: StopCheck | None = None) -> list[DigitResult | InputError]:
        """Several images in one model call; an unreadable one gives its InputError in its place."""
        return self.digits.predict_batch(sources, stop, explain)

    def read_number(self, source: ImageSource) -> NumberResult:
        """One image of a number written on one line → its digits, left to right, with boxes."""
        return _read_number(self.digits, source, reader=self.numbers)

    def read_page(self, source: ImageSource) -> PageResult:
        """Every number on a page (several lines, signs and decimal points), in reading order."""
        return _read_page(self.digits, source, self.numbers)

    def read_numbers(self, sources: Sequence[ImageSource],
                     stop: StopCheck | None = None) -> list[NumberResult | InputError]:
        """read_number for each image, its InputError in its place; Stopped when `stop` says so."""
        return each(self.read_number, sources, stop)

    def read_pages(self, sources: Sequence[ImageSource],
                   stop: StopCheck | None = None) -> list[PageResult | InputError]:
        """read_page for each image, its InputError in its place; Stopped when `stop` says so."""
        return each(self.read_page, sources, stop)


@cache
def default_reader() -> Reader:
    """The shipped models, loaded on the first call of read_digit or read_number below."""
    return Reader()


def read_digit(source: ImageSource, explain: bool = False) -> DigitResult:
    """The one handwritten digit in an image (a path, bytes, PIL image or array), by the shipped model."""
    return default_reader().read_digit(source, explain)


def read_number(source: ImageSource) -> NumberResult:
    """The number written on one line in an image, by the shipped models."""
    return default_reader().read_number(source)


def read_page(source: ImageSource) -> PageResult:
    """Every number on a page in an image, by the shipped models."""
    return default_reader().read_page(source)
