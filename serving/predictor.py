"""The Predictor: one onnxruntime session per process, checked against the model card."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # before onnxruntime is imported: see serving/__init__.py
import onnxruntime as ort  # noqa: E402

from serving.card import ModelError, verify_model  # noqa: E402
from serving.explain import heatmap, occlusion_maps  # noqa: E402
from serving.preprocess import ImageSource, InputError, digit_input, ink_map  # noqa: E402

ort.disable_telemetry_events()  # in case onnxruntime was imported before serving

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "digitnet.onnx"
LOG = logging.getLogger("serving")
UNSURE_BELOW = 0.6  # top probability under which the answer is flagged as a guess
# ... on a photo of paper. There the model is handed what the page left of the digit, and a
# piece of it (a stroke cut at a shadow's edge, a line's remains) can look like a clean 1 or 7:
# its confidence then overstates how often it is right, so the note comes sooner.
PHOTO_UNSURE_BELOW = 0.8
CAM_NAME = "class_maps"  # the graph's optional second output (export/onnx_export.py)


class Stopped(Exception):
    """predict_batch was told to stop (the client that asked has gone)."""


@dataclass(frozen=True)
class DigitResult:
    digit: int
    confidence: float
    probabilities: list[float]
    model_input: np.ndarray = field(repr=False)  # the 28×28 float32 image the model saw
    class_maps: np.ndarray | None = field(default=None, repr=False)  # (10, 7, 7) when explained
    photo: bool = False  # read from a photo of paper (preprocess.InkMap.photo)

    @property
    def unsure(self) -> bool:
        return self.confidence < (PHOTO_UNSURE_BELOW if self.photo else UNSURE_BELOW)

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


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class OnnxModel:
    """A model file, checked against its model card (verify=True), and its onnxruntime session."""

    def __init__(self, model_path: str | Path, threads: int = 1, verify: bool = True) -> None:
        self.model_path = Path(model_path)
        self.card = verify_model(self.model_path) if verify else None
        self.session = load_session(self.model_path, threads)
        self.input_name = self.session.get_inputs()[0].name


class Predictor(OnnxModel):
    """Image(s) in, digit(s) out. Create one per process and share it; it is thread-safe."""

    def __init__(self, model_path: str | Path = DEFAULT_MODEL, threads: int = 1,
                 verify: bool = True) -> None:
        super().__init__(model_path, threads, verify)
        outputs = [output.name for output in self.session.get_outputs()]
        self.output_name = outputs[0]
        # The class maps come with the shipped graph (export/onnx_export.py); other models are
        # explained by occlusion.
        self.maps_name = CAM_NAME if CAM_NAME in outputs[1:] else None

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 model inputs → (N, 10) probabilities."""
        return softmax(self.session.run([self.output_name], {self.input_name: _as_batch(batch)})[0])

    def explained(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 28, 28) inputs → ((N, 10) probabilities, (N, 10, 7, 7) class evidence maps)."""
        if self.maps_name is None:
            return self.probabilities(batch), np.stack([occlusion_maps(self.probabilities, x) for x in batch])
        logits, maps = self.session.run([self.output_name, self.maps_name],
                                        {self.input_name: _as_batch(batch)})
        return softmax(logits), maps

    def predict(self, source: ImageSource, explain: bool = False) -> DigitResult:
        """One image (path, bytes, PIL, array or Gradio sketch dict) → its digit; with explain,
        also where the model found the evidence for each digit (DigitResult.heatmap).

        Raises InputError (NoDigitError for a blank image) with a message for the user.
        """
        model_input, photo = read_digit(source)
        return self._results(model_input[None], [photo], explain)[0]

    def predict_batch(self, sources: Sequence[ImageSource], stop: Callable[[], bool] | None = None,
                      explain: bool = False) -> list[DigitResult | InputError]:
        """Several images in one model call; an unreadable one gives its InputError in its place.

        One image never fails the others: a decoder failing in a way the preprocessing doesn't
        anticipate is logged and answered as an InputError for that image alone. `stop` is asked
        before each image; when it says True, Stopped is raised and the rest is not read.
        """
        inputs: list[np.ndarray | InputError] = []
        for source in sources:
            if stop is not None and stop():
                raise Stopped
            inputs.append(guarded(read_digit, source))
        good = [x for x in inputs if not isinstance(x, InputError)]
        results = iter(self._results(np.stack([x for x, _ in good]), [photo for _, photo in good], explain)
                       if good else [])
        return [x if isinstance(x, InputError) else next(results) for x in inputs]

    def _results(self, batch: np.ndarray, photos: list[bool], explain: bool) -> list[DigitResult]:
        probs, maps = self.explained(batch) if explain else (self.probabilities(batch), [None] * len(batch))
        results = []
        for model_input, p, class_maps, photo in zip(batch, probs, maps, photos, strict=True):
            digit = int(np.argmax(p))
            results.append(DigitResult(digit, float(p[digit]), [float(x) for x in p], model_input,
                                       class_maps, photo))
        return results


def read_digit(source: ImageSource) -> tuple[np.ndarray, bool]:
    """The model's 28×28 input for `source` (as preprocess.to_mnist), and whether it came from a
    photo of paper."""
    found = ink_map(source)
    return digit_input(found), found.photo


def _as_batch(batch: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(batch, np.float32).reshape(-1, 1, 28, 28)


def load_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime session for `path` on the CPU, `threads` threads for an operator (0: one per
    core), or a ModelError saying the file is not a usable model. Every session in the project
    (serving, export checks, benchmarks) is made here, so all of them measure the served setup."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own (pybind) classes: protobuf, graph, ...
        first_line = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise ModelError(f"{path} is not a model onnxruntime can load ({first_line}): the file may be "
                         "truncated or damaged. Restore it (git checkout models/) or re-run "
                         "`make export`.") from None


def guarded(read: Callable[[ImageSource], Any], source: ImageSource) -> Any:
    """read(source), or the InputError saying why it failed, as a message only.

    The error handed back is a fresh one, without traceback or context: a caught exception's
    traceback holds the frames that hold the decoded image (hundreds of MB for a big one), and
    nothing of it would be freed until Python's cycle collector happened to run.
    """
    try:
        return read(source)
    except InputError as err:
        message, kind = str(err), type(err)
    except Exception:
        LOG.exception("unexpected error reading an image")
        message, kind = "the image could not be read: send a PNG, JPEG or other common image file", InputError
    return kind(message)
