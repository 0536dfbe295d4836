() => {
  // What the page's JavaScript mends in Gradio 6.31's page (found with axe-core). Gradio's empty Label
  // and Image render a div with aria-label="Empty value" and no role, which WCAG forbids
  // (aria-prohibited-attr): it gets role="img". Example thumbnails and the image preview are buttons
  // with no name: they get one.
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
