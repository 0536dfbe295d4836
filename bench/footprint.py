"""Serving footprint: resident memory of an onnxruntime vs a PyTorch serving process, and the
demo's cold start with and without torch imported.

Each process is started here, measured, and stopped here (by its own handle, nothing else).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import server
from bench.common import stop_process

ROOT = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """A process under test did not start or answer in time."""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GRADIO_ANALYTICS_ENABLED"] = "False"  # no calls home from a loopback benchmark
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], min(0.5, max(0.0, deadline - time.monotonic())))
        if ready:
            return proc.stdout.readline()
        if proc.poll() is not None:
            break
    raise BenchError(f"process {proc.args[:4]} gave no answer within {timeout:.0f} s "
                     f"(exit code {proc.poll()})")


def rss_tree(pid: int) -> tuple[int, int]:
    """(RSS, USS) in bytes of a process and its children."""
    rss = uss = 0
    proc = psutil.Process(pid)
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        uss += getattr(info, "uss", 0)
    return rss, uss


def serving_rss(engine: str, model: Path, images: list[Path], timeout: float = 180) -> dict:
    """Starts bench.serve_child, waits until it has answered, reads its memory, stops it."""
    import json

    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.serve_child", engine, str(model),
                             *map(str, images)], cwd=ROOT, env=child_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(proc, timeout)
        ready_s = time.perf_counter() - start
        if not line.strip():
            err = proc.stderr.read()[-2000:] if proc.stderr else ""
            raise BenchError(f"serve_child {engine} failed: {err}")
        rss, uss = rss_tree(proc.pid)
        result = json.loads(line)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop_process(proc, timeout=10)
    return {**result, "rss": rss, "uss": uss, "ready_s": ready_s}


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, analytics_enabled=False)


def predict(c, image: Path) -> dict:
    from gradio_client import handle_file

    return c.predict(handle_file(str(image)), api_name="/predict")


def cold_start(model: Path, image: Path, with_torch: bool, log_dir: Path, timeout: float = 240,
               keep: bool = False) -> tuple[dict, server.DemoServer | None]:
    """Process start → HTTP up → first /predict answered through gradio_client.

    Returns the figures and, with keep=True, the still running demo (the caller stops it).
    """
    log = Path(tempfile.mkstemp(prefix=f"demo-{'torch' if with_torch else 'ort'}-", suffix=".log",
                                dir=log_dir)[1])
    demo = server.start_demo(model, log, timeout_s=timeout, retry=False, with_torch=with_torch,
                             ready=server.http_ready("/"), poll_s=0.05)  # a start-up time is measured
    try:
        http_s = demo.ready_s
        answer = predict(client(demo.url), image)
        first_s = time.perf_counter() - demo.started
        rss, _ = rss_tree(demo.pid)
        result = {"with_torch": with_torch, "http_s": http_s, "first_answer_s": first_s, "rss": rss,
                  "digit": answer.get("digit") if isinstance(answer, dict) else None}
    except BaseException:
        server.stop(demo, timeout=10)
        raise
    if keep:
        return result, demo
    server.stop(demo, timeout=10)
    return result, None


def footprint(fp32: Path, torch_state: dict, images: list[Path], repeats: int = 1) -> list[dict]:
    """RSS of the two serving processes; torch_state is the PyTorch model's state_dict."""
    import torch

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        weights = Path(tmp) / "digitnet.pt"
        torch.save(torch_state, weights)
        runs: dict[str, list[dict]] = {"ort": [], "torch": []}
        for _ in range(repeats):
            runs["ort"].append(serving_rss("ort", fp32, images))
            runs["torch"].append(serving_rss("torch", weights, images))
    # The median run by RSS, so one disturbed start doesn't decide the figure.
    return [sorted(r, key=lambda x: x["rss"])[len(r) // 2] for r in runs.values()]
