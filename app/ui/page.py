"""The page's own CSS and JavaScript (demo.py passes them to launch()), and the Model tab's figures.

What they mend in Gradio 6.31's page, found with axe-core and on a phone-sized window:
- Gradio's empty Label and Image render a div with aria-label="Empty value" and no role, which
  WCAG forbids (aria-prohibited-attr): it gets role="img". Example thumbnails and the image
  preview are buttons with no name: they get one.
- The header links to the API page, which a phone shows only at the very end of the footer; the
  link opens it as the footer's button does.
- The footer's "Use via API" link is light grey on white (1.9:1), followed by a divider with
  nothing after it: the link takes the text colour, the divider goes. The selected tab's orange
  name (2.8:1) and the upload box's "- or -" (1.9:1) take the text colour too.
- An upload that is not an image shows as a broken-image icon in a thin strip: the box keeps
  its height and says the file can't be shown (the note says why it can't be read).
- On a phone the answer and the 28×28 picture sit side by side, under the pad, in view, the
  picture whole (not cropped to its box).
- The Model tab's figures: a caption above each (not a label over the plot's title), and in the
  dark theme the plots' white paper is inverted to dark. The mistakes' grid takes the whole width
  (its own captions are small), and on a phone scrolls sideways at its own size. The table's
  first column wraps, so that no column hides behind a sideways scroll on a phone.
- An upload over the size limit: Gradio refuses it in the browser with a pop-up that stays on
  screen and covers the page; the tab says it instead, in words (the limit, what to do), and the
  pop-up is closed.
- The corrections' privacy text is padded inside its grey box; in the dark theme the Numbers
  tab's drawing is shown on the theme's background, not as a white panel.
"""

from __future__ import annotations

import base64
from pathlib import Path

CSS = """
footer .divider { display: none !important; }
footer .show-api { color: var(--body-text-color) !important; opacity: 1 !important; }
button[role="tab"][aria-selected="true"] { color: var(--body-text-color) !important; }
.or { color: var(--body-text-color) !important; }
.unreadable-image { min-height: 200px; display: flex; align-items: center; justify-content: center; }
.unreadable-image::after { content: "This file can't be shown."; color: var(--body-text-color); }
.unreadable-image img { display: none !important; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
.plots figure { margin: 0; flex: 1 1 300px; }
.plots figcaption { font-weight: 600; margin-bottom: 6px; color: var(--body-text-color); }
.plots img { width: 100%; height: auto; display: block; border-radius: var(--radius-md); }
.plots figure.wide { flex-basis: 100%; }
.plots .scroll { overflow-x: auto; }
.dark .plots img { filter: invert(0.92) hue-rotate(180deg); }
#model-card table { display: block; overflow-x: auto; max-width: 100%; }
#model-card td, #model-card th { word-break: normal; overflow-wrap: normal; white-space: nowrap; }
#model-card td:first-child, #model-card th { white-space: normal; }
[id$="-correct-note"] { padding: var(--spacing-md) var(--spacing-lg) !important; }
.refusal { margin-bottom: var(--spacing-md); color: var(--body-text-color); }
@media (max-width: 640px) {
  #title h1 { font-size: 1.3rem !important; margin: 0 !important; }
  #title p { margin: 2px 0 !important; font-size: 0.9rem !important; }
  .drawpad-tools .text { display: none; }
  .drawpad-tools input[type=range] { width: 80px; }
  .answer { flex-direction: row !important; flex-wrap: wrap !important; gap: 8px !important; }
  .answer > * { min-width: 0 !important; }
  .answer > .label-output { flex: 1 1 55% !important; zoom: 0.8; }
  .answer { align-items: flex-start !important; }
  .answer > .seen { flex: 0 0 136px !important; height: auto !important; }
  .answer > .seen .image-container, .answer > .seen .image-frame { height: auto !important; }
  .answer > .seen img { width: 112px !important; height: 112px !important; object-fit: contain !important; }
  .answer > .seen [data-testid="block-label"] { position: relative !important; }
  .answer > .seen .empty { height: 112px !important; min-height: 0 !important; }
  .plots figure.wide img { min-width: 1100px; }
  .answer > :not(.label-output):not(.seen) { flex: 1 1 100% !important; order: 2; }
}
"""

JS = """
() => {
  const mend = () => {
    for (const e of document.querySelectorAll('div.empty[aria-label]:not([role])')) {
      e.setAttribute('role', 'img');
    }
    for (const b of document.querySelectorAll('.image-container > button:not([aria-label])')) {
      b.setAttribute('aria-label', 'Show the image full size');  // Gradio's image preview: no name
    }
    for (const t of document.querySelectorAll('#model-card table:not([tabindex])')) {
      t.tabIndex = 0;  // it scrolls sideways on a phone: reachable by keyboard
    }
    for (const b of document.querySelectorAll('button.gallery-item:not([aria-label])')) {
      const img = b.querySelector('img');
      const name = img ? decodeURIComponent(img.src.split('/').pop().split('?')[0]) : '';
      b.setAttribute('aria-label', name ? 'Example: ' + name : 'Example');
    }
  };
  new MutationObserver(mend).observe(document.body, {childList: true, subtree: true});
  mend();
  // The header's link to the API page opens it as the footer's button does (a page loaded with
  // ?view=api does not), on its Python tab.
  document.addEventListener('click', (e) => {
    const link = e.target.closest && e.target.closest('a[href^="?view=api"]');
    const open = link && document.querySelector('footer .show-api');
    if (!open) return;
    e.preventDefault();
    const url = new URL(window.location.href);
    url.searchParams.set('lang', new URLSearchParams(link.getAttribute('href')).get('lang') || 'python');
    history.replaceState(null, '', url);
    open.click();
  }, true);
  // An upload over the size limit, said in its tab (Gradio's own pop-up is closed as it opens).
  const NOTES = {'upload': '#upload-note', 'number-upload': '#number-result'};
  const size = (n) => n >= 1048576 ? `${+(n / 1048576).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
  const unsay = () => document.querySelectorAll('.refusal').forEach((e) => e.remove());
  const refuse = (box, files) => {
    unsay();
    const limit = (window.gradio_config || {}).max_file_size;
    const big = [...(files || [])].find((f) => limit && f.size > limit);
    const note = big && document.querySelector(NOTES[box.id]);
    if (!note) return;
    const say = document.createElement('p');
    say.className = 'refusal';
    say.setAttribute('role', 'alert');
    say.innerHTML = '<strong>Too big to read.</strong> ';
    say.append(`"${big.name}" is ${size(big.size)}; the limit is ${size(limit)} a file. Send a smaller `
               + 'picture: crop it to the digits, or save it at a lower resolution or as a JPEG.');
    note.prepend(say);
  };
  const uploadBox = (e) => e.target.closest && e.target.closest('#upload, #number-upload');
  document.addEventListener('change', (e) => {
    if (e.target.type === 'file' && uploadBox(e)) refuse(uploadBox(e), e.target.files);
  }, true);
  document.addEventListener('drop', (e) => {
    if (uploadBox(e)) refuse(uploadBox(e), e.dataTransfer && e.dataTransfer.files);
  }, true);
  document.addEventListener('click', (e) => {
    const picked = '.gallery-item, #upload button, #number-upload button';
    if (e.target.closest && e.target.closest(picked)) unsay();
  }, true);
  new MutationObserver(() => {
    if (!document.querySelector('.refusal')) return;
    for (const t of document.querySelectorAll('.toast-body')) {
      const close = /maximum allowed size/.test(t.innerText) && t.querySelector('.toast-close');
      if (close) close.click();
    }
  }).observe(document.body, {childList: true, subtree: true});
  // An upload that can't be shown: keep the box, say so (the note says why it can't be read).
  document.addEventListener('error', (e) => {
    const box = e.target.tagName === 'IMG' && e.target.closest('.image-frame, .image-container');
    if (box && e.target.closest('#upload, #number-upload')) box.classList.add('unreadable-image');
  }, true);
  document.addEventListener('load', (e) => {
    const box = e.target.tagName === 'IMG' && e.target.closest('.unreadable-image');
    if (box) box.classList.remove('unreadable-image');
  }, true);
}
"""


def figures(plots: list[tuple[Path, str, str, bool]]) -> str:
    """HTML for the Model tab: each (PNG file, caption, alt text, wide) as a figure, the image inline;
    a wide one takes the whole width, and scrolls sideways on a phone.

    Inline (a data: URL) because the plots are small and the page then needs no file route.
    """
    parts = []
    for path, caption, alt, wide in plots:
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode()
            image = f'<img src="data:image/png;base64,{data}" alt="{alt}">'
            if wide:
                parts.append(f'<figure class="wide"><figcaption>{caption}</figcaption><div class="scroll" '
                             f'tabindex="0" role="group" aria-label="{caption}">{image}</div></figure>')
            else:
                parts.append(f'<figure><figcaption>{caption}</figcaption>{image}</figure>')
    return '<div class="plots">' + "".join(parts) + "</div>" if parts else ""
