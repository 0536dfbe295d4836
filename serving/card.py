"""Model files and their cards: a shipped model is served only if its model card lists its sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


class ModelError(RuntimeError):
    """The model file is missing or is not the one its model card describes."""


def file_sha256(path: Path) -> str:
    """The file's sha256 in hex, read in blocks (never the whole file in memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def card_entry(model_path: Path) -> dict | None:
    """The model card entry (from any *.json card beside it) that names this file."""
    for card_path in sorted(model_path.parent.glob("*.json")):
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError) as err:
            raise ModelError(f"the model card {card_path} can't be read ({err}), so {model_path} "
                             "can't be verified. Restore it (git checkout models/) or re-run "
                             "`make export`.") from None
        for entry in (card.get("files") or {}).values() if isinstance(card, dict) else ():
            if isinstance(entry, dict) and entry.get("file") == model_path.name:
                return {**entry, "card": str(card_path)}
    return None


def verify_model(model_path: Path) -> dict:
    """The model card entry that lists this file with its sha256, or a ModelError saying why not."""
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}. The shipped models live in models/; "
                         "to rebuild one, run `make train export`.")
    entry = card_entry(model_path)
    if entry is None:
        raise ModelError(f"no model card beside {model_path} lists it, so it can't be verified. "
                         "Export it with `python -m export`, or skip the check with --no-verify "
                         "(verify=False in Python).")
    actual = file_sha256(model_path)
    if actual != entry["sha256"]:
        raise ModelError(f"{model_path} has sha256 {actual[:12]}…, but its model card "
                         f"{entry['card']} says {entry['sha256'][:12]}…: the file was changed or "
                         "is incomplete. Restore it (git checkout models/) or re-run `make export`.")
    return entry
