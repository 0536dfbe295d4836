"""The bad-input corpus (tests/badinputs.py) through the CLI, the API and the page.

Every file gets its expected outcome everywhere: the digit, or a message that says what is wrong
(never a traceback, never "something went wrong"). The over-size file is refused by the server
(the test server's limit is 2 MB) with a message, while the CLI, which has no limit, reads it.
Afterwards the server still answers an ordinary example correctly.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import httpx
import pytest

from tests.badinputs import CASES, Case, build

ROOT = Path(__file__).resolve().parent.parent
GENERIC = ("something went wrong", "the image could not be read", "upstream gradio app has raised")
PAGE_CASES = ("notes.png", "bomb.png", "white.png", "exif_rotated.jpg", "big_text.png", "claims_7000.jpg")
RESET_NOTE = "Upload a photo, scan or drawing of one digit: the answer appears here."
PAGE_TIMEOUT_MS = 60_000
NOTE_IS = "([sel, want]) => document.querySelector(sel).innerText.trim() === want"
NOTE_HAS = "([sel, want]) => document.querySelector(sel).innerText.toLowerCase().includes(want.toLowerCase())"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    directory = tmp_path_factory.mktemp("badinputs")
    return directory, build(directory)


@pytest.fixture(scope="module")
def server_log_start(demo_server) -> int:
    """Where the server's log stood before this module's requests."""
    return len(demo_server.log_tail(chars=10**9))


def case_id(case: Case) -> str:
    return case.file


def test_corpus_is_what_it_claims(corpus: tuple[Path, list[Case]]) -> None:
    from PIL import Image

    directory, cases = corpus
    sizes = {c.file: (directory / c.file).stat().st_size for c in cases}
    assert sizes["empty.png"] == 0
    assert sizes["bomb.png"] < 1000 and sizes["oversize.png"] > 2 * 1024 * 1024
    header = (directory / "bomb.png").read_bytes()[:24]
    assert header[12:16] == b"IHDR" and struct.unpack(">II", header[16:24]) == (40_000, 40_000)
    with Image.open(directory / "sixteen_bit.png") as image:
        assert image.mode.startswith("I;16") or image.mode == "I", image.mode
    with Image.open(directory / "cmyk.jpg") as image:
        assert image.mode == "CMYK"
    with Image.open(directory / "animated.gif") as image:
        assert image.n_frames == 3
    with Image.open(directory / "exif_rotated.jpg") as image:
        assert image.getexif().get(0x0112) == 6
    with Image.open(directory / "strip.png") as image:
        assert image.size == (3000, 200)


def test_cli(corpus: tuple[Path, list[Case]], run_cli) -> None:
    directory, cases = corpus
    status, lines = run_cli(*(directory / c.file for c in cases))
    assert status == 1, "some files have no digit: the exit status must be 1"
    assert len(lines) == len(cases)
    problems = []
    for case, line in zip(cases, lines, strict=True):
        assert line["file"] == str(directory / case.file)
        problems.append(case.check(line["digit"], line.get("error")))
        if line["digit"] is None:
            assert not any(g in line["error"].lower() for g in GENERIC), line
    assert not [p for p in problems if p], problems
    good = [directory / c.file for c in cases if c.error is None]
    assert run_cli(*good)[0] == 0, "every file got a digit: the exit status must be 0"
    assert run_cli(directory / "notes.png")[0] == 1


@pytest.mark.parametrize("case", [c for c in CASES if not c.oversize], ids=case_id)
def test_api_predict(case: Case, corpus: tuple[Path, list[Case]], client, server_log_start: int) -> None:
    from gradio_client import handle_file

    directory, _ = corpus
    got = client.predict(handle_file(str(directory / case.file)), api_name="/predict")
    assert set(got) in ({"digit", "confidence", "probabilities", "unsure"}, {"digit", "error"}), got
    problem = case.check(got["digit"], got.get("error"))
    assert problem is None, problem
    if got["digit"] is None:
        assert not any(g in got["error"].lower() for g in GENERIC), got


@pytest.mark.parametrize("case", [c for c in CASES if not c.oversize], ids=case_id)
def test_api_predict_upload(case: Case, corpus: tuple[Path, list[Case]], client) -> None:
    from gradio_client import handle_file

    directory, _ = corpus
    label, seen, note = client.predict(handle_file(str(directory / case.file)), api_name="/predict_upload")
    digit = int(label["label"]) if label and label.get("label") is not None else None
    problem = case.check(digit, None if digit is not None else note)
    assert problem is None, problem
    assert not any(g in note.lower() for g in GENERIC), note
    if digit is not None:
        assert f"**{digit}**" in note and seen, (note, seen)


def test_api_oversize_is_refused(corpus: tuple[Path, list[Case]], client, demo_server) -> None:
    """gradio_client refuses it before sending; a raw upload gets 413 with the limit in words."""
    from gradio_client import handle_file

    directory, _ = corpus
    path = directory / "oversize.png"
    for endpoint in ("/predict", "/predict_upload"):
        with pytest.raises(ValueError, match="exceeds the maximum file size of 2097152 bytes"):
            client.predict(handle_file(str(path)), api_name=endpoint)
    with open(path, "rb") as f:
        response = httpx.post(demo_server.url + "gradio_api/upload", files=[("files", (path.name, f))],
                              timeout=60)
    assert response.status_code == 413, response.text[:300]
    assert "maximum allowed size of 2097152 bytes" in response.text


@pytest.mark.browser
@pytest.mark.slow
def test_page_shows_messages(corpus: tuple[Path, list[Case]], chromium, demo_server, artifacts: Path) -> None:
    """A few bad files uploaded on the page: the note says what is wrong; an over-size file is said
    in the tab, with the limit and what to do, and Gradio's pop-up does not stay over the page."""
    directory, cases = corpus
    by_file = {c.file: c for c in cases}
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.goto(demo_server.url, wait_until="domcontentloaded")
        page.wait_for_selector("#sketch canvas", timeout=120_000)
        page.get_by_role("tab", name="Upload").click()
        for name in (*PAGE_CASES, "oversize.png"):
            case = by_file[name]
            remove = page.locator('#upload button[aria-label="Remove Image"]')
            if remove.count():
                remove.first.click()
                page.wait_for_function(NOTE_IS, arg=["#upload-note", RESET_NOTE])
            page.locator("#upload input[type=file]").first.set_input_files(str(directory / name))
            if case.oversize:
                refusal = page.locator("#upload-note .refusal[role=alert]")
                refusal.wait_for(state="visible")
                said = refusal.inner_text()
                assert said.startswith("Too big to read.") and f'"{name}" is ' in said, said
                assert "the limit is 2 MB a file. Send a smaller picture" in said, said
                page.wait_for_timeout(1000)
                assert not page.locator(".toast-body").count(), "Gradio's pop-up stayed on the page"
                note = page.inner_text("#upload-note").strip()
                assert note.endswith(RESET_NOTE), f"an over-size file got an answer: {note!r}"
            elif case.error:
                page.wait_for_function(NOTE_HAS, arg=["#upload-note", case.error])
            else:
                article = "an" if case.digit == 8 else "a"
                page.wait_for_function(NOTE_HAS, arg=["#upload-note", f"It's {article} {case.digit}"])
            page.screenshot(path=str(artifacts / f"bad_input_{re.sub(r'[^a-z0-9]+', '_', name)}.png"))
            body = page.inner_text("body")
            assert "Traceback" not in body and not any(g in body.lower() for g in GENERIC), body[:1500]
    finally:
        context.close()


def test_server_still_answers(client, demo_server, server_log_start: int) -> None:
    """After the whole corpus: the process is alive, answers an example, and logged no traceback."""
    from gradio_client import handle_file

    assert demo_server.process.poll() is None, "the server died"
    got = client.predict(handle_file(str(ROOT / "examples" / "3_marker.png")), api_name="/predict")
    assert got["digit"] == 3, got
    new_log = demo_server.log_tail(chars=10**9)[server_log_start:]
    assert "Traceback" not in new_log, new_log[-3000:]
