// catbreed page: "Is this right?" under an answer (POST /feedback), and taking a kept photo
// back (DELETE /feedback/{id}), also from a deletion link (#withdraw=<id>.<token>).
import * as api from "./api.js";
import { base64Of } from "./photo.js";

const $ = (id) => document.getElementById(id);
const fb = {
  section: $("feedback"), form: $("feedback-form"), yes: $("feedback-yes"), no: $("feedback-no"),
  correction: $("feedback-correction"), label: $("feedback-label"), breeds: $("feedback-breeds"),
  otherField: $("feedback-other-field"), other: $("feedback-other"), sendRow: $("feedback-send-row"),
  consentRow: $("feedback-consent-row"), consent: $("feedback-consent"), send: $("feedback-send"),
  status: $("feedback-status"), kept: $("feedback-kept"), remove: $("feedback-delete"), link: $("feedback-delete-link"),
};
let about = null; // { answer, photo, receipt }: the answer on screen

function say(element, text, kind) {
  element.textContent = text;
  element.className = kind ? `feedback-status ${kind}` : "feedback-status";
}

function choose(verdict) {
  fb.yes.setAttribute("aria-pressed", String(verdict === "right"));
  fb.no.setAttribute("aria-pressed", String(verdict === "wrong"));
  fb.correction.hidden = verdict !== "wrong";
  fb.otherField.hidden = verdict !== "wrong" || fb.label.value !== "other";
  fb.sendRow.hidden = false;
  say(fb.status, "");
  if (verdict === "wrong") fb.label.focus();
}

// The question under an answer; `photo` (a Blob), the one the owner sent, if any.
export function show(answer, photo) {
  // Only a photo the owner sent can be kept, and only within the direct limit.
  const keepable = Boolean(photo) && api.limits.directMax > 0 && photo.size <= api.limits.directMax;
  about = { answer, photo: keepable ? photo : null, receipt: null };
  fb.form.reset();
  fb.form.hidden = false;
  fb.yes.setAttribute("aria-pressed", "false");
  fb.no.setAttribute("aria-pressed", "false");
  fb.correction.hidden = true;
  fb.otherField.hidden = true;
  fb.sendRow.hidden = true;
  fb.consentRow.hidden = !keepable;
  fb.kept.hidden = true;
  say(fb.status, "");
  fb.section.hidden = false;
}

export function hide() {
  about = null;
  fb.section.hidden = true;
}

// The breeds offered as corrections (GET /breeds).
export function setBreeds(breeds) {
  fb.breeds.replaceChildren(...breeds.map((breed) => new Option(breed, breed)));
}

async function request() {
  const answer = about.answer;
  const payload = {
    answer: {
      model: answer.model, predictions: answer.predictions,
      is_cat: answer.is_cat, confident: answer.confident,
    },
    verdict: fb.yes.getAttribute("aria-pressed") === "true" ? "right" : "wrong",
    consent: Boolean(about.photo) && fb.consent.checked,
  };
  if (payload.verdict === "wrong") {
    payload.label = fb.label.value;
    if (payload.label === "other") payload.label_text = fb.other.value.trim();
  }
  if (payload.consent) payload.image = await base64Of(about.photo);
  return payload;
}

async function submit(event) {
  event.preventDefault();
  if (!about) return;
  if (fb.no.getAttribute("aria-pressed") === "true") {
    if (!fb.label.value) {
      say(fb.status, "Choose what your cat is, or \u201ca mix, or I don't know\u201d.", "error");
      fb.label.focus();
      return;
    }
    if (fb.label.value === "other" && !fb.other.value.trim()) {
      say(fb.status, "Type the breed's name, or choose \u201ca mix, or I don't know\u201d.", "error");
      fb.other.focus();
      return;
    }
  }
  const sending = about;
  fb.send.disabled = true;
  say(fb.status, "Sending…");
  let response;
  try {
    response = await api.sendFeedback(await request());
  } catch {
    response = null;
  } finally {
    fb.send.disabled = false;
  }
  if (sending !== about) return; // another photo since
  const body = response?.body;
  if (!response || !response.ok || !body?.id) {
    say(fb.status, "We couldn't send that. Please try again.", "error");
    return;
  }
  about.receipt = body;
  fb.form.hidden = true;
  say(fb.status, "Thank you! Answers like yours tell us how often catbreed is right.");
  if (body.kept) {
    fb.link.href = `${location.pathname}#withdraw=${body.id}.${body.token}`;
    fb.kept.hidden = false;
  }
  fb.status.focus();
}

// DELETE /feedback/{id} with its token; says how it went in `status`.
async function withdraw(id, token, status) {
  say(status, "Deleting…");
  let response = null;
  try {
    response = await api.deleteFeedback(id, token);
  } catch {
    response = null;
  }
  if (response && response.ok) {
    say(status, "Your photo and what you told us about it are deleted.");
    return true;
  }
  const code = response?.body?.error?.code;
  say(status, code === "feedback_not_found" ? "There is nothing to delete: this photo is already gone." :
    code === "wrong_token" ? "This deletion link is not complete. Please use the whole link." :
    "We couldn't delete it just now. Please try again.", code === "feedback_not_found" ? "" : "error");
  return code === "feedback_not_found";
}

fb.yes.addEventListener("click", () => choose("right"));
fb.no.addEventListener("click", () => choose("wrong"));
fb.label.addEventListener("change", () => {
  fb.otherField.hidden = fb.label.value !== "other";
  if (!fb.otherField.hidden) fb.other.focus();
});
fb.form.addEventListener("submit", submit);
fb.remove.addEventListener("click", async () => {
  const receipt = about && about.receipt;
  if (!receipt) return;
  if (await withdraw(receipt.id, receipt.token, fb.status)) fb.kept.hidden = true;
  fb.status.focus();
});

// A deletion link: #withdraw=<id>.<token> (the fragment never reaches a server).
const link = location.hash.match(/^#withdraw=([0-9a-f]{32})\.([A-Za-z0-9_-]+)$/);
if (link) {
  const box = $("withdraw");
  box.hidden = false;
  $("withdraw-button").addEventListener("click", async () => {
    if (await withdraw(link[1], link[2], $("withdraw-status"))) {
      $("withdraw-button").hidden = true;
      history.replaceState(null, "", location.pathname);
    }
  });
}
