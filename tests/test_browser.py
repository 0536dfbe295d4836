"""The demo as a user uses it: headless Chromium draws digits (and a number), uploads files, on a
laptop-sized and a phone-sized window, in the light and the dark theme.

Strokes come from examples/strokes.py and are drawn with real pointer events (mouse down, a few
moves, up; on the phone, touch) over the drawing pad's canvas; the answer is read from the page.
The time from the last pointerup to the final label is measured in the page with
performance.now() and printed; `python -m bench.penlift` holds it to its target. axe-core checks every tab in
both themes. Screenshots of each step go to artifacts/.
"""

from __future__ import annotations

import base64
import io
import json
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import pytest
from PIL import Image

from app.ui.api import TOOL_API_NAMES
from tests.browser import (
    ANSWER_TIMEOUT_MS,
    CANVAS_SIDE,
    LABEL,
    LATENCY_DIGITS,
    NUMBER,
    NUMBER_CANVAS,
    PHONE,
    digit_in_pad,
    draw_number,
    open_app,
    pad_box,
    stroke_with_finger,
    stroke_with_mouse,
    wait_for_label,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DELAYS: dict[str, float] = {}  # "light 7" → ms from the last pointerup to the answer


@pytest.fixture(scope="module")
def timer() -> Iterator[None]:
    start = time.monotonic()
    yield
    total = time.monotonic() - start
    print(f"\nbrowser tests: {total:.1f} s in all; pointerup → answer: "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in DELAYS.items()))


@pytest.fixture(scope="module")
def page(chromium, demo_server, timer):
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    open_app(page, demo_server.url)
    yield page
    context.close()


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


def clear_pad(page, pad: str = "#sketch", label: str = "#sketch-label", note: str = "#sketch-note") -> None:
    """Clicks "Clear canvas" and waits until the answer is gone and the note asks for a drawing."""
    page.click(f'{pad} button[aria-label="Clear canvas"]')
    page.wait_for_function("sel => document.querySelector(sel) === null", arg=f"{label} {LABEL}")
    page.wait_for_function("sel => /draw/i.test(document.querySelector(sel).innerText)", arg=note)


def axe_violations(page) -> dict[str, list]:
    """axe-core's WCAG 2 A/AA violations on every tab of the page: {tab: [(rule, targets)]}."""
    import axe_playwright_python  # requirements-test.txt: its axe.min.js is axe-core's own build

    page.add_script_tag(path=str(Path(axe_playwright_python.__file__).parent / "axe.min.js"))
    found = {}
    for tab in ("Draw", "Upload", "Numbers", "Model"):
        page.get_by_role("tab", name=tab, exact=True).first.click()
        page.wait_for_timeout(300)
        found[tab] = page.evaluate("""async () => {
          const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
          return r.violations.map((v) => [v.id, v.nodes.map((n) => n.target.join(' '))]);
        }""")
    page.get_by_role("tab", name="Draw", exact=True).first.click()
    return {tab: v for tab, v in found.items() if v}


def screenshot_for_docs(page, name: str) -> None:
    """artifacts/docs/NAME.png: the README's pictures, made here rather than by hand, written outside
    the tracked tree (copy them over docs/NAME.png when the page has changed)."""
    (ROOT / "artifacts" / "docs").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / "docs" / f"{name}.png"))


def no_traceback(page) -> None:
    text = page.inner_text("body")
    assert "Traceback" not in text and "Something went wrong" not in text, text[:2000]


def test_answer_as_the_pen_lifts(page, artifacts: Path) -> None:
    """Each digit is read from its first stroke on (the pen is selected at load), and the label shows
    the final answer, each timed from the last pointerup (printed; bench.penlift holds the target)."""
    assert page.get_attribute('#sketch button[aria-label="Pen"]', "aria-pressed") == "true"
    page.screenshot(path=str(artifacts / "browser_0_start.png"))
    at_load = page.inner_text("#sketch-note").strip()
    delays = []
    for i, digit in enumerate((8, *LATENCY_DIGITS)):
        if i:
            clear_pad(page)
            assert page.inner_text("#sketch-note").strip() == at_load  # the same words as at first load
        stroke_with_mouse(page, digit_in_pad(page, digit))
        delay = wait_for_label(page, "#sketch-label", str(digit))
        DELAYS[f"light {digit}" + (" (first)" if not i else "")] = delay
        if i:  # the page's first answer also loads what the label and image show with (fonts)
            delays.append(delay)
        assert str(digit) in page.inner_text("#sketch-note")
        page.screenshot(path=str(artifacts / f"browser_1_drew_{digit}.png"))
        no_traceback(page)
    median, worst = statistics.median(delays), max(delays)
    record = {"median_ms": median, "max_ms": worst, "samples_ms": delays,
              "first_ms": DELAYS["light 8 (first)"]}
    (artifacts / "latency.json").write_text(json.dumps(record, indent=1))
    print(f"\npointerup → final label over {len(delays)} digits: median {median:.0f} ms, max {worst:.0f} ms")
    screenshot_for_docs(page, "screenshot")


def test_undo_and_eraser(page) -> None:
    """Undo takes back the last stroke; the eraser rubs strokes out (and the answer follows)."""
    clear_pad(page)
    stroke_with_mouse(page, digit_in_pad(page, 1))
    wait_for_label(page, "#sketch-label", "1")
    left, top, scale = pad_box(page, "#sketch", (CANVAS_SIDE, CANVAS_SIDE))
    bar = [(left + 60 * scale, top + 80 * scale), (left + 300 * scale, top + 80 * scale)]
    stroke_with_mouse(page, [bar])  # a bar across the top: no longer a 1
    page.wait_for_function("sel => { const e = document.querySelector(sel); return e && e.innerText.trim() "
                           "!== '1'; }", arg=f"#sketch-label {LABEL}")
    page.click('#sketch button[aria-label="Undo"]')
    wait_for_label(page, "#sketch-label", "1")
    page.click('#sketch button[aria-label="Erase"]')
    assert page.get_attribute('#sketch button[aria-label="Erase"]', "aria-pressed") == "true"
    page.fill('#sketch input[aria-label="Brush size"]', "40")
    stroke_with_mouse(page, digit_in_pad(page, 1))  # the eraser over the 1's own path
    page.wait_for_function("sel => /no digit/i.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    clear_pad(page)
    assert page.get_attribute('#sketch button[aria-label="Pen"]', "aria-pressed") == "true"


def test_where_the_model_looked(page, artifacts: Path) -> None:
    """The toggle under the 28×28 picture shows the evidence for the answer, then for the runner-up,
    and the next stroke is answered in the chosen view."""
    clear_pad(page)
    stroke_with_mouse(page, digit_in_pad(page, 7))
    wait_for_label(page, "#sketch-label", "7")
    picture = "#sketch-seen img"
    plain = page.get_attribute(picture, "src")
    page.locator("#sketch-view").get_by_text("Top answer", exact=True).click()
    page.wait_for_function("sel => /evidence for 7 \\(/.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    top = page.get_attribute(picture, "src")
    assert top != plain
    page.screenshot(path=str(artifacts / "browser_3_heatmap_7.png"))
    page.locator("#sketch-view").get_by_text("Runner-up", exact=True).click()
    page.wait_for_function("sel => /evidence for [0-689] \\(/.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    runner_up = page.get_attribute(picture, "src")
    assert runner_up not in (plain, top)
    page.screenshot(path=str(artifacts / "browser_3_heatmap_7_runner_up.png"))
    # The runner-up of a sure 7 is unlikely: its map is dim, where the answer's is bright, and the
    # note says how to read the colours.
    chance = int(re.search(r"evidence for \d \((\d+)%\)", page.inner_text("#sketch-note")).group(1))
    assert chance < 10 and "as bright as its digit is likely" in page.inner_text("#sketch-note")
    assert heat(page, runner_up) < 0.25 * heat(page, top), (heat(page, runner_up), heat(page, top))
    clear_pad(page)
    stroke_with_mouse(page, digit_in_pad(page, 1))  # the view stays: the 1's runner-up is shown
    wait_for_label(page, "#sketch-label", "1")
    page.wait_for_function("sel => /evidence for [02-9] \\(/.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    page.locator("#sketch-view").get_by_text("Off", exact=True).click()
    page.wait_for_function("sel => !/evidence/.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    no_traceback(page)


def heat(page, src: str) -> float:
    """How hot a shown picture is: its heat's colours are red over blue, the grey image has neither."""
    data = (base64.b64decode(src.partition(",")[2]) if src.startswith("data:")
            else page.request.get(urljoin(page.url, src)).body())
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64)
    return float((pixels[..., 0] - pixels[..., 2]).max())


def test_upload_an_image(page, artifacts: Path) -> None:
    page.get_by_role("tab", name="Upload", exact=True).first.click()
    page.locator("#upload input[type=file]").first.set_input_files(str(ROOT / "examples" / "3_marker.png"))
    page.wait_for_function("sel => { const e = document.querySelector(sel); return e && e.innerText.trim() "
                           "=== '3'; }", arg=f"#upload-label {LABEL}")
    assert "It's a 3" in page.inner_text("#upload-note")
    page.screenshot(path=str(artifacts / "browser_4_upload_3.png"))
    no_traceback(page)


def test_bad_upload_keeps_the_box(page, tmp_path: Path) -> None:
    """A file that is no image gets a message, and the upload box keeps its size (no thin strip with
    a broken-image icon), on the Upload tab and on the Numbers tab."""
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not an image")
    for tab, box, note in (("Upload", "#upload", "#upload-note"),
                           ("Numbers", "#number-upload", "#number-result")):
        page.get_by_role("tab", name=tab, exact=True).first.click()
        if tab == "Numbers":
            page.get_by_role("tab", name="Upload", exact=True).last.click()
        before = page.locator(box).bounding_box()
        page.locator(f"{box} input[type=file]").first.set_input_files(str(bad))
        page.wait_for_function("sel => /can't read this file: it is not an image/i.test("
                               "document.querySelector(sel).innerText)", arg=note)
        assert "can be read" not in page.inner_text(note), "the message repeats itself"
        page.wait_for_timeout(300)
        after = page.locator(box).bounding_box()
        assert after and before and after["height"] >= 200, (tab, before, after)  # not a thin strip
        broken = page.evaluate(f"""() => [...document.querySelectorAll('{box} img')]
            .filter((i) => i.complete && i.naturalWidth === 0 && i.getClientRects().length).length""")
        assert broken == 0, f"a broken image shows in {box}"
        assert "can't be shown" in page.evaluate(
            f"() => getComputedStyle(document.querySelector('{box} .unreadable-image'), '::after').content")


def test_numbers_tab(page, artifacts: Path) -> None:
    """Writes a number on the Numbers tab's pad, then uploads a photo of one."""
    tab = page.get_by_role("tab", name="Numbers", exact=True)
    assert tab.count(), "the page has no Numbers tab"
    tab.first.click()
    page.get_by_role("tab", name="Draw", exact=True).last.click()
    page.wait_for_selector("#number-sketch canvas")
    start = time.monotonic()
    draw_number(page, NUMBER, "#number-sketch", NUMBER_CANVAS)
    DELAYS[f"number {NUMBER}"] = 1000 * wait_for_text(page, "#number-result", NUMBER, start)
    page.screenshot(path=str(artifacts / f"browser_6_number_{NUMBER}.png"))
    no_traceback(page)
    page.get_by_role("tab", name="Upload", exact=True).last.click()
    page.locator("#number-upload input[type=file]").first.set_input_files(
        str(ROOT / "examples" / "number_2026.png"))
    wait_for_text(page, "#number-result", "2026", time.monotonic())
    page.screenshot(path=str(artifacts / "browser_7_number_upload_2026.png"))
    no_traceback(page)


def test_dark_theme(chromium, demo_server, artifacts: Path, timer) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, color_scheme="dark")
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        open_app(page, demo_server.url + "?__theme=dark")
        assert page.evaluate("() => document.body.classList.contains('dark')"), "not in the dark theme"
        ink, paper = page.evaluate("""() => {
            const s = getComputedStyle(document.querySelector('#sketch canvas'));
            return [s.color, s.backgroundColor]; }""")
        assert ink != paper, "ink and paper are the same colour"
        stroke_with_mouse(page, digit_in_pad(page, 4))  # two strokes: the answer follows the last one
        DELAYS["dark 4"] = wait_for_label(page, "#sketch-label", "4")
        page.screenshot(path=str(artifacts / "browser_5_dark_4.png"))
        screenshot_for_docs(page, "screenshot_dark")
        no_traceback(page)
        # The Numbers tab's answer: the drawing on the theme's dark background, not a white panel.
        page.get_by_role("tab", name="Numbers", exact=True).first.click()
        page.get_by_role("tab", name="Draw", exact=True).last.click()
        page.wait_for_selector("#number-sketch canvas")
        draw_number(page, NUMBER, "#number-sketch", NUMBER_CANVAS)
        wait_for_text(page, "#number-result", NUMBER, time.monotonic())
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "browser_5_dark_number.png"))
        panel = np.asarray(Image.open(io.BytesIO(page.locator("#number-boxes").screenshot())).convert("L"))
        assert np.median(panel) < 100, f"the Numbers answer is a bright panel (median {np.median(panel)})"
        assert not axe_violations(page)
    finally:
        context.close()


def boxes_overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_phone(chromium, demo_server, artifacts: Path, timer, tmp_path: Path, theme: str) -> None:
    """390×844 with touch, light and dark: a finger draws; the toolbar sits above the canvas, the
    pads fill the width, the answer and the 28×28 preview show without scrolling, the preview whole
    and its label uncovered; the Numbers pad is big enough for a finger; the header opens the API
    page; an over-size upload is said in the tab; the Model tab's table shows every column."""
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                   color_scheme=theme)
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        open_app(page, demo_server.url + f"?__theme={theme}")
        tools = page.locator("#sketch .drawpad-tools").bounding_box()
        canvas = page.locator("#sketch canvas").bounding_box()
        assert tools and canvas and tools["y"] + tools["height"] <= canvas["y"] + 1, (tools, canvas)
        assert canvas["width"] >= 0.75 * PHONE["width"] and canvas["x"] >= 0
        assert canvas["x"] + canvas["width"] <= PHONE["width"]
        stroke_with_finger(page, digit_in_pad(page, 7))
        DELAYS[f"phone {theme} 7"] = wait_for_label(page, "#sketch-label", "7")
        page.evaluate("() => window.scrollTo(0, 0)")
        for part in ("#sketch-label", "#sketch-seen img"):
            box = page.locator(part).first.bounding_box()
            assert box and box["y"] + box["height"] <= PHONE["height"], f"{part} is below the fold: {box}"
        seen_picture(page)
        page.screenshot(path=str(artifacts / f"browser_8_phone_{theme}_7.png"))
        if theme == "light":
            screenshot_for_docs(page, "screenshot_phone")
        page.get_by_role("tab", name="Numbers", exact=True).first.click()
        number = page.locator("#number-sketch canvas").bounding_box()
        assert number and number["width"] >= 0.75 * PHONE["width"] and number["height"] >= 180, number
        page.screenshot(path=str(artifacts / f"browser_8_phone_{theme}_numbers.png"))
        too_big_on_the_phone(page, tmp_path, artifacts / f"browser_8_phone_{theme}_too_big.png")
        page.get_by_role("tab", name="Model", exact=True).first.click()
        split = page.evaluate("""() => [...document.querySelectorAll('#model-card td, #model-card th')]
            .filter((c) => getComputedStyle(c).wordBreak === 'break-all'
                        || c.scrollWidth > c.clientWidth + 1).map((c) => c.innerText)""")
        assert not split, f"table cells that break words or overflow: {split}"
        table = page.evaluate("() => { const t = document.querySelector('#model-card table'); "
                              "return [t.scrollWidth, t.clientWidth]; }")
        assert table[0] <= table[1] + 1, f"a column hides behind a sideways scroll: {table}"
        assert "An ensemble of three convolutional nets" in page.inner_text("#model-card")
        assert page.inner_text("#number-model-card").startswith("The number model")
        page.screenshot(path=str(artifacts / f"browser_8_phone_{theme}_model.png"))
        no_traceback(page)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.locator("#title a", has_text="MCP").click()  # the API page, from the top of the page
        page.locator("text=handle_file('examples/3_marker.png')").first.wait_for(state="visible")
        page.screenshot(path=str(artifacts / f"browser_8_phone_{theme}_api.png"))
    finally:
        context.close()


def seen_picture(page) -> None:
    """The 28×28 picture shows whole (square, not cropped by its box) and nothing covers its label."""
    img = page.locator("#sketch-seen img").first
    box, frame = img.bounding_box(), page.locator("#sketch-seen").bounding_box()
    assert box and frame and abs(box["width"] - box["height"]) < 2, box
    assert img.evaluate("(i) => getComputedStyle(i).objectFit") in ("contain", "fill")
    bottom = frame["y"] + frame["height"] + 1
    assert frame["y"] <= box["y"] <= box["y"] + box["height"] <= bottom, (box, frame)
    label = page.locator('#sketch-seen [data-testid="block-label"]').bounding_box()
    assert label and not boxes_overlap(label, box), (label, box)
    assert not page.locator("#sketch-seen .icon-button").count()  # no fullscreen/download/share


def too_big_on_the_phone(page, tmp_path: Path, shot: Path) -> None:
    """An upload over the test server's 2 MB limit: the tab says so, in words, and no pop-up stays."""
    big = tmp_path / "big_photo.png"
    big.write_bytes(b"\x89PNG" + b"\0" * (2 * 1024 * 1024 + 10))
    page.get_by_role("tab", name="Upload", exact=True).first.click()
    page.locator("#upload input[type=file]").first.set_input_files(str(big))
    refusal = page.locator("#upload-note .refusal")
    refusal.wait_for(state="visible")
    assert '"big_photo.png" is 2 MB; the limit is 2 MB a file. Send a smaller picture' in refusal.inner_text()
    page.wait_for_timeout(1000)
    assert not page.locator(".toast-body").count(), "Gradio's pop-up stayed on the page"
    refusal.scroll_into_view_if_needed()
    page.screenshot(path=str(shot))


def test_model_tab(page, artifacts: Path) -> None:
    """The Model tab says what the model is (a three-net ensemble, and the number model) and how it
    was trained, without "unknown"; the grid of mistakes takes the whole width, for its small print."""
    page.get_by_role("tab", name="Model", exact=True).first.click()
    card = page.inner_text("#model-card")
    assert "An ensemble of three convolutional nets" in card and "Net 3 (seed " in card
    assert "unknown" not in card and "(? cores)" not in card
    assert "Numbers tab" in page.inner_text("#number-model-card")
    plots = page.locator("#model-plots .plots").bounding_box()
    wide = page.locator("#model-plots figure.wide").bounding_box()
    assert plots and wide and wide["width"] >= 0.95 * plots["width"], (plots, wide)
    page.screenshot(path=str(artifacts / "browser_10_model.png"), full_page=True)
    page.get_by_role("tab", name="Draw", exact=True).first.click()


def test_accessible_in_the_light_theme(page) -> None:
    """axe-core (WCAG 2 A/AA) finds nothing on any tab; the pads' canvases have a name."""
    for pad in ("#sketch", "#number-sketch"):
        assert page.get_attribute(f"{pad} canvas", "aria-label")
    assert not axe_violations(page)


def test_api_page_names_everything(page, demo_server, artifacts: Path) -> None:
    """Gradio's API page: every parameter and output named, no sample file from the internet; the
    page points to the REST API's /docs. The header opens the API page on its Python snippet, which
    sends the example with handle_file(...); the MCP tools take an http(s) or data: URL, and no
    description sends agents to an upload tool."""
    info = page.request.get(demo_server.url + "gradio_api/info").json()
    text = json.dumps(info)
    assert "sample_file.pdf" not in text and "github.com" not in text
    for name, endpoint in info["named_endpoints"].items():
        for part in endpoint["parameters"] + endpoint["returns"]:
            label = part.get("parameter_name") or part.get("label")
            assert label and not label.startswith(("parameter_", "value_")), (name, part)
    assert set(info["named_endpoints"]) == {f"/{name}" for name in TOOL_API_NAMES.values()}  # the tools
    assert page.locator('#title a[href="/docs"]').count() == 1
    assert "·" not in page.inner_text("footer")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.locator("#title a", has_text="MCP").click()
    page.locator("text=handle_file('examples/3_marker.png')").first.wait_for(state="visible")
    page.screenshot(path=str(artifacts / "browser_9_api_python.png"))
    page.get_by_text("MCP", exact=True).first.click()
    page.get_by_text("The image is an http(s) URL or a data: URL").first.wait_for(state="visible")
    assert "use the upload_file_to_gradio tool" not in page.inner_text("body")
    page.screenshot(path=str(artifacts / "browser_9_api_mcp.png"))
