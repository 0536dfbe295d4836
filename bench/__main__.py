"""python -m bench: why the digit recognizer serves with onnxruntime, measured side by side.

    python -m bench [--quick] [--models models]
                    [--out bench/RESULTS.md]

Measures, in one run on this machine: model latency (onnxruntime fp32 / INT8 vs PyTorch eager on
the same weights), end-to-end latency for a sketch and a 12-MP phone photo, throughput by batch
size, MNIST accuracy and file size, serving memory and the demo's cold start, and the API round
trip through gradio_client. Prints markdown and writes it to --out. --quick uses tiny counts so
the whole path runs in well under a minute (tests/test_bench.py runs it); its figures are noisy.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# bench.speed imports torch (seconds): the sections that use it import it when they run, after
# main has checked the arguments.
from bench import footprint, load, server
from bench.common import load_average, machine_info, md_table, ms, phone_jpeg, sketch_png, us

if TYPE_CHECKING:
    from bench.weights import TorchModel

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass(frozen=True)
class Counts:
    latency_runs: int
    latency_warmup: int
    sketch_runs: int
    photo_runs: int
    throughput_s: float
    throughput_repeats: int
    accuracy_limit: int | None
    footprint_repeats: int
    cold_repeats: int
    api_sequential: int
    api_clients: int
    api_each: int


FULL = Counts(latency_runs=4000, latency_warmup=300, sketch_runs=300, photo_runs=20, throughput_s=1.5,
              throughput_repeats=5, accuracy_limit=None, footprint_repeats=3, cold_repeats=3,
              api_sequential=60, api_clients=8, api_each=10)
QUICK = Counts(latency_runs=60, latency_warmup=10, sketch_runs=5, photo_runs=2, throughput_s=0.02,
               throughput_repeats=1, accuracy_limit=500, footprint_repeats=1, cold_repeats=1,
               api_sequential=3, api_clients=8, api_each=1)
BATCH_SIZES = [1, 8, 64, 256]
SECTIONS = ["Machine", "Models", "Model latency", "End-to-end latency", "Throughput", "Accuracy and size",
            "Serving footprint", "API round trip", "Checks"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny counts: checks the code path, not the speed")
    p.add_argument("--models", type=Path, default=ROOT / "models", help="folder of the exported models")
    p.add_argument("--fp32", type=Path, default=None, help="default: MODELS/digitnet.onnx")
    p.add_argument("--int8", type=Path, default=None, help="default: MODELS/digitnet.int8.onnx")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md",
                   help="markdown file to write ('-' for none)")
    args = p.parse_args(argv)
    args.fp32 = args.fp32 or args.models / "digitnet.onnx"
    args.int8 = args.int8 or args.models / "digitnet.int8.onnx"
    return args


def rel(path: Path) -> str:
    """The path relative to the repository when it lies inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


class Report:
    """Collects sections (printed as they finish) and the must-reach checks."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.checks: list[tuple[str, str, str, bool | None]] = []
        self.failed: list[str] = []

    def section(self, title: str, body: str) -> None:
        text = f"## {title}\n\n{body.strip()}\n"
        self.parts.append(text)
        print(text, flush=True)

    def check(self, name: str, target: str, measured: str, ok: bool | None) -> None:
        self.checks.append((name, target, measured, ok))

    def run(self, title: str, fn: Callable[[], str]) -> None:
        log(f"{title} ...")
        start = time.perf_counter()
        try:
            body = fn()
        except Exception as err:
            self.failed.append(title)
            traceback.print_exc()
            body = f"**Failed:** `{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}`"
        log(f"{title} done in {time.perf_counter() - start:.1f} s")
        self.section(title, body)


def machine_section(info: dict[str, str], load_start: str) -> str:
    rows = [(k, v) for k, v in info.items() if k != "date"]
    rows.append(("load average (1/5/15 min) at start", load_start))
    rows.append(("load average (1/5/15 min) at end", load_average()))
    return md_table(["what", "value"], rows, "ll")


@dataclass
class Bench:
    """What the sections of one run share."""

    args: argparse.Namespace
    counts: Counts
    report: Report
    weights: TorchModel  # the PyTorch model with the ONNX file's weights
    tmp: Path  # test images and demo logs
    sketches: list[Path] = field(default_factory=list)  # a sketch PNG of each digit
    photo: Path = Path()  # a 12-MP phone photo JPEG of a 7
    demo: server.DemoServer | None = None  # left running by the footprint section for the API section

    @property
    def model(self) -> Any:
        return self.weights.model


def models_section(b: Bench) -> str:
    rows = [("fp32 (served)", f"`{rel(b.args.fp32)}`", f"{b.args.fp32.stat().st_size:,}"),
            ("INT8", f"`{rel(b.args.int8)}`", f"{b.args.int8.stat().st_size:,}")]
    return (md_table(["model", "file", "bytes"], rows, "llr")
            + f"\n\nPyTorch model: {b.weights.source.replace(str(ROOT) + '/', '')}; its outputs match "
            "onnxruntime fp32 to "
            f"{b.weights.max_abs_diff:.1e} (max |diff| over {b.weights.images} inputs, tolerance 1e-4).")


def latency_section(b: Bench) -> str:
    from bench import speed
    from serving.preprocess import to_mnist
    from training.model import FIRST_SURE
    # A clear digit (the first member answers alone) and an unclear input (every member runs).
    inputs = {"a drawn 3": to_mnist(b.sketches[3].read_bytes())[None, None],
              "noise": speed.batch_of(1)}
    stats = speed.model_latency(b.args.fp32, b.args.int8, b.model, inputs, b.counts.latency_runs,
                                b.counts.latency_warmup)
    rows = []
    for input_name, x in inputs.items():
        base = stats[("PyTorch eager fp32", input_name)]
        sure = float(speed.first_member_confidence(b.model, x)[0])
        for (engine, name), t in stats.items():
            if name == input_name:
                rows.append((f"{input_name} (first member {sure:.0%} sure)", engine, us(t.wall.median),
                             us(t.wall.p99), us(t.wall.mean), us(t.cpu.median), t.wall.count,
                             f"{ratio(base.wall.median, t.wall.median):.1f}×",
                             f"{ratio(base.cpu.median, t.cpu.median):.1f}×"))
    for input_name in inputs:
        base = stats[("PyTorch eager fp32", input_name)].wall.median
        fp32 = stats[("onnxruntime fp32", input_name)].wall.median
        b.report.check(f"onnxruntime fp32 vs PyTorch eager, {input_name}, batch 1, one thread (median)",
                       "≥ 3× faster", f"{ratio(base, fp32):.1f}×", ratio(base, fp32) >= 3)
    # Both files run every member on the unclear input; on a clear one the INT8 file (no shortcut) does more.
    fp32, int8 = (stats[(engine, "noise")].wall.median for engine in ("onnxruntime fp32", "onnxruntime INT8"))
    b.report.check("INT8 vs fp32 latency, every member running, batch 1, one thread (median)", "no slower",
                   f"{us(int8)} µs vs {us(fp32)} µs ({ratio(fp32, int8):.2f}× faster)", int8 <= fp32)
    return (md_table(["input", "engine", "median µs", "p99 µs", "mean µs", "CPU µs (median)", "runs",
                      "speed vs PyTorch", "CPU-time ratio"], rows, "llrrrrrrr")
            + "\n\nOne image (1×1×28×28), `torch.set_num_threads(1)` and onnxruntime "
            "`intra_op_num_threads=1`, after warm-up; the engines and inputs take turns in 20 rounds "
            "so background load hits them alike. The fp32 graph (and the PyTorch model rebuilt from "
            "it) runs the ensemble's first member and the other two only when that one is less than "
            f"{FIRST_SURE:.0%} sure (training/model.py, `Ensemble`); the INT8 file always runs all "
            "three. The drawn 3 is the end-to-end sketch's model input; the noise is sparse random "
            "pixels. PyTorch runs the trained module (conv, batch norm, "
            "ReLU) eagerly under `torch.inference_mode()`; onnxruntime runs the exported graph. "
            "`CPU µs` is the calling thread's CPU time per call (both engines compute on the "
            "calling thread with one thread), which leaves out time spent waiting for a core.")


def e2e_section(b: Bench) -> str:
    from bench import speed
    rows_in = speed.end_to_end(b.args.fp32, [
        ("sketch 280×280 PNG", b.sketches[3].read_bytes(), 3, b.counts.sketch_runs),
        ("phone photo 3000×4000 JPEG", b.photo.read_bytes(), 7, b.counts.photo_runs)])
    rows = []
    for r in rows_in:
        rows.append((r["image"], f"{r['bytes'] / 1024:.0f} KiB", "×".join(map(str, r["size"])),
                     ms(r["decode"].median), ms(r["preprocess"].median), ms(r["model"].median),
                     ms(r["total"].median), ms(r["total"].p99), ms(r["total_cpu"].median),
                     r["total"].count,
                     f"{r['predicted']} (drawn: {r['expected']})"))
    sketch, sketch_cpu = rows_in[0]["total"].median, rows_in[0]["total_cpu"].median
    b.report.check("sketch end-to-end (decode + preprocess + model), one core (median)", "≤ 2 ms",
                   f"{ms(sketch)} ms (CPU {ms(sketch_cpu)} ms)", sketch <= 0.002)
    photo, photo_cpu = rows_in[1]["total"].median, rows_in[1]["total_cpu"].median
    b.report.check("12-MP phone photo end-to-end, one core (median)", "≤ 60 ms",
                   f"{ms(photo)} ms (CPU {ms(photo_cpu)} ms)", photo <= 0.060)
    return (md_table(["image (bytes in)", "file", "decoded as", "decode ms", "decode + preprocess ms",
                      "model ms", "total ms (median)", "total ms (p99)", "total CPU ms", "runs",
                      "answer"], rows)
            + "\n\nMedians. `decode + preprocess` is `serving.preprocess.to_mnist(bytes)` (it includes "
            "the decode, also timed alone in `decode`); `model` is the onnxruntime fp32 session on "
            "one thread; `total CPU ms` is the thread's CPU time for the whole path. "
            "JPEGs are decoded at reduced scale (PIL draft), hence the decoded size. "
            "The photo is synthetic: a digit drawn with `examples/strokes.py` on paper-coloured, "
            "unevenly lit, noisy background, saved as JPEG quality 90.")


def throughput_section(b: Bench) -> str:
    from bench import speed
    rows_in = speed.throughput(b.args.fp32, b.args.int8, b.model, BATCH_SIZES, b.counts.throughput_s,
                               b.counts.throughput_repeats)
    rows = []
    for r in rows_in:
        label = "1" if r["threads"] == 1 else f"{r['threads']} (all)"
        rows.append((r["engine"], label, *(f"{r['rates'][b]:,.0f}" for b in BATCH_SIZES)))
    chunk = b.counts.throughput_s / b.counts.throughput_repeats
    return (md_table(["engine", "threads", *(f"batch {b}" for b in BATCH_SIZES)], rows)
            + f"\n\nImages per second, random 28×28 inputs, model call only; the best of "
            f"{b.counts.throughput_repeats} timed chunks of {chunk:.2f} s "
            "per cell. 'all' = every logical core of this machine for both engines "
            "(onnxruntime `intra_op_num_threads`, `torch.set_num_threads`).")


def accuracy_section(b: Bench) -> str:
    from bench import speed
    result = speed.accuracy_and_size(b.args.fp32, b.args.int8, b.counts.accuracy_limit, b.model)
    files = result["files"]
    size_ratio = ratio(files["fp32"]["bytes"], files["INT8"]["bytes"])
    b.report.check("INT8 file size vs fp32", "≥ 2× smaller", f"{size_ratio:.1f}× smaller", size_ratio >= 2)
    rows = []
    for kind, f in files.items():
        acc = f"{100 * f['accuracy']:.2f}%" if "accuracy" in f else "n/a"
        rows.append((kind, f"`{f['file']}`", f"{f['bytes'] / 1024:.0f}", acc, f.get("errors", "n/a"),
                     f"{f.get('count', 0):,}"))
    body = md_table(["model", "file", "KiB", "MNIST test accuracy (onnxruntime)", "errors", "images"],
                    rows)
    if "error" in result:
        b.report.check("INT8 accuracy vs fp32", "within 0.1 point", "not measured", None)
        return body + f"\n\nAccuracy not measured: {result['error']}"
    delta = 100 * (files["INT8"]["accuracy"] - files["fp32"]["accuracy"])
    b.report.check("INT8 accuracy vs fp32 (MNIST test)", "within 0.1 point", f"{delta:+.2f} points",
                   abs(delta) <= 0.1)
    short = result["shortcut"]
    b.report.check("answers the first member's shortcut changes (MNIST test)", "none",
                   f"{short['changed']} of {short['count']:,}", short["changed"] == 0)
    return body + (f"\n\nFile sizes: INT8 is {size_ratio:.1f}× smaller; accuracy {delta:+.2f} points. "
                   f"The fp32 file's first member answered alone for {short['alone']:.1%} of the test "
                   f"images; against all three members averaged (PyTorch, the file's weights: "
                   f"{short['every_member_accuracy']:.2%}), {short['changed']} answers differ.")


def serving_section(b: Bench) -> str:
    procs = footprint.footprint(b.args.fp32, b.model.state_dict(), [b.sketches[3], b.sketches[8], b.photo],
                                b.counts.footprint_repeats)
    by = {p["engine"]: p for p in procs}
    rows = [("onnxruntime (`serving.Predictor`)", by["ort"]),
            ("PyTorch (`Ensemble` + state_dict)", by["torch"])]
    table1 = md_table(["serving process", "RSS MiB", "USS MiB", "start → answered s", "imports torch",
                       "imports onnxruntime"],
                      [(name, f"{p['rss'] / MIB:.0f}", f"{p['uss'] / MIB:.0f}", f"{p['ready_s']:.2f}",
                        "yes" if p["has_torch"] else "no", "yes" if p["has_onnxruntime"] else "no")
                       for name, p in rows])
    rss_ratio = ratio(by["ort"]["rss"], by["torch"]["rss"])
    b.report.check("serving RSS, onnxruntime vs PyTorch", "≤ 1/3",
                   f"{by['ort']['rss'] / MIB:.0f} vs {by['torch']['rss'] / MIB:.0f} MiB ({rss_ratio:.2f})",
                   rss_ratio <= 1 / 3)
    cold = cold_starts(b)

    rows2 = []
    for with_torch, name in ((False, "`python demo.py` (onnxruntime)"),
                             (True, "same app with `import torch` first")):
        xs = cold[with_torch]
        rows2.append((name, f"{median_of(xs, 'http_s'):.2f}", f"{median_of(xs, 'first_answer_s'):.2f}",
                      f"{median_of(xs, 'rss') / MIB:.0f}", len(xs), xs[-1]["digit"]))
    first = [median_of(cold[w], "first_answer_s") for w in (False, True)]
    b.report.check("demo cold start to first /predict answer, onnxruntime vs with torch", "report",
                   f"{first[0]:.1f} s vs {first[1]:.1f} s", None)
    return (table1 + f"\n\nEach serving process loads its model and answers {len(procs[0]['digits'])} "
            "requests (sketches of 3 and 8 and the phone photo, three times each, decoded and "
            "preprocessed by `serving.preprocess` in both), then its resident memory is read with "
            f"psutil (median of {b.counts.footprint_repeats} starts). USS counts only the process's own "
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
    with server.running(b.demo):
        sketch = [(b.sketches[3], 3)]
        load.gradio_load("warm-up", b.demo.url, sketch, 1, 2, 60)
        seq = load.gradio_load("sequential, 1 client", b.demo.url, sketch, 1, b.counts.api_sequential, 600)
        digits = [(path, None) for path in b.sketches]  # each client its own digit
        conc = load.gradio_load(f"{b.counts.api_clients} concurrent clients", b.demo.url, digits,
                                b.counts.api_clients, b.counts.api_clients * b.counts.api_each, 600)
    b.demo = None
    rows = [(run.name, run.done, ms(run.percentile(50) / 1000), ms(run.percentile(99) / 1000),
             f"{run.rps:.1f}", len(run.errors)) for run in (seq, conc)]
    return (md_table(["mode", "requests", "median ms", "p99 ms", "requests/s", "errors"], rows)
            + "\n\n`gradio_client.Client(url).predict(handle_file(png), api_name=\"/predict\")` against "
            "`python demo.py` on 127.0.0.1 (onnxruntime fp32); a 280×280 sketch PNG per request, each "
            "concurrent client its own digit. A round trip is an upload, a queued event and its "
            "result stream: Gradio's protocol, not the model, sets this time (the model is "
            "well under a millisecond of it).")


def cold_starts(b: Bench) -> dict[bool, list[dict]]:
    """The demo's cold start, without and with torch, b.counts.cold_repeats times each."""
    cold: dict[bool, list[dict]] = {False: [], True: []}
    try:
        # onnxruntime first: it pays for whatever of Gradio isn't in the page cache yet. The
        # last one stays up (idle) for the API round trip.
        for i in range(b.counts.cold_repeats):
            for with_torch in (False, True):
                keep = not with_torch and i == b.counts.cold_repeats - 1
                result, kept = footprint.cold_start(b.args.fp32, b.sketches[3], with_torch, b.tmp, keep=keep)
                cold[with_torch].append(result)
                b.demo = kept or b.demo
    except BaseException:
        if b.demo is not None:
            server.stop(b.demo, timeout=10)
            b.demo = None
        raise
    return cold


def median_of(xs: list[dict], key: str) -> float:
    return sorted(x[key] for x in xs)[len(xs) // 2]


SECTION_FUNCTIONS: list[tuple[str, Callable[[Bench], str]]] = [
    ("Models", models_section), ("Model latency", latency_section), ("End-to-end latency", e2e_section),
    ("Throughput", throughput_section), ("Accuracy and size", accuracy_section),
    ("Serving footprint", serving_section), ("API round trip", api_section)]


def prepare(args: argparse.Namespace, counts: Counts) -> Bench:
    """The test images, and the PyTorch model with the ONNX file's weights (checked)."""
    import torch  # after the argument check: importing it takes seconds

    from bench.weights import torch_model

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    sketches = []
    for digit in range(10):
        path = tmp / f"sketch_{digit}.png"
        path.write_bytes(sketch_png(digit))
        sketches.append(path)
    photo = tmp / "photo_7.jpg"
    photo.write_bytes(phone_jpeg(7))
    log("checking that PyTorch has the ONNX file's weights")
    weights = torch_model(args.fp32)
    torch.set_num_threads(1)
    return Bench(args, counts, Report(), weights, tmp, sketches, photo)


def write_report(b: Bench, info: dict[str, str], load_start: str, started: float) -> None:
    report = b.report
    report.section("Checks", checks_table(report))
    report.parts.insert(0, f"## Machine\n\n{machine_section(info, load_start)}\n")
    print(report.parts[0], flush=True)
    mode = ("`python -m bench --quick` (tiny counts: the figures are not meaningful)" if b.args.quick
            else "`python -m bench`")
    header = (f"# Benchmarks: why the digit recognizer serves with onnxruntime\n\n"
              f"Generated by {mode} on {info['date']} in {time.perf_counter() - started:.0f} s. Every figure "
              "below was measured in that run, side by side on the machine described under Machine; "
              "on a loaded machine absolute times grow, ratios of interleaved runs hold better. "
              "Re-run to refresh.\n")
    text = header + "\n" + "\n".join(report.parts)
    if str(b.args.out) != "-":
        b.args.out.parent.mkdir(parents=True, exist_ok=True)
        b.args.out.write_text(text)
        log(f"wrote {b.args.out}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for path in (args.fp32, args.int8):
        if not path.is_file():
            print(f"error: no model at {path}: export one (make export) or pass --models DIR",
                  file=sys.stderr)
            return 2
    load_start, info, started = load_average(), machine_info(), time.perf_counter()
    b = prepare(args, QUICK if args.quick else FULL)
    try:
        for title, section in SECTION_FUNCTIONS:
            b.report.run(title, lambda section=section: section(b))
    finally:
        if b.demo is not None:
            server.stop(b.demo, timeout=10)
        if b.report.failed:
            log(f"kept {b.tmp} (test images, demo logs) for a look at what failed")
        else:
            shutil.rmtree(b.tmp, ignore_errors=True)
    write_report(b, info, load_start, started)
    if b.report.failed:
        log(f"failed sections: {', '.join(b.report.failed)}")
        return 1
    return 0


def checks_table(report: Report) -> str:
    rows = [(name, target, measured, "—" if ok is None else ("met" if ok else "**NOT met**"))
            for name, target, measured, ok in report.checks]
    body = md_table(["check", "must reach", "measured", "result"], rows, "llll")
    missed = [name for name, _, _, ok in report.checks if ok is False]
    if missed:
        body += ("\n\nNot met in this run: " + "; ".join(missed) + ". See the sections above for the "
                 "figures, and the load average under Machine for how busy the machine was.")
    return body


if __name__ == "__main__":
    sys.exit(main())
