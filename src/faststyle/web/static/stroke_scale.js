// The stroke scale in the page, as faststyle.inference.stroke_scale does it in Python: the model
// paints the photo shrunk by 1/S, and the result comes back to full size by a guided upsampling
// (a local linear model of the painted result in terms of the photo's luminance, fitted at low
// resolution, applied to the full-resolution photo, plus what the model leaves unexplained), so
// the photo's edges stay sharp while the strokes are S times as large. S < 1 paints the photo
// enlarged and shrinks the result.

const RADIUS = 2;    // the guided filter's window at low resolution: (2r + 1)^2 pixels
const EPS = 1e-3;    // luminance variance (0-1) below which a window counts as flat
const LUMA = [0.299 / 255, 0.587 / 255, 0.114 / 255];

// RGBA ImageData resized with the browser's high-quality filter.
export function resizeImage(image, width, height) {
  const from = new OffscreenCanvas(image.width, image.height);
  from.getContext("2d").putImageData(image, 0, 0);
  const to = new OffscreenCanvas(width, height);
  const ctx = to.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(from, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

function luma(image) {
  const { width, height, data } = image;
  const out = new Float32Array(width * height);
  for (let p = 0, i = 0; p < out.length; p++, i += 4) {
    out[p] = data[i] * LUMA[0] + data[i + 1] * LUMA[1] + data[i + 2] * LUMA[2];
  }
  return out;
}

// Mean over a (2r + 1)^2 window of a [h, w] plane, mirrored at the edges (as numpy's "reflect").
function box(plane, width, height, r) {
  const mirror = (i, n) => (n <= r ? Math.min(Math.max(i, 0), n - 1) : i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const rows = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let d = -r; d <= r; d++) sum += plane[y * width + mirror(x + d, width)];
      rows[y * width + x] = sum;
    }
  }
  const out = new Float32Array(width * height);
  const n = (2 * r + 1) * (2 * r + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let d = -r; d <= r; d++) sum += rows[mirror(y + d, height) * width + x];
      out[y * width + x] = sum / n;
    }
  }
  return out;
}

// Bilinear sample of a [h, w] plane at pixel centres of a [H, W] grid.
function sampler(plane, width, height, outWidth, outHeight) {
  return (x, y) => {
    const fx = Math.min(Math.max((x + 0.5) * (width / outWidth) - 0.5, 0), width - 1);
    const fy = Math.min(Math.max((y + 0.5) * (height / outHeight) - 0.5, 0), height - 1);
    const x0 = Math.floor(fx), y0 = Math.floor(fy);
    const x1 = Math.min(x0 + 1, width - 1), y1 = Math.min(y0 + 1, height - 1);
    const ax = fx - x0, ay = fy - y0;
    const top = plane[y0 * width + x0] * (1 - ax) + plane[y0 * width + x1] * ax;
    const bottom = plane[y1 * width + x0] * (1 - ax) + plane[y1 * width + x1] * ax;
    return top * (1 - ay) + bottom * ay;
  };
}

// The painted RGBA ImageData of the shrunk photo -> RGBA ImageData at the photo's size.
export function guidedUpsample(low, photo) {
  const { width: w, height: h } = low;
  const guide = luma(resizeImage(photo, w, h));
  const meanG = box(guide, w, h, RADIUS);
  const g2 = guide.map((v) => v * v);
  const varG = box(g2, w, h, RADIUS).map((v, i) => v - meanG[i] * meanG[i]);
  const full = luma(photo);
  const out = new ImageData(photo.width, photo.height);
  for (let c = 0; c < 3; c++) {
    const target = new Float32Array(w * h);
    for (let p = 0; p < target.length; p++) target[p] = low.data[p * 4 + c] / 255;
    const meanT = box(target, w, h, RADIUS);
    const gt = box(target.map((v, i) => v * guide[i]), w, h, RADIUS);
    const a0 = gt.map((v, i) => (v - meanG[i] * meanT[i]) / (varG[i] + EPS));
    const b0 = meanT.map((v, i) => v - a0[i] * meanG[i]);
    const a = box(a0, w, h, RADIUS), b = box(b0, w, h, RADIUS);
    const rest = b.map((v, i) => target[i] - a[i] * guide[i]);  // b plus what the model leaves unexplained
    const sa = sampler(a, w, h, photo.width, photo.height);
    const sb = sampler(rest, w, h, photo.width, photo.height);
    for (let y = 0; y < photo.height; y++) {
      for (let x = 0; x < photo.width; x++) {
        const p = y * photo.width + x;
        out.data[p * 4 + c] = Math.round(Math.min(Math.max((sa(x, y) * full[p] + sb(x, y)) * 255, 0), 255));
      }
    }
  }
  for (let p = 3; p < out.data.length; p += 4) out.data[p] = 255;
  return out;
}

const NET_MIN_SIZE = 16; // faststyle.net_geometry.MIN_SIZE: the shortest side the network paints

// Stylize RGBA `photo` at stroke scale `scale` with `paint` (RGBA -> Promise<RGBA> at the same size).
export async function atStrokeScale(paint, photo, scale) {
  const width = Math.max(1, Math.round(photo.width / scale));
  const height = Math.max(1, Math.round(photo.height / scale));
  if (width === photo.width && height === photo.height) return paint(photo);
  if (Math.min(width, height) < NET_MIN_SIZE && scale > 1) {
    const largest = Math.floor((Math.min(photo.width, photo.height) / NET_MIN_SIZE) * 10) / 10;
    throw new Error(`stroke scale ${scale}: a ${photo.width}×${photo.height} photo would be painted at ` +
      `${width}×${height} px, below the network's ${NET_MIN_SIZE} px; the largest stroke scale for it is ${largest}`);
  }
  const painted = await paint(resizeImage(photo, width, height));
  return scale < 1 ? resizeImage(painted, photo.width, photo.height) : guidedUpsample(painted, photo);
}
