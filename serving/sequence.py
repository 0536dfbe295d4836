"""The sequence reader: a line of ink read as a whole by a CTC model (models/numbernet.onnx) that
learnt numbers whose digits touch and overlap, so it does not need the digits apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving.contract import DIGITS, SYMBOLS
from serving.ctc import greedy_peaks
from serving.paths import DEFAULT_NUMBER_MODEL
from serving.session import OnnxModel
from serving.strip import STRIP_INK_LEVEL, STRIP_PAD, to_strip


@dataclass(frozen=True)
class SequenceDigit:
    """One symbol read: a digit, or (by a model that knows them) a minus sign or a decimal point."""

    symbol: int  # its index in serving.contract.SYMBOLS
    confidence: float  # its probability where it is read most surely
    columns: tuple[int, int]  # x0, x1 of its share of the line, in the ink's own columns
    probabilities: list[float]  # over the ten digits at that place (the other classes left out)

    @property
    def char(self) -> str:
        return SYMBOLS[self.symbol]

    @property
    def digit(self) -> int:
        """The symbol as a digit; for a sign or a point, the digit it most resembles."""
        return self.symbol if self.symbol < DIGITS else int(np.argmax(self.probabilities))


class SequenceReader(OnnxModel):
    """Ink of a line in, digits with their columns out. Thread-safe; create one per process."""

    def __init__(self, model_path: str | Path = DEFAULT_NUMBER_MODEL, threads: int = 1,
                 verify: bool = True) -> None:
        super().__init__(model_path, threads, verify)

    def log_probs(self, strip: np.ndarray) -> np.ndarray:
        """(32, W) strip → (W // 2, classes) log-probabilities, the last class CTC's blank."""
        return self.session.run(None, {self.input_name: strip[None, None].astype(np.float32)})[0][0]

    @property
    def symbols(self) -> str:
        """What the model reads (its output's width less the blank): digits, and maybe "-" and "."."""
        return SYMBOLS[: self.session.get_outputs()[0].shape[-1] - 1]

    def line(self, ink: np.ndarray) -> LineReading | None:
        """White-on-black ink (h, w) of one line → the model's reading of it (None if no ink)."""
        if not (ink >= STRIP_INK_LEVEL).any():
            return None
        strip, (left, _, fx, _) = to_strip(ink)
        return LineReading(np.exp(self.log_probs(strip)), left, fx, ink.shape[1], strip)

    def read(self, ink: np.ndarray) -> list[SequenceDigit]:
        """White-on-black ink (h, w) of one line → its symbols left to right (none if no ink)."""
        line = self.line(ink)
        return line.symbols() if line is not None else []


@dataclass(frozen=True)
class LineReading:
    """The model's probabilities over a line's column pairs, and where those lie in its ink."""

    probs: np.ndarray  # (strip width // 2, classes)
    left: int  # the ink's column where the strip's ink begins ...
    fx: float  # ... and the strip's columns per ink column
    ink_width: int
    strip: np.ndarray = field(repr=False, compare=False)  # what the model read (to_strip of the ink)

    def symbols(self) -> list[SequenceDigit]:
        """The symbols read, left to right, each with its share of the ink's columns: two neighbours
        divide the strip midway between their surest frames (frame t covers columns 2t and 2t + 1),
        as the model reads each digit surest at about the same place within it."""
        peaks = greedy_peaks(self.probs)
        if not peaks:
            return []
        frames = [t for t, _ in peaks]
        borders = [0, *(a + b + 1 for a, b in zip(frames[:-1], frames[1:], strict=True)), self.strip.shape[1]]
        out = []
        for (t, d), x0, x1 in zip(peaks, borders[:-1], borders[1:], strict=True):
            p = self.probs[t, :DIGITS] / max(float(self.probs[t, :DIGITS].sum()), 1e-12)
            # Strip columns → the ink's own (the strip is the ink's box, scaled and padded).
            a = min(max(0, int(np.floor((x0 - STRIP_PAD) / self.fx)) + self.left), self.ink_width - 1)
            b = int(np.ceil((x1 - STRIP_PAD) / self.fx)) + self.left
            columns = a, min(self.ink_width, max(b, a + 1))
            out.append(SequenceDigit(d, float(self.probs[t, d]), columns, [float(v) for v in p]))
        return out

    def digits(self) -> list[SequenceDigit]:
        """The digits read, left to right (signs and points left out)."""
        return [s for s in self.symbols() if s.symbol < DIGITS]

    def chance_of(self, symbol: int, columns: tuple[int, int]) -> float:
        """The model's highest probability of `symbol` over the ink's columns [x0, x1)."""
        first = int(((columns[0] - self.left) * self.fx + STRIP_PAD) // 2)
        last = int(np.ceil(((columns[1] - self.left) * self.fx + STRIP_PAD) / 2))
        return float(self.probs[max(0, first) : max(first + 1, last), symbol].max())
