"""The REST API (rest.py) as a client sees it: `python demo.py` started on a free loopback port.

The server here is this module's own (not conftest's demo_server), with the upload limit the
bad-input corpus is built around (2 MB), so every request/response below goes over real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.badinputs import ANY, OVERSIZE_LIMIT, build
from tests.conftest import start_demo, stop_demo

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Reply:
    status: int
    body: object  # parsed JSON


@dataclass
class RestServer:
    url: str
    process: subprocess.Popen
    log: Path

    def post(self, path: str, body: bytes, content_type: str) -> Reply:
        request = urllib.request.Request(self.url + path.lstrip("/"), data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, json.loads(response.read()))
        except urllib.error.HTTPError as err:
            data = err.read()
            assert err.headers.get("content-type", "").startswith("application/json"), data[:200]
            return Reply(err.code, json.loads(data))

    def files(self, *files: tuple[str, bytes], path: str = "/api/predict") -> Reply:
        body, content_type = multipart(files)
        return self.post(path, body, content_type)

    def base64(self, *images: bytes | str, path: str = "/api/predict") -> Reply:
        encoded = [i if isinstance(i, str) else base64.b64encode(i).decode() for i in images]
        return self.post(path, json.dumps({"images": encoded}).encode(), "application/json")

    def get(self, path: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=30) as response:
            return response.status, response.read()


def multipart(files: tuple[tuple[str, bytes], ...], field: str = "files") -> tuple[bytes, str]:
    # derived from the data, so every xdist worker collects the same test ids
    boundary = hashlib.sha256(b"".join(data for _, data in files)).hexdigest()[:32]
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                    f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
                    for name, data in files)
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="module")
def rest(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestServer]:
    """`python demo.py --max-file-size 2mb` as a user starts it; stopped (this process only) after."""
    log = tmp_path_factory.mktemp("rest") / "demo.log"
    server = start_demo(model_path, log, max_file_size=f"{OVERSIZE_LIMIT // 2**20}mb")
    try:
        yield RestServer(server.url, server.process, server.log)
    finally:
        stop_demo(server)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("badinputs")
    return directory, build(directory)


def example(name: str) -> tuple[str, bytes]:
    return name, (EXAMPLES / name).read_bytes()


def assert_digit(record: dict, file: str | int) -> None:
    assert record["file"] == file
    assert isinstance(record["digit"], int) and 0 <= record["digit"] <= 9, record
    assert len(record["probabilities"]) == 10 and abs(sum(record["probabilities"]) - 1) < 1e-4
    assert record["confidence"] == max(record["probabilities"])
    assert "error" not in record


# ---------------------------------------------------------------- answers


def test_one_file(rest: RestServer) -> None:
    reply = rest.files(example("3_marker.png"))
    assert reply.status == 200
    assert len(reply.body) == 1
    assert_digit(reply.body[0], "3_marker.png")
    assert reply.body[0]["digit"] == 3


def test_several_files_answer_in_order(rest: RestServer) -> None:
    names = ["3_marker.png", "5_chalkboard.png", "8_transparent.png", "7_ballpoint_photo.jpg"]
    reply = rest.files(*(example(n) for n in names))
    assert reply.status == 200
    assert [r["file"] for r in reply.body] == names
    for record, name in zip(reply.body, names, strict=True):
        assert_digit(record, name)
    assert [r["digit"] for r in reply.body] == [3, 5, 8, 7]


def test_base64_json_matches_the_upload(rest: RestServer) -> None:
    data = example("5_chalkboard.png")[1]
    uploaded = rest.files(("5.png", data)).body[0]
    reply = rest.base64(data, "data:image/png;base64," + base64.b64encode(data).decode(),
                        base64.encodebytes(data).decode())  # plain, data URL, wrapped at 76 columns
    assert reply.status == 200
    assert [r["file"] for r in reply.body] == [0, 1, 2]
    for record in reply.body:
        assert {**record, "file": "5.png"} == uploaded


def test_one_image_as_the_raw_body(rest: RestServer) -> None:
    """curl --data-binary @5.png -H 'Content-Type: image/png': the list of one record, as uploaded."""
    data = example("5_chalkboard.png")[1]
    uploaded = rest.files(("5.png", data)).body[0]
    reply = rest.post("/api/predict", data, "image/png")
    assert reply.status == 200 and reply.body == [{**uploaded, "file": 0}]


def test_answer_equals_the_cli(rest: RestServer, run_cli) -> None:
    files = ["examples/3_marker.png", "examples/4_phone_exif.jpg"]
    status, lines = run_cli(*files)
    assert status == 0
    reply = rest.files(*((f, (ROOT / f).read_bytes()) for f in files))
    assert reply.status == 200
    assert reply.body == lines  # same keys, same rounding, same file names


def test_health_names_the_model(rest: RestServer, model_path: Path) -> None:
    status, body = rest.get("/api/health")
    health = json.loads(body)
    assert status == 200 and health["model"] == model_path.name
    assert health["max_file_size"] == OVERSIZE_LIMIT


# ---------------------------------------------------------------- bad input: 4xx with a message


def test_every_bad_input_gets_its_message(rest: RestServer, corpus) -> None:
    directory, cases = corpus
    for case in cases:
        reply = rest.files((case.file, (directory / case.file).read_bytes()))
        if case.oversize:
            assert reply.status == 413, (case.name, reply)
            assert "limit" in reply.body["error"], reply.body
            continue
        record = reply.body[0]
        problem = case.check(record["digit"], record.get("error"))
        assert problem is None, problem
        assert reply.status == (422 if case.error else 200), (case.name, reply)
        if case.digit not in (None, ANY):
            assert record["digit"] == case.digit


def test_a_bad_image_among_good_ones(rest: RestServer, corpus) -> None:
    directory, _ = corpus
    reply = rest.files(example("3_marker.png"), ("truncated.png", (directory / "truncated.png").read_bytes()))
    assert reply.status == 422  # the answer is still complete: the good image keeps its digit
    assert_digit(reply.body[0], "3_marker.png")
    assert set(reply.body[1]) == {"file", "digit", "error"}, reply.body[1]
    assert reply.body[1]["file"] == "truncated.png" and reply.body[1]["digit"] is None
    assert reply.body[1]["error"].startswith("the image is truncated"), reply.body[1]["error"]


@pytest.mark.parametrize("name, body, content_type, status, message", [
    ("no files", *multipart(()), 400, "no images"),
    ("only a text field", b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
     "multipart/form-data; boundary=b", 400, "no images"),
    ("empty JSON list", b'{"images": []}', "application/json", 400, "no images"),
    ("JSON without images", b'{"pictures": "abc"}', "application/json", 400, '{"images"'),
    ("one image, not in a list", b'{"image": "abc"}', "application/json", 400, "in a list, even one"),
    ("images as a string", b'{"images": "iVBORw0KGgo="}', "application/json", 400, "in a list, even one"),
    ("bare base64 string", b'"iVBORw0KGgo="', "application/json", 400, "in a list, even one"),
    ("empty POST", b"", "", 400, "the request is empty"),
    ("not JSON", b"{nope", "application/json", 400, "not valid JSON"),
    ("bad base64", b'{"images": ["iVBOR!!w0KGgo"]}', "application/json", 400, "not valid base64"),
    ("not a string", b'{"images": [42]}', "application/json", 400, "not a string"),
    ("form-urlencoded", b"files=abc", "application/x-www-form-urlencoded", 415, "unsupported content type"),
    ("no content type", b"abc", "", 415, "unsupported content type"),
])
def test_bad_requests(rest: RestServer, name: str, body: bytes, content_type: str, status: int,
                      message: str) -> None:
    reply = rest.post("/api/predict", body, content_type)
    assert reply.status == status, (name, reply)
    assert message in reply.body["error"], (name, reply.body)


def test_empty_and_not_an_image_base64(rest: RestServer) -> None:
    reply = rest.base64(b"", b"hello, not an image")
    assert reply.status == 422
    assert "empty" in reply.body[0]["error"] and "not an image" in reply.body[1]["error"]


# ---------------------------------------------------------------- limits


def padded_png(size: int) -> bytes:
    """A readable digit PNG of exactly `size` bytes (decoders ignore what follows IEND)."""
    data = example("3_marker.png")[1]
    return data + b"\0" * (size - len(data))


def test_size_limit_is_the_demos_max_file_size(rest: RestServer) -> None:
    at_limit = rest.files(("at_limit.png", padded_png(OVERSIZE_LIMIT)))
    assert at_limit.status == 200 and at_limit.body[0]["digit"] == 3
    over = rest.files(("over.png", padded_png(OVERSIZE_LIMIT + 1)))
    assert over.status == 413
    assert over.body["error"] == ("file 'over.png' is 2 MB; the limit is 2 MB per image: "
                                  "send a smaller image")
    over64 = rest.base64(padded_png(OVERSIZE_LIMIT + 1024))
    assert over64.status == 413 and "image 0" in over64.body["error"]


def test_oversized_request_is_refused_before_it_is_read(rest: RestServer) -> None:
    # Content-Length alone decides: the server answers without waiting for the 100 MB body.
    with socket.create_connection(("127.0.0.1", int(rest.url.rsplit(":", 1)[1].strip("/")))) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000000\r\n\r\n")
        s.settimeout(30)
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


def test_too_many_images(rest: RestServer) -> None:
    from app.web.reading import MAX_IMAGES

    png = example("3_marker.png")[1]
    reply = rest.files(*((f"{i}.png", png) for i in range(MAX_IMAGES + 1)))
    assert reply.status == 413 and "at most" in reply.body["error"]


# ---------------------------------------------------------------- docs, and the app beside it


def test_openapi_page_describes_the_api(rest: RestServer) -> None:
    status, body = rest.get("/openapi.json")
    spec = json.loads(body)
    assert status == 200
    post = spec["paths"]["/api/predict"]["post"]
    assert set(post["requestBody"]["content"]) == {"multipart/form-data", "application/json", "image/*",
                                                   "application/octet-stream"}
    assert {"200", "400", "413", "415", "422"} <= set(post["responses"])
    assert not any(p.startswith("/gradio_api") for p in spec["paths"])  # Gradio's own API: its page
    status, html = rest.get("/docs")
    assert status == 200 and b"swagger" in html.lower()


def test_docs_load_without_the_internet(rest: RestServer) -> None:
    """/docs refers to no other host; the script and stylesheet it names are served here (issue #20)."""
    import re

    _, html = rest.get("/docs")
    urls = re.findall(rb'(?:src|href)=["\']([^"\']+)', html) + re.findall(rb"url: *'([^']+)'", html)
    assert urls and not [u for u in urls if re.match(rb"(https?:)?//", u)], urls
    for asset in (b"/docs-assets/swagger-ui-bundle.js", b"/docs-assets/swagger-ui.css"):
        assert asset in html
        status, body = rest.get(asset.decode())
        assert status == 200 and len(body) > 100_000
    for path in ("/docs-assets/..%2Frest.py", "/docs-assets/nope.js"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            rest.get(path)
        assert refused.value.code == 404


def test_gradio_app_still_served(rest: RestServer) -> None:
    status, html = rest.get("/")
    assert status == 200 and b"<html" in html.lower()
    status, config = rest.get("/config")
    assert status == 200 and json.loads(config)["components"]


def test_read_number(rest: RestServer) -> None:
    reply = rest.files(example("number_2026.png"), path="/api/read_number")
    assert reply.status == 200
    record = reply.body[0]
    assert record["file"] == "number_2026.png" and record["number"] == "2026"
    assert [d["digit"] for d in record["digits"]] == [2, 0, 2, 6]
    assert all(len(d["box"]) == 4 for d in record["digits"])
    blank = rest.base64(b"", path="/api/read_number")
    assert blank.status == 422 and blank.body[0]["number"] is None and "empty" in blank.body[0]["error"]


# ---------------------------------------------------------------- the benchmark


@pytest.mark.slow
def test_bench_api_quick(model_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bench.api", "--quick", "--model", str(model_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for heading in ("REST endpoint vs Flask + PyTorch", "Gradio API /predict", "The web page", "Targets"):
        assert f"## {heading}" in out
    assert "| REST `POST /api/predict` | 8 |" in out and "| Flask + PyTorch baseline | 8 |" in out
    assert "| Gradio /predict (demo.py) | 8 |" in out
    assert "PASS: REST: no errors in any run" in out and "PASS: Gradio API: no errors" in out
    assert "FAIL" not in out


def test_launch_gets_the_api_and_keeps_share(tmp_path) -> None:
    """launch() gets the API's settings; --share still reaches launch()."""
    from app.server import create, launch_kwargs
    from app.settings import Settings

    seen = launch_kwargs(create(Settings.parse(["--share", "--port", "7999", "--max-file-size", "3mb"], {})),
                         tmp_path)
    assert seen["share"] is True and seen["max_file_size"] == "3mb"
    assert seen["app_kwargs"]["docs_url"] is None and callable(seen["app_kwargs"]["lifespan"])  # docs.py
