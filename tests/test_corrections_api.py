"""POST /api/corrections and the page's control over real HTTP: `python demo.py --corrections DB`.

Every request here comes from 127.0.0.1, which the server is told to trust as a proxy
(--trusted-proxy 127.0.0.1): uvicorn then takes the client's address from X-Forwarded-For, and
each test sends its own, so each is its own client for the rate limit and for taking back.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import tempfile
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from app.corrections import Corrections
from app.web import rest
from serving import Reader
from serving.corrections import SQLiteStore
from tests.conftest import start_demo, stop_demo

ROOT = Path(__file__).resolve().parent.parent
SEVEN = (ROOT / "examples" / "7_ballpoint_photo.jpg").read_bytes()
PER_MINUTE = 5


@dataclass
class Server:
    url: str
    db: Path

    def post(self, body: bytes | None, content_type: str, client: str, method: str = "POST",
             path: str = "api/corrections") -> tuple[int, dict, dict]:
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Content-Type": content_type, "X-Forwarded-For": client})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read()), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), dict(err.headers)

    def json(self, payload: dict, client: str) -> tuple[int, dict, dict]:
        return self.post(json.dumps(payload).encode(), "application/json", client)

    def form(self, fields: dict[str, str], files: dict[str, bytes], client: str) -> tuple[int, dict, dict]:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{k}.png"\r\n'
                  f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
                  for k, data in files.items()]
        return self.post(b"".join(parts) + f"--{boundary}--\r\n".encode(),
                         f"multipart/form-data; boundary={boundary}", client)

    def delete(self, correction_id: int, client: str) -> tuple[int, dict, dict]:
        return self.post(None, "", client, "DELETE", f"api/corrections/{correction_id}")

    def rows(self) -> list[tuple]:
        with sqlite3.connect(self.db) as con:
            return con.execute("SELECT id, label, predicted, source, length(image) FROM corrections "
                               "ORDER BY id").fetchall()


@pytest.fixture(scope="module")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("corrections")
    db = folder / "corrections.db"
    demo = start_demo(model_path, folder / "demo.log",
                      args=["--corrections", str(db), "--corrections-per-minute", str(PER_MINUTE),
                            "--trusted-proxy", "127.0.0.1"])
    try:
        yield Server(demo.url, db)
    finally:
        stop_demo(demo)


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_json_and_multipart_are_kept(server: Server):
    status, body, _ = server.json({"image": encoded(SEVEN), "label": 1}, "10.0.0.1")
    assert status == 201 and body["label"] == 1 and body["predicted"] == 7 and 0 < body["confidence"] <= 1
    status, form_body, _ = server.form({"label": "4"}, {"file": SEVEN}, "10.0.0.1")
    assert status == 201 and form_body["id"] > body["id"]
    rows = {row[0]: row for row in server.rows()}
    assert rows[body["id"]] == (body["id"], 1, 7, "api", 784)
    assert rows[form_body["id"]] == (form_body["id"], 4, 7, "api", 784)


def test_the_sender_takes_a_correction_back(server: Server):
    """DELETE /api/corrections/{id}: by the client that sent it (its address), once."""
    status, kept, _ = server.json({"image": encoded(SEVEN), "label": 2}, "10.0.0.9")
    assert status == 201 and kept["id"] in {row[0] for row in server.rows()}
    status, body, _ = server.delete(kept["id"], "10.0.0.10")
    assert status == 404 and "of yours" in body["error"] and kept["id"] in {row[0] for row in server.rows()}
    assert server.delete(kept["id"], "10.0.0.9")[:2] == (200, {"id": kept["id"], "deleted": True})
    assert kept["id"] not in {row[0] for row in server.rows()}
    assert server.delete(kept["id"], "10.0.0.9")[0] == 404


@pytest.mark.parametrize("label", ["\u0667", "03", " 7 ", "\u00b2"])
def test_a_label_is_one_ascii_digit(server: Server, label: str):
    status, body, _ = server.form({"label": label}, {"file": SEVEN}, "10.0.0.11")
    assert status == 400 and '"label" must be one digit, 0 to 9' in body["error"], body


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(("payload", "status", "message"), [
    ({"image": encoded(SEVEN)}, 400, 'no "label"'),
    ({"image": encoded(SEVEN), "label": 12}, 400, "one digit, 0 to 9"),
    ({"label": 7}, 400, 'no "image"'),
    ({"image": "not base64!", "label": 7}, 400, '"image" is not valid base64'),
    ({"image": encoded(b"hello"), "label": 7}, 422, "not an image"),
    ({"image": encoded(png(np.full((64, 64), 255, np.uint8))), "label": 7}, 422, "no digit"),
    ({"image": encoded(bytes(3 * 2**20)), "label": 7}, 413, "the image is 3 MB"),
])
def test_bad_requests_get_a_status_and_a_message(server: Server, payload, status, message):
    before = len(server.rows())
    got, body, _ = server.json(payload, f"10.1.{status}.{len(message)}")
    assert (got, message in body["error"]) == (status, True), body
    assert len(server.rows()) == before


def test_bad_bodies(server: Server):
    assert server.post(b"{", "application/json", "10.2.0.1")[:2] == (400, server.post(
        b"{", "application/json", "10.2.0.2")[1])
    status, body, _ = server.post(b"label=7", "application/x-www-form-urlencoded", "10.2.0.3")
    assert status == 415 and "multipart/form-data" in body["error"]
    status, body, _ = server.form({"label": "7"}, {}, "10.2.0.4")
    assert status == 400 and "no image file" in body["error"]
    status, body, _ = server.form({"label": "7"}, {"a": SEVEN, "b": SEVEN}, "10.2.0.5")
    assert status == 400


def test_rate_limit_per_client(server: Server):
    statuses = [server.json({"image": encoded(SEVEN), "label": 1}, "10.3.0.1") for _ in range(PER_MINUTE + 1)]
    assert [s for s, _, _ in statuses] == [201] * PER_MINUTE + [429]
    status, body, headers = statuses[-1]
    assert f"at most {PER_MINUTE} a minute" in body["error"] and int(headers["retry-after"]) > 0
    assert server.json({"image": encoded(SEVEN), "label": 1}, "10.3.0.2")[0] == 201  # someone else


def test_eight_writers_at_once_lose_nothing(server: Server):
    before = len(server.rows())
    start = threading.Barrier(8)
    ids: list[list[int]] = [[] for _ in range(8)]

    def write(n: int) -> None:
        start.wait()
        for i in range(PER_MINUTE):
            status, body, _ = server.json({"image": encoded(SEVEN), "label": (n + i) % 10}, f"10.4.0.{n}")
            assert status == 201, body
            ids[n].append(body["id"])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for written in ids for i in written]
    assert len(every) == len(set(every)) == 8 * PER_MINUTE
    rows = {row[0]: row for row in server.rows()}
    assert len(rows) == before + 8 * PER_MINUTE and set(every) <= set(rows)
    for n, written in enumerate(ids):
        assert [rows[i][1] for i in written] == [(n + i) % 10 for i in range(PER_MINUTE)]


def test_the_page_control_keeps_an_upload(server: Server):
    from gradio_client import Client, handle_file

    client = Client(server.url, verbose=False, download_files=tempfile.mkdtemp(prefix="gradio-dl-"))
    label, note = client.predict(handle_file(str(ROOT / "examples" / "2_pencil.png")), 5,
                                 api_name="/correct_upload")
    assert label is None and note.startswith("**Thank you!** Kept as a **5** (the model said 2")
    assert server.rows()[-1][1:] == (5, 2, "upload", 784)


@pytest.mark.browser
def test_one_click_in_the_browser(server: Server, chromium, artifacts: Path):
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)  # generous: a loaded test machine is slow
        page.goto(server.url, wait_until="domcontentloaded")
        page.get_by_role("tab", name="Upload", exact=True).first.click()
        page.locator("#upload input[type=file]").first.set_input_files(str(ROOT / "examples/3_marker.png"))
        page.wait_for_function("() => document.querySelector("
                               "'#upload-label [data-testid=label-output-value]')?.innerText.trim() === '3'")
        assert "not your IP address" in page.inner_text("#upload-correct-note")  # said before the click
        padding = page.evaluate("() => { const s = getComputedStyle(document.querySelector("
                                "'#upload-correct-note')); return [parseFloat(s.paddingLeft), "
                                "parseFloat(s.paddingTop)]; }")
        assert min(padding) >= 6, f"the privacy text touches its box's edge: {padding}"
        page.locator("#upload-correct label", has_text="8").click()
        page.wait_for_function("() => /Thank you/.test("
                               "document.querySelector('#upload-correct-note').innerText)")
        assert "Kept as an 8" in page.inner_text("#upload-correct-note")
        page.screenshot(path=str(artifacts / "browser_correction.png"), full_page=True)
        assert server.rows()[-1][1:] == (8, 3, "upload", 784)
        kept = server.rows()[-1][0]
        page.locator("#upload-undo").click()  # taken back, from the same page, within the minute
        page.wait_for_function("() => /Taken back/.test("
                               "document.querySelector('#upload-correct-note').innerText)")
        assert kept not in {row[0] for row in server.rows()}
        page.wait_for_selector("#upload-undo", state="hidden")
        page.screenshot(path=str(artifacts / "browser_correction_undone.png"), full_page=True)
    finally:
        context.close()


# ---------------------------------------------------------------- in-process: off, full


def api(corrections: Corrections | None, model_path: Path) -> TestClient:
    app = FastAPI()
    app.include_router(rest.create_router(Reader(model_path), 2**20, corrections))
    return TestClient(app)


def test_off_answers_404_in_words(model_path: Path):
    reply = api(None, model_path).post("/api/corrections", json={"image": encoded(SEVEN), "label": 1})
    assert reply.status_code == 404 and "--corrections PATH" in reply.json()["error"]


def test_a_full_database_answers_507_in_words(model_path: Path, tmp_path: Path):
    store = SQLiteStore(tmp_path / "c.db", max_bytes=40 * 1024)
    client = api(Corrections(store, per_minute=0), model_path)
    statuses = [client.post("/api/corrections", files={"file": ("x.png", png(np.pad(
        np.full((20, 4 + i % 9), 255, np.uint8), 20)))}, data={"label": "1"}) for i in range(60)]
    codes = [r.status_code for r in statuses]
    assert 201 in codes and codes[-1] == 507, codes
    assert "full" in statuses[-1].json()["error"] and store.count() == codes.count(201)
