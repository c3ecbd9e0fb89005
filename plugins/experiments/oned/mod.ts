/**
 * The `1d` experiment (docs/method.md §5): fit a 1-Lipschitz target on [-1, 1] with `nbr_models`
 * independent networks, trained as one batched computation that is mathematically identical to
 * training them separately (own inputs, own loss, own Adam state). This module holds the data and
 * the evaluation; the model and step are in `model.ts`, and the loop is the host's training engine.
 *
 * @module
 */
import {
  type Experiment,
  type ExperimentContext,
  type Metrics,
  type Network,
  type Parameter,
  permutation,
  type Tensor,
  type TrainingPlan,
  UserError,
  validateWith,
} from "../../../plugin.ts";
import { type OnedConfig, onedSchema } from "./config.ts";
import {
  canStepNatively,
  createOnedModel,
  disposeOnedModel,
  nativeOnedStep,
  nativeOptimizer,
  type OnedBatch,
  onedBatchStep,
  testMse,
} from "./model.ts";
import { evaluateTargets, makeTarget, type Target1d, testGrid, trainingInputs } from "./targets.ts";
import { writeOnedFigures } from "./figures.ts";
import { loadOnedNetworks } from "./networks.ts";
import { prepareSplit, splitWorkers } from "./parallel.ts";
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
export interface OnedData {
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
 * Lay out one epoch's shuffled samples as `[step][model][batch]` (docs/method.md §5: shuffled every epoch,
 * last partial batch dropped; each model draws its own permutation).
 */
export function shuffleEpoch(
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

/** Test MSE of every model, read back (docs/method.md §5; `testMse` in model.ts). */
async function readTestMse(
  ctx: ExperimentContext,
  net: Network,
  testX: Tensor,
  testY: Tensor,
): Promise<Float32Array> {
  const mse = testMse(ctx.tf, net, testX, testY);
  const v = new Float32Array(await mse.data());
  mse.dispose();
  return v;
}

/**
 * The parts of a 1d plan that only read the models' test MSE, shared by the unsplit run and the
 * split one (parallel.ts): the progress payload, the divergence hint, and `finish` (figures of a
 * completed run, final metrics, summary). `where` is appended to the summary's first line.
 */
export function onedReporting(
  ctx: ExperimentContext,
  cfg: OnedConfig,
  data: OnedData,
  net: Network,
  testMses: () => Float32Array,
  where = "",
): Pick<TrainingPlan<unknown>, "progressPayload" | "divergenceHint" | "finish"> {
  const M = cfg.training_options.nbr_models;
  const E = cfg.training_options.epochs;
  return {
    progressPayload: (row) => ({
      loss: Number(row.train_loss).toExponential(2),
      median_mse: Number(row.median_test_mse).toExponential(2),
    }),
    divergenceHint: () =>
      `learning rates too high (optimizer.lr_weights ${cfg.optimizer.lr_weights}, lr_spline_coeffs ${cfg.optimizer.lr_spline_coeffs}, lr_spline_scaling_coeffs ${cfg.optimizer.lr_spline_scaling_coeffs})`,
    async finish({ completed, lastEpoch }) {
      const mse = testMses();
      const order = Array.from(mse.keys()).sort((a, b) => mse[a] - mse[b]);
      if (completed) {
        await writeOnedFigures(ctx, net, data, order).catch((e: unknown) =>
          ctx.log(`(figures skipped: ${(e as Error).message})`)
        );
      }
      const metrics = {
        epoch: lastEpoch,
        median_test_mse: median(mse),
        min_test_mse: Math.min(...mse),
      };
      return {
        metrics,
        summary: [
          completed
            ? `trained ${M} models for ${E + 1} passes (epochs 0..${E})${where}`
            : `interrupted after epoch ${lastEpoch}; continue with --resume ${ctx.runDir}`,
          `median test MSE ${metrics.median_test_mse.toExponential(3)}, min ${
            metrics.min_test_mse.toExponential(3)
          } (best model ${order[0]})`,
        ],
      };
    },
  };
}

const oned: Experiment = {
  kind: "experiment",
  name: "1d",
  version: "1.0.0",
  description: "fit a 1-Lipschitz 1-D target with nbr_models batched networks (paper §5.1)",
  defaultConfig: "config_1d.json",
  loadNetworks: loadOnedNetworks,
  // The whole config's schema: its keys are the known ones (see core/config/strict_keys.ts).
  options: schema,
  tensorboardTags: {
    median_test_mse: "Validation/Median Loss",
    min_test_mse: "Validation/Min Loss",
    train_loss: "Train/Loss",
    spline_scaling_coeff_mean: "train/spline_scaling_coeff_mean",
  },
  // The ensemble of nbr_models fully connected networks: activations get [M, N, C].
  activationUses(config) {
    const cfg = config as Partial<OnedConfig>;
    const sizes = cfg.net_params?.layer_sizes ?? [];
    return [{
      section: "activation_fn_params",
      channels: [...new Set(sizes.slice(1, -1))],
      mode: "fc",
      ensemble: cfg.training_options?.nbr_models,
    }];
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
  async prepare(ctx) {
    const { tf } = ctx;
    const cfg = validateWith(schema, ctx.config, join(ctx.runDir, "config.json"));
    const M = cfg.training_options.nbr_models;
    const E = cfg.training_options.epochs;
    const B = cfg.training_options.batch_size;
    const S = cfg.dataset.training_dataset_size;
    const data = makeData(cfg);
    const model = await createOnedModel(ctx, ctx.registry, ctx.rng, cfg);
    // Several cores: the ensemble split over workers, same per-model numbers (parallel.ts).
    const W = splitWorkers(
      cfg,
      tf.getBackend(),
      navigator.hardwareConcurrency ?? 1,
      canStepNatively(ctx.ops, model, cfg),
    );
    if (W > 1) return await prepareSplit(ctx, cfg, data, W, model);
    const { net } = model;
    const params = net.parameters();

    const N = data.xTest.length;
    const testX = tf.tidy(() => tf.tile(tf.tensor(data.xTest, [1, N, 1]), [M, 1, 1]));
    const testY = tf.tensor(data.yTest, [1, N, 1]);
    let mse: Float32Array = new Float32Array(M).fill(NaN);

    // The whole step in WebAssembly where the network allows it (model.ts, nativeOnedStep).
    const native = nativeOnedStep(ctx.ops, model, cfg);
    const plan: TrainingPlan<OnedBatch> = {
      parameters: params,
      optimizers: { adam: native ? nativeOptimizer(native, model.adam) : model.adam },
      // The authors' epochs run 0..E inclusive: E + 1 passes (docs/method.md §5.1).
      epochs: E + 1,
      lossDivisor: M,
      epochBatches() {
        const { xs, ys, steps } = shuffleEpoch(ctx, data, M, S, B);
        return {
          count: steps,
          batch: (s) => {
            const off = s * M * B;
            return {
              x: xs.subarray(off, off + M * B),
              y: ys.subarray(off, off + M * B),
              last: s === steps - 1,
            };
          },
        };
      },
      step: (batch) => onedBatchStep(model, native, batch),
      async evaluate() {
        mse = await readTestMse(ctx, net, testX, testY);
        const row: Metrics = { median_test_mse: median(mse), min_test_mse: Math.min(...mse) };
        const scaling = await meanScaling(params);
        if (scaling !== null) row.spline_scaling_coeff_mean = scaling;
        return row;
      },
      saveState: () =>
        Promise.resolve({
          tensors: { test_mse: { shape: [M], data: mse.slice() } },
          meta: {
            experiment: "1d",
            nbr_models: M,
            median_test_mse: median(mse),
            min_test_mse: Math.min(...mse),
          },
        }),
      loadState(tensors) {
        if (tensors.test_mse) mse = tensors.test_mse.data.slice();
      },
      ...onedReporting(ctx, cfg, data, net, () => mse, native ? " with the native step" : ""),
      dispose() {
        testX.dispose();
        testY.dispose();
        disposeOnedModel(model);
      },
    };
    return plan;
  },
};
export default oned;
