"""The gate before a retrained model replaces the shipped one: a model fine-tuned on corrections may
read them better and MNIST worse, so it must lose at most --max-drop points of MNIST validation
accuracy and read the held-out corrections at least as well as the shipped model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serving.contract import to_model_input

Reader = Callable[[np.ndarray], np.ndarray]  # uint8 (N, FIELD, FIELD) → predicted digits (N,)
Scorer = Callable[[np.ndarray], np.ndarray]  # the model input (to_model_input) → (n, DIGITS) scores
MAX_DROP_POINTS = 0.1
BATCH = 1000  # images a model reads at once


class GateError(ValueError):
    """A model or data file the gate can't use; the message says which and why."""


def scorer(path: Path) -> Scorer:
    """An .onnx file's first output (logits), or the probabilities of a checkpoint's chosen weights."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise GateError(f"no model at {path}: give an .onnx file, a checkpoint.pt or a training run folder")
    try:
        if path.suffix == ".onnx":
            from serving.session import load_session

            session = load_session(path, threads=0)
            name = session.get_inputs()[0].name
            return lambda x: session.run(None, {name: x})[0]
        import torch

        from training.checkpoint import load_digit_net

        model = load_digit_net(path)
        return torch.inference_mode()(lambda x: torch.softmax(model(torch.from_numpy(x)), 1).numpy())
    except Exception as err:  # any loader's failure, said in one line
        raise GateError(f"{path} can't be loaded as a model ({type(err).__name__}: {err})") from None


def reader(*paths: Path) -> Reader:
    """Model files (.onnx), checkpoints or run folders; several checkpoints are read as an ensemble
    (their mean probabilities), as export builds one from them."""
    members = [scorer(path) for path in paths]

    def read(images: np.ndarray) -> np.ndarray:
        batches = [to_model_input(images[i : i + BATCH]) for i in range(0, len(images), BATCH)]
        if not batches:
            return np.zeros(0, np.int64)
        return np.concatenate([sum(member(x) for member in members).argmax(1) for x in batches])

    return read


@dataclass(frozen=True)
class Score:
    right: int
    count: int

    @property
    def accuracy(self) -> float:
        return self.right / self.count if self.count else float("nan")

    def __str__(self) -> str:
        return f"{100 * self.accuracy:.2f}% ({self.right}/{self.count})" if self.count else "-"


@dataclass(frozen=True)
class Verdict:
    mnist: tuple[Score, Score]  # shipped, new
    held_out: tuple[Score, Score]
    max_drop_points: float = MAX_DROP_POINTS

    @property
    def mnist_drop_points(self) -> float:
        return 100 * (self.mnist[0].accuracy - self.mnist[1].accuracy)

    @property
    def fine(self) -> dict[str, bool]:
        """Whether the new model reads MNIST, and the held-out corrections (the same images for both
        models: counts compare), well enough."""
        return {"MNIST": self.mnist_drop_points <= self.max_drop_points + 1e-9,
                "the corrections": self.held_out[1].right >= self.held_out[0].right}

    @property
    def ok(self) -> bool:
        return all(self.fine.values())

    def report(self) -> str:
        (mnist_old, mnist_new), (held_old, held_new) = self.mnist, self.held_out
        fine = self.fine
        lines = [
            f"MNIST validation:      shipped {mnist_old}, new {mnist_new}: "
            f"{0.0 - self.mnist_drop_points:+.2f} points (at most -{self.max_drop_points:g} allowed) "
            f"{'ok' if fine['MNIST'] else 'WORSE'}",
            f"held-out corrections:  shipped {held_old}, new {held_new} "
            + ("(none held out: export more corrections)" if not held_old.count
               else "ok" if fine["the corrections"] else "WORSE"),
        ]
        lines.append("accepted: the new model may replace the shipped one (python -m export)." if self.ok
                     else "REFUSED: the shipped model stays; the new one reads "
                     + " and ".join(what for what, good in fine.items() if not good) + " worse.")
        return "\n".join(lines)


def score(read: Reader, images: np.ndarray, labels: np.ndarray) -> Score:
    return Score(int((read(images) == labels).sum()), len(labels))


def check_files(new: list[Path], shipped: Path, held_out: tuple[np.ndarray, np.ndarray],
                mnist: tuple[np.ndarray, np.ndarray],
                max_drop_points: float = MAX_DROP_POINTS) -> Verdict | None:
    """The check for model files (see `reader`); None when there is no shipped model to protect (a
    missing or broken new model is an error even then)."""
    candidate = reader(*new)
    if not Path(shipped).is_file():
        return None
    return judge(reader(shipped), candidate, mnist, held_out, max_drop_points)


def judge(shipped: Reader, new: Reader, mnist: tuple[np.ndarray, np.ndarray],
          held_out: tuple[np.ndarray, np.ndarray], max_drop_points: float = MAX_DROP_POINTS) -> Verdict:
    """Both models on MNIST validation images and on the held-out corrections (uint8, labels)."""
    return Verdict((score(shipped, *mnist), score(new, *mnist)),
                   (score(shipped, *held_out), score(new, *held_out)), max_drop_points)
