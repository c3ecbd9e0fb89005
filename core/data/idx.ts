/**
 * Reader for MNIST's IDX files (docs/method.md §5.5): a big-endian int32 magic (2051 for images, 2049 for
 * labels), big-endian int32 sizes, then unsigned bytes.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { UserError } from "../errors.ts";

/** Magic number of an IDX image file (`idx3-ubyte`). */
export const IDX_IMAGES_MAGIC = 2051;
/** Magic number of an IDX label file (`idx1-ubyte`). */
export const IDX_LABELS_MAGIC = 2049;

/** The md5 sums of the four official MNIST files (docs/method.md §5.5), by file name. */
export const MNIST_MD5: Readonly<Record<string, string>> = {
  "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
  "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
  "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
  "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
};

/** The contents of an IDX file. Labels files have `rows = cols = 1`. */
export interface IdxData {
  /** Number of items (images or labels). */
  count: number;
  /** Rows per image (1 for labels). */
  rows: number;
  /** Columns per image (1 for labels). */
  cols: number;
  /** `count * rows * cols` bytes, item-major, row-major within an image. */
  data: Uint8Array;
}

/** Options for {@linkcode readIdx}. */
export interface ReadIdxOptions {
  /** Expected md5 (hex) of the whole file; a mismatch throws `UserError`. */
  md5?: string;
  /** Expected kind; a file of the other kind throws `UserError`. */
  expect?: "images" | "labels";
}

/**
 * Read an IDX images (magic 2051) or labels (magic 2049) file. Throws `UserError` naming
 * `path` when the file is missing, has another magic, is truncated, or fails the md5 check.
 */
export async function readIdx(path: string, options: ReadIdxOptions = {}): Promise<IdxData> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UserError(
      `Cannot read the IDX file as it cannot be opened: ${path} (${
        e instanceof Error ? e.message.split("\n")[0] : String(e)
      })`,
    );
  }
  if (options.md5 !== undefined) {
    const got = createHash("md5").update(bytes).digest("hex");
    if (got !== options.md5.toLowerCase()) {
      throw new UserError(
        `Cannot read the IDX file as its md5 must be ${options.md5}: ${path} has md5 ${got}`,
      );
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = bytes.length >= 4 ? view.getInt32(0, false) : -1;
  if (magic !== IDX_IMAGES_MAGIC && magic !== IDX_LABELS_MAGIC) {
    throw new UserError(
      `Cannot read the IDX file as its magic must be ${IDX_IMAGES_MAGIC} (images) or ` +
        `${IDX_LABELS_MAGIC} (labels): ${path} has magic ${magic < 0 ? "none" : magic}`,
    );
  }
  const isImages = magic === IDX_IMAGES_MAGIC;
  if (options.expect !== undefined && options.expect !== (isImages ? "images" : "labels")) {
    throw new UserError(
      `Cannot read the IDX file as it must hold ${options.expect}: ${path} holds ` +
        `${isImages ? "images" : "labels"} (magic ${magic})`,
    );
  }
  const header = isImages ? 16 : 8;
  if (bytes.length < header) {
    throw new UserError(
      `Cannot read the IDX file as its header is truncated: ${path} has ${bytes.length} bytes`,
    );
  }
  const count = view.getInt32(4, false);
  const rows = isImages ? view.getInt32(8, false) : 1;
  const cols = isImages ? view.getInt32(12, false) : 1;
  const size = count * rows * cols;
  if (count < 0 || rows < 0 || cols < 0 || bytes.length !== header + size) {
    throw new UserError(
      `Cannot read the IDX file as its size must be ${header} + ${count} x ${rows} x ${cols} ` +
        `bytes: ${path} has ${bytes.length} bytes`,
    );
  }
  return { count, rows, cols, data: bytes.slice(header, header + size) };
}
