"""Train the not-a-digit check: python -m training.train_marks [--marks N] [--epochs N] [--out DIR].

Digits (MNIST's training split and pad-like drawn digits) against marks that are no digit
(training.marks), every picture as serving hands it to the digit model. The threshold is chosen on
the validation split's digits and fresh marks; the test split is not touched.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from torch import nn

from training import checkpoint
from training.data import TRAIN_IMAGES
from training.marks import make_set
from training.model import MarkNet, count_parameters


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--digits", type=int, default=TRAIN_IMAGES, help="MNIST training digits")
    p.add_argument("--drawn", type=int, default=20000, help="pad-like drawn digits")
    p.add_argument("--marks", type=int, default=50000, help="marks that are no digit")
    p.add_argument("--val-digits", type=int, default=10000, help="MNIST validation digits")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--width", type=int, default=16, help="channels of the first conv layer")
    p.add_argument("--flag-digits", type=float, default=0.001,
                   help="the share of validation digits the threshold may flag")
    checkpoint.run_arguments(p, "runs/marks", "a few hundred pictures, one epoch")
    args = p.parse_args(argv)
    if args.dry_run:
        args.digits, args.drawn, args.marks, args.val_digits, args.epochs = 300, 60, 300, 200, 1
    return args


def train(model: MarkNet, x: np.ndarray, y: np.ndarray, args: argparse.Namespace) -> list[float]:
    """The mean loss of each epoch; each batch is shifted by up to 2 pixels."""
    gen = torch.Generator().manual_seed(args.seed)
    images, labels = torch.from_numpy(x)[:, None], torch.from_numpy(y)
    steps = args.epochs * -(-len(images) // args.batch_size)
    optimizer, schedule = checkpoint.one_cycle(model, args.lr, 1e-4, steps)
    loss_of, losses = nn.CrossEntropyLoss(), []
    model.train()
    for _ in range(args.epochs):
        order, total = torch.randperm(len(images), generator=gen), 0.0
        for start in range(0, len(images), args.batch_size):
            batch = order[start:start + args.batch_size]
            dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
            loss = loss_of(model(images[batch].roll((dy, dx), (2, 3))), labels[batch])
            checkpoint.learn(loss, optimizer, schedule)
            total += loss.item() * len(batch)
        losses.append(total / len(images))
    return losses


@torch.no_grad()
def choose_threshold(model: MarkNet, x: np.ndarray, y: np.ndarray, flag_digits: float) -> dict:
    """The lowest threshold on the model's mark probability that flags at most `flag_digits` of the
    digits, and what it catches."""
    p = torch.softmax(model.eval()(torch.from_numpy(x)[:, None]), 1)[:, 1].numpy()
    digits = np.sort(p[y == 0])
    threshold = max(0.5, float(digits[min(len(digits) - 1, int(np.ceil(len(digits) * (1 - flag_digits))))]))
    return {"threshold": round(threshold, 6),
            "digits_flagged": round(float((p[y == 0] >= threshold).mean()), 6),
            "marks_caught": round(float((p[y == 1] >= threshold).mean()), 6),
            "validation_digits": int((y == 0).sum()), "validation_marks": int((y == 1).sum())}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = checkpoint.start_run(args)
    if data is None:
        return 2
    started = time.time()
    x, y = make_set(data.train_images[:args.digits], args.marks, args.drawn, seed=args.seed)
    val_x, val_y = make_set(data.validation_images[:args.val_digits], args.val_digits,
                            args.val_digits // 5, seed=args.seed + 1000)
    print(f"{len(x):,} training pictures ({(y == 1).mean():.0%} marks), {len(val_x):,} validation; "
          f"made in {time.time() - started:.0f} s", flush=True)
    model = MarkNet(args.width)
    losses = train(model, x, y, args)
    chosen = choose_threshold(model, val_x, val_y, args.flag_digits)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save({"config": model.config, "model": model.state_dict(), "validation": chosen},
               args.out / "checkpoint.pt")
    run = {"command": checkpoint.command_line("training.train_marks", argv),
           "seed": args.seed, "epochs": args.epochs, "losses": [round(v, 5) for v in losses],
           "pictures": len(x), "parameters": count_parameters(model), "threads": args.threads,
           "torch": torch.__version__, "minutes": round((time.time() - started) / 60, 1), **chosen}
    (args.out / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    print(json.dumps(run), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
