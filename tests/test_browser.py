"""The demo as a user uses it: headless Chromium draws digits (and a number) with the mouse, uploads files.

Strokes come from examples/strokes.py and are drawn with real pointer events (mouse down, a
dozen moves, up) over the sketchpad's drawing area; the answer is read from the page. In software
rendering every mouse move costs about 0.3 s, so strokes are kept short. Screenshots of each step
go to artifacts/, and a light-theme one to docs/screenshot.png for the README.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.strokes import digit_strokes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CANVAS_SIDE = 360  # demo.py: gr.Sketchpad(canvas_size=(360, 360))
BOX_HEIGHT = 0.7  # a digit is drawn 70% as tall as the canvas, centred ...
BOX_WIDTH = {1: 0.2}  # ... and 55% as wide (a 1 is narrow: written wide, its flag makes it a 7)
DEFAULT_BOX_WIDTH = 0.55
PER_SEGMENT = 2  # points per stroke segment: 5 moves for a 1 or a 7, 16 for a 0
ANSWER_TIMEOUT_MS = 60_000  # generous: a loaded test machine is slow; the measured delays are in DELAYS
SETTLE_CHECK_S = 1.5  # after the answer, nothing stale may overwrite it for this long
LABEL = '[data-testid="label-output-value"]'
NUMBER = "470"  # the 4's two strokes must be joined, the digits kept apart
NUMBER_CANVAS = (720, 260)  # demo.py: the Numbers tab's gr.Sketchpad(canvas_size=(720, 260))
DELAYS: dict[str, float] = {}  # "light 7" → seconds from the last stroke's mouse-up to the answer


@pytest.fixture(scope="module")
def timer() -> Iterator[None]:
    start = time.monotonic()
    yield
    total = time.monotonic() - start
    print(f"\nbrowser tests: {total:.1f} s in all; stroke → answer: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in DELAYS.items()))


@pytest.fixture(scope="module")
def page(chromium, demo_server, timer):
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    yield page
    context.close()


def open_app(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#sketch canvas", timeout=120_000)


def wait_for_brush(page, pad: str = "#sketch", timeout_ms: int = 30_000) -> None:
    """The page selects the Brush by itself (a drag with no tool selected draws nothing)."""
    try:
        page.wait_for_function(
            "sel => { const b = document.querySelector(sel); "
            "return b !== null && b.classList.contains('highlight'); }",
            arg=f'{pad} button[aria-label="Brush"]', timeout=timeout_ms, polling=100)
    except Exception:
        pytest.fail(f"the Brush of {pad} is not selected {timeout_ms / 1000:.0f} s after the page loaded: "
                    "a user's first stroke would draw nothing")


def canvas_scale(page, pad: str, canvas: tuple[int, int]) -> tuple[float, float, float]:
    """(centre x, centre y, screen pixels per canvas pixel) of a sketchpad's drawing surface.

    The canvas element fills the whole editor; the drawing surface is centred in it at the zoom
    the toolbar shows (e.g. "111%").
    """
    box = page.locator(f"{pad} canvas").first.bounding_box()
    assert box, f"the {pad} canvas is not visible"
    zoom_text = page.locator(f"{pad} .zoom-number").first.inner_text(timeout=2000)
    match = re.search(r"(\d+)\s*%", zoom_text)
    fit = min(box["width"] / canvas[0], box["height"] / canvas[1])
    scale = int(match.group(1)) / 100 if match else 0.9 * fit
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, scale


def stroke_with_mouse(page, strokes: list[list[tuple[float, float]]]) -> float:
    """Mouse down, one move per point, up, for each stroke; returns the last mouse-up's time."""
    lifted = time.monotonic()
    for stroke in strokes:
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x, y, steps=1)
        page.mouse.up()
        lifted = time.monotonic()
    return lifted


def draw_digit(page, digit: int, pad: str = "#sketch") -> float:
    """Draws `digit` with the mouse; returns time.monotonic() at the last stroke's mouse-up."""
    cx, cy, scale = canvas_scale(page, pad, (CANVAS_SIDE, CANVAS_SIDE))
    side = CANVAS_SIDE * scale
    w, h = side * BOX_WIDTH.get(digit, DEFAULT_BOX_WIDTH), side * BOX_HEIGHT
    strokes = digit_strokes(digit, cx - w / 2, cy - h / 2, w, h, per_segment=PER_SEGMENT)
    return stroke_with_mouse(page, strokes)


def draw_number(page, number: str, pad: str, canvas: tuple[int, int]) -> float:
    """Writes the digits of `number` side by side, apart, on a wide sketchpad."""
    cx, cy, scale = canvas_scale(page, pad, canvas)
    width, height = canvas[0] * scale, canvas[1] * scale
    h = height * BOX_HEIGHT
    strokes = []
    for i, ch in enumerate(number):
        w = h * (0.3 if ch == "1" else 0.6)  # a digit's width for its height
        x = cx - width / 2 + width * (i + 0.5) / len(number) - w / 2
        strokes += digit_strokes(int(ch), x, cy - h / 2, w, h, per_segment=PER_SEGMENT)
    return stroke_with_mouse(page, strokes)


def wait_for_label(page, label: str, expected: str, lifted: float) -> float:
    """Waits until the label shows `expected`; returns the seconds since `lifted`.

    Fails with what the page shows instead if the answer doesn't come, or if a stale answer
    replaces it within SETTLE_CHECK_S (events piling up).
    """
    try:
        page.wait_for_function(
            "([sel, want]) => { const e = document.querySelector(sel); "
            "return e !== null && e.innerText.trim() === want; }",
            arg=[f"{label} {LABEL}", expected], timeout=ANSWER_TIMEOUT_MS, polling=50)
    except Exception:
        shown = page.locator(label).inner_text(timeout=2000)
        pytest.fail(f"expected {expected!r} in {label}, the page shows {shown!r}")
    delay = time.monotonic() - lifted
    time.sleep(SETTLE_CHECK_S)
    assert page.locator(f"{label} {LABEL}").inner_text().strip() == expected, "a stale answer replaced it"
    return delay


def wait_for_text(page, selector: str, expected: str, since: float) -> float:
    """Waits until `selector`'s first line of text is `expected`; returns the seconds since `since`."""
    try:
        page.wait_for_function(
            "([sel, want]) => { const e = document.querySelector(sel); "
            "return e !== null && e.innerText.trim().split('\\n')[0].trim() === want; }",
            arg=[selector, expected], timeout=ANSWER_TIMEOUT_MS, polling=50)
    except Exception:
        pytest.fail(f"expected {expected!r} in {selector}, the page shows {page.inner_text(selector)!r}")
    return time.monotonic() - since


def clear_sketch(page, pad: str = "#sketch", label: str = "#sketch-label",
                 note: str = "#sketch-note") -> None:
    """Clicks "Clear canvas" and waits until the answer is gone and the note asks for a drawing."""
    page.click(f'{pad} button[aria-label="Clear canvas"]')
    page.wait_for_function("sel => document.querySelector(sel) === null", arg=f"{label} {LABEL}")
    page.wait_for_function("sel => /draw/i.test(document.querySelector(sel).innerText)", arg=note)


def no_traceback(page) -> None:
    text = page.inner_text("body")
    assert "Traceback" not in text and "Something went wrong" not in text, text[:2000]


def test_draw_1_0_7(page, demo_server, artifacts: Path) -> None:
    open_app(page, demo_server.url)
    wait_for_brush(page)
    page.screenshot(path=str(artifacts / "browser_0_start.png"))
    for i, digit in enumerate((1, 0, 7)):
        if i:
            clear_sketch(page)
            page.screenshot(path=str(artifacts / f"browser_{i}_cleared.png"))
            wait_for_brush(page, timeout_ms=5000)  # and the next drawing proves strokes land
        lifted = draw_digit(page, digit)
        DELAYS[f"light {digit}"] = wait_for_label(page, "#sketch-label", str(digit), lifted)
        assert str(digit) in page.inner_text("#sketch-note")
        page.screenshot(path=str(artifacts / f"browser_{i}_drew_{digit}.png"))
        no_traceback(page)
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    page.screenshot(path=str(docs / "screenshot.png"))


def test_upload_an_image(page, demo_server, artifacts: Path) -> None:
    if not page.url.startswith(demo_server.url):  # run on its own
        open_app(page, demo_server.url)
    page.get_by_role("tab", name="Upload", exact=True).first.click()
    page.locator("#upload input[type=file]").first.set_input_files(str(ROOT / "examples" / "3_marker.png"))
    started = time.monotonic()
    DELAYS["upload 3"] = wait_for_label(page, "#upload-label", "3", started)
    assert "3" in page.inner_text("#upload-note")
    page.screenshot(path=str(artifacts / "browser_4_upload_3.png"))
    no_traceback(page)


def test_dark_theme(chromium, demo_server, artifacts: Path, timer) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        open_app(page, demo_server.url + "?__theme=dark")
        assert page.evaluate("() => document.body.classList.contains('dark')"), "not in the dark theme"
        wait_for_brush(page)
        lifted = draw_digit(page, 4)  # two strokes: the answer must follow the last one
        DELAYS["dark 4"] = wait_for_label(page, "#sketch-label", "4", lifted)
        page.screenshot(path=str(artifacts / "browser_5_dark_4.png"))
        no_traceback(page)
    finally:
        context.close()


def test_numbers_tab(page, demo_server, artifacts: Path) -> None:
    """Writes a number on the Numbers tab's sketchpad, then uploads a photo of one."""
    if not page.url.startswith(demo_server.url):
        open_app(page, demo_server.url)
    tab = page.get_by_role("tab", name="Numbers", exact=True)
    assert tab.count(), "the page has no Numbers tab"
    tab.first.click()
    page.wait_for_selector("#number-sketch canvas")
    wait_for_brush(page, "#number-sketch")
    lifted = draw_number(page, NUMBER, "#number-sketch", NUMBER_CANVAS)
    DELAYS[f"number {NUMBER}"] = wait_for_text(page, "#number-result", NUMBER, lifted)
    page.screenshot(path=str(artifacts / f"browser_6_number_{NUMBER}.png"))
    no_traceback(page)
    page.get_by_role("tab", name="Upload", exact=True).last.click()
    page.locator("#number-upload input[type=file]").first.set_input_files(
        str(ROOT / "examples" / "number_2026.png"))
    DELAYS["number upload 2026"] = wait_for_text(page, "#number-result", "2026", time.monotonic())
    page.screenshot(path=str(artifacts / "browser_7_number_upload_2026.png"))
    no_traceback(page)
