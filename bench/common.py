"""What the benchmarks share: timing statistics, markdown tables, the machine, processes, test images,
and PyTorch with the served ONNX file's weights."""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import socket
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageFilter

from examples.make import draw_digits
from serving.contract import FIELD
from serving.paths import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass(frozen=True)
class Stats:
    """Summary of timing samples, in seconds."""

    median: float
    p99: float
    mean: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        a = np.asarray(samples, np.float64)
        return cls(float(np.median(a)), float(np.percentile(a, 99)), float(a.mean()), len(a))


@dataclass(frozen=True)
class Timing:
    """Wall-clock and calling-thread CPU time of the same calls: on a shared machine only the wall
    time includes waiting for a core, so the two show how much of a figure is the load."""

    wall: Stats
    cpu: Stats


def time_calls(fn: Callable[[], object], count: int) -> tuple[list[float], list[float]]:
    """(wall seconds, thread CPU seconds) taken by each of `count` calls of fn."""
    wall, cpu = [], []
    for _ in range(count):
        c0, w0 = time.thread_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.thread_time() - c0)
    return wall, cpu


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    return fn(), time.perf_counter() - started


def interleaved_latency(engines: dict[Hashable, Callable[[], object]], runs: int,
                        warmup: int) -> dict[Hashable, Timing]:
    """Per-call latency of each engine, in rounds of turns (order rotated each round): background
    load drifts, and taking turns exposes the engines to the same load, so their ratio holds."""
    names = list(engines)
    for name in names:
        time_calls(engines[name], warmup)
    rounds = max(1, min(20, runs))
    samples: dict[Hashable, tuple[list[float], list[float]]] = {name: ([], []) for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            wall, cpu = time_calls(engines[name], max(1, runs // rounds))
            samples[name][0].extend(wall)
            samples[name][1].extend(cpu)
    return {name: Timing(Stats.of(wall), Stats.of(cpu)) for name, (wall, cpu) in samples.items()}


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A GitHub markdown table; align is one letter per column, l or r (default: first l, rest r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.1f}"


def cpu_info(field: str) -> str:
    """A field of /proc/cpuinfo ('' where there is none)."""
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith(field)), "")


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_line() -> str:
    return (f"{cpu_info('model name') or platform.machine()}, {os.cpu_count()} logical cores "
            f"({len(os.sched_getaffinity(0))} usable), Python {platform.python_version()}, "
            f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; load average at start {load_average()} "
            "(1/5/15 min)")


def machine_info() -> dict[str, str]:
    flags = cpu_info("flags").split()
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu_info("model name") or platform.machine(),
            "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable by this process",
            "simd": ", ".join(simd) or "none of avx2/avx512/vnni", "os": platform.platform(),
            "python": platform.python_version(),
            **{package: metadata.version(package) for package in ("onnxruntime", "torch", "numpy", "pillow",
                                                                   "gradio")},
            "OPENBLAS_CORETYPE": f"set ({coretype})" if coretype else "not set"}


# Ports for the servers benchmarks and tests start: above Ray's worker ports (10002–19999) and
# below the range the OS hands out by itself (32768 on, Linux's default), where Ray's own servers
# and every outgoing connection take theirs. A port the OS picked could be taken between being
# picked and the server binding it: once, by Ray starting inside `scale.serve` on the same port.
SERVER_PORTS = range(20000, 32768)


def free_port() -> int:
    """A port nothing listens on now, from SERVER_PORTS, picked at random (xdist workers pick apart)."""
    for port in random.SystemRandom().sample(SERVER_PORTS, 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port among 200 tried in {SERVER_PORTS.start}–{SERVER_PORTS.stop - 1}")


def rss_mb(pid: int | None, unique: bool = False) -> float | None:
    """Resident memory of a process and its children, MiB (None when it is gone); unique=True:
    only the pages no other process shares (USS)."""
    import psutil

    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_full_info().uss if unique else p.memory_info().rss for p in procs) / 2**20
    except psutil.Error:
        return None


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def made_images_parser(doc: str, count: int, count_help: str | None = None) -> argparse.ArgumentParser:
    """The arguments of a benchmark on images it makes: how many, the seed, the model."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--count", type=int, default=count, help=count_help)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check against the model card")
    return p


@dataclass(frozen=True)
class Check:
    """A line under Targets; one that needs the full counts (full_run: speed, memory over 10,000
    requests) is not judged in --quick runs."""

    ok: bool
    text: str
    full_run: bool = False

    def line(self, quick: bool) -> str:
        if self.full_run and quick:
            return f"- [ ] not judged (--quick): {self.text}"
        return f"- [{'x' if self.ok else ' '}] {'PASS' if self.ok else 'FAIL'}: {self.text}"

    def failed(self, quick: bool) -> bool:
        return not self.ok and not (self.full_run and quick)


def centred_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of every pixel of an image of `shape` (h, w), each from -0.5 to 0.5 across it."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return y / h - 0.5, x / w - 0.5


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def mnist_pngs(n: int) -> tuple[list[tuple[str, bytes]], str]:
    """n MNIST test digits as 28×28 PNG files (name, bytes), and a line saying what they are."""
    from training.data import load_mnist

    data = load_mnist()
    return ([(f"mnist_test_{i}_{int(data.test_labels[i])}.png", encoded(Image.fromarray(data.test_images[i])))
             for i in range(n)], f"{n} MNIST test digits, 28×28 PNG")


def sketch_png(digit: int = 3, side: int = 280) -> bytes:
    """A drawn digit as a sketchpad would give it: dark strokes on white, PNG bytes."""
    return encoded(draw_digits((side, side), str(digit), (20, 20, 20), "white", max(2, side // 16)))


def phone_jpeg(digit: int = 7, size: tuple[int, int] = (3000, 4000), seed: int = 0) -> bytes:
    """A 12-megapixel 'phone photo' of a digit in ballpoint on paper: uneven light, sensor noise."""
    w, h = size
    # Ink on white at full size, softened like a pen line seen through a lens.
    ink = draw_digits(size, str(digit), 255, 0, w // 60, mode="L").filter(ImageFilter.GaussianBlur(w / 1000))
    # Paper lit from one corner: a smooth gradient, warm tint, plus per-pixel noise.
    yy, xx = np.mgrid[0:h:64, 0:w:64].astype(np.float32)
    light = 0.78 + 0.2 * (1 - np.hypot(xx / w - 0.2, yy / h - 0.1) / 1.2)
    light = np.asarray(Image.fromarray(light).resize(size, Image.Resampling.BILINEAR), np.float32)
    a = np.asarray(ink, np.float32)[..., None] / 255
    pixels = (np.float32([238, 232, 218]) * (1 - a) + np.float32([35, 45, 90]) * a) * light[..., None]
    pixels += np.random.default_rng(seed).normal(0, 5, (h, w, 1)).astype(np.float32)
    return encoded(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB"), "JPEG", quality=90)


# runs/ is not committed (and its checkpoints move on while training), so the PyTorch side of a
# comparison is rebuilt from the fp32 ONNX file's initializers. torch and onnx take seconds to
# import: imported here only when a benchmark needs them.


def noise_images(count: int = 256, seed: int = 0) -> np.ndarray:
    """Digit-like uint8 images (N, FIELD, FIELD) without needing MNIST: sparse strokes of random intensity."""
    x = np.random.default_rng(seed).integers(0, 256, (count, FIELD, FIELD), dtype=np.uint8)
    x[x < 179] = 0
    return x


def from_onnx(path: Path):
    """An Ensemble whose forward pass computes what the fp32 ONNX file computes. The exporter keeps
    the parameter names and folds each BatchNorm into the conv before it (the fused bias stored as
    `<conv>.weight_bias`); the rebuilt BatchNorms, kept so eager PyTorch does the trained model's
    work, are the identity plus that bias."""
    import onnx
    from onnx import numpy_helper

    from export.onnx_export import all_graphs
    from training.model import FIRST_SURE, Ensemble, current_names

    graph = onnx.load(str(path)).graph
    # Every weight in the file, the graph's own and those inside an If's branches.
    inits = {i.name: numpy_helper.to_array(i) for g in all_graphs(graph) for i in g.initializer}
    count = len({name.split(".")[1] for name in inits if name.startswith("members.")})
    if count == 0:
        raise RuntimeError(f"{path} has no initializers members.N.*: not an ensemble export")
    members = [member_from(current_names({k[len(f"members.{i}."):]: v for k, v in inits.items()
                                          if k.startswith(f"members.{i}.")}), path) for i in range(count)]
    # An If in the graph is the first member's shortcut (training.model.Ensemble).
    shortcut = any(node.op_type == "If" for node in graph.node)
    return Ensemble(members, FIRST_SURE if shortcut else None).eval()


def member_from(inits: dict[str, np.ndarray], path: Path):
    """One DigitNet from a member's initializers, its BatchNorms the identity plus the fused bias."""
    import torch
    from torch import nn

    from training.model import DigitNet

    model = DigitNet(width=int(inits["body.0.0.weight"].shape[0])).eval()
    state = {key: torch.from_numpy(inits[key].copy()).reshape(value.shape)
             for key, value in model.state_dict().items() if key in inits}
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            conv = name.rsplit(".", 1)[0] + ".0"  # conv_bn: Sequential(conv, bn, relu)
            if f"{conv}.weight_bias" not in inits:
                raise RuntimeError(f"{path}: BatchNorm {name} is not folded into {conv}")
            bias = torch.from_numpy(inits[f"{conv}.weight_bias"].copy())
            state.update({f"{name}.weight": torch.ones_like(bias), f"{name}.bias": bias,
                          f"{name}.running_mean": torch.zeros_like(bias),
                          f"{name}.running_var": torch.full_like(bias, 1.0 - module.eps),
                          f"{name}.num_batches_tracked": torch.tensor(0)})
    model.load_state_dict(state)  # strict: a weight the file lacks is an error
    return model


def torch_model(path: Path) -> tuple[object, dict]:
    """The PyTorch ensemble with the ONNX file's own weights, and its parity with onnxruntime on
    noise_images() (export.evaluate.check_parity: it raises past a max |diff| of 1e-4)."""
    from export.evaluate import check_parity, session

    model = from_onnx(path)
    return model, check_parity(model, session(path), noise_images())
