"""What every benchmark section shares: timing statistics, markdown tables, the machine, test images."""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import subprocess
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from examples.strokes import digit_strokes

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "digitnet.onnx"


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
    """Wall-clock and CPU time (of the calling thread) of the same calls.

    On a shared machine the wall time includes waiting for a core; the thread's CPU time doesn't,
    so the two side by side show how much of a figure is the code and how much is the load.
    """

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


def interleaved_latency(engines: dict[Hashable, Callable[[], object]], runs: int, warmup: int,
                        rounds: int = 20) -> dict[Hashable, Timing]:
    """Per-call latency of each engine, measured in alternating rounds.

    On a shared or throttled machine the background load drifts; running the engines in turns
    (order rotated each round) exposes them to the same load, so their ratio stays meaningful.
    """
    names = list(engines)
    for name in names:
        time_calls(engines[name], warmup)
    rounds = max(1, min(rounds, runs))
    per_round = max(1, runs // rounds)
    wall: dict[Hashable, list[float]] = {name: [] for name in names}
    cpu: dict[Hashable, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            w, c = time_calls(engines[name], per_round)
            wall[name].extend(w)
            cpu[name].extend(c)
    return {name: Timing(Stats.of(wall[name]), Stats.of(cpu[name])) for name in names}


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A GitHub markdown table; align is one letter per column, l or r (default: first l, rest r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}" if seconds < 0.01 else f"{seconds * 1e3:.1f}"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f}"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_line() -> str:
    """The machine in one line, for reports that print it above their tables."""
    return (f"{cpu_model()}, {os.cpu_count()} logical cores ({len(os.sched_getaffinity(0))} usable), "
            f"Python {platform.python_version()}, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
            f"load average at start {load_average()} (1/5/15 min)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process and its children, MiB (None when it is gone)."""
    import psutil

    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
        children = proc.children(recursive=True)
        return (proc.memory_info().rss + sum(c.memory_info().rss for c in children)) / 2**20
    except psutil.Error:
        return None


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Ends a process this program started (by its own handle): politely, then for sure."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (0 for None)."""
    if pid is None:
        return 0.0
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def machine_info() -> dict[str, str]:
    flags = cpu_flags()
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} logical, {len(os.sched_getaffinity(0))} usable by this process",
        "simd": ", ".join(simd) or "none of avx2/avx512/vnni",
        "os": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": version("onnxruntime"),
        "torch": version("torch"),
        "numpy": version("numpy"),
        "pillow": version("pillow"),
        "gradio": version("gradio"),
        "OPENBLAS_CORETYPE": f"set ({coretype})" if coretype else "not set",
    }


# ---------------------------------------------------------------- arguments, checks and test images


def made_images_parser(doc: str, count: int, count_help: str | None = None) -> argparse.ArgumentParser:
    """The arguments of a benchmark on images it makes: how many, the seed, the model."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--count", type=int, default=count, help=count_help)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--no-verify", action="store_true", help="skip the sha256 check against the model card")
    return p


def centred_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of every pixel of an image of `shape` (h, w), each from -0.5 to 0.5 across it."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return y / h - 0.5, x / w - 0.5


@dataclass(frozen=True)
class Check:
    """A line under Targets. One that needs the full counts (full_run=True: speed, memory over
    10,000 requests) is not judged in --quick runs."""

    ok: bool
    text: str
    full_run: bool = False

    def line(self, quick: bool) -> str:
        if self.full_run and quick:
            return f"- [ ] not judged (--quick): {self.text}"
        return f"- [{'x' if self.ok else ' '}] {'PASS' if self.ok else 'FAIL'}: {self.text}"

    def failed(self, quick: bool) -> bool:
        return not self.ok and not (self.full_run and quick)


def check(ok: bool, text: str, full_run: bool = False) -> Check:
    return Check(ok, text, full_run)


def mnist_pngs(n: int) -> tuple[list[tuple[str, bytes]], str]:
    """n MNIST test digits as 28×28 PNG files, or drawn stand-ins when MNIST isn't installed."""
    try:
        from training.data import load_mnist

        data = load_mnist()
        images = [(f"mnist_test_{i}_{int(data.test_labels[i])}.png", data.test_images[i]) for i in range(n)]
        source = f"{n} MNIST test digits, 28×28 PNG"
    except Exception:
        from PIL import ImageDraw

        images = []
        for i in range(n):
            im = Image.new("L", (28, 28), 0)
            ImageDraw.Draw(im).line([(8, 6), (20, 6), (12 + i % 4, 23)], fill=255, width=2)
            images.append((f"drawn_{i}.png", np.asarray(im)))
        source = f"{n} drawn 7-like digits, 28×28 PNG (MNIST not installed)"
    out = []
    for name, array in images:
        buf = io.BytesIO()
        Image.fromarray(array).save(buf, "PNG")
        out.append((name, buf.getvalue()))
    return out, source



def draw_digit(draw: ImageDraw.ImageDraw, digit: int, box: tuple[float, float, float, float],
               width: int, fill: tuple[int, ...]) -> None:
    for stroke in digit_strokes(digit, *box):
        draw.line(stroke, fill=fill, width=width, joint="curve")
        r = width / 2
        for x, y in (stroke[0], stroke[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def sketch_png(digit: int = 3, side: int = 280) -> bytes:
    """A drawn digit as a sketchpad would give it: dark strokes on white, PNG bytes."""
    image = Image.new("RGB", (side, side), "white")
    margin = side * 0.18
    draw_digit(ImageDraw.Draw(image), digit, (margin, margin * 0.8, side - 2 * margin, side - 1.6 * margin),
               width=max(2, side // 16), fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def phone_jpeg(digit: int = 7, size: tuple[int, int] = (3000, 4000), seed: int = 0) -> bytes:
    """A 12-megapixel 'phone photo' of a digit in ballpoint on paper: uneven light, sensor noise."""
    w, h = size
    rng = np.random.default_rng(seed)
    # Ink on white at full size, softened like a pen line seen through a lens.
    ink = Image.new("L", size, 0)
    draw_digit(ImageDraw.Draw(ink), digit, (w * 0.3, h * 0.3, w * 0.4, h * 0.4), width=w // 60, fill=(255,))
    ink = ink.filter(ImageFilter.GaussianBlur(w / 1000))
    # Paper lit from one corner: a smooth gradient, warm tint, plus per-pixel noise.
    yy, xx = np.mgrid[0:h:64, 0:w:64].astype(np.float32)
    light = 0.78 + 0.2 * (1 - np.hypot(xx / w - 0.2, yy / h - 0.1) / 1.2)
    light_full = np.asarray(Image.fromarray(light).resize(size, Image.Resampling.BILINEAR), np.float32)
    paper = np.array([238, 232, 218], np.float32)
    pen = np.array([35, 45, 90], np.float32)
    a = np.asarray(ink, np.float32)[..., None] / 255
    pixels = (paper * (1 - a) + pen * a) * light_full[..., None]
    pixels += rng.normal(0, 5, (h, w, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()
