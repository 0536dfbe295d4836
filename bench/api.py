"""The REST API against a Flask + PyTorch baseline and the Gradio API, side by side on this machine.

    python -m bench.api [--quick] [--model PATH] [--tune] [--rounds N] > report.md

Starts, each in its own process on a free loopback port:
- the app (`python demo.py`): its REST endpoint POST /api/predict, and its Gradio endpoint
  /predict as tuned in demo.py;
- the same app with /predict set back to its settings before tuning (concurrency 4, no batching),
  and with `--tune` every setting of the grid tried when tuning;
- a Flask app of the usual kind (app.run, threaded): PIL decode, naive resize to 28×28, PyTorch
  eager on the same weights (the served ensemble, rebuilt from the ONNX file by bench.weights).

The load generator runs in this process, on the same cores: one thread per client, each with a
keep-alive connection (http.client) sending one MNIST test digit (28×28 PNG) per request;
gradio_client for the Gradio API, plus a light http.client client of Gradio's own HTTP API (upload,
call, event stream) that leaves the server rather than the client as the bottleneck. Comparisons
run in interleaved rounds so that background load on the machine falls on all sides alike.
Reports the median and 99th percentile round trip, requests/s, the server's CPU per request and
errors; the REST server's RSS before and after 10,000 requests; and the round trip of a web-page
user's uploads (/predict_upload) while each API is under load. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import cpu_seconds, free_port, machine_line, rss_mb, stop_process

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
SERVER_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}  # no network here
# Gradio /predict settings: what demo.py had before tuning, and the grid tried by --tune.
BEFORE = {"concurrency": 4, "batch": 0}
TUNE_GRID = [{"concurrency": c, "batch": 0} for c in (1, 2, 4, 8)] + [
    {"concurrency": 1, "batch": 8}, {"concurrency": 2, "batch": 8}]

# Targets from the issue ("An API that keeps up").
TARGET_RPS = 200
TARGET_P99_MS = 100
TARGET_SPEEDUP = 2.0
TARGET_RSS_MB = 30


# ---------------------------------------------------------------- measuring


@dataclass
class Load:
    """One measured run, or several rounds of the same run taken together."""

    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server process used meanwhile
    rounds: list[Load] = field(default_factory=list)  # the rounds merged into this one

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self._median_round(lambda r: r.requests / r.seconds if r.seconds else 0.0)

    def percentile(self, q: float) -> float:
        return self._median_round(
            lambda r: float(np.percentile(r.latencies, q)) * 1000 if r.latencies else float("nan"))

    def _median_round(self, metric: Callable[[Load], float]) -> float:
        """The metric's median over the rounds: a burst of other work on this shared machine
        spoils one round, not the result (the table shows the rounds' range of requests/s)."""
        return float(np.median([metric(r) for r in self.rounds or [self]]))

    def merge(self, other: Load) -> Load:
        """This load and another round of the same thing taken together (interleaved rounds)."""
        cpu = (None if self.server_cpu is None or other.server_cpu is None
               else self.server_cpu + other.server_cpu)
        return Load(self.name, self.clients, self.latencies + other.latencies, self.errors + other.errors,
                    self.seconds + other.seconds, cpu, (self.rounds or [self]) + (other.rounds or [other]))

    def row(self) -> str:
        errors = ", ".join(f"{k}: {v}" for k, v in self.errors.most_common(3)) or "0"
        cpu = f"{1000 * self.server_cpu / self.requests:.1f}" if self.server_cpu and self.requests else "–"
        spread = [r.requests / r.seconds for r in self.rounds if r.seconds]
        rps = f"{self.rps:.1f}" + (f" ({min(spread):.0f}–{max(spread):.0f})" if len(spread) > 1 else "")
        return (f"| {self.name} | {self.clients} | {self.requests} | {self.percentile(50):.1f} | "
                f"{self.percentile(99):.1f} | {rps} | {cpu} | {errors} |")


TABLE_HEAD = ("| endpoint | clients | requests | median ms | p99 ms | requests/s (rounds' range) "
              "| server CPU ms/request | errors |\n|---|---:|---:|---:|---:|---:|---:|---|")
ROUNDS_NOTE = ("With several rounds, median ms, p99 ms and requests/s are the median of the rounds' "
               "values; requests and errors are totals.")


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_clients(name: str, clients: int, requests: int, make_worker: Callable[[int], Callable[[], None]],
                max_seconds: float, server_pid: int | None = None) -> Load:
    """Runs `requests` calls spread over `clients` threads; each worker call does one request.

    A worker returns nothing on success and raises on failure; the error's text is counted.
    """
    load = Load(name, clients)
    counter = itertools.count()
    lock = threading.Lock()
    workers = [make_worker(i) for i in range(clients)]  # connections made before the clock starts
    start_line = threading.Barrier(clients + 1)
    deadline = [0.0]

    def loop(work: Callable[[], None]) -> None:
        start_line.wait()
        while next(counter) < requests and time.perf_counter() < deadline[0]:
            t0 = time.perf_counter()
            try:
                work()
            except Exception as err:  # counted, not raised: the table reports errors
                with lock:
                    load.errors[f"{type(err).__name__}: {str(err)[:60]}"] += 1
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                load.latencies.append(elapsed)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    cpu0 = cpu_seconds(server_pid)
    deadline[0] = time.perf_counter() + max_seconds
    t0 = time.perf_counter()
    start_line.wait()
    for t in threads:
        t.join()
    load.seconds = time.perf_counter() - t0
    if server_pid is not None:
        load.server_cpu = cpu_seconds(server_pid) - cpu0
    progress(load.row())
    return load


class StatusError(Exception):
    pass


def multipart(files: Sequence[tuple[str, bytes]], field_name: str = "files") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
                     f'filename="{name}"\r\nContent-Type: image/png\r\n\r\n'.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def http_worker(port: int, path: str, bodies: list[tuple[bytes, str]], offset: int) -> Callable[[], None]:
    """One client: a keep-alive connection (it reconnects when a server closes it) cycling bodies."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    cycle = itertools.cycle(bodies[offset % len(bodies):] + bodies[: offset % len(bodies)])

    def work() -> None:
        body, content_type = next(cycle)
        try:
            conn.request("POST", path, body, {"Content-Type": content_type})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()  # next request opens a fresh connection
            raise
        if response.status != 200 or b'"digit":null' in data.replace(b" ", b""):
            raise StatusError(f"HTTP {response.status} {data[:40]!r}")

    return work


def http_load(name: str, port: int, path: str, bodies: list[tuple[bytes, str]], clients: int,
              requests: int, max_seconds: float, server_pid: int | None = None) -> Load:
    return run_clients(name, clients, requests, lambda i: http_worker(port, path, bodies, i), max_seconds,
                       server_pid)


def gradio_load(name: str, url: str, files: list[Path], clients: int, requests: int,
                max_seconds: float, server_pid: int | None = None) -> Load:
    """Calls /predict through gradio_client: one Client per simulated user."""
    from gradio_client import Client, handle_file

    def make(i: int) -> Callable[[], None]:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        cycle = itertools.cycle(files[i % len(files):] + files[: i % len(files)])

        def work() -> None:
            result = client.predict(handle_file(str(next(cycle))), api_name="/predict")
            if not isinstance(result, dict) or result.get("digit") is None:
                raise StatusError(f"answer {str(result)[:50]}")

        return work

    return run_clients(name, clients, requests, make, max_seconds, server_pid)


def gradio_http_worker(port: int, files: list[tuple[str, bytes]], offset: int) -> Callable[[], None]:
    """One client of Gradio's own HTTP API, without gradio_client: upload the file, start the
    /predict event, read its event stream. Three requests on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    k = offset % len(files)
    cycle = itertools.cycle([multipart([f]) for f in files[k:] + files[:k]])

    def request(method: str, path: str, body: bytes | None = None, content_type: str = "") -> bytes:
        try:
            conn.request(method, path, body, {"Content-Type": content_type} if content_type else {})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        if response.status != 200:
            raise StatusError(f"HTTP {response.status} on {path.split('/')[2]}: {data[:40]!r}")
        return data

    def work() -> None:
        body, content_type = next(cycle)
        path = json.loads(request("POST", "/gradio_api/upload", body, content_type))[0]
        call = json.dumps({"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}).encode()
        event = json.loads(request("POST", "/gradio_api/call/predict", call, "application/json"))["event_id"]
        stream = request("GET", f"/gradio_api/call/predict/{event}")
        if b"event: complete" not in stream or b'"digit": null' in stream:
            raise StatusError(f"stream {stream[:60]!r}")

    return work


class UiProbe:
    """A user of the web page while the API is under load: uploads a digit every 0.2 s through the
    UI's own event (/predict_upload) and records how long each answer takes."""

    def __init__(self, name: str, url: str, file: Path) -> None:
        from gradio_client import Client

        self.load = Load(name, 1)
        self.client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        self.file = file
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from gradio_client import handle_file

        t_start = time.perf_counter()
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                label = self.client.predict(handle_file(str(self.file)), api_name="/predict_upload")[0]
                if not label or "label" not in label:
                    raise StatusError(f"answer {str(label)[:50]}")
                self.load.latencies.append(time.perf_counter() - t0)
            except Exception as err:
                self.load.errors[f"{type(err).__name__}: {str(err)[:60]}"] += 1
            self.stop.wait(0.2)
        self.load.seconds = time.perf_counter() - t_start

    def __enter__(self) -> UiProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def ui_idle(name: str, url: str, file: Path, seconds: float) -> Load:
    with UiProbe(name, url, file) as probe:
        time.sleep(seconds)
    return probe.load


# ---------------------------------------------------------------- servers


def wait_http(port: int, path: str, proc: subprocess.Popen, log: Path, timeout: float = 300,
              ready_text: bytes = b"public link") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            # Gradio's launch() goes on checking that "/" answers after the server is up, and
            # stops the app if it doesn't: wait for the line it prints once that has passed.
            if conn.getresponse().status < 500 and (path == "/" or ready_text in log.read_bytes()):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server on port {port} did not answer {path} within {timeout:.0f} s")


@contextmanager
def server(args: list[str], port: int, ready_path: str, log: Path,
           ready_text: bytes = b"public link") -> Iterator[subprocess.Popen]:
    """A server subprocess, stopped (only this one, by its own handle) on the way out."""
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **SERVER_ENV})
        try:
            progress(f"starting {' '.join(args)}")
            wait_http(port, ready_path, proc, log, ready_text=ready_text)
            yield proc
        except RuntimeError as err:
            raise RuntimeError(f"{err}; log: {log}\n{log.read_text()[-2000:]}") from None
        finally:
            stop_process(proc, timeout=10)


def baseline_model():
    """The served ensemble in PyTorch, with the ONNX file's own weights."""
    from bench.weights import torch_model
    from serving.predictor import DEFAULT_MODEL

    weights = torch_model(DEFAULT_MODEL)
    return weights.model, weights.source


def serve_flask(port: int) -> None:
    """The baseline: how a Flask + PyTorch digit API is usually written."""
    import logging

    import torch
    from flask import Flask, jsonify, request

    model, weights = baseline_model()
    print(f"baseline: {weights}; torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    app = Flask("baseline")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log, as the REST server has none

    @app.get("/")
    def index():
        return "ok"

    @app.post("/predict")
    def predict():
        out = []
        for upload in request.files.getlist("files"):
            image = Image.open(upload.stream).convert("L").resize((28, 28))
            x = torch.from_numpy(np.asarray(image, np.float32) / 255).view(1, 1, 28, 28)
            with torch.no_grad():
                p = torch.softmax(model(x)[0], dim=1)[0]
            digit = int(p.argmax())
            out.append({"file": upload.filename, "digit": digit, "confidence": round(float(p[digit]), 6),
                        "probabilities": [round(float(v), 6) for v in p]})
        return jsonify(out)

    app.run("127.0.0.1", port, threaded=True)


def serve_gradio(port: int, model: str, concurrency: int, batch: int) -> None:
    """The app with /predict set to given Gradio settings (to compare them in one run)."""
    sys.path.insert(0, str(ROOT))
    import demo

    fn = next(f for f in demo.demo.fns.values() if f.api_name == "predict")
    fn.concurrency_limit = concurrency
    fn.batch, fn.max_batch_size = batch > 0, max(batch, 1)
    fn.fn = gradio_batch_fn(demo) if batch else demo.predict_api
    demo.main(["--port", str(port), "--model", model])


def gradio_batch_fn(demo) -> Callable:
    """/predict for Gradio's batch mode: the batch's images in one predict_batch call.

    A file that fails to decode goes through demo.predict_api again, which retries a cached
    upload that another request may still be writing.
    """
    from serving import NoDigitError
    from serving.records import digit_fields

    def predict_api_batch(paths: list[str | None]) -> list[list[dict]]:
        blobs = []
        for path in paths:
            try:
                blobs.append(Path(path).read_bytes() if path else b"")
            except OSError:
                blobs.append(b"")
        answers = []
        for path, result in zip(paths, demo.predictor().predict_batch(blobs), strict=True):
            if isinstance(result, Exception) and not isinstance(result, NoDigitError):
                answers.append(demo.predict_api(path))
            else:
                answers.append(digit_fields(result))
        return [answers]

    return predict_api_batch


# ---------------------------------------------------------------- inputs and report


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


def check(ok: bool, text: str) -> str:
    return f"- [{'x' if ok else ' '}] {'PASS' if ok else 'FAIL'}: {text}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few requests each: a smoke test")
    p.add_argument("--model", default=None, help="ONNX model (default: models/digitnet.onnx, or "
                   "DIGIT_MODEL)")
    p.add_argument("--requests", type=int, default=None, help="REST/Flask requests at 8 clients")
    p.add_argument("--rss-requests", type=int, default=None, help="REST requests for the memory check")
    p.add_argument("--tune", action="store_true", help="also measure the Gradio settings grid")
    p.add_argument("--no-gradio", action="store_true", help="skip the gradio_client runs")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each comparison")
    p.add_argument("--serve-flask", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--serve-gradio", type=int, metavar="PORT", help=argparse.SUPPRESS)
    p.add_argument("--settings", default=json.dumps(BEFORE), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    model = args.model or os.environ.get("DIGIT_MODEL") or str(ROOT / "models" / "digitnet.onnx")
    if args.serve_flask:
        serve_flask(args.serve_flask)
        return 0
    if args.serve_gradio:
        settings = json.loads(args.settings)
        serve_gradio(args.serve_gradio, model, settings["concurrency"], settings["batch"])
        return 0

    # Stopped from outside (timeout, Ctrl-C): leave through the context managers, which stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    quick = args.quick
    n_http = args.requests or (60 if quick else 9000)  # at 8 clients, over all rounds
    n_rss = args.rss_requests or (200 if quick else 10_000)
    n_gradio = 8 if quick else 100  # per round, at 8 clients
    rounds = 1 if quick else args.rounds
    max_s = 20 if quick else 120
    pngs, source = mnist_pngs(8 if quick else 64)
    single = [multipart([f]) for f in pngs]
    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    files = []
    for name, data in pngs:
        (tmp / name).write_bytes(data)
        files.append(tmp / name)

    print(f"# API benchmark{' (--quick: too few requests to trust)' if quick else ''}\n")
    print(f"Machine: {machine_line()}  ")
    print(f"Model: `{Path(model).name}`; inputs: {source}, one image per request; "
          f"load generator: threads with keep-alive http.client (gradio_client for Gradio) in one "
          f"process on the same machine.\n")
    results: list[Load] = []
    gradio_rows: dict[tuple[str, str], Load] = {}
    ui: dict[str, Load] = {}
    notes: list[str] = []

    rest_port, flask_port = free_port(), free_port()
    url = f"http://127.0.0.1:{rest_port}/"
    with ExitStack() as stack:
        rest_proc = stack.enter_context(server(["demo.py", "--port", str(rest_port), "--model", model],
                                               rest_port, "/api/health", tmp / "rest.log"))
        flask_proc = stack.enter_context(server(["-m", "bench.api", "--serve-flask", str(flask_port)],
                                                flask_port, "/", tmp / "flask.log"))
        notes.append("Flask " + (tmp / "flask.log").read_text().strip().splitlines()[0])
        # Warm-up: first requests import and allocate; not part of any measurement.
        http_load("warm-up", rest_port, "/api/predict", single, 2, 100, 30)
        http_load("warm-up", flask_port, "/predict", single, 2, 50, 30)
        # Interleaved rounds, as for Gradio below: REST and Flask see the same background load.
        merged: dict[tuple[str, int], Load] = {}
        for _ in range(rounds):
            for clients in (1, CLIENTS):
                n = n_http // rounds // (4 if clients == 1 else 1)
                for name, port, path, pid in (("REST `POST /api/predict`", rest_port, "/api/predict",
                                               rest_proc.pid),
                                              ("Flask + PyTorch baseline", flask_port, "/predict",
                                               flask_proc.pid)):
                    load = http_load(name, port, path, single, clients, n, max_s, pid)
                    key = (name, clients)
                    merged[key] = merged[key].merge(load) if key in merged else load
        results += [merged[(name, c)] for c in (1, CLIENTS)
                    for name in ("REST `POST /api/predict`", "Flask + PyTorch baseline")]

        if not args.no_gradio:  # also warms up the UI's path, which the memory run below uses
            ui["no other load"] = ui_idle("no other load", url, files[-1], 2 if quick else 6)
        rss_start = rss_mb(rest_proc.pid)
        with (UiProbe("during REST load, 8 clients", url, files[-1]) if not args.no_gradio
              else nullcontext()) as probe:
            memory = http_load("REST, memory run (a UI user meanwhile)", rest_port, "/api/predict",
                               single, CLIENTS, n_rss, max_s * 10, rest_proc.pid)
        rss_end = rss_mb(rest_proc.pid)
        results.append(memory)
        stack.pop_all().close()  # stop REST and Flask: the Gradio runs below get the machine

    if not args.no_gradio:
        # Every variant of the app runs at once and they take turns, round after round, so that
        # whatever else the machine does at some moment spreads over all of them alike.
        variants = [("Gradio /predict, tuned (demo.py)", None), (describe(BEFORE, before=True), BEFORE)]
        variants += [(describe(s), s) for s in (TUNE_GRID if args.tune else []) if s != BEFORE]
        with ExitStack() as stack:
            running = []
            for label, settings in variants:
                port = free_port()
                cmd = (["demo.py", "--port", str(port), "--model", model] if settings is None else
                       ["-m", "bench.api", "--serve-gradio", str(port), "--model", model,
                        "--settings", json.dumps(settings)])
                proc = stack.enter_context(server(cmd, port, "/api/health", tmp / f"gradio_{port}.log"))
                running.append((label, f"http://127.0.0.1:{port}/", proc.pid))
            if probe is not None:
                ui["during REST load, 8 clients"] = probe.load
            for _ in range(rounds):
                for label, gurl, pid in running:
                    for key, load in gradio_runs(label, gurl, files, n_gradio, max_s, pid):
                        table, name = (ui, label) if key[1] == "ui" else (gradio_rows, key)
                        table[name] = table[name].merge(load) if name in table else load

    print(f"## REST endpoint vs Flask + PyTorch ({rounds} interleaved round{'s' * (rounds > 1)})\n")
    print(TABLE_HEAD)
    for load in results:
        print(load.row())
    print()
    if rounds > 1:
        print(ROUNDS_NOTE + "\n")
    for note in notes:
        print(f"- {note}")
    print(f"- memory: REST server RSS {rss_start:.1f} MB before and {rss_end:.1f} MB after "
          f"{memory.requests:,} more requests ({memory.rps:.0f}/s, {sum(memory.errors.values())} errors)\n")
    if gradio_rows:
        print(f"## Gradio API /predict: through gradio_client, and through its HTTP API with http.client "
              f"({rounds} interleaved round{'s' * (rounds > 1)})\n")
        print(TABLE_HEAD)
        for load in gradio_rows.values():
            print(load.row())
        print()

    if ui:
        print("## The web page while the API is busy: a user's uploads (/predict_upload, every 0.2 s)\n")
        print(TABLE_HEAD.replace("| endpoint |", "| while |"))
        for name, load in ui.items():
            load.name = name if name.startswith(("no other", "during")) else f"during {name}, 8 clients"
            load.server_cpu = None  # shared with the load it ran beside
            print(load.row())
        print()

    rest8 = next(r for r in results if r.name.startswith("REST") and r.clients == CLIENTS)
    flask8 = next(r for r in results if r.name.startswith("Flask") and r.clients == CLIENTS)
    all_rest = [r for r in results if r.name.startswith("REST")]
    checks = [
        check(rest8.rps >= TARGET_RPS, f"REST {rest8.rps:.0f} requests/s with {CLIENTS} clients "
                                       f"(target ≥ {TARGET_RPS})"),
        check(rest8.percentile(99) <= TARGET_P99_MS,
              f"REST p99 {rest8.percentile(99):.1f} ms with {CLIENTS} clients (target ≤ {TARGET_P99_MS})"),
        check(all(not r.errors for r in all_rest), "REST: no errors in any run"),
        check(rest8.rps >= TARGET_SPEEDUP * flask8.rps,
              f"REST {rest8.rps / max(flask8.rps, 1e-9):.1f}× the Flask baseline's requests/s "
              f"(target ≥ {TARGET_SPEEDUP:.0f}×)"),
        check(rss_end - rss_start <= TARGET_RSS_MB,
              f"RSS grew {rss_end - rss_start:+.1f} MB over {memory.requests:,} requests "
              f"(target ≤ {TARGET_RSS_MB} MB{'; the full run makes 10,000' if quick else ''})"),
    ]
    if gradio_rows:
        checks.append(check(all(not r.errors for r in gradio_rows.values()),
                            "Gradio API: no errors in any run, 8 clients sending the same file included"))
    print("## Targets\n")
    print("\n".join(checks))
    return 0


def describe(settings: dict, before: bool = False) -> str:
    batching = f"batch {settings['batch']}" if settings["batch"] else "no batching"
    return (f"Gradio /predict{', before tuning' if before else ''} "
            f"(concurrency {settings['concurrency']}, {batching})")


def gradio_runs(label: str, url: str, files: list[Path], n: int, max_s: float,
                pid: int) -> list[tuple[tuple[str, str], Load]]:
    """Through gradio_client: 1 client, 8 clients (a UI user probing meanwhile), 8 clients all
    sending the same file; then 8 clients of Gradio's HTTP API without gradio_client, whose light
    load generator leaves the server, not the client, as the bottleneck."""
    one = gradio_load(label, url, files, 1, max(4, n // 4), max_s, pid)
    with UiProbe(label, url, files[-1]) as probe:
        eight = gradio_load(label, url, files, CLIENTS, n, max_s, pid)
    same = gradio_load(label + ", same file", url, files[:1], CLIENTS, n, max_s, pid)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    blobs = [(f.name, f.read_bytes()) for f in files]
    raw = run_clients(label + ", HTTP API", CLIENTS, 4 * n,
                      lambda i: gradio_http_worker(port, blobs, i), max_s, pid)
    return [((label, "1"), one), ((label, "8"), eight), ((label, "same"), same), ((label, "raw"), raw),
            ((label, "ui"), probe.load)]


if __name__ == "__main__":
    sys.exit(main())
