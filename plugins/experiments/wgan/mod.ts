/**
 * The `wgan` experiment (docs/method.md §5.3): a WGAN on MNIST (scaled to [-1, 1]) with a
 * 1-Lipschitz discriminator. The discriminator takes a step on every batch (5.4), the generator
 * on every `n_critic`-th batch (default 5) with the same `z` (5.5); Adam betas (0.5, 0.999) for
 * both. After every epoch: an 8×8 grid of samples from a fixed `z` (`figures/samples_<epoch>.png`)
 * and the critic's Wasserstein estimate (5.3) on the held-out images against as many generated
 * ones. Both networks live in one checkpoint (`model/generator/...`, `model/discriminator/...`).
 *
 * @module
 */
import {
  type Experiment,
  type ExperimentContext,
  imageGridPng,
  loadMnistSplits,
  MT19937,
  type Network,
  permutation,
  RUN_FILES,
  type TrainingPlan,
  validateWith,
  writeFileAtomic,
} from "../../../plugin.ts";
import { Adam } from "../../../mod.ts";
import type { Scalar, Tensor, Tensor2D, Tensor4D } from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { type WganConfig, wganSchema } from "./config.ts";
import {
  buildDiscriminator,
  buildGenerator,
  type DiscriminatorNetParams,
  loadWganNetworks,
  Z_DIM,
} from "./networks.ts";
import { writeCriticFigures } from "../wasserstein/figures.ts";

/** Draw `n` latent vectors `z ~ U[0, 1]^62` (docs/method.md §5.2). */
export function drawZ(rng: { random(): number }, n: number): Float32Array {
  return Float32Array.from({ length: n * Z_DIM }, () => rng.random());
}

/**
 * Mean critic value over `x` (`[N, ...]`, evaluated in chunks of `chunk`), in evaluation mode.
 */
export async function meanCritic(
  tf: ExperimentContext["tf"],
  critic: Network,
  x: Tensor,
  chunk = 1000,
): Promise<number> {
  const n = x.shape[0];
  let sum = 0;
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const v = tf.tidy(() =>
      tf.sum(critic.forward(tf.slice(x, s, m), { training: false })) as Scalar
    );
    sum += (await v.data())[0];
    v.dispose();
  }
  return sum / n;
}

/** Generate `n` images in [-1, 1] (`[n, 28, 28, 1]`) from `z` in evaluation mode, in chunks. */
export function generate(
  tf: ExperimentContext["tf"],
  gen: Network,
  z: Float32Array,
  n: number,
  chunk = 1000,
): Tensor4D {
  const parts: Tensor[] = [];
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    parts.push(
      tf.tidy(() =>
        gen.forward(tf.tensor2d(z.subarray(s * Z_DIM, (s + m) * Z_DIM), [m, Z_DIM]), {
          training: false,
        })
      ),
    );
  }
  const out = tf.concat(parts, 0) as Tensor4D;
  parts.forEach((p) => p.dispose());
  return out;
}

const wgan: Experiment = {
  kind: "experiment",
  name: "wgan",
  version: "1.0.0",
  description: "WGAN on MNIST with a 1-Lipschitz discriminator (paper §5.3)",
  defaultConfig: "config_wgan.json",
  options: wganSchema,
  loadNetworks: loadWganNetworks,
  tensorboardTags: {
    train_d_loss: "Train/Discriminator Loss",
    train_g_loss: "Train/Generator Loss",
    w1_estimate: "Validation/Wasserstein",
  },
  async validate(config, file, registry) {
    const cfg = validateWith(wganSchema, config, file);
    const d = await registry.activation(cfg.discriminator_activation_fn_params.activation_type);
    for (const c of [64, 128, 1024]) d.validate?.(cfg.discriminator_activation_fn_params, c);
    const g = await registry.activation(cfg.generator_activation_fn_params.activation_type);
    for (const c of [1024, 6272, 64]) g.validate?.(cfg.generator_activation_fn_params, c);
    await registry.projection(cfg.discriminator_net_params?.projection ?? "orthonormalize");
  },
  async prepare(ctx) {
    const { tf } = ctx;
    const cfg: WganConfig = validateWith(wganSchema, ctx.config, join(ctx.runDir, "config.json"));
    const t = cfg.training_options;
    const B = t.batch_size;
    const nCritic = t.n_critic ?? 5;
    const { train, val } = await loadMnistSplits(t, (l) => ctx.log(l));
    // docs/method.md §5.3: the WGAN sees images in [-1, 1]; validation uses the same scale
    // (the authors validate with [0, 1] images, docs/method.md §6).
    const trainPix = train.pixels.map((v) => 2 * v - 1);
    const valX = tf.tidy(() =>
      tf.sub(tf.mul(tf.tensor4d(val.pixels, [val.count, 28, 28, 1]), 2), 1)
    );

    const gen = await buildGenerator(tf, ctx.registry, ctx.rng, cfg.generator_activation_fn_params);
    const disc = await buildDiscriminator(
      tf,
      ctx.registry,
      ctx.rng,
      cfg.discriminator_activation_fn_params,
      (cfg.discriminator_net_params ?? {}) as DiscriminatorNetParams,
    );
    const lr = (o: WganConfig["generator_optimizer"]) => ({
      weights: o.lr_weights,
      spline_coeffs: o.lr_spline_coeffs ?? o.lr_weights,
      spline_scaling: o.lr_spline_scaling_coeffs ?? o.lr_weights,
    });
    const betas = { beta1: 0.5, beta2: 0.999 };
    const dOpt = new Adam(tf, disc.parameters(), lr(cfg.discriminator_optimizer), betas);
    const gOpt = new Adam(tf, gen.parameters(), lr(cfg.generator_optimizer), betas);
    const dLmbda = cfg.discriminator_activation_fn_params.lmbda ?? 0;
    const gLmbda = cfg.generator_activation_fn_params.lmbda ?? 0;

    // Fixed latent vectors (their own generator, so they never disturb the run's RNG): 64 for
    // the sample grids, one per held-out image for the Wasserstein estimate.
    const fixedRng = new MT19937(cfg.seed + 1);
    const zGrid = drawZ(fixedRng, 64);
    const zEval = drawZ(fixedRng, val.count);
    const figDir = join(ctx.runDir, RUN_FILES.figures);

    const dLoss = (x: Tensor4D, z: Tensor2D): Scalar =>
      tf.tidy(() => {
        // (5.4): one discriminator call on [fake; real] (the projections are computed once).
        const fake = gen.forward(z);
        const both = tf.concat([fake, x], 0);
        const { y, regularization } = disc.forwardWithRegularization(both);
        const n = z.shape[0];
        const f = tf.mean(tf.slice(y, 0, n)), r = tf.mean(tf.slice(y, n));
        const loss = tf.sub(f, r);
        return (dLmbda ? tf.add(loss, tf.mul(regularization, dLmbda)) : loss) as Scalar;
      });
    const gLoss = (z: Tensor2D): Scalar =>
      tf.tidy(() => {
        // (5.5)
        const { y: fake, regularization: gReg } = gen.forwardWithRegularization(z);
        const loss = tf.neg(tf.mean(disc.forward(fake)));
        return (gLmbda ? tf.add(loss, tf.mul(gReg, gLmbda)) : loss) as Scalar;
      });

    let lastW1 = NaN;
    const plan: TrainingPlan<{ x: Tensor4D; z: Tensor2D }> = {
      parameters: [...gen.parameters(), ...disc.parameters()],
      optimizers: { discriminator: dOpt, generator: gOpt },
      epochs: t.epochs,
      epochBatches() {
        const perm = permutation(ctx.rng, train.count);
        const count = Math.floor(train.count / B);
        const z = drawZ(ctx.rng, count * B);
        return {
          count,
          batch: (i) => {
            const x = new Float32Array(B * 784);
            for (let b = 0; b < B; b++) {
              const k = perm[i * B + b];
              x.set(trainPix.subarray(k * 784, (k + 1) * 784), b * 784);
            }
            return {
              x: tf.tensor4d(x, [B, 28, 28, 1]),
              z: tf.tensor2d(z.subarray(i * B * Z_DIM, (i + 1) * B * Z_DIM), [B, Z_DIM]),
            };
          },
        };
      },
      step({ x, z }, { step }) {
        const d = tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => dLoss(x, z), dOpt.variables());
          dOpt.apply(grads);
          return value;
        });
        disc.afterStep();
        const out: Record<string, Scalar> = { d_loss: d };
        if ((step + 1) % nCritic === 0) {
          out.g_loss = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => gLoss(z), gOpt.variables());
            gOpt.apply(grads);
            return value;
          });
          gen.afterStep();
        }
        return out;
      },
      async evaluate(epoch) {
        // (5.3) on held-out images against as many generated ones.
        const fake = generate(tf, gen, zEval, val.count);
        const w1 = (await meanCritic(tf, disc, valX)) - (await meanCritic(tf, disc, fake));
        fake.dispose();
        lastW1 = w1;
        const grid = generate(tf, gen, zGrid, 64);
        const pix = tf.tidy(() => tf.div(tf.add(grid, 1), 2));
        const png = imageGridPng(await pix.data(), 64, 28, 28, 8);
        grid.dispose();
        pix.dispose();
        await mkdir(figDir, { recursive: true });
        await writeFileAtomic(join(figDir, `samples_${epoch}.png`), png);
        return { w1_estimate: w1 };
      },
      saveState: () =>
        Promise.resolve({
          meta: {
            experiment: "wgan",
            w1_estimate: lastW1,
            generator_activation_fn_params: cfg.generator_activation_fn_params,
          },
        }),
      progressPayload: (row) => ({
        d_loss: Number(row.train_d_loss).toExponential(2),
        w1: Number(row.w1_estimate).toFixed(4),
      }),
      divergenceHint: () =>
        `learning rates too high (discriminator_optimizer.lr_weights ${cfg.discriminator_optimizer.lr_weights}, generator_optimizer.lr_weights ${cfg.generator_optimizer.lr_weights})`,
      async finish({ completed, lastEpoch }) {
        if (lastEpoch >= 0) {
          await writeCriticFigures(ctx, disc, cfg.discriminator_activation_fn_params, [
            "train_d_loss",
            "train_g_loss",
            "w1_estimate",
          ]).catch((e: unknown) => ctx.log(`(figures skipped: ${(e as Error).message})`));
        }
        return {
          metrics: { epoch: lastEpoch, w1_estimate: lastW1 },
          summary: [
            completed
              ? `trained the WGAN for ${t.epochs} epochs (${
                Math.floor(train.count / B)
              } steps each)`
              : `interrupted after epoch ${lastEpoch}; continue with --resume ${ctx.runDir}`,
            `critic's Wasserstein estimate (held-out vs generated): ${lastW1.toFixed(5)}`,
            `samples: ${join(figDir, `samples_${lastEpoch}.png`)}`,
          ],
        };
      },
      dispose() {
        valX.dispose();
        dOpt.dispose();
        gOpt.dispose();
        gen.dispose();
        disc.dispose();
      },
    };
    return plan;
  },
};
export default wgan;
