"""Many gradio_client clients at once against the demo's /predict: throughput, latency, errors, memory.

    python -m bench.load [--requests 400] [--clients 8] [--url URL | --model PATH] [--max-seconds 300]

Two runs of a fixed number of requests, each client on its own thread with its own Client:
- "different files": every request sends a file no other client sends (distinct content, so
  distinct entries in Gradio's content-addressed upload cache);
- "same file, same moment": in each round all clients wait at a barrier, then send the very same
  new file at once, the case where Gradio's upload cache is written and read concurrently.

Every answer is checked (the digit drawn in the file); an exception, an error answer or a wrong
digit counts as an error, and there must be none. Reports requests/s, median and p99 latency, and
the server's RSS (psutil) before and after each run, as a markdown table, with the machine. Without
--url it starts its own server (`python demo.py` on a free loopback port) and stops it afterwards.
Exit status 0 when there was no error.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench.common import free_port, machine_line, rss_mb, stop_process
from examples.strokes import digit_strokes

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "digitnet.onnx"
INTERIM_MODEL = Path("/tmp/models1/digitnet.onnx")
RELIABLE_DIGITS = (0, 3, 4, 5, 7, 8, 9)  # as digit_image() draws them, read right with > 90% confidence


# ---------------------------------------------------------------- test files


def digit_image(digit: int, variant: int, side: int = 200) -> bytes:
    """A PNG of `digit` in dark ink on white, shifted and thickened a little by `variant`.

    Each variant has different bytes, so files never collide in Gradio's upload cache unless a
    run wants them to.
    """
    rng = random.Random(variant)
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    w, h = side * rng.uniform(0.45, 0.55), side * rng.uniform(0.62, 0.72)
    x, y = (side - w) / 2 + rng.uniform(-8, 8), (side - h) / 2 + rng.uniform(-8, 8)
    pen = rng.randint(12, 16)
    for stroke in digit_strokes(digit, x, y, w, h):
        draw.line(stroke, fill=20, width=pen, joint="curve")
    draw.point((variant % side, 0), fill=250)  # one near-white pixel: unique bytes for sure
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def write_files(directory: Path, count: int, start: int = 0) -> list[tuple[Path, int]]:
    """`count` distinct digit files in `directory`: (path, the digit drawn)."""
    files = []
    for i in range(start, start + count):
        digit = RELIABLE_DIGITS[i % len(RELIABLE_DIGITS)]
        path = directory / f"digit_{i:05d}_{digit}.png"
        path.write_bytes(digit_image(digit, i))
        files.append((path, digit))
    return files


# ---------------------------------------------------------------- the server


@contextmanager
def own_server(model: Path, timeout_s: float = 180.0) -> Iterator[tuple[str, int]]:
    """`python demo.py` on a free loopback port: yields (url, pid); stops it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    log = tempfile.NamedTemporaryFile(prefix="bench-load-demo-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "demo.py", "--host", "127.0.0.1", "--port", str(port),
                             "--model", str(model)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the demo exited ({proc.returncode}); see {log.name}")
            try:
                with urllib.request.urlopen(url + "config", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no answer in {timeout_s:.0f} s; see {log.name}") from None
                time.sleep(0.5)
        yield url, proc.pid
    finally:
        stop_process(proc)
        log.close()


def listening_pid(url: str) -> int | None:
    """The pid of the process listening on the URL's port (to read its RSS), if it can be found."""
    import psutil

    port = int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                return conn.pid
    except (psutil.AccessDenied, PermissionError):
        pass
    return None


# ---------------------------------------------------------------- load


@dataclass
class Run:
    name: str
    clients: int
    planned: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    rss_before_mb: float | None = None
    rss_after_mb: float | None = None

    @property
    def done(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def rps(self) -> float:
        return self.done / self.wall_s if self.wall_s else 0.0

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) * 1e3 if self.latencies else float("nan")

    def row(self) -> list[str]:
        def mb(x: float | None) -> str:
            return "?" if x is None else f"{x:.0f}"

        growth = (f"{self.rss_after_mb - self.rss_before_mb:+.0f}"
                  if self.rss_before_mb is not None and self.rss_after_mb is not None else "?")
        return [self.name, str(self.clients), f"{self.done}/{self.planned}", f"{self.wall_s:.1f}",
                f"{self.rps:.1f}", f"{self.percentile_ms(50):.0f}", f"{self.percentile_ms(99):.0f}",
                str(len(self.errors)), mb(self.rss_before_mb), mb(self.rss_after_mb), growth]


HEADER = ["run", "clients", "requests", "wall s", "req/s", "median ms", "p99 ms", "errors",
          "RSS before MB", "RSS after MB", "RSS growth MB"]


def make_clients(url: str, count: int) -> list:
    from gradio_client import Client

    return [Client(url, verbose=False, download_files=False) for _ in range(count)]


def one_request(client, path: Path, digit: int, run: Run, lock: threading.Lock) -> None:
    from gradio_client import handle_file

    start = time.perf_counter()
    try:
        answer = client.predict(handle_file(str(path)), api_name="/predict")
        problem = None
        if not isinstance(answer, dict) or answer.get("digit") is None:
            problem = f"{path.name}: error answer {answer!r}"[:300]
        elif answer["digit"] != digit:
            problem = f"{path.name}: read as {answer['digit']}, drawn {digit}"
    except Exception as err:  # any failure of the call is what this benchmark counts
        problem = f"{path.name}: {type(err).__name__}: {err}"[:300]
    elapsed = time.perf_counter() - start
    with lock:
        if problem:
            run.errors.append(problem)
        else:
            run.latencies.append(elapsed)


def different_files(url: str, clients: list, requests: int, directory: Path, max_seconds: float,
                    pid: int | None) -> Run:
    """Each request sends its own file; requests are handed out to whichever client is free."""
    run = Run("different files", len(clients), requests)
    files = write_files(directory, requests)
    lock = threading.Lock()
    next_index = iter(range(requests))
    deadline = time.monotonic() + max_seconds

    def worker(client) -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            one_request(client, *files[i], run, lock)

    return timed(run, [lambda c=c: worker(c) for c in clients], pid)


def same_file(url: str, clients: list, requests: int, directory: Path, max_seconds: float,
              pid: int | None) -> Run:
    """Rounds: all clients wait at a barrier, then send the very same (new) file at once."""
    run = Run("same file, same moment", len(clients), requests)
    rounds = max(1, requests // len(clients))
    run.planned = rounds * len(clients)
    files = write_files(directory, rounds, start=1_000_000)  # new content: not yet in the cache
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))
    deadline = time.monotonic() + max_seconds
    stop = threading.Event()

    def worker(client) -> None:
        for path, digit in files:
            try:
                barrier.wait(timeout=120)
            except threading.BrokenBarrierError:
                return
            if stop.is_set() or time.monotonic() > deadline:
                stop.set()
                barrier.abort()
                return
            one_request(client, path, digit, run, lock)

    return timed(run, [lambda c=c: worker(c) for c in clients], pid)


def timed(run: Run, workers: list[Callable[[], None]], pid: int | None) -> Run:
    run.rss_before_mb = rss_mb(pid)
    threads = [threading.Thread(target=w, daemon=True) for w in workers]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.wall_s = time.perf_counter() - start
    run.rss_after_mb = rss_mb(pid)
    return run


def load(url: str, requests: int = 400, clients: int = 8, max_seconds: float = 300.0,
         pid: int | None = None, warmup: int = 2) -> list[Run]:
    """Both runs against the demo at `url`; pid (default: found from the port) for RSS."""
    pid = pid if pid is not None else listening_pid(url)
    pool = make_clients(url, clients)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        directory = Path(tmp)
        warm = write_files(directory, warmup, start=2_000_000)
        scratch = Run("warm-up", 1, warmup)
        for path, digit in warm:
            one_request(pool[0], path, digit, scratch, threading.Lock())
        return [different_files(url, pool, requests, directory, max_seconds, pid),
                same_file(url, pool, requests, directory, max_seconds, pid)]


# ---------------------------------------------------------------- report


def table(runs: list[Run]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|" + "---:|" * (len(HEADER) - 1)]
    lines += ["| " + " | ".join(run.row()) + " |" for run in runs]
    return "\n".join(lines)


def report(runs: list[Run]) -> str:
    out = [table(runs), "", f"Machine: {machine_line()}; client and server on the same machine."]
    for run in runs:
        for err in run.errors[:5]:
            out.append(f"- {run.name}: {err}")
        if run.done < run.planned:
            out.append(f"- {run.name}: stopped at the time limit after {run.done} of {run.planned} requests")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=400, help="requests per run")
    p.add_argument("--clients", type=int, default=8, help="concurrent gradio_client clients")
    p.add_argument("--url", help="a running demo (default: start one on a free loopback port)")
    p.add_argument("--model", type=Path, help="model for the server started here "
                   f"(default {DEFAULT_MODEL}, else {INTERIM_MODEL})")
    p.add_argument("--max-seconds", type=float, default=300.0, help="time limit per run")
    args = p.parse_args(argv)
    if args.url:
        runs = load(args.url, args.requests, args.clients, args.max_seconds)
    else:
        model = args.model or (DEFAULT_MODEL if DEFAULT_MODEL.exists() else INTERIM_MODEL)
        with own_server(model) as (url, pid):
            runs = load(url, args.requests, args.clients, args.max_seconds, pid=pid)
    print(report(runs))
    return 0 if all(not r.errors and r.done == r.planned for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
