"""scale/: the Predictor on Ray Serve and Ray Data, on a local Ray the tests start themselves.

Run just these with `pytest -m ray`, or leave them out with `pytest -m "not ray"`.
"""

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, free_port

# serving.decode's answer to a file that is not an image
NOT_AN_IMAGE = "not an image that can be read: send a PNG, JPEG, GIF, BMP, TIFF or WebP file"

pytestmark = pytest.mark.ray

EXAMPLES = sorted((ROOT / "examples").glob("[0-9]_*.*"))


@pytest.fixture(scope="module")
def local_ray() -> Iterator[object]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=200 * 1024 * 1024)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def serve_url(local_ray: object, model_path: Path) -> Iterator[str]:
    from ray import serve

    from scale import serve as scale_serve

    args = scale_serve.parse_args(["--replicas", "1", "--port", str(free_port()), "--model", str(model_path)])
    url = scale_serve.start(args)
    try:
        yield url
    finally:
        serve.shutdown()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A few example digits (one in a subfolder, one named in Latin-1), a broken 'PNG', hidden files."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    for example in EXAMPLES[:3]:
        shutil.copy(example, root / example.name)
    shutil.copy(EXAMPLES[3], root / "sub" / EXAMPLES[3].name)
    shutil.copy(EXAMPLES[0], root / os.fsdecode(b"caf\xe9.png"))  # a name that isn't UTF-8
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / ".DS_Store").write_bytes(b"\0" * 10)
    (root / ".cache").mkdir()
    (root / ".cache" / "thumb.png").write_bytes(EXAMPLES[0].read_bytes())
    return root


def post(url: str, **kwargs) -> tuple[int, object]:
    import requests

    reply = requests.post(url, timeout=60, **kwargs)
    return reply.status_code, reply.json()


def same_answer(api: dict, cli: dict) -> None:
    assert api["digit"] == cli["digit"]
    assert api["confidence"] == pytest.approx(cli["confidence"], abs=1e-6)
    assert api["probabilities"] == pytest.approx(cli["probabilities"], abs=1e-6)


def test_serve_answers_with_the_clis_digits(serve_url: str, run_cli) -> None:
    status, cli = run_cli(*EXAMPLES)
    assert status == 0
    files = [("files", (p.name, p.read_bytes())) for p in EXAMPLES]
    status, records = post(serve_url, files=files)
    assert status == 200
    assert [r["file"] for r in records] == [p.name for p in EXAMPLES]
    for api, expected in zip(records, cli, strict=True):
        same_answer(api, expected)
    # The JSON way, base64, names are indices.
    status, records = post(serve_url, json={"images": [base64.b64encode(p.read_bytes()).decode()
                                                       for p in EXAMPLES[:2]]})
    assert status == 200 and [r["file"] for r in records] == [0, 1]
    for api, expected in zip(records, cli[:2], strict=True):
        same_answer(api, expected)
    # Explained as the REST API and the CLI explain it.
    status, explained = run_cli("--explain", EXAMPLES[0])
    status, (record,) = post(serve_url + "?explain=true", files=files[:1])
    assert status == 200
    assert record["heatmap"] == explained[0]["heatmap"] and record["seen"] == explained[0]["seen"]
    assert post(serve_url + "?explain=maybe", files=files[:1])[0] == 400


def test_serve_reads_numbers_as_the_cli_does(serve_url: str, model_path: Path) -> None:
    number = ROOT / "examples" / "number_2026.png"
    command = [sys.executable, "-m", "serving", "--number", "--model", str(model_path), str(number)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    cli = json.loads(proc.stdout)
    status, records = post(serve_url.replace("/api/predict", "/api/read_number"),
                           files=[("files", (number.name, number.read_bytes())), ("files", ("x.txt", b"hi"))])
    assert status == 422
    assert {**records[0], "file": cli["file"]} == cli
    assert records[1]["number"] is None and "not an image" in records[1]["error"]


def test_serve_refuses_bad_requests_like_the_rest_api(serve_url: str) -> None:
    status, records = post(serve_url, files=[("files", ("7.png", EXAMPLES[0].read_bytes())),
                                             ("files", ("notes.txt", b"hello"))])
    assert status == 422
    assert records[0]["digit"] == int(EXAMPLES[0].name[0]), records[0]
    assert records[1] == {"file": "notes.txt", "digit": None, "error": NOT_AN_IMAGE}
    assert post(serve_url, data=b"x", headers={"content-type": "text/plain"})[0] == 415
    status, body = post(serve_url, json={"images": ["%%%"]})
    assert status == 400 and "base64" in body["error"]
    status, body = post(serve_url, json={"nothing": []})
    assert status == 400 and "images" in body["error"]
    status, body = post(serve_url, json={"images": []})
    assert status == 400 and "no images" in body["error"]
    status, body = post(serve_url, data=b"[" * 5000, headers={"content-type": "application/json"})
    assert status == 400 and "JSON" in body["error"]
    big = b"\x89PNG\r\n\x1a\n" + bytes(6 * 1024 * 1024)  # over the default 5 MiB per image
    status, body = post(serve_url, files=[("files", ("big.png", big))])
    assert status == 413 and "big.png" in body["error"]


def test_batch_job_writes_a_row_per_file_and_survives_a_broken_one(
        local_ray: object, folder: Path, tmp_path: Path, model_path: Path, run_cli, capsys) -> None:
    from scale import batch

    out = tmp_path / "results.csv"
    assert batch.main([str(folder), "--out", str(out), "--model", str(model_path), "--batch-size", "2"]) == 0
    summary = capsys.readouterr()
    assert "6 files, 5 digits, 1 errors" in summary.out and "images/s" in summary.out
    assert "100%" in summary.err  # the progress bar
    rows = out.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    assert rows[0] == "file,digit,confidence,error"
    table = list(csv.DictReader(rows))
    assert [r["file"] for r in table] == sorted(["broken.png", os.fsdecode(b"caf\xe9.png"),
                                                 *(p.name for p in EXAMPLES[:3]), f"sub/{EXAMPLES[3].name}"])
    assert not list(tmp_path.glob("*.partial"))
    broken = next(r for r in table if r["file"] == "broken.png")
    assert broken["digit"] == "" and broken["confidence"] == "" and broken["error"]
    _, cli = run_cli(*(folder / r["file"] for r in table))
    for row, expected in zip(table, cli, strict=True):
        if expected["digit"] is None:
            assert row["error"] == expected["error"]
        else:
            assert int(row["digit"]) == expected["digit"] and row["error"] == ""
            assert float(row["confidence"]) == pytest.approx(expected["confidence"], abs=1e-6)


def test_serve_config_deploys_this_app() -> None:
    from ray.serve.schema import ServeDeploySchema

    from scale.deployment import DigitService, build_app

    text = (ROOT / "scale" / "serve_config.yaml").read_text()
    config = ServeDeploySchema.model_validate(yaml.safe_load(text))
    app = config.applications[0]
    assert app.import_path == "scale.deployment:build_app"
    assert [d.name for d in app.deployments] == [DigitService.name]
    assert app.deployments[0].autoscaling_config["max_replicas"] >= 2
    build_app(app.args)  # the args the file passes are the ones the app takes
    with pytest.raises(ValueError, match="unknown app args"):
        build_app({"modle": "x.onnx"})


def test_autoscaling_flags_become_serve_options() -> None:
    from scale.serve import app_args, deployment_options, parse_args

    assert deployment_options(parse_args(["--replicas", "3"])) == {"num_replicas": 3}
    options = deployment_options(parse_args(["--min-replicas", "1", "--max-replicas", "4",
                                             "--target-ongoing-requests", "2"]))
    assert options["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 4, "initial_replicas": 1,
                                             "target_ongoing_requests": 2.0}
    for bad in (["--min-replicas", "1"], ["--replicas", "2", "--min-replicas", "1", "--max-replicas", "4"],
                ["--min-replicas", "0", "--max-replicas", "0"], ["--replicas", "0"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
    assert app_args(parse_args(["--max-file-size", "0"]))["max_file_size"] is None  # 0: no limit


@pytest.mark.parametrize("command", [["scale.batch", "IN", "--out", "OUT"], ["scale.serve"]])
def test_missing_ray_says_what_to_install(command: list[str], folder: Path, tmp_path: Path) -> None:
    # Hide Ray from the child process as if it were not installed.
    hide = tmp_path / "hide_ray"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class HideRay:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'ray' or name.startswith('ray.'):\n"
        "            raise ModuleNotFoundError(f\"No module named '{name}'\")\n"
        "sys.meta_path.insert(0, HideRay())\n")
    argv = [str(folder) if a == "IN" else str(tmp_path / "o.csv") if a == "OUT" else a for a in command]
    proc = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": f"{hide}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert "Ray is not installed" in proc.stderr and "requirements-scale.txt" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_cluster_is_reported(folder: Path, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    proc = subprocess.run([sys.executable, "-m", "scale.batch", str(folder), "--out", str(tmp_path / "o.csv"),
                           "--address", f"127.0.0.1:{port}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o.csv").exists()


def test_dashboard_address_and_missing_model_are_explained(folder: Path, tmp_path: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "scale.batch", str(folder), "--out", str(tmp_path / "o.csv"), *extra]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)

    proc = run("--address", "http://127.0.0.1:8265")
    assert proc.returncode == 2 and "dashboard" in proc.stderr and "HEAD:6379" in proc.stderr
    proc = run("--model", str(tmp_path / "nope.onnx"))
    assert proc.returncode == 2 and "model file not found" in proc.stderr
    for proc in (run("--address", "http://x:8265"), run("--model", "nope.onnx")):
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_batch_refuses_an_empty_folder(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "scale.batch", str(tmp_path), "--out", str(tmp_path / "o.csv")]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no files under" in proc.stderr


def test_nothing_imports_scale() -> None:
    """scale/ is the last stage: only tests and benchmarks may import it."""
    imports_scale = re.compile(r"^\s*(from|import)\s+scale\b", re.M)
    for top in ROOT.iterdir():
        if top.name in ("scale", "tests", "bench") or top.name.startswith("."):
            continue
        for path in [top] if top.suffix == ".py" else top.rglob("*.py") if top.is_dir() else []:
            assert not imports_scale.search(path.read_text()), path
    assert "ray" not in (ROOT / "requirements.txt").read_text().lower()


def test_scale_benchmark_runs_and_checks_answers(tmp_path: Path) -> None:
    """`python -m bench.scale --quick`: the whole benchmark path, on a tiny folder and few requests."""
    out = tmp_path / "scale.md"
    proc = subprocess.run([sys.executable, "-m", "bench.scale", "--quick", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text()
    assert report.strip() == proc.stdout.strip()
    for heading in ("## Batch scoring: Ray Data vs the CLI", "## Serving: Ray Serve vs the REST endpoint",
                    "## Targets"):
        assert heading in report
    assert "PASS: Ray Data answers every file as the CLI does (0 + 0 + 0 differences)" in report
    assert "PASS: Ray Serve answers as the REST endpoint on every test image" in report
    for name in ("REST `POST /api/predict` (demo.py)", "Ray Serve, 1 replica", "Ray Serve, 2 replicas"):
        assert f"PASS: {name}: no errors" in report
    assert "target ≥ 1.5×" in report  # the speed-up is reported (quick mode is too small to reach it)
