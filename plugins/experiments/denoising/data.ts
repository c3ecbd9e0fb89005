/**
 * Data of the denoising experiment (docs/method.md §5.4): the training patches (an HDF5 patch
 * file, or patches cut from a folder of PNG/JPEG images), the validation images (an HDF5 file of
 * `[1, H, W]` images, or a folder), and the Gaussian noise `sigma/255 · N(0, 1)`.
 *
 * @module
 */
import {
  extractPatches,
  type GrayImage,
  listImages,
  type PatchOptions,
  type PatchSet,
  readGrayImage,
  readHdf5Images,
  readPatchFile,
  type Rng,
  UserError,
} from "../../../plugin.ts";
import { basename, extname } from "node:path";
import { stat } from "node:fs/promises";

/** A validation (or user) image with a name for tables and metric keys. */
export interface NamedImage extends GrayImage {
  /** The file's name without extension, or the HDF5 dataset index. */
  name: string;
}

async function isFolder(path: string): Promise<boolean> {
  return await stat(path).then((s) => s.isDirectory(), () => false);
}

/** Read every image of a folder, named by file stem. */
export async function readImageFolder(dir: string, what: string): Promise<NamedImage[]> {
  const files = await listImages(dir, what);
  const out: NamedImage[] = [];
  for (const f of files) {
    out.push({ ...(await readGrayImage(f)), name: basename(f, extname(f)) });
  }
  return out;
}

/**
 * The training patches of `source`: an HDF5 patch file (every dataset `[1, p, p]`, `p` =
 * `opts.size` when given), or a folder of images cut with `opts`.
 */
export async function loadTrainingPatches(
  source: string,
  opts: PatchOptions,
  key = "training_options.train_data_file",
): Promise<PatchSet> {
  if (await isFolder(source)) {
    const images = await readImageFolder(source, `training images (${key})`);
    return extractPatches(images, opts);
  }
  const exists = await stat(source).then(() => true, () => false);
  if (!exists) {
    throw new UserError(
      `Cannot read the training data (${key}) as it is neither a folder nor a file: ${source}`,
    );
  }
  return await readPatchFile(source, opts.size);
}

/** The validation images of `source`: a folder of images, or an HDF5 file of `[1, H, W]` images. */
export async function loadValidationImages(
  source: string,
  key = "training_options.val_data_file",
): Promise<NamedImage[]> {
  if (await isFolder(source)) return await readImageFolder(source, `validation images (${key})`);
  const exists = await stat(source).then(() => true, () => false);
  if (!exists) {
    throw new UserError(
      `Cannot read the validation data (${key}) as it is neither a folder nor a file: ${source}`,
    );
  }
  const images = await readHdf5Images(source, `validation file (${key})`);
  return images.map((im, i) => ({ ...im, name: String(i) }));
}

/**
 * `clean + sigma/255 · n` with `n` standard normal draws from `rng`, one per value, in order
 * (docs/method.md §5.4, the noisy input of (5.6)). Not clamped: the authors feed unclamped noisy inputs.
 */
export function addNoise(clean: Float32Array, sigma: number, rng: Rng): Float32Array {
  const s = sigma / 255;
  const out = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = clean[i] + s * rng.normal();
  return out;
}
