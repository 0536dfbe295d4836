"""Train the digit CNN on MNIST: python -m training.train [--epochs N] [--limit N] [--out DIR].

Chooses on the validation split, never on the test set, which is measured once at the end; seeded
and resumable, so an interrupted run ends where a straight one would (docs/model.md, "Training").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from serving.contract import to_model_input
from training import checkpoint
from training.conventions import add_conventions, augment
from training.corrections import with_extra
from training.data import DataError, Mnist
from training.model import DigitNet, count_parameters
from training.plots import plot_curves, plot_errors


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
    p.add_argument("--dropout", type=float, default=0.2, help="dropout before the linear layer")
    p.add_argument("--limit", type=int, help="train on the first N images only")
    p.add_argument("--val-limit", type=int, help="choose the epoch on the first N validation images")
    p.add_argument("--test-limit", type=int, help="measure the test set (once, at the end) on the first N")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--no-conventions", action="store_true",
                   help="don't add flagged 1s, crossed 7s, slashed 0s and looped 2s")
    p.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                   help="bf16 autocast where the device computes bf16 natively (auto), else fp32")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the model trains: cpu, or cuda where a GPU is available")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    checkpoint.run_arguments(p, "runs/mnist", "one batch per epoch, one epoch", threads=os.cpu_count())
    p.add_argument("--extra", type=Path, metavar="NPZ",
                   help="corrections to learn too (python -m training.corrections export); their "
                        "held-out part is left out")
    p.add_argument("--extra-share", type=float, default=0.1,
                   help="share of each epoch's images that are corrections (they are repeated)")
    p.add_argument("--extra-as-is", action="store_true",
                   help="learn the --extra images as they are, without augmentation or conventions "
                        "(page digits: already what serving makes of a photo)")
    p.add_argument("--init", type=Path, metavar="CHECKPOINT",
                   help="start from these weights (a checkpoint.pt of python -m training.train); "
                        "for fine-tuning use a short schedule, e.g. --epochs 2 --lr 3e-4")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA GPU is available here (--device cpu trains the same run)")
    return args


def load_splits(args: argparse.Namespace) -> Mnist | None:
    """MNIST's splits as the flags cut them, corrections added to training; None once the failure is said."""
    data = checkpoint.start_run(args)
    if data is None:
        return None
    # the images from this index on are --extra's, appended after MNIST's
    args.first_extra = len(data.train_images[: args.limit])
    try:  # corrections people made (training/corrections.py)
        train = with_extra(data.train_images[: args.limit], data.train_labels[: args.limit],
                           args.extra, args.extra_share)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return None
    return Mnist(*train, data.validation_images[: args.val_limit], data.validation_labels[: args.val_limit],
                 data.test_images[: args.test_limit], data.test_labels[: args.test_limit])


def ema_average(decay: float):
    """Exponential moving average with a warm-up, so short runs aren't stuck at the initial weights."""
    def average(averaged: torch.Tensor, current: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1 + float(count)) / (10 + float(count)))
        return d * averaged + (1 - d) * current
    return average


@dataclass
class Training:
    """A run's state, all that a checkpoint saves and --resume restores; `chosen` is the moving
    average at the epoch that read the validation split best so far (ties: the later epoch)."""
    model: DigitNet
    ema: AveragedModel
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    gen: torch.Generator
    history: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0
    chosen: dict = field(default_factory=lambda: {"epoch": 0, "validation_accuracy": -1.0})
    chosen_weights: dict = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        return self.history[-1]["epoch"] if self.history else 0

    def record(self, entry: dict) -> None:
        self.history.append(entry)
        self.elapsed_s = entry["elapsed_s"]
        if entry["val_acc"] >= self.chosen["validation_accuracy"]:
            self.chosen = {"epoch": entry["epoch"], "validation_accuracy": entry["val_acc"]}
            self.chosen_weights = {k: v.detach().clone() for k, v in self.ema.module.state_dict().items()}

    def state(self) -> dict:
        return {"config": self.model.config, "model": self.model.state_dict(), "ema": self.chosen_weights,
                "chosen": self.chosen, "ema_state": self.ema.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "generator": self.gen.get_state(), "torch_rng": torch.get_rng_state(),
                "history": self.history, "epoch": self.epoch, "elapsed_s": self.elapsed_s}

    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema_state"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.history, self.elapsed_s = state["history"], state["elapsed_s"]
        self.chosen, self.chosen_weights = state["chosen"], state["ema"]


def varied(x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, args: argparse.Namespace,
           gen: torch.Generator) -> torch.Tensor:
    """A batch as the model learns it: conventions added and augmented, except with --extra-as-is
    the --extra images (those at `args.first_extra` and after), which stay as they are."""
    if args.no_augment:
        return x
    out = augment(x if args.no_conventions else add_conventions(x, y, gen), gen)
    if not args.extra_as_is:
        return out
    return torch.where((idx >= args.first_extra)[:, None, None, None], x, out)


def train_epoch(run: Training, images, labels, args, bar) -> tuple[float, float]:
    model = run.model.train()
    order = torch.randperm(len(images), generator=run.gen)
    total_loss, correct, seen = 0.0, 0, 0
    for first in range(0, len(order), args.batch_size):
        idx = order[first : first + args.batch_size]
        x, y = varied(images[idx], labels[idx], idx, args, run.gen), labels[idx]
        x, y = x.to(args.device, memory_format=torch.channels_last), y.to(args.device)
        with torch.autocast(args.device, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
        checkpoint.learn(loss, run.optimizer, run.scheduler)
        run.ema.update_parameters(model)
        total_loss += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        bar.update(1)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
        if args.dry_run:
            break
    return total_loss / seen, correct / seen


@torch.no_grad()
def evaluate(model, images: np.ndarray, labels: np.ndarray, device: str = "cpu") -> tuple[float, np.ndarray]:
    """(mean cross-entropy, predicted digits) of `model` on uint8 images and their labels, 1,000 at a time."""
    model.eval()
    losses, preds = [], []
    for first in range(0, len(images), 1000):
        logits = model(torch.from_numpy(to_model_input(images[first : first + 1000])).to(device))
        y = torch.from_numpy(labels[first : first + 1000]).to(device)
        losses.append(float(F.cross_entropy(logits, y, reduction="sum")))
        preds.append(logits.argmax(1).cpu())
    return sum(losses) / len(images), torch.cat(preds).numpy()


def machine_description(device: str) -> dict:
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name() if device == "cuda" else None
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu, "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__}


def native_bf16(device: str) -> bool:
    """True where the device runs bf16 on its own units (a CPU's AVX-512 BF16 or AMX; most CUDA GPUs)."""
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def train(args: argparse.Namespace, run: Training, splits: Mnist, epochs: int, steps_per_epoch: int,
          checkpoint_path: Path) -> None:
    """Epochs after the run's last one up to `epochs`, a checkpoint after each."""
    images = torch.from_numpy(to_model_input(splits.train_images))
    labels = torch.from_numpy(splits.train_labels)
    started, elapsed_before = time.time(), run.elapsed_s
    bar = tqdm(total=max(0, epochs - run.epoch) * steps_per_epoch, unit="batch", mininterval=2,
               dynamic_ncols=True)
    for epoch in range(run.epoch + 1, epochs + 1):
        bar.set_description(f"epoch {epoch}/{epochs}")
        train_loss, train_acc = train_epoch(run, images, labels, args, bar)
        val_loss, predicted = evaluate(run.ema.module, splits.validation_images, splits.validation_labels,
                                       args.device)
        val_acc = float((predicted == splits.validation_labels).mean())
        elapsed = elapsed_before + time.time() - started
        run.record({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
                    "val_acc": val_acc, "elapsed_s": round(elapsed, 1)})
        bar.write(f"epoch {epoch}: train loss {train_loss:.4f}, validation loss {val_loss:.4f}, "
                  f"validation accuracy {100 * val_acc:.2f}% ({elapsed / 60:.1f} min)")
        torch.save(run.state(), checkpoint_path)
    bar.close()


def finish(args: argparse.Namespace, command: str, splits: Mnist, checkpoint_path: Path) -> None:
    """The chosen weights measured once on the test set; run.json, history.json and the plots written."""
    state = checkpoint.read(checkpoint_path)
    model = checkpoint.digit_net(state)
    val_x, val_y = splits.validation_images, splits.validation_labels
    test_x, test_y = splits.test_images, splits.test_labels
    _, val_predicted = evaluate(model, val_x, val_y)
    _, test_predicted = evaluate(model, test_x, test_y)
    test_acc = float((test_predicted == test_y).mean())
    (args.out / "history.json").write_text(json.dumps(state["history"], indent=1))
    (args.out / "run.json").write_text(json.dumps({
        "command": command, "wall_time_s": round(state["elapsed_s"], 1), "epochs": state["epoch"],
        "train_images": len(splits.train_images), "validation_images": len(val_y),
        "chosen_epoch": state["chosen"]["epoch"],
        "validation_accuracy": state["chosen"]["validation_accuracy"], "test_images": len(test_y),
        "test_accuracy": test_acc, "parameters": count_parameters(model), "seed": args.seed,
        "threads": args.threads, "device": args.device, "precision": args.precision,
        "ema_decay": args.ema_decay, "machine": machine_description(args.device),
    }, indent=1))
    plot_curves(state["history"], args.out / "curves.png")
    plot_errors(val_x, val_predicted, val_y, args.out, "", "Validation")  # the chosen epoch's
    print(f"done: epoch {state['chosen']['epoch']} chosen, validation accuracy "
          f"{100 * state['chosen']['validation_accuracy']:.2f}%, test accuracy {100 * test_acc:.2f}% "
          f"(measured once, not chosen on) in {state['elapsed_s'] / 60:.1f} min; wrote {args.out}")


def first_model(args: argparse.Namespace, resumed: dict | None) -> DigitNet:
    """The model a run starts from: the resumed checkpoint's, a new one, or to fine-tune, the --init
    checkpoint's with the weights its run chose (what export ships)."""
    if resumed is not None:
        if "chosen" not in resumed:
            raise checkpoint.CheckpointError(
                f"{args.out / 'checkpoint.pt'} was written before runs chose on the validation split "
                "(it learnt from those images too): start the run again without --resume")
        return DigitNet(**resumed["config"])
    if args.init is None:
        return DigitNet(width=args.width, dropout=args.dropout)
    try:
        state = checkpoint.read(args.init)
        model = checkpoint.digit_net(state)
    except checkpoint.CheckpointError as err:
        raise DataError(f"--init {err}") from None
    if (trained := model.config["width"]) != args.width:
        raise DataError(f"--init {args.init} was trained with --width {trained}: pass --width {trained}")
    print(f"starting from the weights in {args.init} (epoch {state.get('chosen', {}).get('epoch', '?')})")
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.precision == "auto":
        args.precision = "bf16" if native_bf16(args.device) else "fp32"
    splits = load_splits(args)
    if splits is None:
        return 2
    epochs = 1 if args.dry_run else args.epochs
    steps_per_epoch = 1 if args.dry_run else -(-len(splits.train_images) // args.batch_size)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = args.out / "checkpoint.pt"
    try:
        resumed = checkpoint.read(checkpoint_path) if args.resume and checkpoint_path.exists() else None
        if resumed is not None and resumed["epoch"] >= epochs and (args.out / "run.json").exists():
            print(f"{args.out}: the run is complete ({resumed['epoch']} of {epochs} epochs); nothing to do")
            return 0
        model = first_model(args, resumed).to(args.device, memory_format=torch.channels_last)
        ema = AveragedModel(model, avg_fn=ema_average(args.ema_decay), use_buffers=True)
        optimizer, scheduler = checkpoint.one_cycle(model, args.lr, args.weight_decay,
                                                    epochs * steps_per_epoch, pct_start=0.2)
        run = Training(model, ema, optimizer, scheduler, torch.Generator().manual_seed(args.seed))
    except (DataError, checkpoint.CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if resumed is not None:
        run.restore(resumed)
        print(f"resumed from {checkpoint_path} after epoch {run.epoch}")
    elif args.resume:
        print(f"no checkpoint at {checkpoint_path}; starting from scratch")
    print(f"{count_parameters(run.model):,} parameters; {len(splits.train_images):,} training images; "
          f"{len(splits.validation_images):,} validation images; {args.threads} threads; {args.device}; "
          f"{args.precision}")
    train(args, run, splits, epochs, steps_per_epoch, checkpoint_path)
    finish(args, checkpoint.command_line("training.train", argv), splits, checkpoint_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
