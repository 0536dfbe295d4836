"""The Model tab: the model cards as Markdown, marking the file being served, and the training plots.

The cards are written by export/ and their format grows with training/: every field is read as
optional, and a part the card lacks is left out rather than shown as "unknown" or "?".
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from serving.paths import MODELS_DIR

CARD = MODELS_DIR / "digitnet.json"
NUMBER_CARD = MODELS_DIR / "numbernet.json"
PLOTS = [  # (file, caption, alt text, wide: the whole width, for small print)
    (MODELS_DIR / "digitnet.curves.png", "Training curves",
     "Loss and accuracy per epoch on the training and test sets", False),
    (MODELS_DIR / "digitnet.confusion.png", "Confusion matrix",
     "MNIST test digits: true digit against the model's answer", False),
    (MODELS_DIR / "digitnet.mistakes.png", "Test digits it gets wrong: the model's answer (the true digit)",
     "The MNIST test digits the model reads wrong, each with its answer", True),
]
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}


def read_card(path: Path) -> dict | None:
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def model_card_markdown(served: Path, card_path: Path = CARD) -> str:
    """The card of the shipped digit model, its table marking `served`."""
    card = read_card(card_path)
    if card is None:
        return f"Served: `{served.name}`. No model card at `{card_path}`."
    try:
        return digit_card(card, served)
    except (KeyError, TypeError, ValueError, AttributeError):
        return f"Served: `{served.name}`. The model card at `{card_path}` is in a form this page can't read."


def digit_card(card: dict, served: Path) -> str:
    files = card["files"]
    members = [m for m in card.get("members") or [] if isinstance(m, dict)]
    lines = [f"### The digit model: {card.get('name', 'digitnet')}, {card['parameters']:,} parameters", ""]
    if len(members) > 1:
        alone = (card.get("first_member_alone") or {}).get("at_confidence")
        shortcut = (f" (with the fp32 file, an image the first net gives {alone:.0%} or more is answered "
                    "by that net alone)" if isinstance(alone, (int, float)) else "")
        lines += [f"An ensemble of {NUMBER_WORDS.get(len(members), len(members))} convolutional nets, "
                  f"each trained with its own seed: their average is the answer{shortcut}.", ""]
    ours = served.name in [entry["file"] for entry in files.values()]
    lines += [f"Served: `{served.name}`" + ("" if ours else " (not one of this card's files)"), "",
              "| file | MNIST test accuracy |", "|---|---:|"]
    for kind, entry in files.items():  # name, kind and size in the first column, which may wrap on a phone
        served_tag = ", **served**" if entry["file"] == served.name else ""
        tag = f"{'static INT8' if kind == 'int8' else kind}, {entry['bytes'] / 1024:.0f}&nbsp;KiB{served_tag}"
        lines.append(f"| `{entry['file']}` ({tag}) | {100 * entry['test_accuracy']['overall']:.2f}% |")
    fp32 = files.get("fp32") or {}
    per_class = (fp32.get("test_accuracy") or {}).get("per_class")
    if per_class:
        lines += ["", "Per class (fp32): " + " · ".join(f"{d}: {100 * a:.2f}%" for d, a in per_class.items())]
    if not members:  # how the model was trained: the one run, or each member's
        return "\n".join([*lines, "", sentence("Trained", card.get("training") or {})])
    total = sum(m.get("wall_time_s") or 0 for m in members)
    if any("--init" in (m.get("command") or "").split() for m in members):  # a fine-tune's time alone
        lines += ["", f"Fine-tuned: {len(members)} nets, each from the checkpoint its command names, "
                      f"{total / 60:.0f} min of fine-tuning in all."]
    else:
        lines += ["", f"Trained: {len(members)} nets, {total / 60:.0f} min of training in all."]
    lines += [sentence(f"- Net {i} (seed {m.get('seed', i)})", m) for i, m in enumerate(members, 1)]
    return "\n".join(lines)


def sentence(start: str, run: dict[str, Any]) -> str:
    """"Trained: 35 epochs on 60,000 images, with `cmd`, in 86 min on Intel Xeon (2 cores)": only
    what `run` holds."""
    parts = []
    if run.get("epochs") and run.get("train_images"):
        parts.append(f"{run['epochs']} epochs on {run['train_images']:,} images")
    if run.get("command"):
        parts.append(f"with `{run['command']}`")
    if run.get("wall_time_s"):
        parts.append(f"in {run['wall_time_s'] / 60:.0f} min")
    machine = run.get("machine")
    if isinstance(machine, dict) and machine.get("cpu"):
        cores = f" ({machine['cores']} cores)" if machine.get("cores") else ""
        parts.append(f"on {machine['cpu']}{cores}")
    elif isinstance(machine, str):
        parts.append(f"on {machine}")
    if run.get("test_accuracy"):
        parts.append(f"test accuracy {100 * run['test_accuracy']:.2f}%")
    return f"{start}: " + ", ".join(parts) + "." if parts else f"{start}."


def number_model_markdown(card_path: Path = NUMBER_CARD) -> str:
    """The Numbers tab's own model: what it reads, how well, how it was trained."""
    card = read_card(card_path)
    if card is None:
        return f"### The number model\nNo model card at `{card_path}`."
    lines = [f"### The number model: {card.get('name', 'numbernet')}"
             + (f", {card['parameters']:,} parameters" if isinstance(card.get("parameters"), int) else ""),
             "", "The Numbers tab reads a whole line of digits with this second model, without cutting it "
                 "into single digits first."]
    if isinstance(card.get("task"), str):
        lines += ["", f"Task: {card['task']}."]
    exact = (card.get("validation_during_training") or {}).get("exact")
    if isinstance(exact, (int, float)):
        lines += ["", f"Numbers read exactly right on its validation set: {100 * exact:.1f}%."]
    parity = card.get("parity") if isinstance(card.get("parity"), dict) else {}
    page, held = parity.get("page_strips_exact"), parity.get("page_strips_held_out")
    if isinstance(page, (int, float)) and isinstance(held, int):
        lines += ["", f"Numbers of photographed pages, held out from those it learnt from, read exactly: "
                      f"{100 * page:.1f}% of {held:,}."]
    train = card.get("training")
    if isinstance(train, dict):
        run = {**train, "wall_time_s": train.get("wall_time_s") or 60 * (train.get("minutes") or 0)}
        fine_tuned = "--init" in (train.get("command") or "").split()  # the minutes are the fine-tune's
        lines += ["", sentence("Fine-tuned" if fine_tuned else "Trained", run)]
    return "\n".join(lines)


def figures(plots: list[tuple[Path, str, str, bool]]) -> str:
    """HTML for the Model tab: each (PNG file, caption, alt text, wide) as a figure, the image inline
    (the plots are small, and the page then needs no file route); a wide one takes the whole width,
    and scrolls sideways on a phone."""
    parts = []
    for path, caption, alt, wide in plots:
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode()
            image = f'<img src="data:image/png;base64,{data}" alt="{alt}">'
            if wide:
                parts.append(f'<figure class="wide"><figcaption>{caption}</figcaption><div class="scroll" '
                             f'tabindex="0" role="group" aria-label="{caption}">{image}</div></figure>')
            else:
                parts.append(f'<figure><figcaption>{caption}</figcaption>{image}</figure>')
    return '<div class="plots">' + "".join(parts) + "</div>" if parts else ""
