"""python -m bench: why the digit recognizer serves with onnxruntime, measured side by side.

Every section of bench/RESULTS.md, measured in one run on this machine and written to --out;
--quick's tiny counts check the code path (tests/test_bench.py runs it), not the speed.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# torch takes seconds to import: the sections that use it import it when they run, after main
# has checked the arguments.
from bench import load, server
from bench.common import (
    ROOT,
    Stats,
    interleaved_latency,
    load_average,
    machine_info,
    md_table,
    ms,
    noise_images,
    phone_jpeg,
    rss_mb,
    sketch_png,
    time_calls,
    torch_model,
)
from serving.contract import to_model_input
from serving.session import load_session

ENGINES = ("onnxruntime fp32", "onnxruntime INT8", "PyTorch eager fp32")
BATCH_SIZES = [1, 8, 64, 256]
# How many runs, requests and seconds each section takes: the full benchmark, and --quick's tiny counts.
FULL = dict(latency_runs=4000, latency_warmup=300, sketch_runs=300, photo_runs=20, throughput_s=1.5,
            throughput_repeats=5, accuracy_limit=None, footprint_repeats=3, cold_repeats=3, api_sequential=60,
            api_clients=8, api_each=10)
QUICK = dict(latency_runs=60, latency_warmup=10, sketch_runs=5, photo_runs=2, throughput_s=0.02,
             throughput_repeats=1, accuracy_limit=500, footprint_repeats=1, cold_repeats=1, api_sequential=3,
             api_clients=8, api_each=1)


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f}"


@dataclass
class Bench:
    """What the sections of one run share, and the report they make."""

    args: argparse.Namespace
    counts: dict[str, Any]  # FULL or QUICK
    model: Any  # the PyTorch ensemble with the ONNX file's weights (bench.common.torch_model)
    parity: dict  # its parity with onnxruntime fp32 (export.evaluate.check_parity)
    tmp: Path  # test images and demo logs
    sketches: list[Path]  # a sketch PNG of each digit
    photo: Path  # a 12-MP phone photo JPEG of a 7
    demo: server.DemoServer | None = None  # left running by the footprint section for the API section
    parts: list[str] = field(default_factory=list)  # the sections, printed as they finish
    checks: list[tuple[str, str, str, bool | None]] = field(default_factory=list)  # the must-reach checks
    failed: list[str] = field(default_factory=list)  # the sections that raised

    def section(self, title: str, body: str) -> None:
        text = f"## {title}\n\n{body.strip()}\n"
        self.parts.append(text)
        print(text, flush=True)

    def check(self, name: str, target: str, measured: str, ok: bool | None) -> None:
        self.checks.append((name, target, measured, ok))

    def run(self, title: str, section: Callable[[Bench], str]) -> None:
        load.progress(f"{title} ...")
        start = time.perf_counter()
        try:
            body = section(self)
        except Exception as err:
            self.failed.append(title)
            traceback.print_exc()
            body = f"**Failed:** `{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}`"
        load.progress(f"{title} done in {time.perf_counter() - start:.1f} s")
        self.section(title, body)


ort_session = functools.cache(load_session)  # (path, threads) → one session each


def runner(b: Bench, engine: str, x: np.ndarray, threads: int) -> Callable[[], object]:
    """One call of `engine` on x with `threads` threads."""
    if not engine.startswith("PyTorch"):
        sess = ort_session(b.args.fp32 if "fp32" in engine else b.args.int8, threads)
        name = sess.get_inputs()[0].name
        return lambda: sess.run(None, {name: x})
    import torch

    def run() -> object:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            return b.model(torch.from_numpy(x))

    return run


def first_member_confidence(model: Any, x: np.ndarray) -> np.ndarray:
    """How sure the ensemble's first member is of each image in x (N, 1, 28, 28): at FIRST_SURE
    or more it answers alone."""
    import torch

    from training.model import member_outputs

    with torch.inference_mode():
        probabilities, _ = member_outputs(model.members[0], torch.from_numpy(x))
    return probabilities.numpy().max(1)


def models_section(b: Bench) -> str:
    files = [(kind, path.resolve()) for kind, path in (("fp32 (served)", b.args.fp32), ("INT8", b.args.int8))]
    rows = [(kind, f"`{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`",
             f"{path.stat().st_size:,}") for kind, path in files]
    return (md_table(["model", "file", "bytes"], rows, "llr")
            + f"\n\nPyTorch model: rebuilt from the initializers of {b.args.fp32.name}; its outputs match "
            f"onnxruntime fp32 to {b.parity['max_abs_diff']:.1e} (max |diff| over {b.parity['images']} "
            f"inputs, tolerance {b.parity['tolerance']:g}).")


def latency_section(b: Bench) -> str:
    from serving.preprocess import to_mnist
    from training.model import FIRST_SURE

    # A clear digit (the first member answers alone) and an unclear input (every member runs).
    inputs = {"a drawn 3": to_mnist(b.sketches[3].read_bytes())[None, None],
              "noise": to_model_input(noise_images(1))}
    stats = interleaved_latency({(engine, name): runner(b, engine, x, 1) for name, x in inputs.items()
                                 for engine in ENGINES}, b.counts["latency_runs"], b.counts["latency_warmup"])
    rows = []
    for name, x in inputs.items():
        base = stats[("PyTorch eager fp32", name)]
        sure = float(first_member_confidence(b.model, x)[0])
        rows += [(f"{name} (first member {sure:.0%} sure)", engine, *map(us, (t.wall.median, t.wall.p99,
                                                                              t.wall.mean, t.cpu.median)),
                  t.wall.count, f"{base.wall.median / t.wall.median:.1f}×",
                  f"{base.cpu.median / t.cpu.median:.1f}×")
                 for (engine, x_name), t in stats.items() if x_name == name]
        speedup = base.wall.median / stats[("onnxruntime fp32", name)].wall.median
        b.check(f"onnxruntime fp32 vs PyTorch eager, {name}, batch 1, one thread (median)",
                "≥ 3× faster", f"{speedup:.1f}×", speedup >= 3)
    # Both files run every member on the unclear input; on a clear one the INT8 file (no shortcut) does more.
    fp32, int8 = (stats[(engine, "noise")].wall.median for engine in ENGINES[:2])
    b.check("INT8 vs fp32 latency, every member running, batch 1, one thread (median)", "no slower",
            f"{us(int8)} µs vs {us(fp32)} µs ({fp32 / int8:.2f}× faster)", int8 <= fp32)
    return (md_table(["input", "engine", "median µs", "p99 µs", "mean µs", "CPU µs (median)", "runs",
                      "speed vs PyTorch", "CPU-time ratio"], rows, "llrrrrrrr")
            + "\n\nOne image (1×1×28×28), `torch.set_num_threads(1)` and onnxruntime "
            "`intra_op_num_threads=1`, after warm-up; the engines and inputs take turns in 20 rounds "
            "so background load hits them alike. The fp32 graph (and the PyTorch model rebuilt from "
            "it) runs the ensemble's first member and the other two only when that one is less than "
            f"{FIRST_SURE:.0%} sure (training/model.py, `Ensemble`); the INT8 file always runs all "
            "three. The drawn 3 is the end-to-end sketch's model input; the noise is sparse random "
            "pixels. PyTorch runs the trained module (conv, batch norm, ReLU) eagerly under "
            "`torch.inference_mode()`; onnxruntime runs the exported graph. `CPU µs` is the calling "
            "thread's CPU time per call (both engines compute on the calling thread with one thread), "
            "which leaves out time spent waiting for a core.")


def end_to_end(predictor: Any, data: bytes, runs: int) -> dict[str, Stats]:
    """Bytes → decode + preprocess → model on one thread: the steps' times, and the whole's CPU time."""
    from serving.decode import open_image
    from serving.preprocess import to_mnist

    for _ in range(2):
        predictor.predict(data)  # warm-up
    times: dict[str, list[float]] = {"preprocess": [], "model": [], "total": [], "total_cpu": []}
    for _ in range(runs):
        c0, t0 = time.thread_time(), time.perf_counter()
        x = to_mnist(data)
        t1 = time.perf_counter()
        predictor.probabilities(x[None])
        t2 = time.perf_counter()
        for key, value in zip(times, (t1 - t0, t2 - t1, t2 - t0, time.thread_time() - c0), strict=True):
            times[key].append(value)
    times["decode"] = time_calls(lambda: open_image(data), runs)[0]
    return {key: Stats.of(values) for key, values in times.items()}


def e2e_section(b: Bench) -> str:
    from serving.decode import open_image
    from serving.predictor import Predictor

    predictor = Predictor(b.args.fp32, threads=1, verify=False)
    rows, totals = [], []
    for name, path, digit, runs in (("sketch 280×280 PNG", b.sketches[3], 3, b.counts["sketch_runs"]),
                                    ("phone photo 3000×4000 JPEG", b.photo, 7, b.counts["photo_runs"])):
        data = path.read_bytes()
        t = end_to_end(predictor, data, runs)
        with open_image(data) as image:
            size = "×".join(map(str, image.size))
        rows.append((name, f"{len(data) / 1024:.0f} KiB", size, *(ms(t[key].median) for key in
                                                                  ("decode", "preprocess", "model", "total")),
                     ms(t["total"].p99), ms(t["total_cpu"].median), t["total"].count,
                     f"{predictor.predict(data).digit} (drawn: {digit})"))
        totals.append((t["total"].median, t["total_cpu"].median))
    names = ("sketch end-to-end (decode + preprocess + model)", "12-MP phone photo end-to-end")
    for (total, cpu), name, target in zip(totals, names, (0.002, 0.060), strict=True):
        b.check(f"{name}, one core (median)", f"≤ {target * 1000:.0f} ms",
                f"{ms(total)} ms (CPU {ms(cpu)} ms)", total <= target)
    return (md_table(["image (bytes in)", "file", "decoded as", "decode ms", "decode + preprocess ms",
                      "model ms", "total ms (median)", "total ms (p99)", "total CPU ms", "runs", "answer"],
                     rows)
            + "\n\nMedians. `decode + preprocess` is `serving.preprocess.to_mnist(bytes)` (it includes "
            "the decode, also timed alone in `decode`); `model` is the onnxruntime fp32 session on "
            "one thread; `total CPU ms` is the thread's CPU time for the whole path. "
            "JPEGs are decoded at reduced scale (PIL draft), hence the decoded size. "
            "The photo is synthetic: a digit drawn with `examples/strokes.py` on paper-coloured, "
            "unevenly lit, noisy background, saved as JPEG quality 90.")


def images_per_second(run: Callable[[], object], size: int, seconds: float, repeats: int) -> float:
    """The best of `repeats` timed chunks, as timeit takes the minimum: background load only ever
    slows a chunk down."""
    run()
    rates = []
    for _ in range(repeats):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / repeats or not count:
            run()
            count += 1
        rates.append(count * size / elapsed)
    return max(rates)


def throughput_section(b: Bench) -> str:
    import torch

    seconds, repeats = b.counts["throughput_s"], b.counts["throughput_repeats"]
    inputs = {n: to_model_input(noise_images(n)) for n in BATCH_SIZES}
    rows = [(engine, "1" if threads == 1 else f"{threads} (all)",
             *(f"{images_per_second(runner(b, engine, x, threads), n, seconds, repeats):,.0f}"
               for n, x in inputs.items()))
            for threads in sorted({1, os.cpu_count() or 1}) for engine in ENGINES]
    torch.set_num_threads(1)
    return (md_table(["engine", "threads", *(f"batch {size}" for size in BATCH_SIZES)], rows)
            + f"\n\nImages per second, random 28×28 inputs, model call only; the best of {repeats} timed "
            f"chunks of {seconds / repeats:.2f} s per cell. 'all' = every logical core of this machine for "
            "both engines (onnxruntime `intra_op_num_threads`, `torch.set_num_threads`).")


def accuracy_section(b: Bench) -> str:
    import torch

    from export.evaluate import accuracy, onnx_logits, session
    from training.data import load_mnist
    from training.model import FIRST_SURE, Ensemble

    data = load_mnist()
    images, labels = (a[: b.counts["accuracy_limit"]] for a in (data.test_images, data.test_labels))
    files = {kind: (path, accuracy(session(path), images, labels)) for kind, path in (("fp32", b.args.fp32),
                                                                                       ("INT8", b.args.int8))}
    rows = [(kind, f"`{path.name}`", f"{path.stat().st_size / 1024:.0f}", f"{100 * result.overall:.2f}%",
             result.errors, f"{result.count:,}") for kind, (path, result) in files.items()]
    size_ratio = b.args.fp32.stat().st_size / b.args.int8.stat().st_size
    b.check("INT8 file size vs fp32", "≥ 2× smaller", f"{size_ratio:.1f}× smaller", size_ratio >= 2)
    delta = 100 * (files["INT8"][1].overall - files["fp32"][1].overall)
    b.check("INT8 accuracy vs fp32 (MNIST test)", "within 0.1 point", f"{delta:+.2f} points",
            abs(delta) <= 0.1)
    # What the first member's shortcut changes: the served file's answers against every member averaged.
    served = onnx_logits(session(b.args.fp32), images).argmax(1)
    x = images[:, None].astype(np.float32) / 255
    with torch.inference_mode():
        every = Ensemble(list(b.model.members), first_sure=None)(torch.from_numpy(x))[0].numpy().argmax(1)
    changed = int((served != every).sum())
    alone = float((first_member_confidence(b.model, x) >= FIRST_SURE).mean())
    b.check("answers the first member's shortcut changes (MNIST test)", "none",
            f"{changed} of {len(images):,}", changed == 0)
    return (md_table(["model", "file", "KiB", "MNIST test accuracy (onnxruntime)", "errors", "images"], rows)
            + f"\n\nFile sizes: INT8 is {size_ratio:.1f}× smaller; accuracy {delta:+.2f} points. The fp32 "
            f"file's first member answered alone for {alone:.1%} of the test images; against all three "
            f"members averaged (PyTorch, the file's weights: {(every == labels).mean():.2%}), {changed} "
            "answers differ.")


def serving_memory(engine: str, model: Path, images: list[Path]) -> dict:
    """Starts bench.serve_child, waits until it has answered, reads its memory, stops it."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "bench.serve_child", engine, str(model), *map(str, images)]
    with subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as proc:
        timer = threading.Timer(180, proc.kill)  # a child that hangs gives an empty line
        timer.start()
        line = proc.stdout.readline()
        ready_s = time.perf_counter() - start
        timer.cancel()
        if not line.strip():
            raise RuntimeError(f"serve_child {engine} gave no answer (exit code {proc.poll()})")
        return {**json.loads(line), "rss": rss_mb(proc.pid), "uss": rss_mb(proc.pid, unique=True),
                "ready_s": ready_s}  # leaving the block closes its stdin: it ends


def cold_start(b: Bench, with_torch: bool, keep: bool) -> dict:
    """Process start → HTTP up → first /predict answered through gradio_client. With keep=True
    the demo is left running in b.demo (for the API section)."""
    log_file = Path(tempfile.mkstemp(prefix=f"demo-{'torch' if with_torch else 'ort'}-", suffix=".log",
                                     dir=b.tmp)[1])
    demo = server.start_demo(b.args.fp32, log_file, timeout_s=240, retry=False, with_torch=with_torch,
                             ready=server.http_ready("/"), poll_s=0.05)  # a start-up time is measured
    try:
        answer = load.predict_file(load.gradio_client(demo.url), b.sketches[3])
        result = {"http_s": demo.ready_s, "first_answer_s": time.perf_counter() - demo.started,
                  "rss": rss_mb(demo.pid), "digit": answer.get("digit") if isinstance(answer, dict) else None}
    except BaseException:
        server.stop_demo(demo, timeout=10)
        raise
    if keep:
        b.demo = demo
    else:
        server.stop_demo(demo, timeout=10)
    return result


def median_of(xs: list[dict], key: str) -> float:
    return sorted(x[key] for x in xs)[len(xs) // 2]


def serving_section(b: Bench) -> str:
    import torch

    model_file = b.tmp / "digitnet.pt"
    torch.save(b.model, model_file)
    images = [b.sketches[3], b.sketches[8], b.photo]
    by = {engine: [serving_memory(engine, path, images) for _ in range(b.counts["footprint_repeats"])]
          for engine, path in (("ort", b.args.fp32), ("torch", model_file))}
    # The median run by RSS, so one disturbed start doesn't decide the figure.
    by = {engine: sorted(runs, key=lambda run: run["rss"])[len(runs) // 2] for engine, runs in by.items()}
    table1 = md_table(["serving process", "RSS MiB", "USS MiB", "start → answered s", "imports torch",
                       "imports onnxruntime"],
                      [(name, f"{p['rss']:.0f}", f"{p['uss']:.0f}", f"{p['ready_s']:.2f}",
                        "yes" if p["has_torch"] else "no", "yes" if p["has_onnxruntime"] else "no")
                       for name, p in (("onnxruntime (`serving.Predictor`)", by["ort"]),
                                       ("PyTorch (`Ensemble`)", by["torch"]))])
    rss_ratio = by["ort"]["rss"] / by["torch"]["rss"]
    b.check("serving RSS, onnxruntime vs PyTorch", "≤ 1/3",
            f"{by['ort']['rss']:.0f} vs {by['torch']['rss']:.0f} MiB ({rss_ratio:.2f})",
            rss_ratio <= 1 / 3)
    # onnxruntime first: it pays for whatever of Gradio isn't in the page cache yet. The last one
    # stays up (idle) for the API round trip.
    repeats = b.counts["cold_repeats"]
    cold = {False: [], True: []}
    for i in range(repeats):
        for with_torch in (False, True):
            cold[with_torch].append(cold_start(b, with_torch, keep=not with_torch and i == repeats - 1))
    rows2 = [(name, f"{median_of(cold[w], 'http_s'):.2f}", f"{median_of(cold[w], 'first_answer_s'):.2f}",
              f"{median_of(cold[w], 'rss'):.0f}", len(cold[w]), cold[w][-1]["digit"])
             for w, name in ((False, "`python demo.py` (onnxruntime)"),
                             (True, "same app with `import torch` first"))]
    first = [median_of(cold[w], "first_answer_s") for w in (False, True)]
    b.check("demo cold start to first /predict answer, onnxruntime vs with torch", "report",
            f"{first[0]:.1f} s vs {first[1]:.1f} s", None)
    return (table1 + f"\n\nEach serving process loads its model and answers {len(by['ort']['digits'])} "
            "requests (sketches of 3 and 8 and the phone photo, three times each, decoded and "
            "preprocessed by `serving.preprocess` in both), then its resident memory is read with "
            f"psutil (median of {b.counts['footprint_repeats']} starts). USS counts only the process's own "
            "pages, not shared libraries.\n\n"
            + md_table(["demo", "HTTP up s", "first /predict answered s", "RSS after it MiB", "starts",
                        "answer"], rows2)
            + "\n\nFrom process start to the page answering HTTP 200, and to the first `/predict` "
            "answered through `gradio_client` (a client created after the page is up). Medians; "
            "the torch variant is `python -c \"import torch, runpy; runpy.run_path('demo.py', "
            "run_name='__main__')\"` with the same arguments.")


def api_section(b: Bench) -> str:
    if b.demo is None:
        raise RuntimeError("no demo server: the serving footprint section failed")
    clients = b.counts["api_clients"]
    with b.demo:
        sketch = [(b.sketches[3], 3)]
        load.gradio_load("warm-up", b.demo.url, sketch, 1, 2, 60)
        seq = load.gradio_load("sequential, 1 client", b.demo.url, sketch, 1, b.counts["api_sequential"], 600)
        digits = [(path, None) for path in b.sketches]  # each client its own digit
        conc = load.gradio_load(f"{clients} concurrent clients", b.demo.url, digits, clients,
                                clients * b.counts["api_each"], 600)
    b.demo = None
    rows = [(run.name, run.done, ms(run.percentile(50) / 1000), ms(run.percentile(99) / 1000),
             f"{run.rps:.1f}", len(run.errors)) for run in (seq, conc)]
    return (md_table(["mode", "requests", "median ms", "p99 ms", "requests/s", "errors"], rows)
            + "\n\n`gradio_client.Client(url).predict(handle_file(png), api_name=\"/predict\")` against "
            "`python demo.py` on 127.0.0.1 (onnxruntime fp32); a 280×280 sketch PNG per request, each "
            "concurrent client its own digit. A round trip is an upload, a queued event and its "
            "result stream: Gradio's protocol, not the model, sets this time (the model is "
            "well under a millisecond of it).")


SECTION_FUNCTIONS: list[tuple[str, Callable[[Bench], str]]] = [
    ("Models", models_section), ("Model latency", latency_section), ("End-to-end latency", e2e_section),
    ("Throughput", throughput_section), ("Accuracy and size", accuracy_section),
    ("Serving footprint", serving_section), ("API round trip", api_section)]
SECTIONS = ["Machine", *(title for title, _ in SECTION_FUNCTIONS), "Checks"]  # as RESULTS.md has them


def prepare(args: argparse.Namespace) -> Bench:
    """The test images, and the PyTorch model with the ONNX file's weights (checked)."""
    import torch

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    sketches = [tmp / f"sketch_{digit}.png" for digit in range(10)]
    for digit, path in enumerate(sketches):
        path.write_bytes(sketch_png(digit))
    (tmp / "photo_7.jpg").write_bytes(phone_jpeg(7))
    load.progress("checking that PyTorch has the ONNX file's weights")
    model, parity = torch_model(args.fp32)
    torch.set_num_threads(1)
    return Bench(args, QUICK if args.quick else FULL, model, parity, tmp, sketches, tmp / "photo_7.jpg")


def checks_table(b: Bench) -> str:
    rows = [(name, target, measured, "—" if ok is None else ("met" if ok else "**NOT met**"))
            for name, target, measured, ok in b.checks]
    body = md_table(["check", "must reach", "measured", "result"], rows, "llll")
    missed = [name for name, _, _, ok in b.checks if ok is False]
    if missed:
        body += ("\n\nNot met in this run: " + "; ".join(missed) + ". See the sections above for the "
                 "figures, and the load average under Machine for how busy the machine was.")
    return body


def write_report(b: Bench, info: dict[str, str], load_start: str, started: float) -> None:
    b.section("Checks", checks_table(b))
    rows = [*((k, v) for k, v in info.items() if k != "date"),
            ("load average (1/5/15 min) at start", load_start),
            ("load average (1/5/15 min) at end", load_average())]
    b.parts.insert(0, f"## Machine\n\n{md_table(['what', 'value'], rows, 'll')}\n")
    print(b.parts[0], flush=True)
    mode = ("`python -m bench --quick` (tiny counts: the figures are not meaningful)" if b.args.quick
            else "`python -m bench`")
    header = (f"# Benchmarks: why the digit recognizer serves with onnxruntime\n\n"
              f"Generated by {mode} on {info['date']} in {time.perf_counter() - started:.0f} s. Every figure "
              "below was measured in that run, side by side on the machine described under Machine; "
              "on a loaded machine absolute times grow, ratios of interleaved runs hold better. "
              "Re-run to refresh.\n")
    if str(b.args.out) != "-":
        b.args.out.parent.mkdir(parents=True, exist_ok=True)
        b.args.out.write_text(header + "\n" + "\n".join(b.parts))
        load.progress(f"wrote {b.args.out}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny counts: checks the code path, not the speed")
    p.add_argument("--models", type=Path, default=ROOT / "models",
                   help="folder of the exported models (digitnet.onnx and digitnet.int8.onnx)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md",
                   help="markdown file to write ('-' for none)")
    args = p.parse_args(argv)
    args.fp32, args.int8 = args.models / "digitnet.onnx", args.models / "digitnet.int8.onnx"
    for path in (args.fp32, args.int8):
        if not path.is_file():
            print(f"error: no model at {path}: export one (make export) or pass --models DIR",
                  file=sys.stderr)
            return 2
    load_start, info, started = load_average(), machine_info(), time.perf_counter()
    b = prepare(args)
    try:
        for title, section in SECTION_FUNCTIONS:
            b.run(title, section)
    finally:
        if b.demo is not None:
            server.stop_demo(b.demo, timeout=10)
        if b.failed:
            load.progress(f"kept {b.tmp} (test images, demo logs) for a look at what failed")
        else:
            shutil.rmtree(b.tmp, ignore_errors=True)
    write_report(b, info, load_start, started)
    if b.failed:
        load.progress(f"failed sections: {', '.join(b.failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
