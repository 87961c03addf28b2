// Any painting as the style, in the page: the painting is shrunk (or enlarged) so its longer side is
// the predictor's side, exactly as faststyle.painting does it in Python (Pillow's Lanczos filter,
// reproduced here to the bit: fixed-point weights, a horizontal then a vertical pass, each rounded
// to 8 bits), then the model's predictor graph turns it into the style embedding that the
// transform graph takes as its "style" input. The painting never leaves the page either.

const PRECISION_BITS = 22;  // Pillow's fixed point for 8-bit images: 32 - 8 - 2

function sinc(x) {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const lanczos = (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0);

// Python's round(): halves go to the even neighbour.
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc: per output pixel, its first input pixel,
// how many it reads, and their integer weights.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const ss = 1 / filterScale;  // multiplied, not divided, as Pillow does: the same last bit
  const out = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = [];
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = lanczos((x + xmin - center + 0.5) * ss);
      k.push(w);
      total += w;
    }
    const fixed = k.map((w) => {
      const v = (total !== 0 ? w / total : w) * (1 << PRECISION_BITS);
      return Math.trunc(v < 0 ? v - 0.5 : v + 0.5);
    });
    out.push({ first: xmin, weights: fixed });
  }
  return out;
}

function clip8(sum) {
  if (sum <= 0) return 0;
  const v = Math.floor(sum / (1 << PRECISION_BITS));
  return v > 255 ? 255 : v;
}

// RGB Uint8Array [h, w, 3] -> [h, outWidth, 3] (one pass of Pillow's resample along the rows).
function resampleRows(rgb, h, w, outWidth) {
  const coeffs = coefficients(w, outWidth);
  const out = new Uint8Array(h * outWidth * 3);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < outWidth; xx++) {
      const { first, weights } = coeffs[xx];
      for (let c = 0; c < 3; c++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < weights.length; i++) sum += rgb[(y * w + first + i) * 3 + c] * weights[i];
        out[(y * outWidth + xx) * 3 + c] = clip8(sum);
      }
    }
  }
  return out;
}

// RGB [h, w, 3] -> [outHeight, w, 3] (the same along the columns).
function resampleColumns(rgb, h, w, outHeight) {
  const coeffs = coefficients(h, outHeight);
  const out = new Uint8Array(outHeight * w * 3);
  for (let yy = 0; yy < outHeight; yy++) {
    const { first, weights } = coeffs[yy];
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let i = 0; i < weights.length; i++) sum += rgb[((first + i) * w + x) * 3 + c] * weights[i];
        out[(yy * w + x) * 3 + c] = clip8(sum);
      }
    }
  }
  return out;
}

// RGBA ImageData of the whole painting -> {rgb: Uint8Array [h, w, 3], width, height}, longer side `side`.
export function predictorPixels(rgba, side) {
  const { width, height, data } = rgba;
  const scale = side / Math.max(width, height);
  const outW = Math.max(1, roundHalfEven(width * scale));
  const outH = Math.max(1, roundHalfEven(height * scale));
  let rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = data[i];
    rgb[j + 1] = data[i + 1];
    rgb[j + 2] = data[i + 2];
  }
  let w = width;
  if (outW !== width) {
    rgb = resampleRows(rgb, height, width, outW);
    w = outW;
  }
  if (outH !== height) rgb = resampleColumns(rgb, height, w, outH);
  return { rgb, width: outW, height: outH };
}

// The painting's embedding for one model: its predictor graph run on the resized painting.
export async function embedPainting(ort, session, rgba, side) {
  const { rgb, width, height } = predictorPixels(rgba, side);
  const input = new ort.Tensor("uint8", rgb, [1, height, width, 3]);
  const results = await session.run({ [session.inputNames[0]]: input });
  return Float32Array.from(results[session.outputNames[0]].data);
}
