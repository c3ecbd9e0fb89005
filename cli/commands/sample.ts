/**
 * `lipspline sample RUN_DIR [--n 64] --out FILE`: images from a trained WGAN generator
 * (docs/method.md §5.3), as a PNG grid (`.png`) or as HDF5 (`.h5`/`.hdf5`: dataset `images`,
 * `[n, 28, 28]`, float32 in [0, 1], readable by h5py). `RUN_DIR` is a wgan run folder (its
 * `checkpoint.h5`) or a generator checkpoint file (e.g. `data/wgan_generator.h5`).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { join } from "node:path";
import { stat } from "node:fs/promises";
import h5wasm from "h5wasm/node";
import { tf } from "../../core/backend/tf.ts";
import { DEVICE_CHOICES, type DeviceChoice, initBackend } from "../../core/backend/backend.ts";
import type { PluginResolver } from "../../core/plugin/interfaces.ts";
import { UserError } from "../../core/errors.ts";
import { MT19937 } from "../../core/rng/mt19937.ts";
import { imageGridPng } from "../../core/output/image_grid.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { loadGenerator } from "../../plugins/experiments/wasserstein/generator_file.ts";
import { drawZ, generate } from "../../plugins/experiments/wgan/mod.ts";

/** Write `n` generated images to `out`; returns the path. */
export async function runSample(
  target: string,
  opts: { n: string; out: string; seed: string; device: DeviceChoice },
  registry: PluginResolver,
): Promise<string> {
  const n = Number(opts.n), seed = Number(opts.seed);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(`Cannot sample as --n must be a positive integer: --n is ${opts.n}`);
  }
  if (!Number.isInteger(seed) || seed < 0) {
    throw new UserError(`Cannot sample as --seed must be an integer >= 0: --seed is ${opts.seed}`);
  }
  const lower = opts.out.toLowerCase();
  const kind = lower.endsWith(".png") ? "png" : /\.(h5|hdf5)$/.test(lower) ? "h5" : null;
  if (!kind) {
    throw new UserError(
      `Cannot sample as --out must end in .png, .h5 or .hdf5: --out is ${opts.out}`,
    );
  }
  const isDir = await stat(target).then((s) => s.isDirectory(), () => false);
  const file = isDir ? join(target, "checkpoint.h5") : target;
  await initBackend(opts.device);
  const gen = await loadGenerator(tf, registry, file, "RUN_DIR");
  try {
    const g = generate(tf, gen, drawZ(new MT19937(seed), n), n);
    const img = tf.tidy(() => tf.clipByValue(tf.div(tf.add(g, 1), 2), 0, 1));
    const data = new Float32Array(await img.data());
    g.dispose();
    img.dispose();
    if (kind === "png") {
      await writeFileAtomic(opts.out, imageGridPng(data, n, 28, 28, Math.ceil(Math.sqrt(n))));
    } else {
      await h5wasm.ready;
      const f = new h5wasm.File(opts.out, "w");
      try {
        f.create_dataset({ name: "images", data, shape: [n, 28, 28], dtype: "<f4" });
        f.create_attribute("source", file);
      } finally {
        f.close();
      }
    }
  } finally {
    gen.dispose();
  }
  return opts.out;
}

/** Build the `sample` command. */
export function sampleCommand(registry: PluginResolver) {
  return new Command("sample")
    .description("images from a trained WGAN generator, as a PNG grid or HDF5 (dataset images)")
    .argument("<RUN_DIR>", "a wgan run folder, or a generator checkpoint file")
    .option("--n <n>", "number of images", "64")
    .requiredOption("--out <file>", "output: .png (grid) or .h5 ([n, 28, 28] float32 in [0, 1])")
    .option("--seed <n>", "seed of the latent vectors z ~ U[0, 1]^62", "0")
    .addOption(
      new Option("-d, --device <device>", "where to compute")
        .choices(DEVICE_CHOICES)
        .default("auto" as DeviceChoice),
    )
    .action(async (target: string, opts) => {
      console.log(await runSample(target, opts, registry));
    });
}
