/**
 * The `denoising` experiment (docs/method.md §5.4): a 1-Lipschitz CNN of BCOP convolutions
 * with learnable activations, trained on grayscale patches with Gaussian noise
 * `sigma/255 · N(0, 1)` drawn on the fly from the run's RNG (a resumed run sees the same
 * noise); validated on whole images (one forward pass per image, cached weights) by PSNR and
 * SSIM with a fixed validation-noise seed; the best-PSNR epoch is kept as `best.h5`. The loop
 * is the host's training engine.
 *
 * @module
 */
import {
  curvesFigure,
  DEFAULT_PATCH_SIZE,
  DEFAULT_PATCH_STRIDE,
  type Experiment,
  type Metrics,
  MT19937,
  permutation,
  psnr,
  ssim,
  type TrainingPlan,
  UserError,
  validateWith,
  writeFigure,
  writeFileAtomic,
} from "../../../plugin.ts";
import type { Tensor4D } from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { mkdir, readFile } from "node:fs/promises";
import { type DenoisingConfig, denoisingSchema } from "./config.ts";
import { createDenoiserModel, denoiseImage, denoiserStep, disposeDenoiserModel } from "./model.ts";
import { addNoise, loadTrainingPatches, loadValidationImages, type NamedImage } from "./data.ts";
import { comparisonPng } from "./figures.ts";
import { loadDenoisingNetworks } from "./networks.ts";

/** Default seed of the fixed validation noise. */
export const DEFAULT_VAL_SEED = 0;
/** Number of validation images shown in the per-epoch figure. */
const FIGURE_IMAGES = 2;

/** Mean of an array. */
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** The clean validation images with their fixed noisy versions. */
export interface ValidationSet {
  images: NamedImage[];
  noisy: Float32Array[];
}

/** Draw the fixed validation noise: one MT19937 seeded with `seed`, images in order. */
export function makeValidationSet(
  images: NamedImage[],
  sigma: number,
  seed: number,
): ValidationSet {
  const rng = new MT19937(seed);
  return { images, noisy: images.map((im) => addNoise(im.data, sigma, rng)) };
}

const denoising: Experiment = {
  kind: "experiment",
  name: "denoising",
  version: "1.0.0",
  description:
    "image denoising with a 1-Lipschitz CNN of BCOP convolutions (paper §5.4): PSNR and SSIM",
  defaultConfig: "config_denoising_bsd400.json",
  options: denoisingSchema,
  loadNetworks: loadDenoisingNetworks,
  tensorboardTags: {
    train_loss: "Train/Loss",
    val_psnr: "Validation/PSNR",
    val_ssim: "Validation/SSIM",
  },
  async validate(config, file, registry) {
    const cfg = validateWith(denoisingSchema, config, file) as unknown as DenoisingConfig;
    const act = await registry.activation(cfg.activation_fn_params.activation_type);
    const ch = cfg.net_params.num_channels;
    for (let l = 1; l < ch.length - 1; l++) act.validate?.(cfg.activation_fn_params, ch[l]);
    if (ch[0] !== 1 || ch[ch.length - 1] !== 1) {
      throw new UserError(
        `Invalid config ${file}: key 'net_params.num_channels' must start and end with 1 (grayscale images); current value is ${
          JSON.stringify(ch)
        }`,
      );
    }
  },
  async prepare(ctx) {
    const { tf } = ctx;
    const file = join(ctx.runDir, "config.json");
    const cfg = validateWith(denoisingSchema, ctx.config, file) as unknown as DenoisingConfig;
    const t = cfg.training_options;
    const patches = await loadTrainingPatches(t.train_data_file, {
      size: t.patch_size ?? DEFAULT_PATCH_SIZE,
      stride: t.patch_stride ?? DEFAULT_PATCH_STRIDE,
      augment: t.augment ?? false,
      seed: cfg.seed,
    });
    const val = makeValidationSet(
      await loadValidationImages(t.val_data_file),
      cfg.sigma,
      t.val_seed ?? DEFAULT_VAL_SEED,
    );
    ctx.log(
      `training on ${patches.count} patches of ${patches.size}×${patches.size} (${t.train_data_file}), ` +
        `validating on ${val.images.length} images (${t.val_data_file}), sigma ${cfg.sigma}`,
    );
    const model = await createDenoiserModel(tf, ctx.registry, ctx.rng, cfg);
    const { net } = model;
    const B = t.batch_size;
    const p = patches.size, pp = p * p;
    const figDir = join(ctx.runDir, "figures");
    let lastVal:
      | { psnr: number[]; ssim: number[]; noisyPsnr: number[]; noisySsim: number[] }
      | null = null;

    const plan: TrainingPlan<{ noisy: Tensor4D; clean: Tensor4D }> = {
      parameters: net.parameters(),
      optimizers: { adam: model.adam },
      epochs: t.epochs,
      epochBatches() {
        // Shuffled every epoch; the last partial batch is kept (the authors' DataLoader).
        const perm = permutation(ctx.rng, patches.count);
        return {
          count: Math.ceil(patches.count / B),
          batch(i) {
            const from = i * B, n = Math.min(B, patches.count - from);
            const clean = new Float32Array(n * pp);
            for (let k = 0; k < n; k++) {
              const src = perm[from + k] * pp;
              clean.set(patches.data.subarray(src, src + pp), k * pp);
            }
            // Fresh noise every step, from the run's RNG (docs/method.md §5.4, the noisy input of (5.6)).
            const noisy = addNoise(clean, cfg.sigma, ctx.rng);
            return {
              noisy: tf.tensor4d(noisy, [n, p, p, 1]),
              clean: tf.tensor4d(clean, [n, p, p, 1]),
            };
          },
        };
      },
      step: ({ noisy, clean }) => denoiserStep(model, noisy, clean),
      monitor: { metric: "val_psnr", mode: "max" },
      async evaluate(epoch) {
        const r = {
          psnr: [] as number[],
          ssim: [] as number[],
          noisyPsnr: [] as number[],
          noisySsim: [] as number[],
        };
        const row: Metrics = {};
        const figRows = [];
        for (const [i, im] of val.images.entries()) {
          const out = await denoiseImage(tf, net, val.noisy[i], im.height, im.width);
          const ps = psnr(im.data, out), ss = ssim(im.data, out, im.height, im.width);
          r.psnr.push(ps);
          r.ssim.push(ss);
          if (!lastVal) {
            r.noisyPsnr.push(psnr(im.data, val.noisy[i]));
            r.noisySsim.push(ssim(im.data, val.noisy[i], im.height, im.width));
          }
          if (i < FIGURE_IMAGES) {
            figRows.push({
              clean: im,
              noisy: { ...im, data: val.noisy[i] },
              denoised: { ...im, data: out },
            });
          }
        }
        if (lastVal) {
          r.noisyPsnr = lastVal.noisyPsnr;
          r.noisySsim = lastVal.noisySsim;
        }
        lastVal = r;
        row.val_psnr = mean(r.psnr);
        row.val_ssim = mean(r.ssim);
        val.images.forEach((im, i) => {
          row[`val_psnr/${im.name}`] = r.psnr[i];
          row[`val_ssim/${im.name}`] = r.ssim[i];
        });
        // Clean | noisy | denoised for the first validation images, every epoch.
        const png = comparisonPng(figRows);
        await mkdir(join(figDir, "epochs"), { recursive: true });
        await writeFileAtomic(join(figDir, "epochs", `denoised_epoch_${epoch}.png`), png);
        await writeFileAtomic(join(figDir, "denoised.png"), png);
        return row;
      },
      progressPayload: (row) => ({
        loss: Number(row.train_loss).toExponential(2),
        psnr: Number(row.val_psnr).toFixed(2),
      }),
      divergenceHint: () =>
        `learning rates too high (optimizer.lr_weights ${cfg.optimizer.lr_weights}, lr_spline_coeffs ${cfg.optimizer.lr_spline_coeffs}, lr_spline_scaling_coeffs ${cfg.optimizer.lr_spline_scaling_coeffs})`,
      saveState: () =>
        Promise.resolve({
          meta: {
            experiment: "denoising",
            ...(lastVal ? { val_psnr: mean(lastVal.psnr), val_ssim: mean(lastVal.ssim) } : {}),
          },
        }),
      async finish({ completed, lastEpoch, best }) {
        const rows = await readRows(join(ctx.runDir, "metrics.jsonl"));
        if (rows.length > 0) {
          await writeFigure(
            figDir,
            "curves",
            await curvesFigure(rows, ["train_loss", "val_psnr", "val_ssim"], false, {
              title: "Denoising: training loss, validation PSNR (dB) and SSIM",
            }),
          ).catch((e: unknown) => ctx.log(`(curves figure skipped: ${(e as Error).message})`));
        }
        const metrics: Metrics = { epoch: lastEpoch };
        const summary = [
          completed
            ? `trained ${t.epochs} epochs of ${Math.ceil(patches.count / B)} steps`
            : t.epochs === 0
            ? "nothing trained: training_options.epochs is 0"
            : `interrupted after epoch ${lastEpoch}; continue with --resume ${ctx.runDir}`,
        ];
        if (lastVal) {
          metrics.val_psnr = mean(lastVal.psnr);
          metrics.val_ssim = mean(lastVal.ssim);
          metrics.noisy_psnr = mean(lastVal.noisyPsnr);
          summary.push(
            `validation (sigma ${cfg.sigma}, ${val.images.length} images): PSNR ${
              metrics.val_psnr.toFixed(2)
            } dB, SSIM ${metrics.val_ssim.toFixed(4)} (noisy input: ${
              mean(lastVal.noisyPsnr).toFixed(2)
            } dB, ${mean(lastVal.noisySsim).toFixed(4)})`,
          );
        }
        if (best) {
          summary.push(`best PSNR ${best.value.toFixed(2)} dB at epoch ${best.epoch} (best.h5)`);
        }
        return { metrics, summary };
      },
      dispose() {
        disposeDenoiserModel(model);
      },
    };
    return plan;
  },
};

/** Rows of `metrics.jsonl` (empty when missing). */
async function readRows(path: string): Promise<Record<string, number | string>[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

export default denoising;
