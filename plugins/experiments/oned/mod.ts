/**
 * The `1d` experiment (spec §5): fit a 1-Lipschitz target on [-1, 1] with `nbr_models`
 * independent networks, trained as one batched computation that is mathematically identical to
 * training them separately (own inputs, own loss, own Adam state).
 *
 * @module
 */
import type { Tensor, Tensor3D } from "@tensorflow/tfjs-core";
import type { Experiment, ExperimentContext, Parameter } from "../../../core/plugin/interfaces.ts";
import { validateWith } from "../../../core/config/config.ts";
import { type OnedConfig, onedSchema } from "./config.ts";
import { buildFcNetwork, type Network } from "../../../core/nn/fc_network.ts";
import { Adam } from "../../../core/train/adam.ts";
import { readCheckpoint, writeCheckpoint } from "../../../core/io/checkpoint.ts";
import { parametersToStored, restoreParameters } from "../../../core/io/parameter_store.ts";
import { permutation } from "../../../core/rng/mt19937.ts";
import type { RngState } from "../../../core/rng/rng.ts";
import { UserError } from "../../../core/errors.ts";
import { evaluateTargets, makeTarget, type Target1d, testGrid, trainingInputs } from "./targets.ts";
import { writeOnedFigures } from "./figures.ts";
import { join } from "node:path";

const schema = onedSchema;

/** The validated 1d config. */
export type { OnedConfig };

/** Median as NumPy computes it (mean of the two middle values for even lengths). */
export function median(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Data of the experiment, on the host. */
interface OnedData {
  target: Target1d;
  xTrain: Float32Array; // [S, M]
  yTrain: Float32Array; // [S, M]
  xTest: Float32Array; // [N]
  yTest: Float32Array; // [N]
}

function makeData(cfg: OnedConfig): OnedData {
  const { function_type, number_knots, training_dataset_size, testing_dataset_size } = cfg.dataset;
  const target = makeTarget(function_type, number_knots, cfg.seed);
  const xTrain = trainingInputs(cfg.seed, training_dataset_size, cfg.training_options.nbr_models);
  const xTest = testGrid(testing_dataset_size);
  return {
    target,
    xTrain,
    yTrain: evaluateTargets(target, xTrain),
    xTest,
    yTest: evaluateTargets(target, xTest),
  };
}

/**
 * Lay out one epoch's shuffled samples as `[step][model][batch]` (spec §5: shuffled every epoch,
 * last partial batch dropped; each model draws its own permutation).
 */
function shuffleEpoch(
  ctx: ExperimentContext,
  data: OnedData,
  M: number,
  S: number,
  B: number,
): { xs: Float32Array; ys: Float32Array; steps: number } {
  const steps = Math.floor(S / B);
  const xs = new Float32Array(steps * M * B);
  const ys = new Float32Array(steps * M * B);
  for (let m = 0; m < M; m++) {
    const perm = permutation(ctx.rng, S);
    for (let i = 0; i < steps * B; i++) {
      const step = Math.floor(i / B);
      const dst = (step * M + m) * B + (i % B);
      xs[dst] = data.xTrain[perm[i] * M + m];
      ys[dst] = data.yTrain[perm[i] * M + m];
    }
  }
  return { xs, ys, steps };
}

/** Mean of every spline scaling coefficient (a diagnostic the authors log), or null. */
async function meanScaling(params: Parameter[]): Promise<number | null> {
  const alphas = params.filter((p) => p.group === "spline_scaling");
  if (alphas.length === 0) return null;
  let sum = 0, n = 0;
  for (const p of alphas) {
    for (const v of await p.variable.data()) sum += v;
    n += p.variable.size;
  }
  return sum / n;
}

/** Test MSE of every model: sum of squared errors / test size (spec §5). */
async function testMse(
  ctx: ExperimentContext,
  net: Network,
  testX: Tensor,
  testY: Tensor,
): Promise<Float32Array> {
  const { tf } = ctx;
  const n = testY.shape[1]!;
  const mse = tf.tidy(() =>
    tf.div(tf.sum(tf.square(tf.sub(net.forward(testX, { training: false }), testY)), [1, 2]), n)
  );
  const v = new Float32Array(await mse.data());
  mse.dispose();
  return v;
}

const oned: Experiment = {
  kind: "experiment",
  name: "1d",
  version: "1.0.0",
  description: "fit a 1-Lipschitz 1-D target with nbr_models batched networks (paper §5.1)",
  defaultConfig: "config_1d.json",
  tensorboardTags: {
    median_test_mse: "Validation/Median Loss",
    min_test_mse: "Validation/Min Loss",
    train_loss: "Train/Loss",
    spline_scaling_coeff_mean: "train/spline_scaling_coeff_mean",
  },
  async validate(config, file, registry) {
    const cfg = validateWith(schema, config, file);
    const act = await registry.activation(cfg.activation_fn_params.activation_type);
    const sizes = cfg.net_params.layer_sizes;
    for (let i = 1; i < sizes.length - 1; i++) act.validate?.(cfg.activation_fn_params, sizes[i]);
    await registry.projection(cfg.net_params.projection);
    if (cfg.training_options.batch_size > cfg.dataset.training_dataset_size) {
      throw new UserError(
        `Invalid config ${file}: key 'training_options.batch_size' must not exceed dataset.training_dataset_size; current value is ${cfg.training_options.batch_size}`,
      );
    }
  },
  async run(ctx) {
    const { tf } = ctx;
    const cfg = validateWith(schema, ctx.config, join(ctx.runDir, "config.json"));
    const M = cfg.training_options.nbr_models;
    const E = cfg.training_options.epochs;
    const B = cfg.training_options.batch_size;
    const S = cfg.dataset.training_dataset_size;
    const lmbda = cfg.activation_fn_params.lmbda ?? 0;
    const every = cfg.training_options.checkpoint_every ?? 1;
    const data = makeData(cfg);

    const net = await buildFcNetwork({
      tf,
      registry: ctx.registry,
      rng: ctx.rng,
      net: cfg.net_params,
      activation: cfg.activation_fn_params,
      ensemble: M,
    });
    const params = net.parameters();
    const adam = new Adam(tf, params, {
      weights: cfg.optimizer.lr_weights,
      spline_coeffs: cfg.optimizer.lr_spline_coeffs,
      spline_scaling: cfg.optimizer.lr_spline_scaling_coeffs,
    });
    const vars = adam.variables();
    const ckptPath = join(ctx.runDir, "checkpoint.h5");

    let startEpoch = 0;
    let mse: Float32Array = new Float32Array(M).fill(NaN);
    if (ctx.resumeFrom) {
      const ck = await readCheckpoint(ctx.resumeFrom);
      restoreParameters(tf, params, ck.tensors, ctx.resumeFrom);
      adam.setState({ step: Number(ck.meta.adam_step), tensors: ck.tensors });
      ctx.rng.setState(ck.meta.rng as RngState);
      startEpoch = Number(ck.meta.epoch) + 1;
      if (ck.tensors.test_mse) mse = ck.tensors.test_mse.data.slice();
    }

    const N = data.xTest.length;
    const testX = tf.tidy(() => tf.tile(tf.tensor(data.xTest, [1, N, 1]), [M, 1, 1]));
    const testY = tf.tensor(data.yTest, [1, N, 1]);

    const save = async (epoch: number, done: boolean) => {
      const adamState = await adam.getState();
      await writeCheckpoint(ckptPath, {
        tensors: {
          ...(await parametersToStored(params)),
          ...adamState.tensors,
          test_mse: { shape: [M], data: mse },
        },
        meta: {
          experiment: "1d",
          epoch,
          completed: done,
          adam_step: adamState.step,
          rng: ctx.rng.getState(),
          nbr_models: M,
          median_test_mse: median(mse),
          min_test_mse: Math.min(...mse),
        },
      });
    };

    // One batched step: the sum over models of each model's loss (MSE + lmbda TV2) has, for
    // every model's parameters, exactly that model's gradient (spec §5).
    const lossFn = (xb: Tensor3D, yb: Tensor3D) => () =>
      tf.tidy(() => {
        if (lmbda === 0) return tf.div(tf.sum(tf.square(tf.sub(net.forward(xb), yb))), B);
        const { y, regularization } = net.forwardWithRegularization(xb);
        const fit = tf.div(tf.sum(tf.square(tf.sub(y, yb))), B);
        return tf.add(fit, tf.mul(regularization, lmbda));
      }) as ReturnType<typeof tf.scalar>;

    let lastEpoch = startEpoch - 1;
    ctx.progress.start(E + 1, "1d epochs");
    ctx.progress.update(startEpoch);
    for (let epoch = startEpoch; epoch <= E; epoch++) {
      const { xs, ys, steps } = shuffleEpoch(ctx, data, M, S, B);
      let lossSum: Tensor = tf.scalar(0);
      for (let s = 0; s < steps; s++) {
        const off = s * M * B;
        const next = tf.tidy(() => {
          const xb = tf.tensor3d(xs.subarray(off, off + M * B), [M, B, 1]);
          const yb = tf.tensor3d(ys.subarray(off, off + M * B), [M, B, 1]);
          const { value, grads } = tf.variableGrads(lossFn(xb, yb), vars);
          adam.apply(grads);
          return tf.add(lossSum, value);
        });
        lossSum.dispose();
        lossSum = next;
        net.afterStep();
      }
      const trainLoss = (await lossSum.data())[0] / (steps * M);
      lossSum.dispose();
      mse = await testMse(ctx, net, testX, testY);
      const row: Record<string, number> = {
        epoch,
        train_loss: trainLoss,
        median_test_mse: median(mse),
        min_test_mse: Math.min(...mse),
      };
      const scaling = await meanScaling(params);
      if (scaling !== null) row.spline_scaling_coeff_mean = scaling;
      await ctx.logMetrics(row);
      const done = epoch === E;
      if (done || (epoch + 1 - startEpoch) % every === 0 || ctx.signal?.aborted) {
        await save(epoch, done);
      }
      lastEpoch = epoch;
      ctx.progress.update(epoch + 1, {
        loss: trainLoss.toExponential(2),
        median_mse: row.median_test_mse.toExponential(2),
      });
      if (ctx.signal?.aborted) break;
    }
    ctx.progress.stop();

    const finished = lastEpoch === E;
    const order = Array.from(mse.keys()).sort((a, b) => mse[a] - mse[b]);
    if (finished) {
      await writeOnedFigures(ctx, net, data, order).catch((e: unknown) =>
        ctx.log(`(figures skipped: ${(e as Error).message})`)
      );
    }
    testX.dispose();
    testY.dispose();
    adam.dispose();
    net.dispose();
    const metrics = {
      epoch: lastEpoch,
      median_test_mse: median(mse),
      min_test_mse: Math.min(...mse),
    };
    return {
      metrics,
      summary: [
        finished
          ? `trained ${M} models for ${E + 1} passes (epochs 0..${E})`
          : `interrupted after epoch ${lastEpoch}; continue with --resume ${ctx.runDir}`,
        `median test MSE ${metrics.median_test_mse.toExponential(3)}, min ${
          metrics.min_test_mse.toExponential(3)
        } (best model ${order[0]})`,
      ],
    };
  },
};
export default oned;
