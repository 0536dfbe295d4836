"""The models' contract: what training makes, export writes and serving reads (numpy only, so
training and export read it without loading onnxruntime)."""

import numpy as np

FIELD = 28  # the digit model reads one FIELD×FIELD picture: white ink on black, in 0–1
DIGITS = 10  # classes 0–9
MAP_SIDE = 7  # the class maps' side (the last conv layer's resolution)

# The digit graph: one input, the logits, and the class activation maps (N, DIGITS, MAP_SIDE, MAP_SIDE).
DIGIT_INPUT = "image"
DIGIT_LOGITS = "logits"
CLASS_MAPS = "class_maps"

# The not-a-digit check: the digit graph's input in, two logits out (a digit; a mark that is none).
MARK_LOGITS = "mark_logits"
NOT_A_DIGIT = 1  # the mark class

# The sequence model of numbers: a STRIP_HEIGHT-pixel line in, per column pair log-probabilities
# over the first of SYMBOLS (the ten digits; a minus sign and a decimal point too, in a model that
# knows them) and, last, CTC's blank: a model's own output width says which symbols it reads.
STRIP_HEIGHT = 32
SYMBOLS = "0123456789-."
MINUS, POINT = SYMBOLS.index("-"), SYMBOLS.index(".")
BLANK = len(SYMBOLS)  # the blank of a model that reads every symbol


def to_model_input(images: np.ndarray) -> np.ndarray:
    """MNIST-style uint8 images (N, FIELD, FIELD), white ink on black, → the digit model's input:
    float32 (N, 1, FIELD, FIELD) in 0–1."""
    return (np.asarray(images).reshape(-1, 1, FIELD, FIELD).astype(np.float32) * np.float32(1 / 255))
