/**
 * Training patches of the denoising experiment (docs/method.md §5.4): square crops cut from
 * grayscale images, and the authors' HDF5 patch files (one dataset per patch or image, shape
 * `[1, H, W]` or `[H, W]`, float values in [0, 1], under arbitrary keys), read and written with
 * h5wasm.
 *
 * Extraction: for every image (in the order given), the top-left corners `(i, j)` with
 * `i = 0, s, 2s, … ≤ H − p` and `j` likewise (row-major), where `p` is the patch size and `s`
 * the stride. With augmentation every patch is followed by a copy transformed by one of the
 * seven non-identity symmetries of the square (rotations by 90°, 180°, 270°, and the flips),
 * drawn uniformly from an MT19937 seeded with `seed`; the count doubles.
 *
 * @module
 */
import h5wasm from "h5wasm/node";
import { rename, rm } from "node:fs/promises";
import { UserError } from "../errors.ts";
import { hdf5FileState } from "../io/hdf5_file.ts";
import type { GrayImage } from "./images.ts";
import { MT19937 } from "../rng/mt19937.ts";

/** A set of square grayscale patches stored contiguously. */
export interface PatchSet {
  /** Side length `p`. */
  size: number;
  /** Number of patches. */
  count: number;
  /** `count × p × p` values, patch-major then row-major. */
  data: Float32Array;
}

/** How patches are cut from images. */
export interface PatchOptions {
  /** Side length (default 40). */
  size?: number;
  /** Distance between neighbouring corners (default 10). */
  stride?: number;
  /** Add one randomly transformed copy of every patch (default false). */
  augment?: boolean;
  /** Seed of the augmentation draws (default 0). */
  seed?: number;
}

/** Default patch side (the authors' 40×40). */
export const DEFAULT_PATCH_SIZE = 40;
/** Default stride between patch corners. */
export const DEFAULT_PATCH_STRIDE = 10;

/**
 * Apply symmetry `mode` of the square (0 identity, 1 rot90, 2 rot180, 3 rot270, 4 flip up-down,
 * 5 flip then rot90, 6 flip then rot180, 7 flip then rot270) to the `p×p` patch `src`, writing
 * into `dst` (which must not alias `src`).
 */
export function transformPatch(
  src: Float32Array,
  dst: Float32Array,
  p: number,
  mode: number,
): void {
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      // Start from (i, j) of the output and find its source pixel.
      let r = i, c = j;
      const rot = mode % 4;
      // Inverse rotation (counter-clockwise by 90° per step): out(r, c) = in(c, p-1-r).
      for (let k = 0; k < rot; k++) [r, c] = [c, p - 1 - r];
      if (mode >= 4) r = p - 1 - r;
      dst[i * p + j] = src[r * p + c];
    }
  }
}

/** Number of corners along a side of length `n`. */
function corners(n: number, p: number, s: number): number {
  return n < p ? 0 : Math.floor((n - p) / s) + 1;
}

/**
 * Cut the patches of `images` (see the module notes). Throws a `UserError` when the options are
 * not positive integers or no image is at least `size × size`.
 *
 * @example
 * ```ts
 * import { extractPatches } from "./patches.ts";
 * const img = { height: 4, width: 4, data: new Float32Array(16).map((_, i) => i / 16) };
 * const set = extractPatches([img], { size: 2, stride: 2 }); // 4 patches of 2×2
 * ```
 */
export function extractPatches(images: GrayImage[], opts: PatchOptions = {}): PatchSet {
  const p = opts.size ?? DEFAULT_PATCH_SIZE;
  const s = opts.stride ?? DEFAULT_PATCH_STRIDE;
  for (const [key, v] of [["size", p], ["stride", s]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new UserError(
        `Cannot cut patches as the patch ${key} must be a positive integer: ${key} is ${v}`,
      );
    }
  }
  let count = 0;
  for (const im of images) count += corners(im.height, p, s) * corners(im.width, p, s);
  if (count === 0) {
    throw new UserError(
      `Cannot cut patches as no image is at least ${p}×${p} pixels (${images.length} images)`,
    );
  }
  const copies = opts.augment ? 2 : 1;
  const data = new Float32Array(count * copies * p * p);
  const rng = opts.augment ? new MT19937(opts.seed ?? 0) : null;
  const tmp = new Float32Array(p * p);
  let k = 0;
  for (const im of images) {
    const ni = corners(im.height, p, s), nj = corners(im.width, p, s);
    for (let a = 0; a < ni; a++) {
      for (let b = 0; b < nj; b++) {
        const out = data.subarray(k * p * p, (k + 1) * p * p);
        for (let r = 0; r < p; r++) {
          const from = (a * s + r) * im.width + b * s;
          out.set(im.data.subarray(from, from + p), r * p);
        }
        k++;
        if (rng) {
          tmp.set(out);
          transformPatch(tmp, data.subarray(k * p * p, (k + 1) * p * p), p, 1 + rng.int(7));
          k++;
        }
      }
    }
  }
  return { size: p, count: count * copies, data };
}

type H5File = InstanceType<typeof h5wasm.File>;
type H5Group = InstanceType<typeof h5wasm.Group>;

let ready: Promise<unknown> | null = null;

/** Throw a one-line UserError unless `path` is an existing file with an HDF5 signature. */
async function checkHdf5(path: string, what: string): Promise<void> {
  const state = await hdf5FileState(path);
  if (state === "missing") {
    throw new UserError(`Cannot read the ${what} as the file does not exist: ${path}`);
  }
  if (state === "not-hdf5") {
    throw new UserError(`Cannot read the ${what} as the file is not an HDF5 file: ${path}`);
  }
}

/** Numeric-aware key order ("2" before "10"). */
const keyOrder = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/**
 * Read every dataset of an HDF5 file (groups are walked, keys in numeric-aware order) as a
 * grayscale image: shape `[1, H, W]` or `[H, W]`, numeric. Throws a one-line `UserError`
 * naming the file (and the dataset) when the file is missing, not HDF5, unreadable, holds no
 * dataset, or a dataset has another shape or type.
 */
export async function readHdf5Images(path: string, what = "HDF5 image file"): Promise<GrayImage[]> {
  await checkHdf5(path, what);
  ready ??= h5wasm.ready;
  await ready;
  let file: H5File;
  try {
    file = new h5wasm.File(path, "r");
  } catch (e) {
    throw new UserError(
      `Cannot read the ${what} as HDF5 cannot open it: ${path} (${(e as Error).message})`,
    );
  }
  if (file.file_id < 0n) {
    throw new UserError(`Cannot read the ${what} as HDF5 cannot open it: ${path}`);
  }
  const images: GrayImage[] = [];
  try {
    const walk = (g: H5Group, prefix: string): void => {
      for (const key of [...g.keys()].sort(keyOrder)) {
        const name = prefix ? `${prefix}/${key}` : key;
        const entity = g.get(key);
        if (entity instanceof h5wasm.Group) {
          walk(entity, name);
          continue;
        }
        if (!(entity instanceof h5wasm.Dataset)) continue;
        const shape = [...(entity.shape ?? [])];
        const ok = (shape.length === 3 && shape[0] === 1) || shape.length === 2;
        if (!ok || shape.some((d) => d < 1)) {
          throw new UserError(
            `Cannot read the ${what} as every dataset must have shape [1, H, W] or [H, W]: ` +
              `${path} dataset '${name}' has shape [${shape.join(", ")}]`,
          );
        }
        let value: unknown;
        try {
          value = entity.value;
        } catch (e) {
          throw new UserError(
            `Cannot read the ${what} as dataset '${name}' cannot be read: ${path} (${
              (e as Error).message
            })`,
          );
        }
        if (
          !ArrayBuffer.isView(value) || value instanceof DataView ||
          value instanceof BigInt64Array || value instanceof BigUint64Array
        ) {
          throw new UserError(
            `Cannot read the ${what} as every dataset must hold numbers: ${path} dataset '${name}' does not`,
          );
        }
        const [h, w] = shape.slice(-2);
        const data = value instanceof Float32Array
          ? value
          : Float32Array.from(value as unknown as ArrayLike<number>);
        images.push({ height: h, width: w, data });
      }
    };
    walk(file, "");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `Cannot read the ${what} as it is corrupt: ${path} (${(e as Error).message})`,
    );
  } finally {
    file.close();
  }
  if (images.length === 0) {
    throw new UserError(`Cannot read the ${what} as it holds no dataset: ${path}`);
  }
  return images;
}

/**
 * Read an HDF5 patch file: every dataset must be `[1, p, p]` (or `[p, p]`) with the same `p`,
 * and `p` must equal `size` when given. Throws a one-line `UserError` otherwise.
 */
export async function readPatchFile(path: string, size?: number): Promise<PatchSet> {
  const images = await readHdf5Images(path, "patch file");
  const p = size ?? images[0].height;
  images.forEach((im, i) => {
    if (im.height !== p || im.width !== p) {
      throw new UserError(
        `Cannot read the patch file as every patch must be [1, ${p}, ${p}]: ${path} patch ${i} is [1, ${im.height}, ${im.width}]`,
      );
    }
  });
  const data = new Float32Array(images.length * p * p);
  images.forEach((im, i) => data.set(im.data, i * p * p));
  return { size: p, count: images.length, data };
}

/**
 * Write `set` as an HDF5 patch file in the authors' layout: datasets `0`, `1`, … of shape
 * `[1, p, p]`, float32. Atomic: a temp file is written, then renamed onto `path`.
 */
export async function writePatchFile(path: string, set: PatchSet): Promise<void> {
  ready ??= h5wasm.ready;
  await ready;
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  let file: H5File | null = null;
  try {
    file = new h5wasm.File(tmp, "w");
    if (file.file_id < 0n) {
      throw new UserError(`Cannot write the patch file as it cannot be created: ${path}`);
    }
    const p = set.size;
    for (let i = 0; i < set.count; i++) {
      file.create_dataset({
        name: String(i),
        data: set.data.slice(i * p * p, (i + 1) * p * p),
        shape: [1, p, p],
        dtype: "<f4",
      });
    }
    file.close();
    file = null;
    await rename(tmp, path);
  } catch (e) {
    try {
      file?.close();
    } catch { /* keep the first error */ }
    await rm(tmp, { force: true });
    if (e instanceof UserError) throw e;
    throw new UserError(
      `Cannot write the patch file: ${path} (${(e as Error).message.split("\n")[0]})`,
    );
  }
}
