"""What explaining an answer costs: the same sketch read with and without its heatmap.

    python -m bench.explain [--runs 400] [--model models/digitnet.onnx] [--figure docs/heatmap.png]

Rows, measured in alternating rounds (bench.common.interleaved_latency) on one thread: the model
alone, logits only against logits + class maps (the graph's two outputs); a whole 280×280 sketch
PNG read with Predictor.predict, explain off against on; the JSON answer (serving.records) off
against on; and, for comparison, occlusion (the drop in each class's probability when each part
of the input is blanked: 49 blanked copies in one batch), which needs no class maps. Medians of
wall and thread CPU time, and the answer's size. --figure also draws the README's picture: an
example photo as the model sees it, and the evidence for its top two answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.common import interleaved_latency, machine_line, md_table, ms, sketch_png
from serving.contract import DIGITS, FIELD, MAP_SIDE
from serving.explain import overlay
from serving.paths import DEFAULT_MODEL
from serving.predictor import Predictor
from serving.records import digit_fields

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "7_ballpoint_photo.jpg"
CELL = FIELD // MAP_SIDE  # input pixels per class-map cell, each way
OCCLUDER = 2 * CELL  # side of the blanked square, centred on a cell: a stroke is wider than a cell


def occlusion_maps(probabilities: Callable[[np.ndarray], np.ndarray], model_input: np.ndarray) -> np.ndarray:
    """(10, 7, 7): how much each class's probability drops when the square around each cell is
    blanked. `probabilities` maps (N, 28, 28) inputs to (N, 10); one call, 1 + 49 images."""
    batch = np.repeat(np.asarray(model_input, np.float32)[None], 1 + MAP_SIDE * MAP_SIDE, axis=0)
    pad = (OCCLUDER - CELL) // 2
    for index in range(MAP_SIDE * MAP_SIDE):
        y, x = divmod(index, MAP_SIDE)
        top, left = max(y * CELL - pad, 0), max(x * CELL - pad, 0)
        batch[1 + index, top : y * CELL + CELL + pad, left : x * CELL + CELL + pad] = 0
    probs = probabilities(batch)
    return (probs[0][:, None] - probs[1:].T).reshape(DIGITS, MAP_SIDE, MAP_SIDE)


def rows(predictor: Predictor, runs: int) -> list[list[str]]:
    png = sketch_png(7)
    plain, explained = predictor.predict(png), predictor.predict(png, explain=True)
    batch = plain.model_input[None]
    pairs = {
        "model: logits": lambda: predictor.probabilities(batch),
        "model: logits + class maps": lambda: predictor.explained(batch),
        "sketch PNG → answer": lambda: predictor.predict(png),
        "sketch PNG → answer + heatmap": lambda: predictor.predict(png, explain=True),
        "JSON answer": lambda: json.dumps(digit_fields(plain)),
        "JSON answer + heatmap + seen": lambda: json.dumps(digit_fields(explained)),
        "occlusion map (comparison, 50 images)": lambda: occlusion_maps(predictor.probabilities,
                                                                      plain.model_input),
    }
    timings = interleaved_latency(pairs, runs, warmup=20)
    sizes = {"JSON answer": len(json.dumps(digit_fields(plain))),
             "JSON answer + heatmap + seen": len(json.dumps(digit_fields(explained)))}
    return [[name, ms(t.wall.median), ms(t.cpu.median), f"{sizes[name]:,} B" if name in sizes else ""]
            for name, t in timings.items()]


def figure(predictor: Predictor, image: Path, out: Path) -> None:
    result = predictor.predict(image, explain=True)
    second = result.runner_up
    panels = [("what the model sees", overlay(result.model_input, np.zeros((FIELD, FIELD), np.float32))),
              (f"evidence for {result.digit} ({result.confidence:.0%})",
               overlay(result.model_input, result.heatmap())),
              (f"evidence for {second} ({result.probabilities[second]:.0%})",
               overlay(result.model_input, result.heatmap(second)))]
    sheet = Image.new("RGB", (10 + 234 * len(panels), 262), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, picture) in enumerate(panels):
        sheet.paste(picture, (10 + 234 * i, 28))
        draw.text((10 + 234 * i, 8), title, fill="black")
    sheet.save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=400, help="calls of each row, in alternating rounds")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--figure", type=Path, help="also draw the README's heatmap picture here (PNG)")
    args = p.parse_args(argv)
    predictor = Predictor(args.model)
    if args.figure:
        figure(predictor, EXAMPLE, args.figure)
    print(f"# Cost of explaining ({args.model.name}, 1 thread)\n\n{machine_line()}\n")
    print(md_table(["what", "wall ms (median)", "CPU ms (median)", "size"], rows(predictor, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
