import { encodeGrayPng, type GrayImage } from "../../../plugin.ts";
/**
 * The denoising experiment's image figure: for each of a few images, the clean, noisy and
 * denoised versions side by side (columns in that order), cropped to their central
 * `crop × crop` pixels, on a white background, as one grayscale PNG.
 *
 * @module
 */

/** One row of the figure: the three versions of one image (same size). */
export interface ComparisonRow {
  clean: GrayImage;
  noisy: GrayImage;
  denoised: GrayImage;
}

/** Gap between panels, in pixels. */
const GAP = 6;

/**
 * A PNG of `rows` (clean | noisy | denoised per row), each panel the central `crop × crop`
 * pixels (the whole image when smaller).
 *
 * @example
 * ```ts ignore
 * const png = comparisonPng([{ clean, noisy, denoised }], 256);
 * ```
 */
export function comparisonPng(rows: ComparisonRow[], crop = 256): Uint8Array {
  const sizes = rows.map((r) => ({
    h: Math.min(crop, r.clean.height),
    w: Math.min(crop, r.clean.width),
  }));
  const pw = Math.max(...sizes.map((s) => s.w));
  const width = 3 * pw + 4 * GAP;
  const height = sizes.reduce((a, s) => a + s.h + GAP, GAP);
  const data = new Float32Array(width * height).fill(1);
  let y0 = GAP;
  rows.forEach((r, i) => {
    const { h, w } = sizes[i];
    const top = Math.floor((r.clean.height - h) / 2), left = Math.floor((r.clean.width - w) / 2);
    [r.clean, r.noisy, r.denoised].forEach((im, c) => {
      const x0 = GAP + c * (pw + GAP);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          data[(y0 + y) * width + x0 + x] = im.data[(top + y) * im.width + left + x];
        }
      }
    });
    y0 += h + GAP;
  });
  return encodeGrayPng({ width, height, data });
}
