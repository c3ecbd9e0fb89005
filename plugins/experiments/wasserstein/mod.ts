/**
 * The `wasserstein` experiment (docs/method.md §5.2): train a 1-Lipschitz critic `f` to estimate
 * W1(MNIST, G) by maximising (5.3) `mean f(real) - mean f(fake)`. Real = MNIST pixels / 255
 * (once, docs/method.md §6); fake = `(G(z) + 1) / 2`, `z ~ U[0, 1]^62`, G the generator of
 * `training_options.generator_checkpoint` (default: the one lipspline ships in `data/`). Fakes
 * for training come from a pool of `fake_pool_size` samples drawn once (seeded), shuffled every
 * epoch like the real images; every `eval_every` epochs (and the first and last) the estimate is
 * taken on the held-out images against `val_fakes` fixed fakes, and `best.h5` keeps the best.
 *
 * @module
 */
import {
  type ActivationParams,
  type Experiment,
  type FcNetParams,
  loadMnistSplits,
  type Metrics,
  MT19937,
  permutation,
  type TrainingPlan,
  UserError,
  validateWith,
} from "../../../plugin.ts";
import { Adam } from "../../../mod.ts";
import type { Tensor2D } from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { DEFAULT_GENERATOR, type WassersteinConfig, wassersteinSchema } from "./config.ts";
import { buildCritic, criticStep, loadCriticNetworks } from "./critic.ts";
import { loadGenerator } from "./generator_file.ts";
import { writeCriticFigures } from "./figures.ts";
import { drawZ, generate, meanCritic } from "../wgan/mod.ts";
import { stat } from "node:fs/promises";

const GEN_KEY = "training_options.generator_checkpoint";

const wasserstein: Experiment = {
  kind: "experiment",
  name: "wasserstein",
  version: "1.0.0",
  description: "estimate W1(MNIST, generator) with a 1-Lipschitz critic (paper §5.2)",
  defaultConfig: "config_wasserstein.json",
  options: wassersteinSchema,
  loadNetworks: loadCriticNetworks,
  tensorboardTags: { train_loss: "Train/Loss", w1_estimate: "Validation/Wasserstein" },
  async validate(config, file, registry) {
    const cfg = validateWith(wassersteinSchema, config, file);
    const sizes = cfg.net_params.layer_sizes;
    if (sizes[0] !== 784 || sizes[sizes.length - 1] !== 1) {
      throw new UserError(
        `Invalid config ${file}: key 'net_params.layer_sizes' must start with 784 and end with 1; current value is ${
          JSON.stringify(sizes)
        }`,
      );
    }
    const act = await registry.activation(cfg.activation_fn_params.activation_type);
    for (let i = 1; i < sizes.length - 1; i++) act.validate?.(cfg.activation_fn_params, sizes[i]);
    await registry.projection(cfg.net_params.projection);
    const gen = cfg.training_options.generator_checkpoint ?? DEFAULT_GENERATOR;
    if (!(await stat(gen).then((s) => s.isFile(), () => false))) {
      throw new UserError(
        `Invalid config ${file}: key '${GEN_KEY}' must name a generator checkpoint (a wgan run's checkpoint.h5); current value is ${
          JSON.stringify(gen)
        } (no such file)`,
      );
    }
  },
  async prepare(ctx) {
    const { tf } = ctx;
    const cfg: WassersteinConfig = validateWith(
      wassersteinSchema,
      ctx.config,
      join(ctx.runDir, "config.json"),
    );
    const t = cfg.training_options;
    const B = t.batch_size;
    const evalEvery = t.eval_every ?? 5;
    const { train, val } = await loadMnistSplits(t, (l) => ctx.log(l));
    if (train.count < B) {
      throw new UserError(
        `Invalid config: key 'training_options.batch_size' must not exceed the ${train.count} training images; current value is ${B}`,
      );
    }
    const genPath = t.generator_checkpoint ?? DEFAULT_GENERATOR;
    const gen = await loadGenerator(tf, ctx.registry, genPath, GEN_KEY);

    // Fakes (G(z) + 1) / 2 in [0, 1], flattened: a training pool and the fixed validation set,
    // each from its own seeded generator (the run's RNG only shuffles).
    const toFlat = async (z: Float32Array, n: number): Promise<Float32Array> => {
      const out = new Float32Array(n * 784);
      for (let s = 0; s < n; s += 2000) {
        const m = Math.min(2000, n - s);
        const g = generate(tf, gen, z.subarray(s * 62, (s + m) * 62), m);
        const f = tf.tidy(() => tf.reshape(tf.div(tf.add(g, 1), 2), [m, 784]));
        out.set(await f.data(), s * 784);
        g.dispose();
        f.dispose();
      }
      return out;
    };
    const poolSize = t.fake_pool_size ?? train.count;
    const pool = await toFlat(drawZ(new MT19937(cfg.seed + 2), poolSize), poolSize);
    const nValFakes = t.val_fakes ?? 6000;
    const valFakes = tf.tensor2d(
      await toFlat(drawZ(new MT19937(cfg.seed + 1), nValFakes), nValFakes),
      [nValFakes, 784],
    );
    gen.dispose();
    const valReal = tf.tensor2d(val.pixels, [val.count, 784]);

    const critic = await buildCritic(
      tf,
      ctx.registry,
      ctx.rng,
      cfg.net_params as FcNetParams,
      cfg.activation_fn_params as ActivationParams,
    );
    const adam = new Adam(tf, critic.parameters(), {
      weights: cfg.optimizer.lr_weights,
      spline_coeffs: cfg.optimizer.lr_spline_coeffs ?? cfg.optimizer.lr_weights,
      spline_scaling: cfg.optimizer.lr_spline_scaling_coeffs ?? cfg.optimizer.lr_weights,
    });
    const lmbda = cfg.activation_fn_params.lmbda ?? 0;
    let lastW1 = NaN;

    const plan: TrainingPlan<{ real: Tensor2D; fake: Tensor2D }> = {
      parameters: critic.parameters(),
      optimizers: { adam },
      epochs: t.epochs,
      epochBatches() {
        const perm = permutation(ctx.rng, train.count);
        const fperm = permutation(ctx.rng, poolSize);
        const count = Math.floor(train.count / B);
        const gather = (src: Float32Array, idx: Int32Array, i: number): Float32Array => {
          const x = new Float32Array(B * 784);
          for (let b = 0; b < B; b++) {
            const k = idx[(i * B + b) % idx.length];
            x.set(src.subarray(k * 784, (k + 1) * 784), b * 784);
          }
          return x;
        };
        return {
          count,
          batch: (i) => ({
            real: tf.tensor2d(gather(train.pixels, perm, i), [B, 784]),
            fake: tf.tensor2d(gather(pool, fperm, i), [B, 784]),
          }),
        };
      },
      step: ({ real, fake }) => criticStep(tf, critic, adam, real, fake, lmbda),
      async evaluate(epoch): Promise<Metrics> {
        if (epoch % evalEvery !== 0 && epoch !== t.epochs - 1) return {};
        lastW1 = (await meanCritic(tf, critic, valReal)) - (await meanCritic(tf, critic, valFakes));
        return { w1_estimate: lastW1 };
      },
      monitor: { metric: "w1_estimate", mode: "max" },
      saveState: () =>
        Promise.resolve({ meta: { experiment: "wasserstein", w1_estimate: lastW1 } }),
      progressPayload: (row) => ({
        loss: Number(row.train_loss).toExponential(3),
        ...(row.w1_estimate !== undefined ? { w1: Number(row.w1_estimate).toFixed(4) } : {}),
      }),
      divergenceHint: () =>
        `learning rates too high (optimizer.lr_weights ${cfg.optimizer.lr_weights}, lr_spline_coeffs ${cfg.optimizer.lr_spline_coeffs})`,
      async finish({ completed, lastEpoch, best }) {
        if (lastEpoch >= 0) {
          await writeCriticFigures(ctx, critic, cfg.activation_fn_params as ActivationParams, [
            "train_loss",
            "w1_estimate",
          ]).catch((e: unknown) => ctx.log(`(figures skipped: ${(e as Error).message})`));
        }
        return {
          metrics: {
            epoch: lastEpoch,
            w1_estimate: lastW1,
            ...(best ? { best_w1_estimate: best.value } : {}),
          },
          summary: [
            completed
              ? `trained the critic for ${t.epochs} epochs of ${Math.floor(train.count / B)} steps`
              : `interrupted after epoch ${lastEpoch}; continue with --resume ${ctx.runDir}`,
            `W1 estimate (held-out MNIST vs ${nValFakes} fakes): last ${lastW1.toFixed(5)}` +
            (best ? `, best ${best.value.toFixed(5)} (epoch ${best.epoch})` : ""),
          ],
        };
      },
      dispose() {
        valReal.dispose();
        valFakes.dispose();
        adam.dispose();
        critic.dispose();
      },
    };
    return plan;
  },
};
export default wasserstein;
