"""Greedy CTC decoding, the one decoder of the sequence model's output (training and serving)."""

from __future__ import annotations

import numpy as np


def greedy_peaks(probs: np.ndarray) -> list[tuple[int, int]]:
    """(T, classes) per-frame scores, the last class CTC's blank → (frame, class) per symbol read:
    the best class per frame, repeats merged, blanks dropped; each symbol at the frame of its run
    where it scores highest."""
    blank = probs.shape[1] - 1
    best = probs.argmax(axis=1)
    out: list[tuple[int, int]] = []
    start = 0
    for t in range(1, len(best) + 1):
        if t == len(best) or best[t] != best[start]:
            symbol = int(best[start])
            if symbol != blank:
                out.append((start + int(np.argmax(probs[start:t, symbol])), symbol))
            start = t
    return out


def greedy_decode(log_probs: np.ndarray) -> list[int]:
    """(T, classes) → the symbols read, in order."""
    return [symbol for _, symbol in greedy_peaks(log_probs)]
