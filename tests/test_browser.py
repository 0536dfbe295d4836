"""The demo as a user uses it: headless Chromium draws digits (and a number), uploads files, on a
laptop-sized and a phone-sized window, in the light and the dark theme.

Strokes come from examples/strokes.py and are drawn with real pointer events (mouse down, a few
moves, up; on the phone, touch) over the drawing pad's canvas; the answer is read from the page.
The time from the last pointerup to the final label is measured in the page with
performance.now() and printed; `python -m bench.penlift` holds it to its target. axe-core checks every tab in
both themes. Screenshots of each step go to artifacts/.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    delays = []
    for i, digit in enumerate((8, *LATENCY_DIGITS)):
        if i:
            clear_pad(page)
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
    assert page.get_attribute(picture, "src") not in (plain, top)
    clear_pad(page)
    stroke_with_mouse(page, digit_in_pad(page, 1))  # the view stays: the 1's runner-up is shown
    wait_for_label(page, "#sketch-label", "1")
    page.wait_for_function("sel => /evidence for [02-9] \\(/.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    page.locator("#sketch-view").get_by_text("Off", exact=True).click()
    page.wait_for_function("sel => !/evidence/.test(document.querySelector(sel).innerText)",
                           arg="#sketch-note")
    no_traceback(page)


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
        page.wait_for_function("sel => /can't read this image/i.test(document.querySelector(sel).innerText)",
                               arg=note)
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
        assert not axe_violations(page)
    finally:
        context.close()


def test_phone(chromium, demo_server, artifacts: Path, timer) -> None:
    """390×844 with touch: a finger draws; the toolbar sits above the canvas, the pads fill the
    width, the answer and the 28×28 preview show without scrolling, the Model tab's table keeps
    its words whole."""
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        open_app(page, demo_server.url)
        tools = page.locator("#sketch .drawpad-tools").bounding_box()
        canvas = page.locator("#sketch canvas").bounding_box()
        assert tools and canvas and tools["y"] + tools["height"] <= canvas["y"] + 1, (tools, canvas)
        assert canvas["width"] >= 0.75 * PHONE["width"] and canvas["x"] >= 0
        assert canvas["x"] + canvas["width"] <= PHONE["width"]
        stroke_with_finger(page, digit_in_pad(page, 7))
        DELAYS["phone 7"] = wait_for_label(page, "#sketch-label", "7")
        page.evaluate("() => window.scrollTo(0, 0)")
        for part in ("#sketch-label", "#sketch-seen img"):
            box = page.locator(part).first.bounding_box()
            assert box and box["y"] + box["height"] <= PHONE["height"], f"{part} is below the fold: {box}"
        page.screenshot(path=str(artifacts / "browser_8_phone_7.png"))
        screenshot_for_docs(page, "screenshot_phone")
        page.get_by_role("tab", name="Numbers", exact=True).first.click()
        number = page.locator("#number-sketch canvas").bounding_box()
        assert number and number["width"] >= 0.75 * PHONE["width"], number
        page.get_by_role("tab", name="Model", exact=True).first.click()
        split = page.evaluate("""() => [...document.querySelectorAll('#model-card td, #model-card th')]
            .filter((c) => getComputedStyle(c).wordBreak === 'break-all'
                        || c.scrollWidth > c.clientWidth + 1).map((c) => c.innerText)""")
        assert not split, f"table cells that break words or overflow: {split}"
        no_traceback(page)
    finally:
        context.close()


def test_accessible_in_the_light_theme(page) -> None:
    """axe-core (WCAG 2 A/AA) finds nothing on any tab; the pads' canvases have a name."""
    for pad in ("#sketch", "#number-sketch"):
        assert page.get_attribute(f"{pad} canvas", "aria-label")
    assert not axe_violations(page)


def test_api_page_names_everything(page, demo_server) -> None:
    """Gradio's API page: every parameter and output named, no sample file from the internet; the
    page points to the REST API's /docs."""
    info = page.request.get(demo_server.url + "gradio_api/info").json()
    text = json.dumps(info)
    assert "sample_file.pdf" not in text and "github.com" not in text
    for name, endpoint in info["named_endpoints"].items():
        for part in endpoint["parameters"] + endpoint["returns"]:
            label = part.get("parameter_name") or part.get("label")
            assert label and not label.startswith(("parameter_", "value_")), (name, part)
    assert set(info["named_endpoints"]) == {"/recognize_digit", "/read_number_json"}
    assert page.locator('#title a[href="/docs"]').count() == 1
    assert "·" not in page.inner_text("footer")
