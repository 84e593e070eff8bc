// catbreed page: a photo file made ready to send (shrunk, read as a data URL, typed).
const MAX_SIDE = 1024;               // photos are shrunk to this longest side before sending
const JPEG_QUALITY = 0.9;

export function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// The base64 of a photo, as the API takes it in `image`.
export async function base64Of(blob) {
  return String(await readAsDataUrl(blob)).split(",", 2)[1] || "";
}

// Shrink a photo to MAX_SIDE as JPEG, upright; null when the browser cannot decode it.
export async function shrink(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
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
  if (bitmap.close) bitmap.close();
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
}

// The photo's media type for an upload ticket, from its type or its file name.
export function photoType(photo) {
  if (photo.type && photo.type.startsWith("image/")) return photo.type;
  const ext = ((photo.name || "").match(/\.([a-z0-9]+)$/i) || [])[1]?.toLowerCase();
  if (!ext) return "application/octet-stream";
  return `image/${{ jpg: "jpeg", tif: "tiff" }[ext] || ext}`;
}
