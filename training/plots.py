"""PNG plots of a model: training curves, confusion matrix, the digits of a split it gets wrong."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from serving.contract import DIGITS  # noqa: E402


def plot_curves(history: list[dict], path: Path) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, scale, ylabel, title in ((ax_loss, "loss", 1, "cross-entropy", "Loss"),
                                          (ax_acc, "acc", 100, "accuracy (%)", "Accuracy")):
        ax.plot(epochs, [scale * h[f"train_{key}"] for h in history], "o-", label="train (augmented)")
        ax.plot(epochs, [scale * h[f"val_{key}"] for h in history], "o-", label="validation")
        ax.set(xlabel="epoch", ylabel=ylabel, title=title)
        ax.legend()
        ax.grid(alpha=0.3)
    ax_acc.set_ylim(max(90.0, max(100 * h["val_acc"] for h in history) - 3), 100)
    save(fig, path)


def save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_errors(images: np.ndarray, predicted: np.ndarray, labels: np.ndarray, out: Path, prefix: str,
                split: str) -> None:
    """OUT/PREFIXconfusion.png and OUT/PREFIXmistakes.png of a split (`split` names it: "Test")."""
    confusion = np.zeros((DIGITS, DIGITS), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    plot_confusion(confusion, out / f"{prefix}confusion.png")
    wrong = np.flatnonzero(predicted != labels)
    plot_mistakes(images[wrong], predicted[wrong], labels[wrong], out / f"{prefix}mistakes.png", split)


def plot_confusion(confusion: np.ndarray, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 5.5))
    # Log colour scale, otherwise the diagonal hides every error.
    ax.imshow(np.log1p(confusion), cmap="Blues")
    for t in range(DIGITS):
        for p in range(DIGITS):
            if value := int(confusion[t, p]):
                ax.text(p, t, str(value), ha="center", va="center", fontsize=7,
                        color="white" if t == p else "black")
    ax.set(xticks=range(DIGITS), yticks=range(DIGITS), xlabel="predicted", ylabel="true",
           title=f"Confusion matrix ({int(confusion.trace())}/{int(confusion.sum())} right)")
    save(fig, path)


MISTAKES_SHOWN = 100
MISTAKE_COLUMNS = 8  # few enough a row that each label reads at 12 pt on a phone


def plot_mistakes(images: np.ndarray, predicted: np.ndarray, true: np.ndarray, path: Path,
                  split: str) -> None:
    """The first MISTAKES_SHOWN of a split's digits the model gets wrong."""
    n = min(len(images), MISTAKES_SHOWN)
    rows = max(1, (n + MISTAKE_COLUMNS - 1) // MISTAKE_COLUMNS)
    fig, axes = plt.subplots(rows, MISTAKE_COLUMNS, figsize=(MISTAKE_COLUMNS * 1.5, rows * 1.8))
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
            ax.set_title(f"{predicted[i]} (true {true[i]})", fontsize=12, color="crimson")
    fig.suptitle(f"{split} digits it gets wrong: {len(images)} (showing {n}); predicted (true)")
    save(fig, path)
