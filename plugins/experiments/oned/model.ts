/**
 * The 1d experiment's model and training step (docs/method.md §5.1): `nbr_models` fully connected
 * networks stored as one ensemble, one Adam over all of them, and the batched step whose loss is
 * the sum over models of each model's loss (so every model gets exactly its own gradient). The
 * benchmarks and tests call this step, not a copy of it.
 *
 * @module
 */
import type {
  Adam,
  HostOps,
  Network,
  PlanOptimizer,
  PluginResolver,
  Rng,
  Scalar,
  Tensor,
  Tensor3D,
  TF,
} from "../../../plugin.ts";
import type { OnedConfig } from "./config.ts";

/** The ensemble network, its optimiser and what the loss needs. */
export interface OnedModel {
  tf: TF;
  net: Network;
  adam: Adam;
  /** TV(2) weight `lmbda` (0 when absent). */
  lmbda: number;
  /** Batch size `B` (the loss divides by it). */
  batchSize: number;
  /** Number of models `M`. */
  models: number;
}

/**
 * Build the 1d ensemble and its Adam from a validated config (the parameter groups of
 * docs/method.md (3.10)).
 *
 * @example
 * ```ts ignore
 * const model = await createOnedModel({ tf, ops }, registry, new MT19937(5), cfg);
 * ```
 */
export async function createOnedModel(
  host: { tf: TF; ops: HostOps },
  registry: PluginResolver,
  rng: Rng,
  cfg: Pick<OnedConfig, "net_params" | "activation_fn_params" | "optimizer" | "training_options">,
): Promise<OnedModel> {
  const { tf, ops } = host;
  const M = cfg.training_options.nbr_models;
  const net = await ops.buildFcNetwork({
    tf,
    ops,
    registry,
    rng,
    net: cfg.net_params,
    activation: cfg.activation_fn_params,
    ensemble: M,
    // The authors' fully connected networks never apply weight_initialization: weights and
    // biases keep nn.Linear's default (docs/method.md (4.14)); our key applies it literally.
    ...(cfg.net_params.apply_weight_initialization
      ? {}
      : { init: "torch_linear_default" as const }),
  });
  const adam = new ops.Adam(tf, net.parameters(), {
    weights: cfg.optimizer.lr_weights,
    spline_coeffs: cfg.optimizer.lr_spline_coeffs,
    spline_scaling: cfg.optimizer.lr_spline_scaling_coeffs,
  });
  return {
    tf,
    net,
    adam,
    lmbda: cfg.activation_fn_params.lmbda ?? 0,
    batchSize: cfg.training_options.batch_size,
    models: M,
  };
}

/**
 * The loss of one batch (docs/method.md (5.1)): per model, the sum of squared errors over the
 * batch divided by `B`, plus `lmbda · TV2`; summed over models. `xb`, `yb`: `[M, B, 1]`.
 */
export function onedLoss(model: OnedModel, xb: Tensor3D, yb: Tensor3D): Scalar {
  const { tf, net, lmbda, batchSize: B } = model;
  return tf.tidy(() => {
    if (lmbda === 0) return tf.div(tf.sum(tf.square(tf.sub(net.forward(xb), yb))), B);
    const { y, regularization } = net.forwardWithRegularization(xb);
    const fit = tf.div(tf.sum(tf.square(tf.sub(y, yb))), B);
    return tf.add(fit, tf.mul(regularization, lmbda));
  }) as Scalar;
}

/**
 * One training step: gradients of {@linkcode onedLoss}, one Adam update, then the activations'
 * post-step hook ("LS old" normalisation, docs/method.md (3.9)). Returns the loss (sum over
 * models) before the update.
 */
export function onedStep(model: OnedModel, xb: Tensor3D, yb: Tensor3D): Scalar {
  const { tf, adam, net } = model;
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => onedLoss(model, xb, yb), adam.variables());
    adam.apply(grads);
    return value;
  });
  net.afterStep();
  return value;
}

/**
 * Test MSE of every model (docs/method.md §5): sum of squared errors over the test grid / its size,
 * with cached weights. `testX`: `[M, N, 1]`, `testY`: `[1, N, 1]`; returns `[M]`.
 */
export function testMse(tf: TF, net: Network, testX: Tensor, testY: Tensor): Tensor {
  const n = testY.shape[1]!;
  return tf.tidy(() =>
    tf.div(tf.sum(tf.square(tf.sub(net.forward(testX, { training: false }), testY)), [1, 2]), n)
  );
}

/**
 * One step's batch as the 1d plans hand it to their step: inputs and targets `[M, B, 1]`, flat
 * views of the epoch's shuffled samples, and whether it is the epoch's last step.
 */
export interface OnedBatch {
  x: Float32Array;
  y: Float32Array;
  last: boolean;
}

/** The native trainer of a 1d model (core/train/native_fc_ensemble.ts). */
export type NativeOnedStep = NonNullable<ReturnType<HostOps["NativeFcEnsemble"]["create"]>>;

/**
 * Whether the model's step can run as one WebAssembly trainer (docs/training.md "The native
 * ensemble step"): on the CPU backends (cpu, wasm) unless `training_options.native_step` is false,
 * when every module of the network has a native form (Björck-projected linear layers, the
 * constrained linear spline). Builds nothing.
 */
export function canStepNatively(
  ops: HostOps,
  model: OnedModel,
  cfg: Pick<OnedConfig, "training_options">,
): boolean {
  return cfg.training_options.native_step !== false &&
    ["cpu", "wasm"].includes(model.tf.getBackend()) &&
    ops.NativeFcEnsemble.supports(model.net, model.adam, model.models);
}

/** The model's native trainer where {@linkcode canStepNatively}, else null. */
export function nativeOnedStep(
  ops: HostOps,
  model: OnedModel,
  cfg: Pick<OnedConfig, "training_options">,
): NativeOnedStep | null {
  if (!canStepNatively(ops, model, cfg)) return null;
  return ops.NativeFcEnsemble.create(model.tf, model.net, model.adam, {
    models: model.models,
    batchSize: model.batchSize,
    lmbda: model.lmbda,
  });
}

/**
 * One training step on `batch`: the native trainer's when there is one (which writes the trained
 * values back to the TF.js variables after the epoch's last step, for the evaluation, the
 * non-finite guard and the figures), else {@linkcode onedStep}. Returns the loss summed over models.
 */
export function onedBatchStep(
  model: OnedModel,
  native: NativeOnedStep | null,
  batch: OnedBatch,
): Scalar {
  const { tf, models: M, batchSize: B } = model;
  if (!native) {
    return onedStep(model, tf.tensor3d(batch.x, [M, B, 1]), tf.tensor3d(batch.y, [M, B, 1]));
  }
  const loss = native.step(batch.x, batch.y);
  if (batch.last) native.push();
  return tf.scalar(loss);
}

/**
 * The engine's view of the model's Adam when the native trainer steps: reading the state writes
 * the trained parameters and moments back first; restoring it makes the trainer read them again.
 */
export function nativeOptimizer(native: NativeOnedStep, adam: Adam): PlanOptimizer {
  return {
    get step() {
      return native.adamStep;
    },
    getState() {
      native.push();
      return adam.getState();
    },
    setState(state) {
      adam.setState(state);
      native.invalidate();
    },
  };
}

/** Free the network and the optimiser state. */
export function disposeOnedModel(model: OnedModel): void {
  model.adam.dispose();
  model.net.dispose();
}
