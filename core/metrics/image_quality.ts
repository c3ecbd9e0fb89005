/**
 * Image-quality metrics of the denoising experiment (docs/method.md §5.4), in float64 on the
 * host: PSNR (5.7) and the structural similarity SSIM (5.8) with the standard 11×11
 * Gaussian window of standard deviation 1.5 (Wang et al. 2004), `K1 = 0.01`, `K2 = 0.03`,
 * population (not sample) moments, averaged over the window positions that lie inside the image
 * (what `skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False)` computes). Both take the data range `L` (default 1).
 *
 * @module
 */

/** Side of the SSIM window. */
export const SSIM_WINDOW = 11;
/** Standard deviation of the SSIM window. */
export const SSIM_SIGMA = 1.5;

/**
 * PSNR in dB of `y` against the reference `x` (same length): `10 log10(L² / MSE)`
 * (docs/method.md (5.7)); `Infinity` when they are equal.
 *
 * @example
 * ```ts
 * import { psnr } from "./image_quality.ts";
 * psnr(new Float32Array(4), new Float32Array(4).fill(0.1)); // 20 dB
 * ```
 */
export function psnr(x: ArrayLike<number>, y: ArrayLike<number>, range = 1): number {
  if (x.length !== y.length || x.length === 0) {
    throw new Error(`psnr needs two non-empty arrays of one length: ${x.length} and ${y.length}`);
  }
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - y[i];
    s += d * d;
  }
  const mse = s / x.length;
  return 10 * Math.log10((range * range) / mse);
}

/** The normalised 1-D Gaussian taps of the SSIM window. */
export function ssimTaps(size = SSIM_WINDOW, sigma = SSIM_SIGMA): Float64Array {
  const r = (size - 1) / 2;
  const t = new Float64Array(size);
  let sum = 0;
  for (let k = -r; k <= r; k++) sum += t[k + r] = Math.exp(-(k * k) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) t[i] /= sum;
  return t;
}

/** Separable "valid" filtering of an `h×w` map with `taps` along both axes. */
function filterValid(src: Float64Array, h: number, w: number, taps: Float64Array): Float64Array {
  const n = taps.length;
  const oh = h - n + 1, ow = w - n + 1;
  const rows = new Float64Array(h * ow);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < ow; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += taps[k] * src[i * w + j + k];
      rows[i * ow + j] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += taps[k] * rows[(i + k) * ow + j];
      out[i * ow + j] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM of `y` against `x`, both `h×w` row-major (docs/method.md (5.8)):
 * `((2 μx μy + C1)(2 σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2))` with Gaussian-weighted
 * local moments, `C1 = (0.01 L)²`, `C2 = (0.03 L)²`, averaged over every window position inside
 * the image. Images smaller than the window are an error.
 *
 * @example
 * ```ts
 * import { ssim } from "./image_quality.ts";
 * const a = new Float32Array(16 * 16).fill(0.5);
 * ssim(a, a, 16, 16); // 1
 * ```
 */
export function ssim(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  h: number,
  w: number,
  range = 1,
): number {
  if (x.length !== h * w || y.length !== h * w) {
    throw new Error(`ssim needs two ${h}×${w} images: lengths are ${x.length} and ${y.length}`);
  }
  if (h < SSIM_WINDOW || w < SSIM_WINDOW) {
    throw new Error(
      `ssim needs images of at least ${SSIM_WINDOW}×${SSIM_WINDOW}: image is ${h}×${w}`,
    );
  }
  const taps = ssimTaps();
  const n = h * w;
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  const x64 = Float64Array.from(x), y64 = Float64Array.from(y);
  for (let i = 0; i < n; i++) {
    xx[i] = x64[i] * x64[i];
    yy[i] = y64[i] * y64[i];
    xy[i] = x64[i] * y64[i];
  }
  const mx = filterValid(x64, h, w, taps), my = filterValid(y64, h, w, taps);
  const exx = filterValid(xx, h, w, taps), eyy = filterValid(yy, h, w, taps);
  const exy = filterValid(xy, h, w, taps);
  const c1 = (0.01 * range) ** 2, c2 = (0.03 * range) ** 2;
  let sum = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i], uy = my[i];
    const vx = exx[i] - ux * ux, vy = eyy[i] - uy * uy, cxy = exy[i] - ux * uy;
    sum += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return sum / mx.length;
}
