// catbreed page: pick, drop, snap or link a photo; show the top-5 breeds.
"use strict";

const MAX_SIDE = 1024;          // photos are shrunk to this longest side before upload
const JPEG_QUALITY = 0.9;
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const API = ((window.CATBREED_CONFIG && window.CATBREED_CONFIG.apiUrl) || "").replace(/\/+$/, "");

const MESSAGES = {
  invalid_request: "That request didn't work. Please pick a photo or paste a link and try again.",
  invalid_url: "That link can't be used. Paste a full http:// or https:// link to a photo.",
  forbidden_url: "That link points somewhere we can't go. Please use a public link to a photo.",
  image_too_large: "That photo is too large. Please choose one under 10 MB.",
  unsupported_image: "That file isn't a photo we can read. Please use a JPEG, PNG, WebP, GIF or BMP picture.",
  download_failed: "We couldn't fetch the photo from that link. Check that the link opens a picture.",
  download_timeout: "The website with that photo took too long to answer. Try another link or upload the photo.",
  internal_error: "Something went wrong on our side. Please try again in a moment.",
  network: "We couldn't reach the breed finder. Check your internet connection and try again.",
};

const $ = (id) => document.getElementById(id);
const els = {
  drop: $("drop-zone"), file: $("file-input"), camera: $("camera-input"), form: $("url-form"),
  url: $("url-input"), result: $("result"), preview: $("preview"), busy: $("busy"),
  message: $("message"), predictions: $("predictions"), modelInfo: $("model-info"),
};

function showBusy(previewSrc) {
  els.result.hidden = false;
  els.result.classList.remove("no-photo");
  if (previewSrc) els.preview.src = previewSrc; else els.preview.removeAttribute("src");
  els.busy.hidden = false;
  els.result.setAttribute("aria-busy", "true");
  els.message.textContent = "";
  els.message.className = "message";
  els.predictions.replaceChildren();
  els.modelInfo.textContent = "";
}

function doneBusy() {
  els.busy.hidden = true;
  els.result.removeAttribute("aria-busy");
}

function showError(code, fallback) {
  doneBusy();
  els.result.classList.toggle("no-photo", !els.preview.getAttribute("src"));
  els.message.textContent = MESSAGES[code] || fallback || MESSAGES.internal_error;
  els.message.className = "message error";
}

function showAnswer(body) {
  doneBusy();
  if (body.is_cat) {
    els.message.textContent = "Here are the most likely breeds:";
    els.message.className = "message";
  } else {
    els.message.textContent = "This doesn't look like a cat to us. If it is one, try a clearer, closer photo. Our best guesses anyway:";
    els.message.className = "message warning";
  }
  for (const item of body.predictions) {
    const percent = Math.round(item.probability * 1000) / 10;
    const li = document.createElement("li");
    li.className = "prediction";
    li.innerHTML = '<div class="label"><span class="breed"></span><span class="percent"></span></div>' +
      '<div class="track" role="presentation"><div class="fill"></div></div>';
    li.querySelector(".breed").textContent = item.breed;
    li.querySelector(".percent").textContent = `${percent}%`;
    li.querySelector(".fill").style.width = `${Math.max(percent, 0.5)}%`;
    li.setAttribute("aria-label", `${item.breed}: ${percent} percent`);
    els.predictions.appendChild(li);
  }
  if (body.model) els.modelInfo.textContent = `Model ${body.model.name} ${body.model.version}`;
}

async function ask(request) {
  let response;
  try {
    response = await fetch(`${API}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
  } catch (err) {
    showError("network");
    return;
  }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (response.ok && body && body.predictions) {
    showAnswer(body);
  } else if (body && body.error) {
    showError(body.error.code, body.error.message);
  } else if (response.status === 413) {
    showError("image_too_large");
  } else {
    showError("internal_error");
  }
}

function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// Shrink a photo to MAX_SIDE as JPEG; null when the browser cannot decode it.
async function shrink(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (err) {
    return null;
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close && bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
  return blob;
}

async function handleFile(file) {
  if (!file) return;
  showBusy(null);
  const small = await shrink(file);
  // A file the browser can't decode is still sent, so the server can say what is wrong.
  const upload = small || file;
  if (upload.size > MAX_UPLOAD_BYTES) {
    showError("image_too_large");
    return;
  }
  const dataUrl = await readAsDataUrl(upload);
  if (small) els.preview.src = dataUrl; else els.preview.removeAttribute("src");
  const base64 = String(dataUrl).split(",", 2)[1] || "";
  await ask({ image: base64, top_k: 5 });
}

function handleUrl(url) {
  url = url.trim();
  if (!url) {
    els.url.focus();
    return;
  }
  if (!/^https?:\/\//i.test(url)) {
    els.result.hidden = false;
    els.preview.removeAttribute("src");
    els.predictions.replaceChildren();
    els.modelInfo.textContent = "";
    showError("invalid_url");
    return;
  }
  showBusy(url);
  ask({ url, top_k: 5 });
}

els.file.addEventListener("change", () => { handleFile(els.file.files[0]); els.file.value = ""; });
els.camera.addEventListener("change", () => { handleFile(els.camera.files[0]); els.camera.value = ""; });
els.form.addEventListener("submit", (event) => { event.preventDefault(); handleUrl(els.url.value); });
els.preview.addEventListener("error", () => els.preview.removeAttribute("src"));

// The file inputs are visually hidden; their labels are the buttons. Keyboard users tab to
// the inputs and press Enter or Space to open the picker.
for (const input of [els.file, els.camera]) {
  const label = document.querySelector(`label[for="${input.id}"]`);
  input.addEventListener("focus", () => label.classList.add("file-focus"));
  input.addEventListener("blur", () => label.classList.remove("file-focus"));
}

["dragenter", "dragover"].forEach((type) => els.drop.addEventListener(type, (event) => {
  event.preventDefault();
  els.drop.classList.add("dragging");
}));
["dragleave", "drop"].forEach((type) => els.drop.addEventListener(type, () => els.drop.classList.remove("dragging")));
els.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer && event.dataTransfer.files[0];
  if (file) handleFile(file);
});
// Paste a photo (or a link) anywhere on the page.
document.addEventListener("paste", (event) => {
  if (event.target === els.url) return;
  const items = (event.clipboardData && event.clipboardData.files) || [];
  if (items.length) handleFile(items[0]);
});

fetch(`${API}/breeds`).then((r) => (r.ok ? r.json() : null)).then((body) => {
  if (!body || !body.breeds) return;
  $("breed-count").textContent = String(body.breeds.length);
  $("breed-list").textContent = `: ${body.breeds.join(", ")}`;
}).catch(() => {});
