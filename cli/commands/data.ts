/**
 * `lipspline data patches --images DIR --out FILE.h5`: cut a folder of PNG/JPEG images into
 * square grayscale patches and write them as an HDF5 patch file in the authors' layout (one
 * dataset per patch, shape `[1, p, p]`, float32 in [0, 1]; docs/method.md §5.4).
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import {
  DEFAULT_PATCH_SIZE,
  DEFAULT_PATCH_STRIDE,
  extractPatches,
  writePatchFile,
} from "../../core/data/patches.ts";
import { listImages, readGrayImage } from "../../core/data/images.ts";
import { UserError } from "../../core/errors.ts";

function positiveInt(flag: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    throw new UserError(`Invalid ${flag}: expected an integer >= ${min}; got '${raw}'`);
  }
  return v;
}

/** Build the `data` command (`data patches`). */
export function dataCommand() {
  const data = new Command("data").description("prepare data sets (patches for denoising)");
  data.addCommand(
    new Command("patches")
      .description(
        "cut a folder of PNG/JPEG images into grayscale patches and write an HDF5 patch file",
      )
      .requiredOption("-i, --images <dir>", "folder of .png/.jpg/.jpeg images")
      .requiredOption("-o, --out <file>", "HDF5 file to write (e.g. data/train.h5)")
      .option("--size <n>", `patch side in pixels (default ${DEFAULT_PATCH_SIZE})`)
      .option("--stride <n>", `distance between patch corners (default ${DEFAULT_PATCH_STRIDE})`)
      .option("--augment", "add one randomly rotated/flipped copy of every patch", false)
      .option("--seed <n>", "seed of the augmentation draws (default 0)")
      .action(async (opts) => {
        const size = positiveInt("--size", opts.size, DEFAULT_PATCH_SIZE);
        const stride = positiveInt("--stride", opts.stride, DEFAULT_PATCH_STRIDE);
        const seed = positiveInt("--seed", opts.seed, 0, 0);
        const files = await listImages(opts.images, "image folder (--images)");
        const images = [];
        for (const f of files) images.push(await readGrayImage(f));
        const set = extractPatches(images, { size, stride, augment: opts.augment, seed });
        await writePatchFile(opts.out, set);
        console.log(
          `wrote ${set.count} patches of ${size}×${size} from ${files.length} images to ${opts.out}`,
        );
      }),
  );
  return data;
}
