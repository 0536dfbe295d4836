"""The page's drawing pad: a plain <canvas> in a gr.HTML, sending a PNG the moment the pen lifts.

Why not gr.Sketchpad: in Chromium without GPU acceleration its export waits on canvas.toBlob(),
which the browser encodes in idle time, about a second after the stroke; the editor then uploads
the background, the layer and the composite, several times each. Here each pen lift makes the
pad's value one canvas.toDataURL() PNG (a synchronous encode of a few ms); setting the value fires
the pad's `change`, whose request carries it, and the server reads it in memory: no upload, no
file. (Not as event data: with trigger_mode="always_last" Gradio re-sends a deferred event
without its data, while a value is read when the event is finally sent.)

What a person expects of a sketchpad is kept: pen and eraser, brush size, undo (button or Ctrl+Z),
clear, mouse, finger and pen alike (pointer events), ink in the theme's text colour on the theme's
background in the light and the dark theme, and strokes land from the first touch. The PNG holds
the strokes on a transparent field (what the serving code reads as "coloured strokes on a
transparent layer"), in the canvas's own pixels whatever size the page shows it at.

The Gradio API is unchanged: app/ui/blocks.py keeps hidden gr.Sketchpad endpoints for API clients;
app/inputs.py reads the pad's value (pad_png).
"""

from __future__ import annotations

import gradio as gr

TEMPLATE = """
<div class="drawpad" role="group" aria-label="${title}">
  <div class="drawpad-title">${title}</div>
  <div class="drawpad-tools" role="toolbar" aria-label="Drawing tools">
    <button type="button" data-tool="pen" aria-label="Pen" aria-pressed="true">
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20l4-1 11-11-3-3L5 16z"/></svg>
      <span class="text"> Pen</span></button>
    <button type="button" data-tool="eraser" aria-label="Erase" aria-pressed="false">
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 16l9-9 6 6-5 5H6z M13 20h8"/></svg>
      <span class="text"> Eraser</span></button>
    <label class="drawpad-size">Size
      <input type="range" min="4" max="${max_size}" step="1" value="${size}" aria-label="Brush size">
    </label>
    <button type="button" data-act="undo" aria-label="Undo">
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 14L4 9l5-5 M4 9h10a6 6 0 010 12h-3"/></svg>
      <span class="text"> Undo</span></button>
    <button type="button" data-act="clear" aria-label="Clear canvas">
      <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M4 7h16 M10 11v6 M14 11v6 M6 7l1 13h10l1-13 M9 7V4h6v3"/></svg>
      <span class="text"> Clear</span></button>
  </div>
  <canvas width="${width}" height="${height}" style="aspect-ratio: ${width} / ${height}"
          data-phone-width="${phone_width}" data-phone-height="${phone_height}"
          role="img" aria-label="${canvas_label}"></canvas>
</div>
"""

CSS = """
.drawpad { display: flex; flex-direction: column; gap: 6px; }
.drawpad-title { font-size: var(--block-label-text-size); color: var(--block-label-text-color);
  font-weight: var(--block-label-text-weight); }
.drawpad-tools { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.drawpad-tools button { padding: 4px 10px; border-radius: var(--button-small-radius);
  border: 1px solid var(--button-secondary-border-color); min-height: 36px;
  background: var(--button-secondary-background-fill); color: var(--button-secondary-text-color);
  font-size: var(--text-md); cursor: pointer; display: inline-flex; align-items: center; gap: 4px; }
.drawpad-tools svg { width: 18px; height: 18px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.drawpad-tools button[aria-pressed="true"] { border-color: var(--color-accent);
  box-shadow: inset 0 0 0 1px var(--color-accent); font-weight: 600; }
.drawpad-size { display: flex; align-items: center; gap: 4px; color: var(--body-text-color);
  font-size: var(--text-md); }
.drawpad canvas { width: 100%; max-width: 100%; height: auto; display: block; touch-action: none;
  cursor: crosshair; border: 1px solid var(--border-color-primary); border-radius: var(--radius-md);
  background: var(--background-fill-primary); color: var(--body-text-color); }
"""

# Runs once per pad when the page renders it (gr.HTML's js_on_load: `element`, `trigger`).
JS = """
const canvas = element.querySelector('canvas');
// On a phone-sized window the pad may take another shape (its data-phone-* size), set before any
// stroke: a wide line is too low to write in with a finger.
if (window.matchMedia('(max-width: 640px)').matches) {
  canvas.width = Number(canvas.dataset.phoneWidth);
  canvas.height = Number(canvas.dataset.phoneHeight);
  canvas.style.aspectRatio = `${canvas.width} / ${canvas.height}`;
}
const ctx = canvas.getContext('2d');
const size = element.querySelector('input[type=range]');
const strokes = [];  // {erase, size, points: [[x, y], ...]} in canvas pixels: undo redraws them
let tool = 'pen';
let current = null;

const at = (e) => {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
};
const style = (s) => {
  ctx.globalCompositeOperation = s.erase ? 'destination-out' : 'source-over';
  ctx.strokeStyle = ctx.fillStyle = getComputedStyle(canvas).color;
  ctx.lineWidth = s.size;
  ctx.lineCap = ctx.lineJoin = 'round';
};
const dot = (s, p) => { ctx.beginPath(); ctx.arc(p[0], p[1], s.size / 2, 0, 2 * Math.PI); ctx.fill(); };
const paint = (s) => {
  style(s);
  if (s.points.length === 1) return dot(s, s.points[0]);
  ctx.beginPath();
  ctx.moveTo(...s.points[0]);
  for (const p of s.points.slice(1)) ctx.lineTo(...p);
  ctx.stroke();
};
const redraw = () => { ctx.clearRect(0, 0, canvas.width, canvas.height); strokes.forEach(paint); };
// The answer is asked for as the pen lifts, with the drawing as a PNG made now (toDataURL encodes
// synchronously; toBlob waits for the browser's idle time).
const send = () => {
  const inked = strokes.some((s) => !s.erase);
  props.value = inked ? canvas.toDataURL('image/png') : null;
};

canvas.addEventListener('pointerdown', (e) => {
  if (e.button !== 0 || current) return;
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  current = {erase: tool === 'eraser', size: Number(size.value), points: [at(e)], id: e.pointerId};
  strokes.push(current);
  style(current);
  dot(current, current.points[0]);
});
canvas.addEventListener('pointermove', (e) => {
  if (!current || e.pointerId !== current.id) return;
  const moves = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
  style(current);
  for (const m of (moves.length ? moves : [e])) {
    const p = at(m), last = current.points[current.points.length - 1];
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    current.points.push(p);
  }
});
const lift = (e) => {
  if (!current || e.pointerId !== current.id) return;
  current = null;
  send();
};
canvas.addEventListener('pointerup', lift);
canvas.addEventListener('pointercancel', lift);

const pick = (name) => {
  tool = name;
  for (const b of element.querySelectorAll('[data-tool]')) {
    b.setAttribute('aria-pressed', String(b.dataset.tool === name));
  }
};
for (const b of element.querySelectorAll('[data-tool]')) {
  b.addEventListener('click', () => pick(b.dataset.tool));
}
const undo = () => { if (strokes.length) { strokes.pop(); redraw(); send(); } };
element.querySelector('[data-act=undo]').addEventListener('click', undo);
element.querySelector('[data-act=clear]').addEventListener('click', () => {
  strokes.length = 0; redraw(); pick('pen'); send();
});
element.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'z') { e.preventDefault(); undo(); }
});
// A theme switched while drawn on: the ink follows the text colour.
new MutationObserver(redraw).observe(document.body, {attributes: true, attributeFilter: ['class']});
"""


def pad(title: str, canvas: tuple[int, int], size: int, elem_id: str, canvas_label: str,
        phone_size: tuple[int, int] | None = None) -> gr.HTML:
    """A drawing pad of `canvas` (width, height) canvas pixels, `phone_size` on a phone-sized window
    (default: the same); its value is the drawing as a PNG data URL, None when blank, and each pen
    lift (and undo, clear) fires its `change`."""
    (width, height), (phone_width, phone_height) = canvas, phone_size or canvas
    return gr.HTML(
        value=None, html_template=TEMPLATE, css_template=CSS, js_on_load=JS, elem_id=elem_id,
        title=title, width=width, height=height, phone_width=phone_width, phone_height=phone_height,
        size=size, max_size=max(40, 2 * size), canvas_label=canvas_label, apply_default_css=False,
    )

