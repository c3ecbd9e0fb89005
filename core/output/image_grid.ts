/**
 * A grid of grayscale images as a PNG (sample grids of the WGAN, docs/method.md §5.3): `n` images
 * of `h × w` pixels in [0, 1], `cols` per row, separated by a 2-pixel border, each pixel drawn
 * as a `scale × scale` block.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";

/**
 * Encode images `[n, h, w]` (values in [0, 1], clamped) as a PNG grid.
 *
 * @example
 * ```ts
 * import { imageGridPng } from "./image_grid.ts";
 * const png = imageGridPng(new Float32Array(4 * 28 * 28), 4, 28, 28, 2);
 * ```
 */
export function imageGridPng(
  images: ArrayLike<number>,
  n: number,
  h: number,
  w: number,
  cols = Math.ceil(Math.sqrt(n)),
  scale = 2,
): Uint8Array {
  const rows = Math.ceil(n / cols);
  const pad = 2;
  const W = (cols * (w + pad) + pad) * scale, H = (rows * (h + pad) + pad) * scale;
  const png = new PNG({ width: W, height: H, colorType: 0, inputColorType: 0, bitDepth: 8 });
  const data = Buffer.alloc(W * H * 4, 255);
  for (let k = 0; k < n; k++) {
    const gx = (k % cols) * (w + pad) + pad, gy = Math.floor(k / cols) * (h + pad) + pad;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const v = Math.round(255 * Math.min(1, Math.max(0, images[(k * h + i) * w + j])));
        for (let a = 0; a < scale; a++) {
          for (let b = 0; b < scale; b++) {
            const o = (((gy + i) * scale + a) * W + (gx + j) * scale + b) * 4;
            data[o] = data[o + 1] = data[o + 2] = v;
            data[o + 3] = 255;
          }
        }
      }
    }
  }
  png.data = data;
  return new Uint8Array(PNG.sync.write(png, { colorType: 0 }));
}
