"""API round trip through gradio_client on loopback: sequential latency and concurrent throughput."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import Stats
from bench.footprint import client, predict


def sequential(url: str, image: Path, requests: int, warmup: int = 2) -> dict:
    """One client, one request at a time: what a single user waits for each answer."""
    c = client(url)
    for _ in range(warmup):
        predict(c, image)
    times, errors = [], 0
    for _ in range(requests):
        start = time.perf_counter()
        answer = predict(c, image)
        times.append(time.perf_counter() - start)
        errors += not (isinstance(answer, dict) and answer.get("digit") is not None)
    return {"requests": requests, "latency": Stats.of(times), "per_s": requests / sum(times),
            "errors": errors}


def concurrent(url: str, images: list[Path], clients: int, requests_each: int) -> dict:
    """`clients` clients (own gradio_client each, own image each) sending back to back."""
    connections = [client(url) for _ in range(clients)]
    barrier = threading.Barrier(clients)
    lock = threading.Lock()
    times: list[float] = []
    errors = [0]

    def work(i: int) -> None:
        c, image = connections[i], images[i % len(images)]
        barrier.wait(timeout=60)
        for _ in range(requests_each):
            start = time.perf_counter()
            try:
                answer = predict(c, image)
                ok = isinstance(answer, dict) and answer.get("digit") is not None
            except Exception:
                ok = False
            with lock:
                times.append(time.perf_counter() - start)
                errors[0] += not ok

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, range(clients)))
    wall = time.perf_counter() - start
    total = clients * requests_each
    return {"clients": clients, "requests": total, "wall_s": wall, "per_s": total / wall,
            "latency": Stats.of(times), "errors": errors[0]}
