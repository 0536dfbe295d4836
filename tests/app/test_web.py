"""The REST API's routes in-process (app/web: FastAPI's TestClient over create_router): one image as
the raw body, labels as one ASCII digit, and a correction taken back (DELETE) by its sender only,
for a short while only. Over a real server: tests/test_rest.py, tests/test_corrections_api.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.corrections import UNDO_WINDOW_S, Corrections, RecentCorrections
from app.web import rest
from examples.make import draw_digits
from serving import Reader
from serving.corrections import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1024 * 1024


def png(digit: str) -> bytes:
    out = io.BytesIO()
    draw_digits((200, 200), digit, "black", "white", 14).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


@pytest.fixture()
def corrections(tmp_path: Path) -> Corrections:
    return Corrections(SQLiteStore(tmp_path / "c.db"), per_minute=0)


def client_of(reader: Reader, corrections: Corrections | None, address: str = "10.0.0.1") -> TestClient:
    app = FastAPI()
    app.include_router(rest.create_router(reader, LIMIT, corrections))
    return TestClient(app, client=(address, 50000))


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "application/octet-stream"])
def test_one_image_as_the_raw_body(reader, content_type):
    """curl --data-binary @7.png -H 'Content-Type: image/png': the usual list of one record."""
    api = client_of(reader, None)
    reply = api.post("/api/predict", content=png("7"), headers={"Content-Type": content_type})
    assert reply.status_code == 200, reply.text
    [record] = reply.json()
    assert record["file"] == 0 and record["digit"] == 7 and len(record["probabilities"]) == 10
    number = api.post("/api/read_number", content=png("38"), headers={"Content-Type": "image/png"})
    assert number.status_code == 200 and number.json()[0]["number"] == "38"


def test_a_raw_body_that_is_no_image_or_too_big_says_so(reader):
    api = client_of(reader, None)
    bad = api.post("/api/predict", content=b"hello", headers={"Content-Type": "image/png"})
    assert bad.status_code == 422 and "not an image" in bad.json()[0]["error"]
    empty = api.post("/api/predict", content=b"", headers={"Content-Type": "image/png"})
    assert empty.status_code == 400 and "no images" in empty.json()["error"]
    big = api.post("/api/predict", content=b"\0" * (LIMIT + 1), headers={"Content-Type": "image/png"})
    assert big.status_code == 413 and "the image is 1 MB; the limit is 1 MB" in big.json()["error"]
    other = api.post("/api/predict", content=b"x", headers={"Content-Type": "text/plain"})
    assert other.status_code == 415 and "--data-binary" in other.json()["error"]


@pytest.mark.parametrize("label", ["\u0667", "03", " 7 ", "\u00b2", "7.0"])
def test_a_label_is_one_ascii_digit(reader, corrections, label):
    api = client_of(reader, corrections)
    reply = api.post("/api/corrections", files={"file": ("7.png", png("7"))}, data={"label": label})
    assert reply.status_code == 400 and '"label" must be one digit, 0 to 9' in reply.json()["error"]
    json_reply = api.post("/api/corrections", json={"image": "data:image/png;base64,AA==", "label": label})
    assert json_reply.status_code == 400 and '"label"' in json_reply.json()["error"]
    assert corrections.store.count() == 0


def test_the_sender_takes_a_correction_back(reader, corrections):
    api = client_of(reader, corrections)
    kept = api.post("/api/corrections", files={"file": ("7.png", png("7"))}, data={"label": "1"})
    assert kept.status_code == 201 and corrections.store.count() == 1
    other = client_of(reader, corrections, "10.0.0.2").delete(f"/api/corrections/{kept.json()['id']}")
    assert other.status_code == 404 and "of yours" in other.json()["error"]  # not another client
    assert corrections.store.count() == 1
    taken = api.delete(f"/api/corrections/{kept.json()['id']}")
    assert taken.status_code == 200 and taken.json() == {"id": kept.json()["id"], "deleted": True}
    assert corrections.store.count() == 0
    again = api.delete(f"/api/corrections/{kept.json()['id']}")
    assert again.status_code == 404 and "for a minute after sending it" in again.json()["error"]
    off = client_of(reader, None).delete("/api/corrections/1")
    assert off.status_code == 404 and "corrections are off" in off.json()["error"]


def test_only_for_a_short_while():
    now = [100.0]
    recent = RecentCorrections(clock=lambda: now[0])
    recent.remember(1, "a")
    recent.remember(2, "a")
    assert not recent.claim(1, "b")  # someone else's
    assert recent.claim(1, "a") and not recent.claim(1, "a")  # once
    now[0] += UNDO_WINDOW_S
    assert not recent.claim(2, "a")  # too late: it stays kept


def test_the_docs_describe_the_raw_body_and_the_delete(reader, corrections):
    app = FastAPI()
    rest.install(app, rest.create_router(reader, LIMIT, corrections))
    paths = TestClient(app).get("/openapi.json").json()["paths"]
    body = paths["/api/predict"]["post"]["requestBody"]["content"]
    assert {"image/*", "application/octet-stream"} <= set(body)
    assert "delete" in paths["/api/corrections/{correction_id}"]
