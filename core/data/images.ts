/**
 * Grayscale images for the denoising experiment (docs/method.md §5.4): decode PNG (pngjs) and
 * JPEG (jpeg-js) files into `[H, W]` float values in [0, 1], list the images of a folder, and
 * encode a grayscale image back to PNG. Colour images are converted to luma with the ITU-R BT.601
 * weights `0.299 R + 0.587 G + 0.114 B` (what PIL's `convert("L")` uses); an alpha channel is
 * ignored; 16-bit PNGs are read at 8 bits.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import { UserError } from "../errors.ts";

/** A grayscale image: row-major values in [0, 1]. */
export interface GrayImage {
  /** Number of rows. */
  height: number;
  /** Number of columns. */
  width: number;
  /** `height × width` values, row-major. */
  data: Float32Array;
}

/** File extensions read as images (lower case). */
export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg"];

/** Whether `path` names a PNG or JPEG file by its extension. */
export function isImageFile(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** Luma of RGBA bytes (BT.601) scaled to [0, 1]; gray pixels (R = G = B) are read exactly. */
function rgbaToGray(rgba: ArrayLike<number>, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const [r, g, b] = [rgba[o], rgba[o + 1], rgba[o + 2]];
    out[i] = (r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b) / 255;
  }
  return out;
}

/** Decode PNG bytes to grayscale (any bit depth and colour type; pngjs gives 8-bit RGBA). */
function decodePng(bytes: Uint8Array, path: string): GrayImage {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new UserError(
      `Cannot read the image as it is not a valid PNG: ${path} (${(e as Error).message})`,
    );
  }
  const { width, height } = png;
  return { width, height, data: rgbaToGray(png.data, width * height) };
}

/** Decode JPEG bytes to grayscale. */
function decodeJpeg(bytes: Uint8Array, path: string): GrayImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 2048 });
  } catch (e) {
    throw new UserError(
      `Cannot read the image as it is not a valid JPEG: ${path} (${(e as Error).message})`,
    );
  }
  return {
    width: img.width,
    height: img.height,
    data: rgbaToGray(img.data, img.width * img.height),
  };
}

/**
 * Read a PNG or JPEG file as a grayscale image in [0, 1]. Throws a one-line `UserError` naming
 * the file when it is missing, has another extension, or does not decode.
 *
 * @example
 * ```ts ignore
 * const img = await readGrayImage("data/set12/01.png"); // { height: 256, width: 256, data }
 * ```
 */
export async function readGrayImage(path: string): Promise<GrayImage> {
  if (!isImageFile(path)) {
    throw new UserError(
      `Cannot read the image as it must be a .png, .jpg or .jpeg file: ${path}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    throw new UserError(
      `Cannot read the image as the file does not exist or is unreadable: ${path}`,
    );
  }
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  if (isPng) return decodePng(bytes, path);
  if (isJpeg) return decodeJpeg(bytes, path);
  throw new UserError(
    `Cannot read the image as the file is neither PNG nor JPEG (wrong signature): ${path}`,
  );
}

/**
 * The image files (PNG, JPEG) of a folder, sorted by name. Throws a `UserError` when `dir` is
 * not a folder or holds no image.
 */
export async function listImages(dir: string, what = "image folder"): Promise<string[]> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    throw new UserError(`Cannot read the ${what} as it is not a folder: ${dir}`);
  }
  const files = (await readdir(dir)).filter(isImageFile).sort().map((f) => join(dir, f));
  if (files.length === 0) {
    throw new UserError(
      `Cannot read the ${what} as it holds no .png, .jpg or .jpeg file: ${dir}`,
    );
  }
  return files;
}

/** Encode a grayscale image (values clamped to [0, 1], rounded to 8 bits) as PNG bytes. */
export function encodeGrayPng(img: GrayImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  const buf = png.data as unknown as Uint8Array;
  // pngjs takes RGBA input; colorType 0 writes one gray channel.
  for (let i = 0; i < img.width * img.height; i++) {
    const v = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255);
    buf[i * 4] = buf[i * 4 + 1] = buf[i * 4 + 2] = v;
    buf[i * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType: 0, inputColorType: 6 } as never));
}
