"""Ray against one process, on this machine: Ray Data batch scoring vs `python -m serving`, and the
Ray Serve app vs the REST endpoint.

Batch: the MNIST test set as 28×28 PNG files, scored by the CLI (one process, one onnxruntime thread),
by `python -m scale.batch` as a one-off command starting its own Ray, and by the same job on a Ray
already running (as on a cluster), also on the files 5 times over (2 with --quick); every answer must
match the CLI's. Serve: demo.py's REST endpoint, then `python -m scale.serve` with 1 and 2 replicas,
each alone taking the same requests from 8 keep-alive clients after a warm-up, its answers compared
on every test image. Progress goes to stderr; the markdown report to stdout (and --out).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

from bench import server
from bench.common import ROOT, Check, machine_line, md_table, mnist_pngs, timed
from bench.load import CLIENTS, Connection, http_load, multipart, progress, table
from serving.paths import DEFAULT_MODEL

TARGET_BATCH_SPEEDUP = 1.5
SUMMARY = re.compile(r"(\d+) files, (\d+) digits, (\d+) errors in ([\d.]+) s "
                     r"\(first rows after ([\d.]+) s\): (\d+) images/s .*Ray start ([\d.]+) s")


def run(command: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """A command of this Python run in the repository: what it printed, and its seconds."""
    return timed(lambda: subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True,
                                        timeout=1800))


def run_cli(files: list[Path], model: str) -> tuple[float, dict[str, dict]]:
    proc, seconds = run(["-m", "serving", "--model", model, *map(str, files)])
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    if len(lines) != len(files):
        raise RuntimeError(f"the CLI answered {len(lines)} of {len(files)} files: {proc.stderr[-2000:]}")
    return seconds, {Path(r["file"]).name: r for r in lines}


def read_csv(path: Path) -> dict[str, dict]:
    with path.open(newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def mismatches(rows: dict[str, dict], cli: dict[str, dict]) -> int:
    """Files whose CSV row differs from the CLI's answer (digit, confidence to 1e-6, or error)."""
    bad = len(set(cli) ^ set(rows))
    for name, expected in cli.items():
        if (row := rows.get(name)) is None:
            continue
        if expected["digit"] is None:
            bad += row["digit"] != "" or row["error"] != expected["error"]
        else:
            bad += (row["digit"] != str(expected["digit"])
                    or abs(float(row["confidence"]) - expected["confidence"]) > 1e-6)
    return bad


def one_off_command(folder: Path, out: Path, model: str) -> tuple[float, dict]:
    """`python -m scale.batch` starting its own local Ray: whole wall time and its summary line."""
    proc, seconds = run(["-m", "scale.batch", str(folder), "--out", str(out), "--model", model,
                         "--no-progress"])
    found = SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"scale.batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return seconds, {"job_s": float(found[4]), "first_rows_s": float(found[5]),
                     "ray_start_s": float(found[7])}


def on_running_ray(jobs: list[tuple[Path, list[str], Path]], model: str) -> list[dict]:
    """Batch jobs on a Ray this process started beforehand, as jobs run on a standing cluster."""
    import ray

    from scale import batch

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        ray.get(ray.remote(lambda: None).remote())  # the cluster is up and has a worker
        time.sleep(2)  # and has settled (Ray starts its own workers in the background)
        results = []
        for folder, files, out in jobs:
            progress(f"job on a running Ray: {len(files):,} files")
            args = SimpleNamespace(input_dir=folder, out=out, address=None, actors=None, batch_size=256,
                                   num_cpus=None, model=model, no_progress=True)
            results.append(batch.run(args, files))
        return results
    finally:
        ray.shutdown()


def copied_files(folder: Path, big: Path, count: int, copies: int) -> tuple[list[Path], str, list[str]]:
    """`count` image files in `folder`, and `copies` times the same files in subfolders of `big`
    (hard links, no copying): the files, where they came from, and the copies' names."""
    folder.mkdir()
    pngs, source = mnist_pngs(count)
    paths = [folder / name for name, _ in pngs]
    for path, (_, data) in zip(paths, pngs, strict=True):
        path.write_bytes(data)
    for k in range(copies):
        (big / f"copy{k}").mkdir(parents=True)
        for path in paths:
            os.link(path, big / f"copy{k}" / path.name)
    return paths, source, sorted(f"copy{k}/{path.name}" for k in range(copies) for path in paths)


def rate_row(files: int, how: str, seconds: float, base_rate: float, bad: str,
             first: float | None = None) -> tuple[str, ...]:
    rate, first_text = files / seconds, "–" if first is None else f"{first:.1f}"
    return f"{files:,}", how, f"{seconds:.1f}", first_text, f"{rate:,.0f}", f"{rate / base_rate:.2f}×", bad


def batch_section(count: int, copies: int, model: str, tmp: Path) -> tuple[list[str], list[Check]]:
    folder, big = tmp / "mnist", tmp / "big"
    paths, source, big_names = copied_files(folder, big, count, copies)
    progress(f"CLI on {count:,} files")
    cli_s, cli = run_cli(paths, model)
    progress(f"CLI: {cli_s:.1f} s; CLI on {copies} × {count:,} files, one run a folder")
    big_cli_s = sum(run_cli(sorted((big / f"copy{k}").iterdir()), model)[0] for k in range(copies))
    progress(f"CLI: {big_cli_s:.1f} s; one-off scale.batch")
    one_off_s, one_off = one_off_command(folder, tmp / "one_off.csv", model)
    running, big_running = on_running_ray([(folder, sorted(p.name for p in paths), tmp / "running.csv"),
                                           (big, big_names, tmp / "big.csv")], model)
    bad_one_off = mismatches(read_csv(tmp / "one_off.csv"), cli)
    bad_running = mismatches(read_csv(tmp / "running.csv"), cli)
    big_rows = read_csv(tmp / "big.csv")
    bad_big = sum(mismatches({n: big_rows[f"copy{k}/{n}"] for n in cli}, cli) for k in range(copies))
    cli_rate, big_cli_rate, big_count = count / cli_s, count * copies / big_cli_s, count * copies
    rows = [
        rate_row(count, "`python -m serving FILES...` (1 process)", cli_s, cli_rate, "–"),
        rate_row(count, "`python -m scale.batch`, job on a running Ray", running["seconds"], cli_rate,
                 str(bad_running), running["first_rows_s"]),
        rate_row(count, "`python -m scale.batch`, one-off: the job alone", one_off["job_s"], cli_rate,
                 str(bad_one_off), one_off["first_rows_s"]),
        rate_row(count, f"`python -m scale.batch`, one-off: whole command (Ray start "
                 f"{one_off['ray_start_s']:.1f} s)", one_off_s, cli_rate, "same run"),
        rate_row(big_count, f"`python -m serving`, {copies} runs of {count:,}", big_cli_s, big_cli_rate, "–"),
        rate_row(big_count, "`python -m scale.batch`, job on a running Ray", big_running["seconds"],
                 big_cli_rate, str(bad_big), big_running["first_rows_s"])]
    lines = [
        "## Batch scoring: Ray Data vs the CLI\n",
        f"{source} in one folder; the larger job is the same files {copies} times over (in "
        f"{copies} subfolders). {running['actors']} Predictor actors (one per core), 256 images a batch.\n",
        md_table(["files", "how", "seconds", "first rows after s", "images/s", "vs CLI",
                  "files answered differently from the CLI"], rows, "rlrrrrr"),
        "",
        "A job's seconds run from handing the files to Ray Data to the last CSV row written: starting "
        "the actors (new worker processes that load Ray Data, Pillow, onnxruntime and the model) "
        "included, connecting to Ray not; 'first rows after' is when the first finished rows came "
        "back, which bounds that start-up. The one-off command starts a local Ray itself; on a "
        "standing cluster that start happens once. The CLI's seconds are its whole command.\n",
    ]
    speedup, big_speedup = running["images_per_s"] / cli_rate, big_running["images_per_s"] / big_cli_rate
    return lines, [
        Check(bad_running == 0 and bad_one_off == 0 and bad_big == 0,
              f"Ray Data answers every file as the CLI does ({bad_running} + {bad_one_off} + {bad_big} "
              "differences)"),
        Check(speedup >= TARGET_BATCH_SPEEDUP,
              f"Ray Data job on {count:,} files {speedup:.2f}× the CLI's images/s on a running Ray "
              f"(target ≥ {TARGET_BATCH_SPEEDUP}×); {big_speedup:.2f}× on {big_count:,} files; "
              f"one-off command {count / one_off_s / cli_rate:.2f}×", full_run=True)]


def post(port: int, body: bytes, content_type: str) -> list[dict]:
    return json.loads(Connection(port).request("POST", "/api/predict", body, content_type))


def same_answers(port: int, single: list[tuple[bytes, str]], expected: list[list[dict]]) -> int:
    """How many of the test images a server answers otherwise than `expected` (digit, or any
    probability off by more than 1e-6)."""
    bad = 0
    for (body, content_type), reference in zip(single, expected, strict=True):
        got, want = post(port, body, content_type)[0], reference[0]
        bad += (got["digit"] != want["digit"]
                or max(abs(a - b) for a, b in zip(got["probabilities"], want["probabilities"], strict=True))
                > 1e-6)
    return bad


def serve_section(requests: int, model: str, tmp: Path, quick: bool) -> tuple[list[str], list[Check]]:
    pngs, source = mnist_pngs(8 if quick else 64)
    single = [multipart([f]) for f in pngs]
    max_s = 30 if quick else 180
    differences: dict[str, int] = {}
    with server.start_demo(Path(model), tmp / "rest.log") as demo:
        reference = [post(demo.port, body, ct) for body, ct in single]
        http_load("warm-up", demo.port, "/api/predict", single, 2, 100, 30)
        loads = [http_load("REST `POST /api/predict` (demo.py)", demo.port, "/api/predict", single, CLIENTS,
                           requests, max_s, demo.pid)]
    for replicas in (1, 2):
        name = f"Ray Serve, {replicas} replica{'s' * (replicas > 1)}"
        with server.start_python(["-m", "scale.serve", "--replicas", str(replicas), "--model", model],
                                 tmp / f"serve{replicas}.log",
                                 ready=server.http_ready("/api/health", b"Serving on")) as serve:
            differences[name] = same_answers(serve.port, single, reference)
            http_load("warm-up", serve.port, "/api/predict", single, 2, 100, 30)
            loads.append(http_load(name, serve.port, "/api/predict", single, CLIENTS, requests, max_s))
    rest, best = loads[0], max(loads[1:], key=lambda load: load.rps)
    lines = [
        "## Serving: Ray Serve vs the REST endpoint\n",
        f"{source}, one image per request, {CLIENTS} keep-alive clients in the benchmark process on "
        "the same 2 cores; each server alone on the machine in turn, after a warm-up.\n",
        table(loads), "",
        "Server CPU is the REST process's; Serve's work is spread over Ray's proxy, controller and "
        "replica processes, so it is left out. Ray Serve answers through its HTTP proxy actor, "
        "which hands each request to a replica process: on one machine that is an extra hop and "
        "extra processes on the same two cores.\n",
        f"Best Ray Serve setting: {best.name}, {best.rps:.0f} requests/s = "
        f"{best.rps / max(rest.rps, 1e-9):.2f}× the REST endpoint's {rest.rps:.0f}.\n"]
    counted = ", ".join(f"{k}: {v} differences" for k, v in differences.items())
    checks = [Check(all(n == 0 for n in differences.values()),
                    f"Ray Serve answers as the REST endpoint on every test image ({counted})")]
    return lines, checks + [Check(not load.errors, f"{load.name}: no errors") for load in loads]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="200 files, a few requests: a smoke test")
    p.add_argument("--files", type=int, help="MNIST test images for the batch job (default 10,000)")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("--out", type=Path, help="also write the report here (e.g. bench/SCALE.md)")
    args = p.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        batch_lines, batch_checks = batch_section(args.files or (200 if args.quick else 10_000),
                                                  2 if args.quick else 5, args.model, Path(tmp))
        serve_lines, serve_checks = serve_section(40 if args.quick else 3000, args.model, Path(tmp),
                                                  args.quick)
    report = "\n".join([
        f"# Ray scale-out benchmark{' (--quick: too small to trust)' if args.quick else ''}\n",
        f"Generated by `python -m bench.scale` in {time.perf_counter() - started:.0f} s. "
        f"Machine: {machine_line()}; Ray {metadata.version('ray')}.\n",
        *batch_lines, *serve_lines, "## Targets\n",
        *(c.line(args.quick) for c in batch_checks + serve_checks), ""])
    print(report)
    if args.out:
        args.out.write_text(report)
    return 1 if any(c.failed(args.quick) for c in batch_checks + serve_checks) else 0


if __name__ == "__main__":
    sys.exit(main())
