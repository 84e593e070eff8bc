// catbreed page: the box where the model looked, drawn over the preview. The answer's
// focus.box is [left, top, right, bottom] in the upright photo's pixels, which are the
// preview's own (it shows the photo sent, or the linked photo upright); the preview is shown
// smaller and letterboxed (object-fit: contain), so the box is scaled and moved to match,
// again whenever the preview changes size (also when it first shows: it is hidden until loaded).
const preview = document.getElementById("preview");
const box = document.getElementById("focus-box");
const caption = document.getElementById("focus-caption");
let where = null; // the box in the photo's pixels, or null

const isBox = (b) => Array.isArray(b) && b.length === 4 && b.every(Number.isFinite) && b[2] > b[0] && b[3] > b[1];

function draw() {
  const width = preview.naturalWidth, height = preview.naturalHeight;
  const shown = Boolean(where) && width > 0 && preview.clientWidth > 0;
  box.hidden = !shown;
  caption.hidden = !shown;
  if (!shown) return;
  const scale = Math.min(preview.clientWidth / width, preview.clientHeight / height);
  const x = preview.offsetLeft + preview.clientLeft + (preview.clientWidth - width * scale) / 2;
  const y = preview.offsetTop + preview.clientTop + (preview.clientHeight - height * scale) / 2;
  const [left, top, right, bottom] = where;
  box.style.left = `${x + left * scale}px`;
  box.style.top = `${y + top * scale}px`;
  box.style.width = `${(right - left) * scale}px`;
  box.style.height = `${(bottom - top) * scale}px`;
}

// Draw the answer's focus (null or absent: no box).
export function showFocus(focus) {
  where = isBox(focus?.box) ? focus.box : null;
  draw();
}

export function hideFocus() {
  showFocus(null);
}

preview.addEventListener("load", draw);
new ResizeObserver(draw).observe(preview);
