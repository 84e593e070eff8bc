// catbreed page: choose, drop, snap, paste or link a photo; show the five most likely breeds.
import * as api from "./api.js";
import { breedName, openList, showBreeds } from "./breeds.js";
import * as feedback from "./feedback.js";
import { hideFocus, showFocus } from "./focus.js";
import { photoType, readAsDataUrl, shrink } from "./photo.js";


const MESSAGES = {
  invalid_request: "That request didn't work. Please pick a photo or paste a link and try again.",
  invalid_url: "That link can't be used. Paste a full http:// or https:// link to a photo.",
  forbidden_url: "That link isn't public: it points to a private or local address we can't reach. " +
    "If you can see the photo, save it and upload it instead.",
  image_too_large: "That photo is too large. Photos can be up to {photoMax}; please choose a smaller one.",
  unsupported_image: "That file isn't a photo we can read. Please use a JPEG, PNG, WebP, GIF or BMP picture.",
  download_failed: "We couldn't fetch the photo from that link. Check that the link opens a picture.",
  download_timeout: "The website with that photo took too long to answer. Try another link or upload the photo.",
  upload_not_found: "Your upload expired before we could look at it. Please send the photo again.",
  upload_failed: "We couldn't upload the photo. Please check your connection and try again.",
  uploads_unavailable: "That photo is too large to send as it is, and this server can't take bigger uploads. " +
    "Please save it as a JPEG under {directMax} and try again.",
  busy: "The breed finder is busy right now. Please try again in a moment.",
  timeout: "The breed finder is taking too long to answer, so we stopped waiting. Please try again in a minute.",
  internal_error: "Something went wrong on our side. Please try again in a moment.",
  network: "We couldn't reach the breed finder. Check your internet connection and try again.",
};
const LINK_ERRORS = ["forbidden_url", "download_failed", "download_timeout"];
const RETRYABLE = ["timeout", "network", "busy", "internal_error", "upload_failed", "upload_not_found"];

const $ = (id) => document.getElementById(id);
const els = {
  drop: $("drop-zone"), file: $("file-input"), camera: $("camera-input"),
  choose: $("choose-button"), snap: $("camera-button"), form: $("url-form"), url: $("url-input"),
  result: $("result"), preview: $("preview"), heading: $("result-heading"), spinner: $("spinner"),
  message: $("message"), predictions: $("predictions"), explain: $("explain"), modelInfo: $("model-info"),
  cancel: $("cancel-button"), retry: $("retry-button"), uploadInstead: $("upload-instead"), again: $("again-button"),
};

// --- one request at a time: only the newest may paint ---------------------------------

let current = null;     // { controller, timedOut }
let lastAttempt = null; // sends the newest photo or link again (Try again)

function startJob() {
  if (current) current.controller.abort();
  current = { controller: new AbortController(), timedOut: false };
  return current;
}

function stopJob() {
  const job = current;
  current = null;
  if (job) job.controller.abort();
}

const isCurrent = (job) => job === current;

// --- painting -------------------------------------------------------------------------

function setMessage(text, kind) {
  els.message.textContent = text;
  els.message.className = kind ? `message ${kind}` : "message";
}

// The preview appears once its photo has loaded (see the load listener below): a link the
// browser cannot show never flashes a broken image while it is tried.
function setPreview(src) {
  showPreview(false);
  if (src) els.preview.src = src;
  else els.preview.removeAttribute("src");
}

function showPreview(shown) {
  els.preview.hidden = !shown;
  els.result.classList.toggle("no-photo", !shown);
}

function showBusy(job, previewSrc, text) {
  if (!isCurrent(job)) return;
  els.result.hidden = false;
  els.result.classList.add("busy");
  els.predictions.setAttribute("aria-busy", "true"); // not on #result: it would hush the status line
  if (previewSrc !== undefined) setPreview(previewSrc);
  els.heading.textContent = "Looking at your photo";
  els.spinner.hidden = false;
  setMessage(text || "Looking closely…");
  els.predictions.replaceChildren();
  els.explain.hidden = true;
  els.modelInfo.textContent = "";
  els.cancel.hidden = false;
  if (document.activeElement === els.retry) els.cancel.focus();
  els.retry.hidden = true;
  els.uploadInstead.hidden = true;
  els.again.hidden = true;
  feedback.hide();
  hideFocus();
}

function showStillWorking(job) {
  if (!isCurrent(job)) return;
  setMessage("Still working on it. The breed finder is slower than usual right now; " +
    "you can wait a little longer or cancel.");
}

function done(heading) {
  els.result.classList.remove("busy");
  els.predictions.removeAttribute("aria-busy");
  els.heading.textContent = heading;
  els.spinner.hidden = true;
  els.again.hidden = false;
  if (document.activeElement === els.cancel) els.again.focus();
  els.cancel.hidden = true;
}

function showError(job, code, fallback) {
  if (!isCurrent(job)) return;
  current = null;
  done("That didn't work");
  els.result.hidden = false;
  els.predictions.replaceChildren();
  els.explain.hidden = true;
  els.modelInfo.textContent = "";
  setMessage(messageFor(code) || fallback || MESSAGES.internal_error, "error");
  feedback.hide(); // nothing to judge on a photo that failed
  hideFocus();
  els.uploadInstead.hidden = !LINK_ERRORS.includes(code);
  els.retry.hidden = !(lastAttempt && RETRYABLE.includes(code));
  bringIntoView();
}

// A message with the API's limits filled in ("10 MiB"); null when a limit it names is unknown.
function messageFor(code) {
  let unknown = false;
  const text = (MESSAGES[code] || "").replace(/\{(\w+)\}/g, (_, name) => {
    if (!api.limits[name]) unknown = true;
    return `${+(api.limits[name] / 1048576).toFixed(1)} MiB`;
  });
  return text && !unknown ? text : null;
}

function percentText(probability) {
  if (probability < 0.01) return { text: "<1%", spoken: "less than 1 percent" };
  if (probability > 0.99) return { text: ">99%", spoken: "more than 99 percent" };
  const whole = Math.round(probability * 100);
  return { text: `${whole}%`, spoken: `${whole} percent` };
}

function showAnswer(job, body) {
  if (!isCurrent(job)) return;
  current = null;
  if (!body.is_cat) {
    done("This may not be a cat");
    setMessage("This doesn't look like a cat to us. If it is one, try a clearer, closer photo. " +
      "Our best guesses anyway:", "warning");
  } else if (body.confident === false) {
    done("Not sure about this one");
    setMessage("We're not sure about this cat. It may be a mix, or a breed we don't know. " +
      "These are the breeds it looks closest to:", "warning");
  } else {
    done("Most likely breeds");
    // Said by screen readers (the status line is live); the bars show the same.
    const top = body.predictions[0];
    setMessage(top ? `Most likely ${top.breed}, ${percentText(top.probability).spoken}.` : "", "visually-hidden");
  }
  const items = body.predictions.map((item) => {
    const percent = percentText(item.probability);
    const li = document.createElement("li");
    li.className = "prediction";
    li.innerHTML = '<div class="label"><span class="breed"></span><span class="percent"></span></div>' +
      '<div class="track" aria-hidden="true"><div class="fill"></div></div>';
    li.querySelector(".breed").append(breedName(item.breed));
    li.querySelector(".percent").textContent = percent.text;
    li.querySelector(".fill").style.width = `${Math.max(item.probability * 100, 0.5)}%`;
    li.setAttribute("aria-label", `${item.breed}: ${percent.spoken}`);
    return li;
  });
  els.predictions.replaceChildren(...items);
  els.explain.hidden = !body.is_cat;
  els.modelInfo.textContent = body.model ? `Answered by model ${body.model.name}, version ${body.model.version}.` : "";
  showFocus(body.focus);
  feedback.show(body, job.photo || null);
  bringIntoView();
}

// On a phone the answer starts below the fold: scroll it up unless it is all in view.
function bringIntoView() {
  const box = els.result.getBoundingClientRect();
  if (box.top >= 0 && box.bottom <= window.innerHeight) return;
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  els.result.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
}

function reset() {
  stopJob();
  els.result.hidden = true;
  els.result.classList.remove("busy");
  setPreview(null);
  setMessage("");
  els.predictions.replaceChildren();
  feedback.hide();
  hideFocus();
  els.url.value = "";
  window.scrollTo({ top: 0, behavior: "instant" });
  els.choose.focus({ preventScroll: true });
}

// --- talking to the API ---------------------------------------------------------------

// An API call for the newest job (`send` gets its abort signal), with the "still working"
// message and a time to give up.
async function watched(job, send) {
  const slow = setTimeout(() => showStillWorking(job), api.WAITS.slowAfterMs);
  const giveUp = setTimeout(() => { job.timedOut = true; job.controller.abort(); }, api.WAITS.giveUpAfterMs);
  try {
    return await send(job.controller.signal);
  } finally {
    clearTimeout(slow);
    clearTimeout(giveUp);
  }
}

// The error code of a failed answer: ours, or API Gateway's own (it has no code).
function errorCode(answer) {
  if (answer.body?.error?.code) return answer.body.error.code;
  if (answer.status === 413) return "image_too_large";
  if (answer.status === 429) return "busy";
  if (answer.status === 503 || answer.status === 504) return "timeout";
  return "internal_error";
}

function failed(job) {
  if (!isCurrent(job)) return; // replaced or cancelled: say nothing
  showError(job, job.timedOut ? "timeout" : "network");
}

// POST /predict; `photo` (a Blob) lets a photo too large to send directly go by upload.
async function predict(job, request, photo) {
  let answer;
  try {
    answer = await watched(job, (signal) => api.predict(request, signal));
  } catch {
    failed(job);
    return;
  }
  if (!isCurrent(job)) return;
  if (answer.ok && answer.body?.predictions) {
    showAnswer(job, answer.body);
  } else if (answer.status === 413 && photo && !(api.limits.photoMax && photo.size > api.limits.photoMax) && !request.upload) {
    await predictViaUpload(job, photo);
  } else {
    showError(job, errorCode(answer), answer.body?.error?.message);
  }
}

// Larger photos: POST /uploads, then the photo straight to storage, then POST /predict {upload}.
async function predictViaUpload(job, photo) {
  showBusy(job, undefined, "Uploading your photo…");
  let ticket;
  try {
    ticket = await watched(job, (signal) => api.requestUpload(photoType(photo), photo.size, signal));
  } catch {
    failed(job);
    return;
  }
  if (!isCurrent(job)) return;
  if (!ticket.ok || !ticket.body?.url) {
    // A 404 here (not_found) means this API has no upload route, as on the local server.
    const code = ticket.status === 404 ? "uploads_unavailable" : errorCode(ticket);
    showError(job, code, ticket.body?.error?.message);
    return;
  }
  try {
    const stored = await api.storeUpload(ticket.body, photo, job.controller.signal);
    if (!isCurrent(job)) return;
    if (!stored) {
      showError(job, "upload_failed");
      return;
    }
  } catch {
    if (isCurrent(job)) showError(job, "upload_failed");
    return;
  }
  showBusy(job, undefined, "Looking closely…");
  await predict(job, { upload: ticket.body.upload }, null);
}

// --- photos and links -----------------------------------------------------------------

async function handleFile(file) {
  if (!file) return;
  lastAttempt = () => handleFile(file);
  const job = startJob();
  els.preview.alt = "The photo you chose";
  showBusy(job, null);
  bringIntoView();
  const small = await shrink(file);
  if (!isCurrent(job)) return;
  // A file the browser can't decode is still sent, so the server can say what is wrong.
  const photo = small || file;
  job.photo = photo; // the owner may let us keep it (feedback.js)
  if (api.limits.photoMax && photo.size > api.limits.photoMax) {
    showError(job, "image_too_large");
    return;
  }
  if (api.limits.directMax && photo.size > api.limits.directMax) {
    await predictViaUpload(job, photo);
    return;
  }
  const dataUrl = String(await readAsDataUrl(photo));
  if (!isCurrent(job)) return;
  if (small) setPreview(dataUrl);
  await predict(job, { image: dataUrl.split(",", 2)[1] || "" }, photo);
}

function handleUrl(url) {
  url = url.trim();
  if (!url) {
    els.url.focus();
    return;
  }
  const job = startJob();
  els.preview.alt = "The photo at the link you gave";
  if (!/^https?:\/\//i.test(url)) {
    setPreview(null);
    showError(job, "invalid_url");
    return;
  }
  lastAttempt = () => handleUrl(url);
  showBusy(job, url);
  bringIntoView();
  predict(job, { url }, null);
}

// A photo shows when it has loaded; a link the browser can't show either: no preview at all.
els.preview.addEventListener("load", () => showPreview(true));
els.preview.addEventListener("error", () => setPreview(null));

// --- wiring ---------------------------------------------------------------------------

els.choose.addEventListener("click", () => els.file.click());
els.snap.addEventListener("click", () => els.camera.click());
els.uploadInstead.addEventListener("click", () => els.file.click());
els.cancel.addEventListener("click", () => {
  if (!current) return;
  stopJob();
  done("Stopped");
  setMessage("We stopped looking at this photo. Choose another one or paste a link when you're ready.");
});
els.again.addEventListener("click", reset);
// A breed linked from the answer: open the list first, so the browser can scroll to it.
els.predictions.addEventListener("click", (event) => {
  if (event.target.closest("a")) openList();
});
els.retry.addEventListener("click", () => lastAttempt && lastAttempt());
els.file.addEventListener("change", () => { handleFile(els.file.files[0]); els.file.value = ""; });
els.camera.addEventListener("change", () => { handleFile(els.camera.files[0]); els.camera.value = ""; });
els.form.addEventListener("submit", (event) => { event.preventDefault(); handleUrl(els.url.value); });

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
// Paste a photo anywhere on the page (a link goes into the link field as usual).
document.addEventListener("paste", (event) => {
  if (event.target === els.url) return;
  const files = (event.clipboardData && event.clipboardData.files) || [];
  if (files.length) handleFile(files[0]);
});

// --- the breeds it knows --------------------------------------------------------------

const getJson = (url) => fetch(url).then((r) => (r.ok ? r.json() : null)).catch(() => null);
Promise.all([api.listBreeds(), getJson("breeds.json")]).then(([list, text]) => {
  // Without the list the page names no breeds and no count rather than a wrong one.
  const ok = Boolean(list && Array.isArray(list.breeds) && list.breeds.length);
  if (ok) showBreeds(list.breeds, (text && text.traits) || {});
  if (ok) feedback.setBreeds(list.breeds);
  document.body.dataset.breeds = ok ? "shown" : "unavailable";
});
