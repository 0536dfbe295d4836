"""The REST API against a Flask + PyTorch baseline and the Gradio API, side by side on this machine.

`python demo.py` (REST POST /api/predict and Gradio /predict) and a Flask app of the usual kind
(threaded; PIL decode, naive resize to 28×28, PyTorch eager on the same weights) each run in their
own process; the load generator (bench.load) in this one, on the same cores, one MNIST test digit
per request, REST and Flask in interleaved rounds. Also measured: the REST server's RSS over 10,000
requests, and a web-page user's uploads while each API is under load. Exit status 1 when a check
under Targets fails (with --quick only those that don't depend on speed).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from bench import server
from bench.common import Check, machine_line, mnist_pngs, torch_model
from bench.load import (
    CLIENTS,
    AnswerError,
    Load,
    gradio_client,
    gradio_http_worker,
    gradio_load,
    http_load,
    multipart,
    predict_file,
    progress,
    run_clients,
    table,
)
from serving.paths import DEFAULT_MODEL

# Targets from the issue ("An API that keeps up").
TARGET_RPS, TARGET_P99_MS, TARGET_SPEEDUP, TARGET_RSS_MB = 200, 100, 2.0, 30


@contextmanager
def ui_probe(name: str, url: str, file: Path) -> Iterator[Load]:
    """A user of the web page while the API is under load: uploads a digit every 0.2 s through the
    UI's own event (/predict_upload); the Load records how long each answer takes."""
    load, client, stop = Load(name, 1), gradio_client(url), threading.Event()

    def run() -> None:
        t_start = time.perf_counter()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                label = predict_file(client, file, "/predict_upload")[0]
                if not label or "label" not in label:
                    raise AnswerError(f"answer {str(label)[:50]}")
                load.latencies.append(time.perf_counter() - t0)
            except Exception as err:
                load.errors.append(f"{type(err).__name__}: {str(err)[:60]}")
            stop.wait(0.2)
        load.seconds = time.perf_counter() - t_start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield load
    finally:
        stop.set()
        thread.join()


def serve_flask(port: int) -> None:
    """The baseline: how a Flask + PyTorch digit API is usually written."""
    import logging

    import torch
    from flask import Flask, jsonify, request

    model, _ = torch_model(DEFAULT_MODEL)
    print(f"baseline: rebuilt from the initializers of {DEFAULT_MODEL.name}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)
    app = Flask("baseline")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log, as the REST server has none
    app.get("/")(lambda: "ok")

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


@dataclass
class Setup:
    """What every run shares: the model, the counts, the test files; and what the runs measured."""

    model: str
    quick: bool
    tmp: Path
    pngs: list[tuple[str, bytes]]
    rounds: int = 3
    n_http: int = 9000  # REST and Flask requests at 8 clients, over all rounds
    n_rss: int = 10_000  # REST requests of the memory run
    n_gradio: int = 100  # gradio_client requests per round, at 8 clients
    max_s: float = 120  # time limit of one measured run
    rest: list[Load] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gradio: dict[str, Load] = field(default_factory=dict)  # by run: "1", "8", "same" (clients), "raw"
    ui: dict[str, Load] = field(default_factory=dict)

    @property
    def bodies(self) -> list[tuple[bytes, str]]:
        return [multipart([f]) for f in self.pngs]

    @property
    def files(self) -> list[tuple[Path, int | None]]:
        return [(self.tmp / name, None) for name, _ in self.pngs]


def add(table: dict, key: object, load: Load) -> None:
    """Files a load under its key, merged with the earlier rounds of the same run."""
    table[key] = table[key].merge(load) if key in table else load


def rest_and_flask(setup: Setup) -> None:
    """REST and Flask in interleaved rounds, then REST's memory run with a UI user probing meanwhile."""
    with (server.start_demo(Path(setup.model), setup.tmp / "rest.log") as rest,
          server.start_python(["-m", "bench.api"], setup.tmp / "flask.log", port_flag="--serve-flask",
                              ready=server.http_ready("/")) as flask):
        setup.notes.append("Flask " + flask.log_tail().strip().splitlines()[0])
        # Warm-up: first requests import and allocate; not part of any measurement.
        http_load("warm-up", rest.port, "/api/predict", setup.bodies, 2, 100, 30)
        http_load("warm-up", flask.port, "/predict", setup.bodies, 2, 50, 30)
        sides = (("REST `POST /api/predict`", rest.port, "/api/predict", rest.pid),
                 ("Flask + PyTorch baseline", flask.port, "/predict", flask.pid))
        merged: dict[tuple[str, int], Load] = {}
        for _ in range(setup.rounds):  # interleaved: REST and Flask see the same background load
            for clients in (1, CLIENTS):
                n = setup.n_http // setup.rounds // (4 if clients == 1 else 1)
                for name, port, path, pid in sides:
                    add(merged, (name, clients),
                        http_load(name, port, path, setup.bodies, clients, n, setup.max_s, pid))
        setup.rest += [merged[(name, c)] for c in (1, CLIENTS) for name, *_ in sides]
        ui_file = setup.files[-1][0]
        with ui_probe("no other load", rest.url, ui_file) as idle:  # also warms up the UI's path
            time.sleep(2 if setup.quick else 6)
        with ui_probe("during REST load, 8 clients", rest.url, ui_file) as probe:
            setup.rest.append(http_load("REST, memory run (a UI user meanwhile)", rest.port, "/api/predict",
                                        setup.bodies, CLIENTS, setup.n_rss, setup.max_s * 10, rest.pid))
        setup.ui.update({"no other load": idle, "during REST load, 8 clients": probe})


def gradio_runs(setup: Setup) -> None:
    """demo.py's Gradio /predict, round after round: through gradio_client 1 client, 8 clients (a UI
    user probing meanwhile), 8 clients all sending the same file; then 8 clients of Gradio's HTTP
    API without gradio_client, whose light load generator leaves the server, not the client, as
    the bottleneck."""
    label, files, n, max_s = "Gradio /predict (demo.py)", setup.files, setup.n_gradio, setup.max_s
    with server.start_demo(Path(setup.model), setup.tmp / "gradio.log") as demo:
        for _ in range(setup.rounds):
            add(setup.gradio, "1", gradio_load(label, demo.url, files, 1, max(4, n // 4), max_s, demo.pid))
            with ui_probe(f"during {label}, 8 clients", demo.url, files[-1][0]) as probe:
                add(setup.gradio, "8", gradio_load(label, demo.url, files, CLIENTS, n, max_s, demo.pid))
            add(setup.ui, probe.name, probe)
            add(setup.gradio, "same", gradio_load(label + ", same file", demo.url, files[:1], CLIENTS, n,
                                                  max_s, demo.pid))
            add(setup.gradio, "raw", run_clients(label + ", HTTP API", CLIENTS, 4 * n,
                                                 lambda i: gradio_http_worker(demo.port, setup.pngs, i),
                                                 max_s, demo.pid))


def print_tables(setup: Setup) -> None:
    rounds = f"{setup.rounds} round{'s' * (setup.rounds > 1)}"
    print(f"## REST endpoint vs Flask + PyTorch ({rounds}, interleaved)\n\n{table(setup.rest)}\n")
    if setup.rounds > 1:
        print("With several rounds, median ms, p99 ms and requests/s are the median of the rounds' values; "
              "requests and errors are totals.\n")
    memory = setup.rest[-1]
    print("\n".join(f"- {note}" for note in setup.notes))
    print(f"- memory: REST server RSS {memory.rss_before_mb:.1f} MB before and {memory.rss_after_mb:.1f} MB "
          f"after {memory.done:,} more requests ({memory.rps:.0f}/s, {len(memory.errors)} errors)\n")
    print(f"## Gradio API /predict: through gradio_client, and through its HTTP API with http.client "
          f"({rounds})\n\n{table(setup.gradio.values())}\n")
    print("## The web page while the API is busy: a user's uploads (/predict_upload, every 0.2 s)\n")
    print(table(setup.ui.values(), "while") + "\n")


def checks(setup: Setup) -> list[Check]:
    rest8, flask8 = (next(r for r in setup.rest if r.name.startswith(side) and r.clients == CLIENTS)
                     for side in ("REST", "Flask"))
    memory = setup.rest[-1]
    grown = memory.rss_after_mb - memory.rss_before_mb
    return [
        Check(rest8.rps >= TARGET_RPS, f"REST {rest8.rps:.0f} requests/s with {CLIENTS} clients "
                                       f"(target ≥ {TARGET_RPS})", full_run=True),
        Check(rest8.percentile(99) <= TARGET_P99_MS,
              f"REST p99 {rest8.percentile(99):.1f} ms with {CLIENTS} clients (target ≤ {TARGET_P99_MS})",
              full_run=True),
        Check(all(not r.errors for r in setup.rest if r.name.startswith("REST")),
              "REST: no errors in any run"),
        Check(rest8.rps >= TARGET_SPEEDUP * flask8.rps,
              f"REST {rest8.rps / max(flask8.rps, 1e-9):.1f}× the Flask baseline's requests/s "
              f"(target ≥ {TARGET_SPEEDUP:.0f}×)", full_run=True),
        Check(grown <= TARGET_RSS_MB, f"RSS grew {grown:+.1f} MB over {memory.done:,} requests "
              f"(target ≤ {TARGET_RSS_MB} MB over 10,000)", full_run=True),
        Check(all(not r.errors for r in setup.gradio.values()),
              "Gradio API: no errors in any run, 8 clients sending the same file included"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few requests each: a smoke test")
    p.add_argument("--model", default=os.environ.get("DIGIT_MODEL") or str(DEFAULT_MODEL),
                   help="ONNX model (default: DIGIT_MODEL, or models/digitnet.onnx)")
    p.add_argument("--serve-flask", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_flask:
        return serve_flask(args.serve_flask) or 0
    # Stopped from outside (timeout, Ctrl-C): leave through the context managers, which stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="bench_api_"))
    pngs, source = mnist_pngs(8 if args.quick else 64)
    for name, data in pngs:
        (tmp / name).write_bytes(data)
    quick = dict(rounds=1, n_http=60, n_rss=200, n_gradio=8, max_s=20) if args.quick else {}
    setup = Setup(args.model, args.quick, tmp, pngs, **quick)
    print(f"# API benchmark{' (--quick: too few requests to trust)' if setup.quick else ''}\n")
    print(f"Machine: {machine_line()}  ")
    print(f"Model: `{Path(setup.model).name}`; inputs: {source}, one image per request; load generator: "
          "threads with keep-alive http.client (gradio_client for Gradio) in one process on the same "
          "machine.\n")
    rest_and_flask(setup)
    gradio_runs(setup)
    print_tables(setup)
    found = checks(setup)
    print("## Targets\n\n" + "\n".join(c.line(setup.quick) for c in found))
    failed = [c.text for c in found if c.failed(setup.quick)]
    if failed:
        progress(f"{len(failed)} check(s) failed: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
