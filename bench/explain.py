"""What explaining an answer costs: the same sketch read with and without its heatmap.

    python -m bench.explain [--runs 400] [--model models/digitnet.onnx] [--figure docs/heatmap.png]

Rows, measured in alternating rounds (bench.common.interleaved_latency) on one thread: the model
alone, logits only against logits + class maps (the graph's two outputs); a whole 280×280 sketch
PNG read with Predictor.predict, explain off against on; the JSON answer (serving.records) off
against on; and the occlusion fallback for a model without class maps (49 blanked copies in one
batch). Medians of wall and thread CPU time, and the answer's size. --figure also draws the README's
picture: an example photo as the model sees it, and the evidence for its top two answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.common import interleaved_latency, machine_line, md_table, ms, sketch_png
from serving.explain import occlusion_maps, overlay
from serving.predictor import DEFAULT_MODEL, Predictor
from serving.records import digit_fields

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "7_ballpoint_photo.jpg"


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
        "occlusion map (fallback, 50 images)": lambda: occlusion_maps(predictor.probabilities,
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
    panels = [("what the model sees", overlay(result.model_input, np.zeros((28, 28), np.float32))),
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
    if predictor.maps_name is None:
        print(f"{args.model} has no class-map output: the heatmap comes from occlusion", file=sys.stderr)
    print(f"# Cost of explaining ({args.model.name}, 1 thread)\n\n{machine_line()}\n")
    print(md_table(["what", "wall ms (median)", "CPU ms (median)", "size"], rows(predictor, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
