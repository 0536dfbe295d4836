"""Driving the app's page in headless Chromium as a person would: strokes with real pointer events
on the drawing pads, and the time from the last pointerup to the answer, measured in the page.

Used by the browser tests (tests/test_browser.py) and by the pen-lift benchmark (bench/penlift.py).
"""

from __future__ import annotations

import time

from examples.strokes import digit_strokes

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
CANVAS_SIDE = 360  # demo.py: the Draw tab's pad is 360×360 canvas pixels
BOX_HEIGHT = 0.7  # a digit is drawn 70% as tall as the canvas, centred ...
BOX_WIDTH = {1: 0.2}  # ... and 55% as wide (a 1 is narrow: written wide, its flag makes it a 7)
DEFAULT_BOX_WIDTH = 0.55
PER_SEGMENT = 3  # points per stroke segment
ANSWER_TIMEOUT_MS = 60_000  # generous: a loaded test machine is slow; the measured delays are in DELAYS
SETTLE_CHECK_S = 1.0  # after the answer, nothing stale may overwrite it for this long
LABEL = '[data-testid="label-output-value"]'
LATENCY_DIGITS = (1, 0, 7, 4, 3, 2, 5, 9, 6)  # each drawn once: one latency sample each
NUMBER = "470"  # the 4's two strokes must be joined, the digits kept apart
NUMBER_CANVAS = (720, 260)  # demo.py: the Numbers tab's pad
PHONE = {"width": 390, "height": 844}

# In the page: every pointerup's time, and every change of each label's text with its time.
RECORDER = """() => {
  if (window.__rec) return;
  window.__rec = {ups: [], labels: []};
  document.addEventListener('pointerup', () => window.__rec.ups.push(performance.now()), true);
  const read = () => {
    for (const id of ['sketch-label', 'upload-label']) {
      const e = document.querySelector('#' + id + ' [data-testid="label-output-value"]');
      const text = e ? e.innerText.trim() : null;
      const last = window.__rec.labels.filter((l) => l[0] === id).pop();
      if (!last || last[2] !== text) window.__rec.labels.push([id, performance.now(), text]);
    }
  };
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""



def open_app(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#sketch canvas", timeout=120_000)
    page.evaluate(RECORDER)


def pad_box(page, pad: str, canvas: tuple[int, int]) -> tuple[float, float, float]:
    """(left, top, screen pixels per canvas pixel) of a pad's canvas."""
    box = page.locator(f"{pad} canvas").first.bounding_box()
    assert box, f"the {pad} canvas is not visible"
    assert abs(box["width"] / box["height"] - canvas[0] / canvas[1]) < 0.02, f"{pad} is distorted: {box}"
    return box["x"], box["y"], box["width"] / canvas[0]


def stroke_with_mouse(page, strokes: list[list[tuple[float, float]]]) -> None:
    for stroke in strokes:
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x, y, steps=1)
        page.mouse.up()


def stroke_with_finger(page, strokes: list[list[tuple[float, float]]]) -> None:
    """Touch events through the DevTools protocol: the browser makes pointer events of them."""
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
            {"x": stroke[0][0], "y": stroke[0][1]}]})
        for x, y in stroke[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def digit_in_pad(page, digit: int, pad: str = "#sketch", scale_box: float = 1.0) -> list:
    left, top, scale = pad_box(page, pad, (CANVAS_SIDE, CANVAS_SIDE))
    side = CANVAS_SIDE * scale
    w = side * BOX_WIDTH.get(digit, DEFAULT_BOX_WIDTH) * scale_box
    h = side * BOX_HEIGHT * scale_box
    return digit_strokes(digit, left + (side - w) / 2, top + (side - h) / 2, w, h, per_segment=PER_SEGMENT)


def draw_number(page, number: str, pad: str, canvas: tuple[int, int]) -> None:
    """Writes the digits of `number` side by side, apart, on a wide pad."""
    left, top, scale = pad_box(page, pad, canvas)
    width, height = canvas[0] * scale, canvas[1] * scale
    h = height * BOX_HEIGHT
    strokes = []
    for i, ch in enumerate(number):
        w = h * (0.3 if ch == "1" else 0.6)  # a digit's width for its height
        x = left + width * (i + 0.5) / len(number) - w / 2
        strokes += digit_strokes(int(ch), x, top + (height - h) / 2, w, h, per_segment=PER_SEGMENT)
    stroke_with_mouse(page, strokes)


def wait_for_label(page, label: str, expected: str) -> float:
    """Waits until the label shows `expected` and stays so; returns the ms, timed in the page, from
    the last pointerup to the moment the label first showed it."""
    try:
        page.wait_for_function(
            "([sel, want]) => { const e = document.querySelector(sel); "
            "return e !== null && e.innerText.trim() === want; }",
            arg=[f"{label} {LABEL}", expected], timeout=ANSWER_TIMEOUT_MS, polling=50)
    except Exception:
        shown = page.locator(label).inner_text(timeout=2000)
        raise AssertionError(f"expected {expected!r} in {label}, the page shows {shown!r}") from None
    time.sleep(SETTLE_CHECK_S)
    assert page.locator(f"{label} {LABEL}").inner_text().strip() == expected, "a stale answer replaced it"
    return page.evaluate("""([id, want]) => {
      const up = window.__rec.ups[window.__rec.ups.length - 1];
      const shown = window.__rec.labels.filter((l) => l[0] === id && l[1] >= up);
      const first = shown.find((l) => l[2] === want);
      return first[1] - up;
    }""", [label.lstrip("#"), expected])
