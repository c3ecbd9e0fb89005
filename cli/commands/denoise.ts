/**
 * `lipspline denoise RUN_DIR|CHECKPOINT --input FILE|DIR [--sigma S] [--seed N] [--out DIR]`:
 * denoise one's own PNG/JPEG images (any size, grayscale or colour converted to gray) with a
 * trained denoiser, one image per forward pass (docs/method.md §5.4). With `--sigma` the inputs
 * are clean: noise `sigma/255 · N(0, 1)` is added (MT19937 seeded with `--seed`, images in name
 * order) and a table of PSNR and SSIM per image (noisy and denoised) plus their mean is printed
 * and written as `metrics.json`. Without it the inputs are taken as noisy and only the denoised
 * images are written.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { existsSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import { tf } from "../../core/backend/tf.ts";
import { DEVICE_CHOICES, type DeviceChoice, initBackend } from "../../core/backend/backend.ts";
import { loadTrainedNetworks } from "../../core/certify/load_trained.ts";
import { encodeGrayPng, listImages, readGrayImage } from "../../core/data/images.ts";
import { psnr, ssim, SSIM_WINDOW } from "../../core/metrics/image_quality.ts";
import { UserError } from "../../core/errors.ts";
import { MT19937 } from "../../core/rng/mt19937.ts";
import { formatTable } from "../../core/output/progress.ts";
import type { PluginResolver } from "../../core/plugin/interfaces.ts";
import { RUN_FILES } from "../../core/io/run_dir.ts";

/** Options of {@linkcode runDenoise}. */
export interface DenoiseOptions {
  input: string;
  sigma?: string;
  seed?: string;
  out?: string;
  device?: DeviceChoice;
}

/** One image's result. */
export interface DenoiseRow {
  image: string;
  height: number;
  width: number;
  output: string;
  noisy_psnr?: number;
  noisy_ssim?: number;
  psnr?: number;
  ssim?: number;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** Messages of the backends running out of memory (wasm heap, WebAssembly memory, JS arrays). */
const OUT_OF_MEMORY =
  /memory access out of bounds|Unable to grow|no room for|allocation failed|out of memory/i;

/**
 * A one-line user error when `e` is the backend running out of memory on an image of `h×w`
 * pixels, else null: one image goes through the network whole, and a large one may not fit (on
 * wasm, 2000×2000 fits with the CPU preset's network and 2400×2400 does not).
 *
 * @example
 * ```ts ignore
 * throw tooLarge(e, "photo.png", 4000, 6000, "wasm") ?? e;
 * ```
 */
export function tooLarge(e: unknown, file: string, h: number, w: number, device: string) {
  const msg = e instanceof Error ? e.message : String(e);
  if (!OUT_OF_MEMORY.test(msg)) return null;
  return new UserError(
    `Cannot denoise ${file} as its ${h}×${w} pixels need more memory than the ${device} backend has ` +
      `(${msg}); crop or downscale it, or denoise it in parts`,
  );
}

/**
 * The command's body, callable in-process: returns the rows (and writes the images and, with
 * `sigma`, `metrics.json`).
 */
export async function runDenoise(
  target: string,
  opts: DenoiseOptions,
  registry: PluginResolver,
  print: (line: string) => void = console.log,
): Promise<DenoiseRow[]> {
  let sigma: number | undefined;
  if (opts.sigma !== undefined) {
    sigma = Number(opts.sigma);
    if (!Number.isFinite(sigma) || sigma < 0) {
      throw new UserError(`Invalid --sigma: expected a number >= 0; got '${opts.sigma}'`);
    }
  }
  const seed = opts.seed === undefined ? 0 : Number(opts.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    throw new UserError(`Invalid --seed: expected an integer in [0, 2^32); got '${opts.seed}'`);
  }
  const inputKind = await stat(opts.input).then(
    (s) => s.isDirectory() ? "dir" : "file",
    () => null,
  );
  if (inputKind === null) {
    throw new UserError(`Cannot denoise as --input does not exist: ${opts.input}`);
  }
  const files = inputKind === "dir" ? await listImages(opts.input, "input folder (--input)") : [
    opts.input,
  ];
  const images = [];
  for (const f of files) images.push({ file: f, ...(await readGrayImage(f)) });

  // A run folder: its best checkpoint (best PSNR) when there is one.
  const isDir = await stat(target).then((s) => s.isDirectory(), () => false);
  const best = join(target, "best.h5");
  const source = isDir && existsSync(best)
    ? best
    : isDir
    ? join(target, RUN_FILES.checkpoint)
    : target;
  const backend = await initBackend(opts.device ?? "auto");
  const loaded = await loadTrainedNetworks(source, registry);
  if (loaded.experiment !== "denoising") {
    for (const n of loaded.networks) n.net.dispose();
    throw new UserError(
      `Cannot denoise with ${target} as it is a ${loaded.experiment} run, not a denoising one`,
    );
  }
  const { net } = loaded.networks[0];
  const outDir = opts.out ?? join(loaded.runDir, "denoised");
  await mkdir(outDir, { recursive: true });
  print(`denoising ${images.length} image(s) with ${loaded.source} on ${backend.description}`);
  const rng = new MT19937(seed);
  const rows: DenoiseRow[] = [];
  try {
    for (const im of images) {
      const name = basename(im.file, extname(im.file));
      let noisy = im.data;
      if (sigma !== undefined) {
        const s = sigma / 255;
        noisy = new Float32Array(im.data.length);
        for (let i = 0; i < noisy.length; i++) noisy[i] = im.data[i] + s * rng.normal();
      }
      let out: Float32Array;
      try {
        const t = tf.tidy(() =>
          tf.clipByValue(
            net.forward(tf.tensor4d(noisy, [1, im.height, im.width, 1]), { training: false }),
            0,
            1,
          )
        );
        out = new Float32Array(await t.data());
        t.dispose();
      } catch (e) {
        throw tooLarge(e, im.file, im.height, im.width, backend.name) ?? e;
      }
      const output = join(outDir, `${name}_denoised.png`);
      await writeFile(output, encodeGrayPng({ height: im.height, width: im.width, data: out }));
      const row: DenoiseRow = { image: im.file, height: im.height, width: im.width, output };
      if (sigma !== undefined) {
        await writeFile(
          join(outDir, `${name}_noisy.png`),
          encodeGrayPng({ height: im.height, width: im.width, data: noisy }),
        );
        row.noisy_psnr = psnr(im.data, noisy);
        row.psnr = psnr(im.data, out);
        if (im.height >= SSIM_WINDOW && im.width >= SSIM_WINDOW) {
          row.noisy_ssim = ssim(im.data, noisy, im.height, im.width);
          row.ssim = ssim(im.data, out, im.height, im.width);
        }
      }
      rows.push(row);
    }
  } finally {
    try {
      for (const n of loaded.networks) n.net.dispose();
    } catch {
      // after running out of memory the backend's heap may be past use: the error above counts
    }
  }
  if (sigma === undefined) {
    for (const r of rows) print(r.output);
    return rows;
  }
  const f = (v: number | undefined, d: number) => v === undefined ? "-" : v.toFixed(d);
  const table = rows.map((r) => ({
    image: basename(r.image),
    size: `${r.height}x${r.width}`,
    "noisy PSNR": f(r.noisy_psnr, 2),
    "noisy SSIM": f(r.noisy_ssim, 4),
    PSNR: f(r.psnr, 2),
    SSIM: f(r.ssim, 4),
  }));
  const withSsim = rows.filter((r) => r.ssim !== undefined);
  const means = {
    noisy_psnr: mean(rows.map((r) => r.noisy_psnr!)),
    psnr: mean(rows.map((r) => r.psnr!)),
    ...(withSsim.length
      ? {
        noisy_ssim: mean(withSsim.map((r) => r.noisy_ssim!)),
        ssim: mean(withSsim.map((r) => r.ssim!)),
      }
      : {}),
  };
  table.push({
    image: "mean",
    size: "",
    "noisy PSNR": f(means.noisy_psnr, 2),
    "noisy SSIM": f(means.noisy_ssim, 4),
    PSNR: f(means.psnr, 2),
    SSIM: f(means.ssim, 4),
  });
  print(`sigma ${sigma}, noise seed ${seed}`);
  print(formatTable(table));
  const json = join(outDir, "metrics.json");
  await writeFile(
    json,
    JSON.stringify({ checkpoint: loaded.source, sigma, seed, images: rows, mean: means }, null, 2) +
      "\n",
  );
  print(`images and ${json} in ${outDir}`);
  return rows;
}

/** Build the `denoise` command. */
export function denoiseCommand(registry: PluginResolver) {
  return new Command("denoise")
    .description("denoise PNG/JPEG images with a trained denoising run")
    .argument("<RUN_DIR|CHECKPOINT>", "run folder (uses best.h5 when present) or checkpoint file")
    .requiredOption("-i, --input <file|dir>", "an image, or a folder of images")
    .option("--sigma <s>", "inputs are clean: add noise sigma/255·N(0,1) and report PSNR/SSIM")
    .option("--seed <n>", "seed of the added noise (default 0)")
    .option("-o, --out <dir>", "output folder (default RUN_DIR/denoised)")
    .addOption(
      new Option("-d, --device <device>", "where to compute (default auto)").choices(
        DEVICE_CHOICES,
      ),
    )
    .action(async (target: string, opts) => {
      await runDenoise(target, opts as DenoiseOptions, registry);
    });
}
