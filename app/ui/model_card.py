"""The Model tab: the model card as Markdown, marking the file being served."""

from __future__ import annotations

import json
from pathlib import Path

from serving.paths import MODELS_DIR

CARD = MODELS_DIR / "digitnet.json"
PLOTS = [  # (file, caption, alt text)
    (MODELS_DIR / "digitnet.curves.png", "Training curves",
     "Loss and accuracy per epoch on the training and test sets"),
    (MODELS_DIR / "digitnet.confusion.png", "Confusion matrix",
     "MNIST test digits: true digit against the model's answer"),
    (MODELS_DIR / "digitnet.mistakes.png", "Test digits it gets wrong",
     "The MNIST test digits the model reads wrong, each with its answer"),
]


def model_card_markdown(served: Path, card_path: Path = CARD) -> str:
    """The card of the shipped digit model, its table marking `served`."""
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return f"Served: `{served.name}`. No model card at `{card_path}`."
    fp32, int8 = card["files"]["fp32"], card["files"]["int8"]
    return "\n".join([
        f"### {card['name']}: {card['parameters']:,} parameters",
        f"Served: `{served.name}`" + ("" if served.name in (fp32["file"], int8["file"])
                                      else " (not one of this card's files)"),
        "",
        "| file | size | MNIST test accuracy (onnxruntime) |",
        "|---|---:|---:|",
        file_row(fp32, "fp32", served),
        file_row(int8, "static INT8", served),
        "",
        "Per class (fp32): " + " · ".join(f"{d}: {100 * a:.2f}%"
                                          for d, a in fp32["test_accuracy"]["per_class"].items()),
        "",
        training_line(card.get("training") or {}),
    ])


def file_row(entry: dict, kind: str, served: Path) -> str:
    tag = f"{kind}, **served**" if entry["file"] == served.name else kind
    return (f"| `{entry['file']}` ({tag}) | {entry['bytes'] / 1024:.0f}&nbsp;KiB "
            f"| {100 * entry['test_accuracy']['overall']:.2f}% |")


def training_line(train: dict) -> str:
    machine = train.get("machine") or {}
    return (f"Trained with `{train.get('command')}` in {(train.get('wall_time_s') or 0) / 60:.1f} min on "
            f"{machine.get('cpu', 'unknown CPU')} ({machine.get('cores', '?')} cores).")
