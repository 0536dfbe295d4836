"""Issue #19, hardening: what big images cost, what stays in the cache, slow clients, files read
wrong, start-up errors, telemetry, and the API's schema against its behaviour.

The server tests share one `python demo.py` started with short windows (--client-timeout 2,
--cache-max-age 3), its own GRADIO_TEMP_DIR and its own HOME, and with ORT_DISABLE_TELEMETRY=0
as a user without it would have. Memory figures are asserted with generous bounds only; the
measured numbers are in docs/results.md ("Big images and explaining").
"""

from __future__ import annotations

import base64
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from PIL import Image

from bench.common import rss_mb
from examples.make import draw_digits
from tests.badinputs import big_opaque_rgba, jpeg_bytes, png_bytes
from tests.conftest import DemoServer, start_demo, stop_demo

ROOT = Path(__file__).resolve().parent.parent
CLIENT_TIMEOUT = 2.0
CACHE_MAX_AGE = 3.0


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serving", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def digit_png(digit: str, size: tuple[int, int] = (300, 300)) -> bytes:
    return png_bytes(draw_digits(size, digit, "black", "white", 18))


# ---------------------------------------------------------------- 1. what an image costs


# Reads one image in a fresh process, so the peak is its own: the digit, and the peak memory above
# the warmed-up process (VmHWM, reset to the current RSS through /proc/self/clear_refs). Linux only.
PEAK_READ = """
import gc, json, sys
from pathlib import Path
from examples.make import draw_digits
from serving import Predictor

def kb(field):
    return next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith(field + ":"))

predictor = Predictor(sys.argv[1])
predictor.predict(draw_digits((280, 280), "7", "black", "white", 20))  # the first run allocates
gc.collect()
before = kb("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
digit = predictor.predict(sys.argv[2]).digit
print(json.dumps({"digit": digit, "peak_mb": (kb("VmHWM") - before) / 1024}))
"""


def test_a_big_image_costs_little_memory(tmp_path: Path, model_path: Path) -> None:
    """The issue's 7000×7000 opaque RGBA PNG took 2.3 GB at peak; now about 220 MB (docs/results.md)."""
    path = tmp_path / "big.png"
    path.write_bytes(big_opaque_rgba(7))
    proc = subprocess.run([sys.executable, "-c", PEAK_READ, str(model_path), str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["digit"] == 7, result
    assert result["peak_mb"] < 600, result  # generous: a loaded 2-core machine, and any allocator


def test_errors_in_a_batch_hold_no_traceback(model_path: Path) -> None:
    """A kept exception's traceback holds the frames that hold the decoded image."""
    from serving import Predictor

    blank = png_bytes(Image.new("RGB", (300, 300), "white"))
    results = Predictor(model_path).predict_batch([b"not an image", blank, digit_png("4")])
    assert [type(r).__name__ for r in results] == ["InputError", "NoDigitError", "DigitResult"]
    for error in results[:2]:
        assert error.__traceback__ is None and error.__context__ is None and error.__cause__ is None


def test_a_big_jpeg_number_has_boxes_in_its_own_pixels(model_path: Path) -> None:
    """Big images are decoded reduced; the boxes must still be in the pixels that were sent."""
    from serving import Reader

    small = draw_digits((600, 200), "47", "black", "white", 14)
    big = small.resize((12000, 4000), Image.Resampling.BILINEAR)  # JPEG decodes this at 1/2
    reader = Reader(model_path)
    a = reader.read_number(jpeg_bytes(small, quality=92))
    b = reader.read_number(jpeg_bytes(big, quality=92))
    assert a.number == b.number == "47"
    for da, db in zip(a.digits, b.digits, strict=True):
        assert all(abs(20 * va - vb) <= 120 for va, vb in zip(da.box, db.box, strict=True)), (da.box, db.box)


def test_a_camera_photo_is_decoded_reduced_and_grey() -> None:
    """A camera's JPEG is decoded at reduced scale and in grey (the paper path reads grey); a
    small JPEG keeps its colour."""
    from serving import decode

    camera = Image.new("RGB", (3000, 4000), (215, 205, 190))
    camera.paste((30, 40, 150), (1400, 1800, 1600, 2400))  # a blue stroke
    image = decode.open_image(jpeg_bytes(camera, quality=85))
    assert image.mode == "L" and image.size == (750, 1000)
    assert image.info[decode.ORIGINAL_SIZE] == (3000, 4000)
    assert image.getpixel((375, 525)) < 100 < image.getpixel((100, 100))
    assert decode.open_image(jpeg_bytes(camera.resize((600, 800)))).mode == "RGB"


def test_decoded_size_is_capped_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from serving import decode

    monkeypatch.setattr(decode, "MAX_DECODED_BYTES", 1 << 20)
    with pytest.raises(decode.InputError, match="MB decoded; the limit is 1 MB"):
        decode.open_image(png_bytes(Image.new("RGBA", (600, 600), "white")))
    assert decode.open_image(png_bytes(Image.new("L", (600, 600), 255))).size == (600, 600)  # 1 byte a pixel


# ---------------------------------------------------------------- 4-6. the CLI and start-up


def test_cli_says_what_a_path_is(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run_cli(str(tmp_path), str(fifo), "/dev/zero", str(tmp_path / "missing.png"))
    errors = [json.loads(line)["error"] for line in result.stdout.splitlines()]
    assert result.returncode == 1, result.stderr
    assert ["a directory" in errors[0], "a named pipe (FIFO)" in errors[1], "a device" in errors[2],
            "no such file" in errors[3]] == [True] * 4, errors


def test_cli_number_goes_on_after_a_bad_file(tmp_path: Path) -> None:
    from tests.badinputs import png_with_big_text

    (tmp_path / "text.png").write_bytes(png_with_big_text(3))
    (tmp_path / "n.png").write_bytes(digit_png("52", (500, 250)))
    result = run_cli("--number", *(str(tmp_path / name) for name in ("text.png", "bad.png", "n.png")))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["number"] for line in lines] == ["3", None, "52"], lines
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_cli_batch_size_must_be_positive(value: str) -> None:
    result = run_cli("--batch-size", value, "examples/3_marker.png")
    assert result.returncode == 2 and "--batch-size" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.fixture
def forged_model(tmp_path: Path) -> Path:
    """A truncated model with a model card that vouches for exactly those bytes."""
    import hashlib

    model = tmp_path / "digitnet.onnx"
    model.write_bytes((ROOT / "models" / "digitnet.onnx").read_bytes()[:5000])
    card = {"files": {"fp32": {"file": model.name, "sha256": hashlib.sha256(model.read_bytes()).hexdigest()}}}
    (tmp_path / "digitnet.json").write_text(json.dumps(card))
    return model


def test_a_truncated_model_is_exit_2_with_a_message(forged_model: Path) -> None:
    result = run_cli("--model", str(forged_model), "examples/3_marker.png")
    assert result.returncode == 2, result.stderr
    assert "not a model onnxruntime can load" in result.stderr and "Traceback" not in result.stderr
    demo = subprocess.run([sys.executable, "demo.py", "--model", str(forged_model), "--port", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 1 and "not a model onnxruntime can load" in demo.stderr, demo.stderr[-2000:]
    assert "Traceback" not in demo.stderr


def test_an_unusable_gradio_temp_dir_stops_the_app_with_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {**os.environ, "GRADIO_TEMP_DIR": str(blocker / "cache")}
    demo = subprocess.run([sys.executable, "demo.py", "--port", "1"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert demo.returncode == 1, demo.stderr[-2000:]  # as the app's other start-up errors
    assert f"GRADIO_TEMP_DIR={blocker / 'cache'} can't hold uploads" in demo.stderr
    assert "Traceback" not in demo.stderr


def test_no_telemetry_from_the_cli(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / ".cache"), "ORT_DISABLE_TELEMETRY": "0"}
    assert run_cli("examples/3_marker.png", env=env).returncode == 0
    assert not list(tmp_path.rglob("Microsoft")), sorted(tmp_path.rglob("*"))


# ---------------------------------------------------------------- the server


class Server:
    def __init__(self, demo: DemoServer, base: Path, home: Path) -> None:
        self.demo, self.base, self.home = demo, base, home
        self.url = demo.url

    @property
    def cache(self) -> Path:
        (private,) = self.base.iterdir()  # the demo's own directory below GRADIO_TEMP_DIR
        return private

    def listing(self) -> set[str]:
        return {str(p.relative_to(self.cache)) for p in self.cache.rglob("*")}

    def cpu_s(self) -> float:
        times = psutil.Process(self.demo.process.pid).cpu_times()
        return times.user + times.system


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hardening")
    base, home = root / "gradio", root / "home"
    home.mkdir()
    env = {"GRADIO_TEMP_DIR": str(base), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "ORT_DISABLE_TELEMETRY": "0"}
    demo = start_demo(model_path, root / "demo.log", env=env, args=[
        "--client-timeout", str(CLIENT_TIMEOUT), "--cache-max-age", str(CACHE_MAX_AGE)])
    try:
        yield Server(demo, base, home)
    finally:
        stop_demo(demo)


def raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").strip("/").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(30)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def upload_body(parts: list[tuple[str, str, bytes]], boundary: str = "XyZ") -> bytes:
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file}"\r\n'
                    f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
                    for name, file, data in parts)
    return body + f"--{boundary}--\r\n".encode()


def test_slow_clients_are_timed_out(server: Server) -> None:
    """Fifty slow connections: heads and bodies get 408, silent ones are closed, all within the window."""
    start = time.monotonic()
    heads, bodies, silent = [], [], []
    for _ in range(20):
        sock = raw(server.url)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        heads.append(sock)
        sock = raw(server.url)
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 5000\r\n\r\n{\"images\": [\"")
        bodies.append(sock)
    for _ in range(10):
        silent.append(raw(server.url))
    answers = [read_until_closed(s) for s in heads + bodies + silent]
    elapsed = time.monotonic() - start
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers[:40]), {a[:40] for a in answers[:40]}
    assert b"came too slowly" in answers[0] and b"came too slowly" in answers[20]
    assert all(a == b"" for a in answers[40:])
    assert elapsed < CLIENT_TIMEOUT + 10, elapsed
    assert httpx.get(server.url + "api/health", timeout=10).status_code == 200  # and it still answers


def test_the_cache_keeps_nothing(server: Server) -> None:
    """A cut-off upload, a refused multi-part upload and the Gradio API's calls leave nothing."""
    from gradio_client import Client, handle_file

    before = server.listing()
    sock = raw(server.url)  # an upload cut off half-way
    body = upload_body([("files", "cut.png", digit_png("1") * 20)])
    sock.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                 b"boundary=XyZ\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:20000])
    time.sleep(0.5)
    sock.close()
    refused = httpx.post(server.url + "gradio_api/upload", timeout=30,
                         content=upload_body([("files", "ok.png", digit_png("2")), ("files", "..", b"x")]),
                         headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert refused.status_code == 400, refused.text
    fresh = server.home / "fresh.png"
    fresh.write_bytes(digit_png("6"))
    client = Client(server.url, verbose=False)
    answer = client.predict(handle_file(str(fresh)), api_name="/predict")
    assert answer["digit"] == 6, answer
    assert client.predict(handle_file(str(fresh)), api_name="/read_number")["number"] == "6"
    assert server.listing() != before, "the requests left nothing even for a moment: the test proves nothing"
    deadline = time.monotonic() + 3 * CACHE_MAX_AGE + 5
    while server.listing() != before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert server.listing() == before, sorted(server.listing() - before)


def test_a_full_disk_gets_a_message_and_recovers(server: Server) -> None:
    """No room (here: the file-size limit, EFBIG; ENOSPC goes the same way) → 507; then it works."""
    process = psutil.Process(server.demo.process.pid)
    data = digit_png("8") + os.urandom(600_000)  # a PNG with trailing bytes: big, still an upload
    files = {"files": ("big.png", data, "image/png")}
    old = process.rlimit(resource.RLIMIT_FSIZE)
    process.rlimit(resource.RLIMIT_FSIZE, (200_000, old[1]))
    try:
        full = httpx.post(server.url + "gradio_api/upload", files=files, timeout=30)
    finally:
        process.rlimit(resource.RLIMIT_FSIZE, old)
    assert full.status_code == 507, full.text
    assert "no room to store this upload" in full.json()["error"]
    again = httpx.post(server.url + "gradio_api/upload", files=files, timeout=30)
    assert again.status_code == 200, again.text


def many_big_images(count: int) -> bytes:
    image = base64.b64encode(big_opaque_rgba(7)).decode()
    return json.dumps({"images": [image] * count}).encode()


def test_work_stops_when_the_client_leaves(server: Server) -> None:
    body = many_big_images(20)  # about 13 s of CPU to read them all
    sock = raw(server.url)
    sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(1.5)
    sock.close()
    time.sleep(2.0)  # the image being read when it left is finished
    cpu = server.cpu_s()
    time.sleep(4.0)
    assert server.cpu_s() - cpu < 1.5, "the server kept reading images for a client that had left"


def test_heavy_requests_do_not_starve_others(server: Server) -> None:
    """Two requests of big images in flight; one of five small images is answered at once, and the
    server's memory comes back to where it was (generous bound; docs/results.md has the figures)."""
    time.sleep(1.0)
    rss_before = rss_mb(server.demo.pid)
    body = many_big_images(6)
    heavy_replies: list[int] = []

    def send_heavy() -> None:
        reply = httpx.post(server.url + "api/predict", content=body, timeout=300,
                           headers={"Content-Type": "application/json"})
        heavy_replies.append(reply.status_code)

    threads = [threading.Thread(target=send_heavy) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    small = [("files", (f"{d}.png", digit_png(d), "image/png")) for d in "12345"]
    start = time.monotonic()
    reply = httpx.post(server.url + "api/predict", files=small, timeout=300)
    waited = time.monotonic() - start
    assert reply.status_code == 200 and [r["digit"] for r in reply.json()] == [1, 2, 3, 4, 5]
    assert waited < 5.0, f"a small request waited {waited:.1f} s behind big ones"
    for thread in threads:
        thread.join()
    assert heavy_replies == [200, 200]
    time.sleep(1.0)
    grown = rss_mb(server.demo.pid) - rss_before
    assert grown < 150, f"the server holds {grown:.0f} MB more than before the burst"


def test_fuzzed_api_matches_schema(server: Server, tmp_path: Path) -> None:
    """Schemathesis against /openapi.json: every check, fixed seed, a bounded number of examples.

    Run in a temp directory: it keeps its example database (.schemathesis/) where it runs."""
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "--no-color",
         "--config-file", str(ROOT / "tests" / "schemathesis.toml"), "run", server.url + "openapi.json",
         "--checks", "all", "--seed", "19", "--max-examples", "20", "--request-timeout", "30"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_sigterm_cleans_up_and_no_telemetry(server: Server) -> None:
    """Last: SIGTERM ends the server as Ctrl-C does, and its whole cache directory goes."""
    server.demo.process.terminate()
    server.demo.process.wait(timeout=60)
    assert list(server.base.iterdir()) == [], sorted(server.base.rglob("*"))
    assert not list(server.home.rglob("Microsoft")), sorted(server.home.rglob("*"))
