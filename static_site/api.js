// catbreed page: the API's calls (docs/API.md), its photo limits and how long to wait for it.
// Each call resolves to { status, ok, body } (body: the JSON answer, or null), or rejects when
// no answer came (network, cancelled).
import config from "./config.js";

const API = String(config.apiUrl || "").replace(/\/+$/, "");

// How long the page waits: config.js may override either.
export const WAITS = {
  slowAfterMs: config.slowAfterMs ?? 4000,       // then say that it is still working
  giveUpAfterMs: config.giveUpAfterMs ?? 25000,  // then stop waiting (API Gateway itself gives up at 30 s)
};

// The API's photo limits in bytes, from GET /breeds. Until they are known the page checks
// nothing itself: the API's 413 answers decide.
export const limits = { directMax: 0, photoMax: 0 };

async function call(path, options) {
  const response = await fetch(`${API}${path}`, options);
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  return { status: response.status, ok: response.ok, body };
}

function postJson(path, payload, signal) {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
    signal,
  });
}

// POST /predict with { image } (base64), { url } or { upload } (the API's default top_k).
export const predict = (request, signal) => postJson("/predict", request, signal);

// POST /uploads: a ticket to send a photo larger than the direct limit straight to storage.
export const requestUpload = (contentType, size, signal) => postJson("/uploads", { content_type: contentType, size }, signal);

// The photo to storage with the ticket's form fields; true when storage took it.
export async function storeUpload(ticket, photo, signal) {
  const form = new FormData();
  for (const [name, value] of Object.entries(ticket.fields || {})) form.append(name, value);
  form.append("file", photo); // storage wants the file last
  const stored = await fetch(ticket.url, { method: "POST", body: form, signal });
  return stored.ok;
}

// POST /feedback: "Is this right?", with the photo when the owner lets us keep it.
export const sendFeedback = (payload) => postJson("/feedback", payload);

// DELETE /feedback/{id} with the token its receipt gave.
export const deleteFeedback = (id, token) =>
  call(`/feedback/${encodeURIComponent(id)}`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } });

// GET /breeds: the breeds the model knows, or null; sets `limits` from its answer.
export async function listBreeds() {
  const list = await fetch(`${API}/breeds`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
  limits.directMax = Number(list?.limits?.direct_max_bytes) || 0;
  limits.photoMax = Number(list?.limits?.photo_max_bytes) || 0;
  return list;
}
