"""The load generator of every benchmark, and many gradio_client clients at once against the demo.

`python -m bench.load` makes two runs against /predict: "different files" (no two requests send the
same file, so each is a new entry in Gradio's content-addressed upload cache) and "same file, same
moment" (each round every client sends the very same new file at once: the cache written and read
concurrently). An exception, an error answer or a digit other than the one drawn is an error, and
the exit status is 0 only without any. Without --url it starts its own demo on a free loopback port.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import ImageDraw

from bench import server
from bench.common import cpu_seconds, encoded, machine_line, rss_mb
from examples.make import draw_digits
from serving.paths import DEFAULT_MODEL

CLIENTS = 8  # the benchmarks' concurrent clients
Work = Callable[[int], None]  # one request (the n-th); raises on failure
TABLE_HEAD = ("| endpoint | clients | requests | median ms | p99 ms | requests/s (rounds' range) "
              "| server CPU ms/request | errors |\n|---|---:|---:|---:|---:|---:|---:|---|")


@dataclass
class Load:
    """One measured run, or several rounds of the same run taken together."""

    name: str
    clients: int
    planned: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server process used meanwhile
    rss_before_mb: float | None = None
    rss_after_mb: float | None = None
    rounds: list[Load] = field(default_factory=list)  # the rounds merged into this one

    @property
    def done(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def rps(self) -> float:
        return self._median_round(lambda r: r.done / r.seconds if r.seconds else 0.0)

    def percentile(self, q: float) -> float:
        """The q-th percentile round trip, milliseconds."""
        return self._median_round(
            lambda r: float(np.percentile(r.latencies, q)) * 1000 if r.latencies else float("nan"))

    def _median_round(self, metric: Callable[[Load], float]) -> float:
        """The metric's median over the rounds: a burst of other work spoils one round, not the result."""
        return float(np.median([metric(r) for r in self.rounds or [self]]))

    def merge(self, other: Load) -> Load:
        """This load and another round of the same thing taken together (interleaved rounds)."""
        cpu = None if None in (self.server_cpu, other.server_cpu) else self.server_cpu + other.server_cpu
        return Load(self.name, self.clients, self.planned + other.planned, self.latencies + other.latencies,
                    self.errors + other.errors, self.seconds + other.seconds, cpu, self.rss_before_mb,
                    other.rss_after_mb, (self.rounds or [self]) + (other.rounds or [other]))

    def row(self) -> str:
        errors = ", ".join(f"{k}: {v}" for k, v in Counter(self.errors).most_common(3)) or "0"
        cpu = f"{1000 * self.server_cpu / self.done:.1f}" if self.server_cpu and self.done else "–"
        spread = [r.done / r.seconds for r in self.rounds if r.seconds]
        rps = f"{self.rps:.1f}" + (f" ({min(spread):.0f}–{max(spread):.0f})" if len(spread) > 1 else "")
        return (f"| {self.name} | {self.clients} | {self.done} | {self.percentile(50):.1f} | "
                f"{self.percentile(99):.1f} | {rps} | {cpu} | {errors} |")


def table(loads: Iterable[Load], first: str = "endpoint") -> str:
    """The loads' markdown table, `first` heading the column of their names."""
    return "\n".join([TABLE_HEAD.replace("| endpoint |", f"| {first} |"), *(load.row() for load in loads)])


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_clients(name: str, clients: int, requests: int, make_worker: Callable[[int], Work],
                max_seconds: float, server_pid: int | None = None, together: bool = False) -> Load:
    """`requests` calls over `clients` threads, each calling the worker made for it, until done or
    `max_seconds` have passed; an exception counts as an error. Workers take whichever request number
    is next; together=True: rounds instead, every client waiting at a barrier and then making request
    number ROUND at the same moment."""
    rounds = max(1, requests // clients)
    load = Load(name, clients, rounds * clients if together else requests)
    counter, lock = itertools.count(), threading.Lock()
    workers = [make_worker(i) for i in range(clients)]  # connections made before the clock starts
    start_line, step = threading.Barrier(clients + 1), threading.Barrier(clients)
    deadline = [0.0]

    def next_request(round_: int) -> int | None:
        if not together:
            n = next(counter)
            return n if n < requests and time.perf_counter() < deadline[0] else None
        try:
            step.wait(timeout=120)
        except threading.BrokenBarrierError:
            return None
        if round_ >= rounds or time.perf_counter() >= deadline[0]:
            step.abort()  # the others, waiting for the next round, stop too
            return None
        return round_

    def loop(work: Work) -> None:
        start_line.wait()
        for round_ in itertools.count():
            if (n := next_request(round_)) is None:
                return
            t0 = time.perf_counter()
            try:
                work(n)
            except Exception as err:  # counted, not raised: the table reports errors
                with lock:
                    load.errors.append(f"{type(err).__name__}: {str(err)[:120]}")
                continue
            with lock:
                load.latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    load.rss_before_mb, cpu0 = rss_mb(server_pid), cpu_seconds(server_pid)
    deadline[0] = (t0 := time.perf_counter()) + max_seconds
    start_line.wait()
    for t in threads:
        t.join()
    load.seconds = time.perf_counter() - t0
    if server_pid is not None:
        load.server_cpu, load.rss_after_mb = cpu_seconds(server_pid) - cpu0, rss_mb(server_pid)
    progress(load.row())
    return load


class AnswerError(Exception):
    """The server answered, but not with what was asked for."""


def multipart(files: Sequence[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
             f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n" for name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Connection:
    """A keep-alive http.client connection that reconnects when the server has closed it."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> bytes:
        """The answer's body; raises AnswerError unless it is HTTP 200."""
        try:
            self.conn.request(method, path, body, {"Content-Type": content_type} if content_type else {})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a fresh connection
            raise
        if response.status != 200:
            raise AnswerError(f"HTTP {response.status} on {path}: {data[:40]!r}")
        return data


def http_load(name: str, port: int, path: str, bodies: list[tuple[bytes, str]], clients: int,
              requests: int, max_seconds: float, server_pid: int | None = None) -> Load:
    """Clients POSTing bodies (body, content type) in turn, each starting at its own, over keep-alive
    http.client connections; an answer without a digit is an error."""

    def worker(offset: int) -> Work:
        conn = Connection(port, timeout=30)

        def work(n: int) -> None:
            data = conn.request("POST", path, *bodies[(offset + n) % len(bodies)])
            if b'"digit":null' in data.replace(b" ", b""):
                raise AnswerError(f"error answer {data[:40]!r}")

        return work

    return run_clients(name, clients, requests, worker, max_seconds, server_pid)


def gradio_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def predict_file(client, path: Path, api_name: str = "/predict"):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), api_name=api_name)


def gradio_load(name: str, url: str, files: Sequence[tuple[Path, int | None]], clients: int, requests: int,
                max_seconds: float, server_pid: int | None = None, together: bool = False) -> Load:
    """/predict through gradio_client, one Client per simulated user, each starting at its own file
    (path, digit drawn or None); an answer without a digit, or with another digit than the one
    drawn, is an error."""

    def worker(offset: int) -> Work:
        client = gradio_client(url)

        def work(n: int) -> None:
            path, digit = files[(offset + n) % len(files)]
            answer = predict_file(client, path)
            if not isinstance(answer, dict) or answer.get("digit") is None:
                raise AnswerError(f"{path.name}: error answer {str(answer)[:200]}")
            if digit is not None and answer["digit"] != digit:
                raise AnswerError(f"{path.name}: read as {answer['digit']}, drawn {digit}")

        return work

    return run_clients(name, clients, requests, lambda i: worker(0 if together else i), max_seconds,
                       server_pid, together)


def gradio_http_worker(port: int, files: list[tuple[str, bytes]], offset: int) -> Work:
    """One client of Gradio's own HTTP API, without gradio_client: upload the file, start the
    /predict event, read its event stream. Three requests on one keep-alive connection."""
    conn = Connection(port)
    bodies = [multipart([f]) for f in files]

    def work(n: int) -> None:
        upload = conn.request("POST", "/gradio_api/upload", *bodies[(offset + n) % len(bodies)])
        path = json.loads(upload)[0]
        call = json.dumps({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}).encode()
        event = json.loads(conn.request("POST", "/gradio_api/call/predict", call, "application/json"))
        stream = conn.request("GET", f"/gradio_api/call/predict/{event['event_id']}")
        if b"event: complete" not in stream or b'"digit": null' in stream:
            raise AnswerError(f"stream {stream[:60]!r}")

    return work


def write_files(directory: Path, count: int, start: int = 0) -> list[tuple[Path, int | None]]:
    """`count` 200×200 digit PNGs in `directory` (examples.make), pen and slant varied and one
    near-white pixel placed by number, so no two share bytes in Gradio's upload cache: (path, digit)."""
    files: list[tuple[Path, int | None]] = []
    for i in range(start, start + count):
        rng, digit = random.Random(i), i % 10
        image = draw_digits((200, 200), str(digit), 20, 255, rng.randint(12, 16), "L",
                            rng.uniform(-0.15, 0.15))
        ImageDraw.Draw(image).point((i % 200, 0), fill=250)
        files.append((directory / f"digit_{i:05d}_{digit}.png", digit))
        files[-1][0].write_bytes(encoded(image))
    return files


def load(url: str, requests: int = 400, clients: int = 8, max_seconds: float = 300.0,
         pid: int | None = None) -> list[Load]:
    """Both runs against the demo at `url`; `pid` (the server's) for its memory and CPU."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        directory = Path(tmp)
        gradio_load("warm-up", url, write_files(directory, 2, start=2_000_000), 1, 2, max_seconds)
        different = gradio_load("different files", url, write_files(directory, requests), clients, requests,
                                max_seconds, pid)
        # new content, not yet in the cache: one file a round, every client sending it at once
        rounds = write_files(directory, max(1, requests // clients), start=1_000_000)
        same = gradio_load("same file, same moment", url, rounds, clients, requests, max_seconds, pid,
                           together=True)
        return [different, same]


def report(runs: list[Load]) -> str:
    out = [table(runs, "run"), "", f"Machine: {machine_line()}; client and server on the same machine."]
    for run in runs:
        if run.rss_before_mb is not None and run.rss_after_mb is not None:
            out.append(f"- {run.name}: server RSS {run.rss_before_mb:.0f} MB before, "
                       f"{run.rss_after_mb:.0f} MB after")
        out += [f"- {run.name}: {err}" for err in run.errors[:5]]
        if run.done < run.planned:
            out.append(f"- {run.name}: stopped at the time limit after {run.done} of {run.planned} requests")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=400, help="requests per run")
    p.add_argument("--clients", type=int, default=8, help="concurrent gradio_client clients")
    p.add_argument("--url", help="a running demo (default: start one on a free loopback port)")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model for the server started here")
    p.add_argument("--max-seconds", type=float, default=300.0, help="time limit per run")
    args = p.parse_args(argv)
    if args.url:
        runs = load(args.url, args.requests, args.clients, args.max_seconds)
    else:
        with (tempfile.TemporaryDirectory(prefix="bench-load-") as tmp,
              server.start_demo(args.model, Path(tmp) / "demo.log") as demo):
            runs = load(demo.url, args.requests, args.clients, args.max_seconds, pid=demo.pid)
    print(report(runs))
    return 0 if all(not r.errors and r.done == r.planned for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
