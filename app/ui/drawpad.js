// Runs once per pad when the page renders it (gr.HTML's js_on_load: `element`, `props`).
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
