// faststyle in the browser: an exported faststyle ONNX model (uint8 [N, H, W, 3] RGB in and out)
// run by onnxruntime-web's WebAssembly backend. The photo never leaves the page.
//
// Flow: models.json -> select box -> fetch the chosen .onnx (with progress) -> InferenceSession;
// a picked or dropped photo -> ImageBitmap -> canvas, scaled to the max size -> RGBA pixels ->
// RGB tensor [1, H, W, 3] -> session.run -> RGBA -> result canvas -> PNG download.
// A model holding several styles takes a second input, "style": float32 weights over its styles
// (one-hot picks a style; the blend slider mixes two).
// The stroke-scale slider (stroke_scale.js): the model paints the photo shrunk by 1/S, and the
// result is brought back to full size guided by the photo's edges.
// Camera mode (camera.js): the live camera through the same stylize(), frame after frame.
// A model that paints any painting (models.json lists its "predictor" graph and its style "rows"):
// a picked painting becomes one more style, its embedding from the predictor graph (painting.js).

import { cameraMode } from "./camera.js";
import { embedPainting } from "./painting.js";
import { atStrokeScale } from "./stroke_scale.js";

const $ = (id) => document.getElementById(id);
const ui = {
  model: $("model"), maxSize: $("max-size"), file: $("file"), drop: $("drop"),
  style: $("style"), stylePick: $("style-pick"), blendPick: $("blend-pick"),
  blendWith: $("blend-with"), blend: $("blend"), blendValue: $("blend-value"),
  bar: $("bar"), status: $("status"), error: $("error"), about: $("about"),
  original: $("original"), originalSize: $("original-size"),
  result: $("result"), time: $("time"), download: $("download"),
  camera: $("camera"), cameraSize: $("camera-size"), fps: $("fps"),
  strokeScale: $("stroke-scale"), strokeScaleValue: $("stroke-scale-value"),
  paintingPick: $("painting-pick"), paintingFile: $("painting-file"), paintingView: $("painting-view"),
};
// Below this a painting holds too little of its strokes to take a style from, and below the second
// its shorter side, once the longer is PREDICTOR_SIDE, is too thin (faststyle.painting).
const MIN_PAINTING_SIDE = 32;
const MIN_PREDICTED_SIDE = 16;
const PREDICTOR_SIDE = 256;

let ort = null;               // the onnxruntime-web module, once imported
let models = [];              // [{name, file, style, styles, arch, description, bytes}] from models.json
const sessions = new Map();   // model name -> Promise<InferenceSession>, so each loads once
let photo = null;             // {bitmap, stem} of the current photo
let busy = false, pending = false;
let camera = null;            // camera mode, once the page is set up
let painting = null;          // {rgba, label, embeddings: Map(model name -> Float32Array)} of the picked painting

function setState(state, message) {
  document.body.dataset.state = state;
  ui.status.textContent = message;
  ui.bar.hidden = state !== "loading" && state !== "stylizing";
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
  setState("error", "");
}

function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = "";
}

const megabytes = (n) => (n / 1e6).toFixed(1);

// The model's bytes, reporting progress: a bundled model is several MB and the first load is the slow part.
async function fetchBytes(url, expected, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const total = Number(response.headers.get("Content-Length")) || expected || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

function loadSession(model, part = { name: model.name, file: model.file, bytes: model.bytes }) {
  if (!sessions.has(part.name)) {
    const loading = (async () => {
      setState("loading", `Loading model ${part.name}…`);
      const bytes = await fetchBytes(part.file, part.bytes, (got, total) => {
        if (total) {
          ui.bar.max = total;
          ui.bar.value = got;
        }
        ui.status.textContent = `Loading model ${part.name}: ${megabytes(got)} / ${megabytes(total)} MB`;
      });
      ui.bar.removeAttribute("value");  // back to an indeterminate bar while the session builds
      ui.status.textContent = `Preparing model ${part.name}…`;
      return ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    })();
    loading.catch(() => sessions.delete(part.name));  // a failed load is retried next time
    sessions.set(part.name, loading);
  }
  return sessions.get(part.name);
}

// The painting's embedding for `model`, computed once per model (a model without a predictor: none).
async function ensureEmbedding(model) {
  if (!painting || !model.predictor || painting.embeddings.has(model.name)) return;
  const part = { ...model.predictor, name: `${model.name} (style predictor)` };
  const session = await loadSession(model, part);
  painting.embeddings.set(model.name, await embedPainting(ort, session, painting.rgba, model.predictor.side));
}

// The model's styles as the pickers offer them: its own, then the painting's when it has its embedding.
function styleNames(model) {
  const names = model.styles || [model.style];
  return painting?.embeddings.has(model.name) ? [...names, painting.labelFor(names)] : names;
}

function maxSize() {
  const value = Number(ui.maxSize.value || 0);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error("Max size must be a whole number of pixels (0 keeps the original size).");
  }
  return value;
}

function scaledSize(width, height, max) {
  const scale = max > 0 ? Math.min(1, max / Math.max(width, height)) : 1;
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

// Draw the photo (or a video frame) at its working size and return its RGBA pixels.
function drawOriginal(bitmap, max, sourceWidth = bitmap.width, sourceHeight = bitmap.height) {
  const [width, height] = scaledSize(sourceWidth, sourceHeight, max);
  const canvas = ui.original;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  // Transparent pixels become white, as faststyle's Python loader does, before alpha is dropped.
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

// The selected model's style choice: {weights: Float32Array [rows] or null for one-style models, label}.
// Weights over its named styles fill the first rows; the painting's share scales its embedding.
function styleChoice(model) {
  const names = styleNames(model);
  if (names.length < 2 && !(model.rows > 1)) return { weights: null, label: model.name };
  const own = (model.styles || [model.style]).length;
  const weights = new Float32Array(model.rows || names.length);
  const add = (index, share) => {
    if (index < own) weights[index] += share;
    else painting.embeddings.get(model.name).forEach((v, i) => (weights[i] += share * v));
  };
  const first = Math.max(0, names.indexOf(ui.style.value));
  const second = names.indexOf(ui.blendWith.value);
  const share = second >= 0 && second !== first ? Number(ui.blend.value) / 100 : 0;
  add(first, 1 - share);
  if (share > 0) add(second, share);
  const label = share > 0 ? `${names[first]}${(1 - share).toFixed(2)}_${names[second]}${share.toFixed(2)}` : names[first];
  return { weights, label };
}

// Fill the style and blend pickers for `model` (hidden for a model with one style), and offer a
// painting to a model that can paint one.
function showStyles(model) {
  ui.paintingPick.hidden = !model.predictor;
  const names = styleNames(model);
  const many = names.length > 1;
  ui.stylePick.hidden = ui.blendPick.hidden = !many;
  const key = `${model.name}|${names.length}|${names.at(-1)}`;
  if (!many || ui.style.dataset.model === key) return;
  const added = names.length > (model.styles || []).length && ui.style.dataset.painting !== names.at(-1);
  ui.style.dataset.model = key;
  const kept = ui.style.value;
  const keptBlend = ui.blendWith.value;
  ui.style.replaceChildren(...names.map((n) => new Option(n, n)));
  ui.blendWith.replaceChildren(new Option("(none)", ""), ...names.map((n) => new Option(n, n)));
  if (names.includes(keptBlend)) ui.blendWith.value = keptBlend;
  if (added) {  // a painting just picked: paint it
    ui.style.value = names.at(-1);
    ui.style.dataset.painting = names.at(-1);
  } else if (names.includes(kept)) ui.style.value = kept;
}

async function stylize(session, rgba, weights) {
  const { width, height, data } = rgba;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = data[i];
    rgb[j + 1] = data[i + 1];
    rgb[j + 2] = data[i + 2];
  }
  const input = new ort.Tensor("uint8", rgb, [1, height, width, 3]);
  const feeds = { [session.inputNames[0]]: input };
  if (weights) feeds.style = new ort.Tensor("float32", weights, [weights.length]);
  const results = await session.run(feeds);
  const output = results[session.outputNames[0]];
  const [, outHeight, outWidth] = output.dims;
  const out = new ImageData(outWidth, outHeight);
  const pixels = output.data;
  for (let i = 0, j = 0; j < pixels.length; i += 4, j += 3) {
    out.data[i] = pixels[j];
    out.data[i + 1] = pixels[j + 1];
    out.data[i + 2] = pixels[j + 2];
    out.data[i + 3] = 255;
  }
  return out;
}

function showResult(image, filename) {
  ui.result.width = image.width;
  ui.result.height = image.height;
  ui.result.getContext("2d").putImageData(image, 0, 0);
  ui.result.toBlob((blob) => {
    if (ui.download.href) URL.revokeObjectURL(ui.download.href);
    ui.download.href = URL.createObjectURL(blob);
    ui.download.download = filename;
    ui.download.hidden = false;
  }, "image/png");
}

// Let the status line paint before wasm holds the main thread (rAF alone never fires in a hidden tab).
const nextPaint = () => new Promise((resolve) => {
  requestAnimationFrame(() => setTimeout(resolve, 0));
  setTimeout(resolve, 50);
});

// Stylize the current photo with the selected model (or just load the model when there is no photo yet).
async function run() {
  const model = models.find((m) => m.name === ui.model.value);
  if (!model) return;
  clearError();
  ui.about.textContent = model.description;
  let session;
  try {
    session = await loadSession(model);
    await ensureEmbedding(model);
  } catch (e) {
    showError(`Could not load model ${model.name}: ${e.message || e}`);
    return;
  }
  showStyles(model);
  const choice = styleChoice(model);
  if (!photo) {
    setState("idle", `Model ${model.name} ready. Choose or drop a photo.`);
    return;
  }
  try {
    const rgba = drawOriginal(photo.bitmap, maxSize());
    setState("stylizing", `Stylizing ${rgba.width}×${rgba.height} with ${choice.label}…`);
    ui.download.hidden = true;
    await nextPaint();
    const start = performance.now();
    const scale = Number(ui.strokeScale.value);
    const image = await atStrokeScale((pixels) => stylize(session, pixels, choice.weights), rgba, scale);
    const ms = Math.round(performance.now() - start);
    showResult(image, `${photo.stem}_${choice.label}.png`);
    ui.time.textContent = `(${image.width}×${image.height}, ${ms} ms)`;
    document.body.dataset.ms = String(ms);
    setState("done", `Stylized ${image.width}×${image.height} with ${choice.label} in ${ms} ms.`);
  } catch (e) {
    showError(`Stylizing failed: ${e.message || e}`);
  }
}

// Latest request wins: changes made while a run is going trigger exactly one more run afterwards.
// While the camera runs, its loop applies every change to the next frame instead.
async function update() {
  if (camera?.active) return;
  pending = true;
  if (busy) return;
  busy = true;
  try {
    while (pending) {
      pending = false;
      await run();
    }
  } finally {
    busy = false;
  }
}

async function openPhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);  // upright as the photo's EXIF says
  } catch {
    const kind = file.type ? `a ${file.type} file` : "not a format this browser decodes";
    showError(`"${file.name}" is not an image (${kind}). Choose a JPEG, PNG, WebP or GIF photo.`);
    return;
  }
  photo?.bitmap.close();
  photo = { bitmap, stem: file.name.replace(/\.[^.]*$/, "") || "photo" };
  ui.originalSize.textContent = `(${bitmap.width}×${bitmap.height} file)`;
  update();
}

// A painting picked or dropped on the painting picker: it joins the styles of every model that can paint it.
async function openPainting(file) {
  let bitmap;
  try {
    // the file's own pixels, as Pillow reads them: no colour-profile conversion, no premultiplied alpha
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  } catch {
    showError(`"${file.name}" is not an image. Choose a JPEG, PNG, WebP or GIF painting.`);
    return;
  }
  const thinSide = Math.min(bitmap.width, bitmap.height) * (PREDICTOR_SIDE / Math.max(bitmap.width, bitmap.height));
  if (Math.min(bitmap.width, bitmap.height) < MIN_PAINTING_SIDE || Math.round(thinSide) < MIN_PREDICTED_SIDE) {
    showError(
      `"${file.name}": ${bitmap.width}×${bitmap.height} pixels is too small or too thin to take a style ` +
        `from; give a painting at least ${MIN_PAINTING_SIDE} px on its shorter side, at most 16 times as long.`,
    );
    bitmap.close();
    return;
  }
  const view = ui.paintingView;
  view.width = bitmap.width;
  view.height = bitmap.height;
  const ctx = view.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";  // transparent pixels become white, as in Python
  ctx.fillRect(0, 0, bitmap.width, bitmap.height);
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  view.hidden = false;
  bitmap.close();
  // the file's stem, made a plain name as faststyle.style_record.safe_name does, distinct from the model's styles
  const stem =
    file.name.replace(/\.[^.]*$/, "").replace(/[^\p{L}\p{N}_.-]+/gu, "_").replace(/^[._]+|[._]+$/g, "") || "styled";
  const labelFor = (names) => (names.includes(stem) ? `${stem}_painting` : stem);
  painting = { rgba, labelFor, embeddings: new Map() };
  clearError();
  update();
}

function listen() {
  ui.model.addEventListener("change", update);
  for (const control of [ui.style, ui.blendWith]) control.addEventListener("change", () => photo && update());
  ui.blend.addEventListener("input", () => (ui.blendValue.textContent = `${ui.blend.value}%`));
  ui.blend.addEventListener("change", () => photo && ui.blendWith.value && update());
  ui.maxSize.addEventListener("change", () => photo && update());
  ui.strokeScale.addEventListener("input", () => (ui.strokeScaleValue.textContent = `${ui.strokeScale.value}×`));
  ui.strokeScale.addEventListener("change", () => photo && update());
  ui.camera.addEventListener("click", () => camera.toggle());
  ui.file.addEventListener("change", () => ui.file.files[0] && openPhoto(ui.file.files[0]));
  ui.paintingFile.addEventListener("change", () => ui.paintingFile.files[0] && openPainting(ui.paintingFile.files[0]));
  ui.drop.addEventListener("click", () => ui.file.click());
  ui.drop.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && ui.file.click());
  // The whole page takes a drop; without preventDefault the browser would navigate to the file.
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    document.body.classList.remove("dragging");
    const file = e.dataTransfer.files[0];
    const onPainting = !ui.paintingPick.hidden && e.target.closest?.("#painting-pick");
    if (file) (onPainting ? openPainting : openPhoto)(file);
    else showError(`Drop ${onPainting ? "a painting" : "a photo"} file (not a link or text).`);
  });
}

async function init() {
  try {
    ort = await import("./ort/ort.wasm.min.mjs");
    ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
    // WebAssembly threads need a cross-origin-isolated page (`faststyle serve` sends the COOP/COEP
    // headers); onnxruntime-web would otherwise use half the cores: one thread on a 2-core machine.
    // `?threads=N` in the address overrides it (to compare).
    const asked = Number(new URLSearchParams(location.search).get("threads"));
    const cores = Math.min(navigator.hardwareConcurrency || 1, 8);
    ort.env.wasm.numThreads = self.crossOriginIsolated ? (asked > 0 ? Math.min(asked, cores) : cores) : 1;
  } catch (e) {
    showError(`Could not load onnxruntime-web (${e.message || e}). Serve this page with \`faststyle serve\`.`);
    return;
  }
  try {
    const response = await fetch("models.json");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    models = await response.json();
  } catch (e) {
    showError(`Could not list the models (models.json: ${e.message || e}). Serve this page with \`faststyle serve\`.`);
    return;
  }
  for (const m of models) {
    const count = (m.styles || []).length;
    // the tiny width is the one fast enough for the live camera: say so where the user picks
    const notes = [
      count > 1 ? `${count} styles` : "",
      m.predictor ? "any painting" : "",
      m.arch === "tiny" ? "fastest: for the camera" : "",
    ];
    const note = notes.filter(Boolean).join(", ");
    const option = new Option(note ? `${m.name} (${note})` : m.name, m.name);
    option.title = m.description;
    ui.model.add(option);
  }
  ui.model.disabled = false;
  camera = cameraMode({
    ui, loadSession, ensureEmbedding, showStyles, styleChoice, drawOriginal, stylize, setState, showError, clearError,
    idle: () => !busy,
    currentModel: () => models.find((m) => m.name === ui.model.value),
    stopped: () => photo && update(),  // what changed while the camera ran applies to the photo now
  });
  listen();
  update();  // load the first model now, so the first photo is quick
}

init();
