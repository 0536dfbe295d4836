"""`python -m bench`: runs in quick mode (so the benchmark code can't rot) and writes RESULTS format."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.__main__ import SECTIONS
from bench.common import Stats, md_table, noise_images, sketch_png, torch_model
from bench.marks import main as marks_main
from bench.pages import main as pages_main
from bench.pages import pages
from bench.paper import all_in_frame, framed
from bench.paper import main as paper_main

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(os.environ.get("BENCH_MODELS", ROOT / "models"))
FP32, INT8 = MODELS / "digitnet.onnx", MODELS / "digitnet.int8.onnx"
needs_models = pytest.mark.usefixtures("exported_models")
CHECKS = ["onnxruntime fp32 vs PyTorch eager", "INT8 vs fp32 latency", "sketch end-to-end",
          "phone photo end-to-end", "INT8 file size vs fp32", "INT8 accuracy vs fp32", "serving RSS",
          "demo cold start", "answers the first member's shortcut changes"]


def sections_of(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def tables_in(body: str) -> list[list[str]]:
    """Markdown tables in a section: each a list of its lines."""
    tables, current = [], []
    for line in body.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def assert_results_format(text: str) -> None:
    assert text.startswith("# Benchmarks")
    assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC", text), "the date is missing"
    sections = sections_of(text)
    assert list(sections) == SECTIONS
    for title, body in sections.items():
        assert "**Failed:**" not in body, f"section {title} failed: {body}"
        tables = tables_in(body)
        assert tables, f"section {title} has no table"
        for table in tables:
            width = table[0].count("|")
            assert re.fullmatch(r"\|(---:?\|)+", table[1]), table[1]
            assert all(line.count("|") == width for line in table), f"ragged table in {title}"
            assert len(table) >= 3, f"empty table in {title}"
    machine = sections["Machine"]
    for key in ("cpu", "cores", "onnxruntime", "torch", "OPENBLAS_CORETYPE"):
        assert f"| {key} |" in machine
    latency = sections["Model latency"]
    for engine in ("onnxruntime fp32", "onnxruntime INT8", "PyTorch eager fp32"):
        assert f"| {engine} |" in latency
    assert "| a drawn 3 (first member" in latency and "| noise (first member" in latency
    throughput = sections["Throughput"]
    assert "batch 1 | batch 8 | batch 64 | batch 256" in throughput
    assert "(all)" in throughput
    assert "3000×4000" in sections["End-to-end latency"] and "280×280" in sections["End-to-end latency"]
    assert "8 concurrent clients" in sections["API round trip"]
    for check in CHECKS:
        assert check in sections["Checks"], f"check missing: {check}"


@pytest.fixture(scope="module")
def exported_models() -> None:
    """The shipped fp32 and INT8 models: a missing one is a failure, not a skip."""
    missing = [str(p) for p in (FP32, INT8) if not p.is_file()]
    if missing:
        pytest.fail(f"no exported model at {', '.join(missing)} (make export)", pytrace=False)


def test_md_table_and_stats():
    table = md_table(["a", "b"], [(1, 2), ("x", "y")])
    assert table.splitlines() == ["| a | b |", "|---|---:|", "| 1 | 2 |", "| x | y |"]
    stats = Stats.of([0.001] * 99 + [1.0])
    assert stats.median == 0.001 and stats.count == 100 and stats.p99 > stats.median


@needs_models
def test_torch_model_rebuilt_from_onnx_matches_onnxruntime():
    """PyTorch gets the ONNX file's own weights (runs/ is not in a clone)."""
    from export.evaluate import check_parity, session
    from serving.preprocess import to_mnist

    model, parity = torch_model(FP32)
    assert parity["max_abs_diff"] <= parity["tolerance"] == 1e-4
    check_parity(model, session(FP32), noise_images(64, seed=1))
    # Clear digits, which the first member answers alone (the graph's If, PyTorch's torch.cond).
    clear = np.stack([np.rint(255 * to_mnist(sketch_png(d))).astype(np.uint8) for d in (0, 2, 4, 6)])
    check_parity(model, session(FP32), clear)


@needs_models
def test_sketch_image_reads_as_its_digit():
    from serving import Predictor

    predictor = Predictor(FP32, verify=False)
    assert [predictor.predict(sketch_png(d)).digit for d in (3, 7)] == [3, 7]
    assert np.asarray(predictor.predict(sketch_png(3)).model_input).shape == (28, 28)


@pytest.mark.slow
@needs_models
def test_quick_bench_writes_every_section(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--models", str(MODELS),
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    text = out.read_text()
    assert_results_format(text)
    assert "--quick" in text.splitlines()[2]
    for title in SECTIONS:
        assert f"## {title}" in proc.stdout  # the tables are printed too


def test_committed_results_have_the_format():
    results = ROOT / "bench" / "RESULTS.md"
    if not results.exists():
        pytest.skip("bench/RESULTS.md not generated yet (python -m bench)")
    assert_results_format(results.read_text())


def test_pages_bench_reads_its_pages_and_times_a_phone_photo(capsys):
    """bench.pages on a few pages: the accuracy table, the 12-MP page's time, the same pages written
    small on a whole sheet and the same pages with a mark are printed."""
    status = pages_main(["--count", "3"])
    out = capsys.readouterr().out
    assert status == (0 if out.rstrip().endswith("PASS") else 1)  # the exit status says what it printed
    assert "FAIL: targets are" in out or out.rstrip().endswith("PASS")
    assert "| all pages | 3 |" in out
    assert re.search(r"A 12-MP photo of a page \(3000×4000 JPEG.*\): \d+ ms", out)
    assert re.search(r"The first 3 pages again, written small on a whole sheet \(1800×2400 .*\): \d+ ms", out)
    assert out.count("| all pages | 3 |") == 2
    assert re.search(r"The first 3 pages again, each with a mark .*: \d+\.\d% read exactly, against "
                     r"\d+\.\d% without the mark", out)


def test_a_marked_page_is_the_same_page_with_a_mark():
    """A page made with a mark holds the same numbers as the page without it, and differs from it."""
    images, labels = np.zeros((10, 28, 28), np.uint8), np.arange(10)
    images[:, 8:20, 12:16] = 255  # every digit a bar: enough for the layout
    plain, marked = (pages(3, 0, images, labels, marked=m) for m in (False, True))
    assert [p.numbers for p in plain] == [p.numbers for p in marked]
    assert any(p.jpeg != m.jpeg for p, m in zip(plain, marked, strict=True))


def test_a_page_photo_is_framed_with_all_its_writing_in_it():
    """A framing that would cut writing off (or leave it touching the photo's side) is drawn again:
    all_in_frame takes each ink pixel through the turn and the perspective."""
    writing = np.zeros((120, 90), np.float32)
    writing[50:60, 40:50] = 1
    same = (1, 0, 0, 0, 1, 0, 0, 0)  # output pixel (x, y) shows input pixel (x, y)
    down = (1, 0, 0, 0, 1, -62, 0, 0)  # ... shows (x, y - 62): the writing moves 62 rows down
    assert all_in_frame(writing, 0.0, same)
    assert not all_in_frame(writing, 0.0, down)  # its last rows fall off the bottom
    corner = np.zeros_like(writing)
    corner[10:20, 10:20] = 1
    assert all_in_frame(corner, 0.0, same)
    assert not all_in_frame(corner, 80.0, same)  # turned about the middle, the corner swings out
    writing[:2] = 1  # a stroke along the top, inside the margin
    assert not all_in_frame(writing, 0.0, same)
    near_top = np.zeros((100, 100), np.float32)
    near_top[2:5, 29:32] = 1  # left of the middle: one turn takes it down into the photo, the other out
    for angle in (15.0, -15.0):  # the way PIL turns it, pixel for pixel
        shown = np.asarray(framed(Image.fromarray((near_top * 255).astype(np.uint8)), angle, same, 0))
        assert all_in_frame(near_top, angle, same) == (shown[0].max() == 0)
    assert all_in_frame(near_top, 15.0, same) != all_in_frame(near_top, -15.0, same)


def test_marks_bench_flags_marks_and_not_digits(capsys):
    """bench.marks on a few pictures of each kind: most marks and letters are flagged, no plain
    digit is, and the exit status says the verdict it printed."""
    status = marks_main(["--count", "60"])
    out = capsys.readouterr().out
    rows = {row[0]: row[1:] for row in re.findall(r"\| ([^|]+) \| (\d+) \| ([\d.]+)% \| ([\d.]+)% \|", out)}
    assert len(rows) == 5 and int(rows["typeset letters no digit resembles"][0]) % 36 == 0
    assert float(rows["fresh marks (training/marks.py's kinds, a fresh seed)"][1]) >= 80
    assert float(rows["typeset letters no digit resembles"][1]) >= 30
    assert float(rows["MNIST validation digits on paper"][1]) == 0
    assert status == 0 and out.rstrip().splitlines()[-1].startswith("PASS")


def test_bench_paper_reads_its_photos_as_pages_too(capsys):
    """bench.paper --page: the same photos through the page reader, one digit each, in the tables."""
    status = paper_main(["--count", "12", "--page"])
    out = capsys.readouterr().out
    assert "12 photos made" in out and "read as pages in" in out and '"unsure" on a character' in out
    assert "overall: 12/12 = 100.00%" in out and "| dotted | 3 | 3 | 100.0% |" in out
    assert status == 0 and out.rstrip().endswith("PASS")


def test_conventions_asked_for_more_digits_than_the_test_set_holds_says_so(mnist, capsys):
    from bench import conventions

    fewest = min(int((mnist.test_labels == label).sum()) for label, _ in conventions.CONVENTIONS.values())
    assert conventions.MOST_PER_CONVENTION == fewest
    with pytest.raises(SystemExit) as exit_status:
        conventions.main(["--count", str(fewest + 1)])
    assert exit_status.value.code == 2
    assert f"--count must be 1–{fewest}" in capsys.readouterr().err


def test_a_free_port_lies_apart_from_the_ports_ray_and_the_os_hand_out():
    """Servers start on ports from SERVER_PORTS: neither Ray's worker ports nor the range the OS
    gives its own sockets, so Ray starting inside a server can't take the port it was given."""
    import socket

    from bench.common import SERVER_PORTS, free_port

    ports = {free_port() for _ in range(20)}
    assert all(port in SERVER_PORTS for port in ports) and len(ports) > 1
    assert SERVER_PORTS.start > 19999  # Ray's default max_worker_port
    low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert SERVER_PORTS.stop <= low
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports.pop()))
