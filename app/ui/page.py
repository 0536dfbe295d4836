"""The page's own CSS and JavaScript (demo.py passes them to launch()), and the Model tab's figures.

What they mend in Gradio 6.31's page, found with axe-core and on a phone-sized window:
- Gradio's empty Label and Image render a div with aria-label="Empty value" and no role, which
  WCAG forbids (aria-prohibited-attr): it gets role="img". Example thumbnails and the image
  preview are buttons with no name: they get one.
- The footer's "Use via API" link is light grey on white (1.9:1), followed by a divider with
  nothing after it: the link takes the text colour, the divider goes. The selected tab's orange
  name (2.8:1) and the upload box's "- or -" (1.9:1) take the text colour too.
- An upload that is not an image shows as a broken-image icon in a thin strip: the box keeps
  its height and says the file can't be shown (the note says why it can't be read).
- On a phone the answer and the 28×28 picture sit side by side, under the pad, in view.
- The Model tab's figures: a caption above each (not a label over the plot's title), and in the
  dark theme the plots' white paper is inverted to dark.
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
.dark .plots img { filter: invert(0.92) hue-rotate(180deg); }
#model-card table { display: block; overflow-x: auto; max-width: 100%; }
#model-card td, #model-card th { word-break: normal; overflow-wrap: normal; white-space: nowrap; }
@media (max-width: 640px) {
  #title h1 { font-size: 1.3rem !important; margin: 0 !important; }
  #title p { margin: 2px 0 !important; font-size: 0.9rem !important; }
  .drawpad-tools .text { display: none; }
  .drawpad-tools input[type=range] { width: 80px; }
  .answer { flex-direction: row !important; flex-wrap: wrap !important; gap: 8px !important; }
  .answer > * { min-width: 0 !important; }
  .answer > .label-output { flex: 1 1 55% !important; zoom: 0.8; }
  .answer { align-items: flex-start !important; }
  .answer > .seen { flex: 0 0 120px !important; height: 150px !important; }
  .answer > .seen img { max-height: 110px; }
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


def figures(plots: list[tuple[Path, str, str]]) -> str:
    """HTML for the Model tab: each (PNG file, caption, alt text) as a figure, the image inline.

    Inline (a data: URL) because the plots are small and the page then needs no file route.
    """
    parts = []
    for path, caption, alt in plots:
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode()
            parts.append(f'<figure><figcaption>{caption}</figcaption>'
                         f'<img src="data:image/png;base64,{data}" alt="{alt}"></figure>')
    return '<div class="plots">' + "".join(parts) + "</div>" if parts else ""
