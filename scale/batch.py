"""python -m scale.batch INPUT_DIR --out RESULTS.csv: the digit of every image under a folder, on Ray Data.

One CSV row per file, in sorted order, from an actor pool of Predictors; a file that can't be read
gets the CLI's error and the job goes on (docs/scale.md).
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

from scale.cluster import ClusterError, add_cluster_flags, connect
from serving import DigitResult, Predictor
from serving.card import ModelError, verify_model
from serving.paths import DEFAULT_MODEL

FILES_PER_BLOCK = 512  # a unit of work Ray Data hands around; small enough to spread over actors
COLUMNS = ("file", "digit", "confidence", "error")


def list_files(root: Path) -> list[str]:
    """Every regular file under root (relative, '/'-separated, sorted), hidden ones left out."""
    names = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
    return sorted(n.as_posix() for n in names if not any(part.startswith(".") for part in n.parts))


class PredictFiles:
    """The actor: one Predictor, a batch of file names in, a batch of CSV rows out. It hands the
    Predictor paths, as the CLI does, so a file is opened only in its turn and its answer is the CLI's."""

    def __init__(self, root: str, model: str) -> None:
        self.folder = Path(root)
        self.predictor = Predictor(model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        files = [str(f) for f in batch["file"]]
        results = self.predictor.predict_batch([self.folder / f for f in files])
        rows = [[f, str(r.digit), f"{round(float(r.confidence), 6)}", ""] if isinstance(r, DigitResult)
                else [f, "", "", str(r)] for f, r in zip(files, results, strict=True)]
        return {column: np.array([row[i] for row in rows], dtype=object) for i, column in enumerate(COLUMNS)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scale.batch", description=__doc__.splitlines()[0])
    p.add_argument("input_dir", metavar="INPUT_DIR", type=Path)
    p.add_argument("--out", required=True, type=Path, metavar="RESULTS.csv")
    add_cluster_flags(p)
    p.add_argument("--actors", type=int, help="Predictor actors (default: one per CPU of the cluster)")
    p.add_argument("--batch-size", type=int, default=256, help="images per model call")
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="ONNX model file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if not args.input_dir.is_dir():
        p.error(f"{args.input_dir} is not a folder")
    args.model = str(Path(args.model).resolve())  # the actors' working folder is not ours
    return args


def run(args: argparse.Namespace, files: list[str]) -> dict[str, float]:
    """Scores `files` (under args.input_dir) into args.out; returns the summary's figures."""
    started = time.perf_counter()
    ray = connect(args.address, num_cpus=args.num_cpus)
    ray_start_s = time.perf_counter() - started
    from tqdm import tqdm  # installed with Ray (requirements-scale.txt)

    actors = args.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows in the files' order
    context.enable_progress_bars = False  # ours counts files, Ray's count blocks per operator
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # per-operator chatter; errors still show
    # At least two blocks per actor so that none idles; more for big folders, to stream.
    blocks = min(len(files), max(2 * actors, math.ceil(len(files) / FILES_PER_BLOCK)))
    dataset = ray.data.from_items([{"file": f} for f in files], override_num_blocks=blocks)
    dataset = dataset.map_batches(
        PredictFiles, fn_constructor_kwargs={"root": str(args.input_dir.resolve()), "model": args.model},
        batch_size=args.batch_size, batch_format="numpy", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=actors))

    digits, first_rows_s = 0, math.nan
    begun = time.perf_counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    try:
        # File names are bytes on Linux: surrogateescape writes back exactly the bytes they have.
        with partial.open("w", newline="", encoding="utf-8", errors="surrogateescape") as out, \
                tqdm(total=len(files), unit="img", disable=args.no_progress, file=sys.stderr) as progress:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                if math.isnan(first_rows_s):
                    first_rows_s = time.perf_counter() - begun
                writer.writerows(zip(*(batch[column] for column in COLUMNS), strict=True))
                digits += int((batch["error"] == "").sum())
                progress.update(len(batch["file"]))
        partial.replace(args.out)
    except ray.exceptions.RayError as err:
        raise ClusterError(f"the job failed on Ray ({type(err).__name__}: {str(err).splitlines()[0]}); "
                           "details in /tmp/ray/session_latest/logs") from None
    finally:
        partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - begun
    return {"files": len(files), "digits": digits, "errors": len(files) - digits, "seconds": seconds,
            "first_rows_s": first_rows_s, "images_per_s": len(files) / seconds, "ray_start_s": ray_start_s,
            "actors": actors}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = list_files(args.input_dir)
    if not files:
        print(f"error: no files under {args.input_dir}", file=sys.stderr)
        return 2
    try:
        verify_model(Path(args.model))  # here, rather than as a traceback from every actor
        summary = run(args, files)
    except (ClusterError, ModelError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{summary['files']} files, {summary['digits']} digits, {summary['errors']} errors in "
          f"{summary['seconds']:.1f} s (first rows after {summary['first_rows_s']:.1f} s): "
          f"{summary['images_per_s']:.0f} images/s with {summary['actors']} actors "
          f"(Ray start {summary['ray_start_s']:.1f} s not counted) → {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
