"""Train the sequence reader of whole numbers: python -m training.train_numbers [--steps N] [--out DIR].

Numbers are composed on the fly from MNIST's training split only; its validation split makes a fixed
set of numbers that picks the checkpoint; the test split is left to bench.numbers (docs/numbers.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from serving.contract import BLANK, STRIP_HEIGHT, SYMBOLS
from serving.ctc import greedy_decode
from training import checkpoint
from training.data import DataError
from training.model import count_parameters
from training.numbers_model import Composed, NumberNet, batch_of, compose_number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4500, help="optimizer steps (one batch each)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--width", type=int, default=24, help="channels of the first conv layer")
    p.add_argument("--limit", type=int,
                   help="compose numbers from the first N training images only (a quick slice)")
    p.add_argument("--val-count", type=int, default=1000, help="validation numbers")
    p.add_argument("--eval-every", type=int, default=500, help="steps between validations")
    p.add_argument("--max-minutes", type=float,
                   help="stop (validate and keep the best) after this long, whatever --steps says")
    p.add_argument("--init", type=Path,
                   help="start from this checkpoint's weights (a fresh schedule: fine-tuning)")
    p.add_argument("--extra", type=Path,
                   help="number strips to learn from as they are (python -m bench.page_digits "
                        "--numbers-out FILE); its held-out share is read at each validation")
    p.add_argument("--extra-share", type=float, default=0.4, help="share of each batch from --extra")
    checkpoint.run_arguments(p, "runs/numbers", "3 steps, 16 validation numbers")
    args = p.parse_args(argv)
    if args.dry_run:
        args.steps, args.val_count, args.eval_every = 3, 16, 3
    for name in ("steps", "batch_size", "val_count", "eval_every", "width", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.limit is not None and args.limit < 10:
        p.error("--limit must be at least 10 images")
    if not 0 < args.extra_share < 1:
        p.error("--extra-share must lie between 0 and 1")
    return args


def validation_set(images: np.ndarray, labels: np.ndarray, count: int) -> list:
    rng = np.random.default_rng(12345)  # the same numbers every run, so runs compare
    return [compose_number(images, labels, rng) for _ in range(count)]


@torch.no_grad()
def evaluate(model: NumberNet, numbers: list, batch_size: int = 64) -> dict:
    model.eval()
    exact = right_length = 0
    for start in range(0, len(numbers), batch_size):
        chunk = numbers[start : start + batch_size]
        x, _, lengths, _ = batch_of(chunk)
        log_probs = model(x).numpy()
        for c, lp, n in zip(chunk, log_probs, lengths.tolist(), strict=True):
            read = greedy_decode(lp[:n])
            exact += read == c.symbols
            right_length += len(read) == len(c.symbols)
    model.train()
    return {"exact": exact / len(numbers), "right_length": right_length / len(numbers)}


def validated(model: NumberNet, validation: list, held: list) -> dict:
    """Composed validation numbers read exactly, held-out page strips too where there are any, and
    the score that picks the checkpoint: with page strips, both kinds on average."""
    metrics = evaluate(model, validation)
    if not held:
        return {**metrics, "score": metrics["exact"]}
    page = evaluate(model, held)["exact"]
    return {**metrics, "page_exact": page, "score": (metrics["exact"] + page) / 2}


def similar_widths(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, batch_size: int,
                   extra: list[Composed], share: float, pool: int = 4) -> list[list]:
    """`pool` batches of numbers, each of numbers of similar width (less padding to compute on):
    composed ones, and `share` of them drawn from `extra` where there are any."""
    drawn = round(share * pool * batch_size) if extra else 0
    numbers = [compose_number(images, labels, rng) for _ in range(pool * batch_size - drawn)]
    numbers += [extra[k] for k in rng.integers(0, len(extra), drawn)] if drawn else []
    numbers.sort(key=lambda c: c.strip.shape[1])
    batches = [numbers[k : k + batch_size] for k in range(0, len(numbers), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def page_strips(path: Path) -> tuple[list[Composed], list[Composed]]:
    """The strips of a bench.page_digits --numbers-out file with the numbers written: those to
    learn from, and those held out. DataError in words when the file is not one."""
    try:
        with np.load(path) as data:
            columns, widths, numbers, holdout = (data[k] for k in ("columns", "widths", "numbers", "holdout"))
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path} holds no number strips ({err}): make it with python -m "
                        "bench.page_digits --numbers-out FILE") from None
    if columns.shape[0] != STRIP_HEIGHT or widths.sum() != columns.shape[1] or len(numbers) != len(widths):
        raise DataError(f"{path}: its strips must be {STRIP_HEIGHT} rows tall, side by side, one number each")
    edges = np.concatenate([[0], np.cumsum(widths)])
    strips = [Composed(columns[:, a:b].astype(np.float32) / 255, [SYMBOLS.index(c) for c in str(n)])
              for a, b, n in zip(edges[:-1], edges[1:], numbers, strict=True)]
    return ([c for c, held in zip(strips, holdout, strict=True) if not held],
            [c for c, held in zip(strips, holdout, strict=True) if held])


def first_model(args: argparse.Namespace) -> NumberNet:
    """A new model, or with --init that checkpoint's (rebuilt from its config; --width must agree)."""
    if args.init is None:
        return NumberNet(args.width)
    model = checkpoint.net(checkpoint.read(args.init), NumberNet)
    if model.config["width"] != args.width:
        raise checkpoint.CheckpointError(f"{args.init} has width {model.config['width']}, "
                                         f"not --width {args.width}")
    return model.train()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mnist = checkpoint.start_run(args)
    if mnist is None:
        return 2
    train_x, train_y = mnist.train_images[: args.limit], mnist.train_labels[: args.limit]
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        model = first_model(args)
    except checkpoint.CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        extra, held = page_strips(args.extra) if args.extra else ([], [])
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    held = held[: args.val_count]
    optimizer, scheduler = checkpoint.one_cycle(model, args.lr, args.weight_decay, args.steps, pct_start=0.1)
    ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True)
    rng = np.random.default_rng(args.seed)
    validation = validation_set(mnist.validation_images, mnist.validation_labels, args.val_count)
    run = {"command": checkpoint.command_line("training.train_numbers", argv),
           "args": {k: str(v) for k, v in vars(args).items()},
           "parameters": count_parameters(model), "machine": platform.processor() or platform.machine(),
           "torch": torch.__version__, "threads": args.threads}
    (args.out / "run.json").write_text(json.dumps(run, indent=2))
    print(f"NumberNet: {run['parameters']} parameters; {args.steps} steps of {args.batch_size}", flush=True)
    history, best, start, losses = [], -1.0, time.time(), []
    batches: list = []
    # Fine-tuning validates its starting point first (step 0): the run keeps it if nothing beats it.
    for step in range(0 if args.init else 1, args.steps + 1):
        if step:
            if not batches:
                batches = similar_widths(train_x, train_y, rng, args.batch_size, extra, args.extra_share)
            x, targets, input_lengths, target_lengths = batch_of(batches.pop())
            loss = ctc(model(x).transpose(0, 1), targets, input_lengths, target_lengths)
            checkpoint.learn(loss, optimizer, scheduler, max_norm=5.0)
            losses.append(loss.item())
        out_of_time = args.max_minutes is not None and time.time() - start > 60 * args.max_minutes
        if step % args.eval_every == 0 or step == args.steps or out_of_time:
            metrics = {"step": step, "loss": float(np.mean(losses)) if losses else None,
                       **validated(model, validation, held), "minutes": (time.time() - start) / 60}
            losses = []
            history.append(metrics)
            print(json.dumps(metrics), flush=True)
            if metrics["score"] >= best:
                best = metrics["score"]
                torch.save({"model": model.state_dict(), "config": model.config, "step": step,
                            "validation": metrics, "init": str(args.init) if args.init else None},
                           args.out / "checkpoint.pt")
            (args.out / "history.json").write_text(json.dumps(history, indent=2))
        if out_of_time:
            print(f"stopped after {args.max_minutes} minutes at step {step}", flush=True)
            break
    kinds = " (composed numbers and page strips on average)" if held else ""
    print(f"best validation exact-number rate{kinds} {best:.4f}; checkpoint {args.out / 'checkpoint.pt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
