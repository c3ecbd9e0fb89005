/**
 * The plugin-author entry of lipspline: what a plugin file imports (re-exported by `mod.ts`).
 * It loads no TensorFlow.js: a plugin computes with the host's `ctx.tf` and `ctx.ops` (the fused
 * ops, parameter helpers, sampling, networks and Adam, bound to the host's engine and kernels,
 * see {@linkcode HostOps}), so the same file runs on the host's engine from `deno run`, from a
 * test, or from the single-file binary that loads it from disk. Import types from here with
 * `import type`; the runtime values here (zod, `UserError`, the option schemas) hold no engine.
 *
 * @example An activation with one option of its own (`activation_fn_params.scale`):
 * ```ts
 * import { type Activation, z } from "./plugin.ts";
 *
 * const scaled: Activation = {
 *   kind: "activation",
 *   name: "scaled_relu",
 *   version: "1.0.0",
 *   description: "relu(x) * scale, scale ≤ 1",
 *   options: { scale: z.number().positive().max(1).optional() },
 *   create: ({ tf, params }) => {
 *     const s = Number(params.scale ?? 1);
 *     return {
 *       kind: "scaled_relu",
 *       parameters: () => [],
 *       forward: (x) => tf.mul(tf.relu(x), s),
 *       lipschitzBound: () => Promise.resolve({ value: s, method: "slope" }),
 *     };
 *   },
 * };
 * ```
 *
 * @module
 */

export type {
  Activation,
  ActivationContext,
  ActivationInstance,
  ActivationParams,
  ActivationUse,
  Experiment,
  ExperimentContext,
  ExperimentResult,
  HostContext,
  HostOps,
  Layer,
  LayerContext,
  LayerInstance,
  LipschitzBound,
  LoadNetworksContext,
  Metrics,
  OptionsSchema,
  Parameter,
  ParamGroup,
  Plugin,
  PluginBase,
  PluginKind,
  PluginResolver,
  Progress,
  Projection,
  ProjectionContext,
  ProjectionInstance,
  ProjectionOptions,
  ResolvedActivation,
  ResolvedLayer,
  ResolvedProjection,
  TrainedNetwork,
} from "./core/plugin/interfaces.ts";
export type {
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Variable,
} from "@tensorflow/tfjs-core";
export type { TF } from "./core/backend/tf.ts";
export type { PluginManifest } from "./core/plugin/registry.ts";
export type { Rng, RngState } from "./core/rng/rng.ts";
export type { Network, NetworkModule } from "./core/nn/network.ts";
export type { FcNetParams } from "./core/nn/fc_network.ts";
export type { TrainingPlan } from "./core/train/plan.ts";
export type { Adam, AdamState, LearningRates } from "./core/train/adam.ts";
export type { Checkpoint, StoredTensor } from "./core/io/checkpoint.ts";
export type { SplineInit } from "./core/nn/spline_math.ts";
export type { SplineGrid } from "./core/ops/spline.ts";
export type { WeightInit } from "./core/nn/weight_init.ts";

/**
 * zod, the schema library of plugin `options` (the same copy the host validates with).
 *
 * @example
 * ```ts
 * import { z } from "./plugin.ts";
 * const options = { my_scale: z.number().positive().optional() };
 * ```
 */
export { z } from "zod";

/**
 * Errors for user mistakes: thrown from `validate` or `create`, the CLI prints the message as one
 * line and exits with code 2.
 *
 * @example
 * ```ts
 * import { UserError } from "./plugin.ts";
 * const e = new UserError("Cannot build my_act as the width must be even: width is 3");
 * ```
 */
export { isUserError, UserError } from "./core/errors.ts";

/**
 * The config schemas plugins build on (docs/method.md §1) and validation with a one-line error.
 *
 * @example
 * ```ts
 * import { activationParamsSchema, validateWith } from "./plugin.ts";
 * const p = validateWith(activationParamsSchema, { activation_type: "relu" }, "cfg.json");
 * ```
 */
export {
  activationParamsSchema,
  fcNetSchema,
  onedConfigSchema,
  optimizerSchema,
  validateWith,
} from "./core/config/config.ts";

/**
 * A progress that prints nothing, for experiment contexts built in tests.
 *
 * @example
 * ```ts
 * import { silentProgress } from "./plugin.ts";
 * const progress = silentProgress();
 * ```
 */
export { silentProgress } from "./core/output/progress.ts";

/**
 * MT19937 (NumPy's legacy generator) and a seeded permutation, for experiments that make their
 * own generators (e.g. a data set's fixed seed).
 *
 * @example
 * ```ts
 * import { MT19937 } from "./plugin.ts";
 * const rng = new MT19937(5);
 * ```
 */
export { MT19937, permutation } from "./core/rng/mt19937.ts";

/**
 * Run folder file names and metrics reading (figures of an experiment).
 *
 * @example
 * ```ts ignore
 * import { readMetrics, RUN_FILES } from "./plugin.ts";
 * const rows = await readMetrics(ctx.runDir);
 * ```
 */
export { readMetrics, RUN_FILES } from "./core/io/run_dir.ts";

/**
 * Figures (vega-lite → SVG and PNG) of an experiment's run: an activation's curves, a fit, the
 * training curves.
 *
 * @example
 * ```ts ignore
 * import { activationFigure, writeFigure } from "./plugin.ts";
 * await writeFigure(dir, "activation_0", await activationFigure({ layer: "act0", range: 1, x, channels }));
 * ```
 */
export {
  activationFigure,
  activationsFigure,
  curvesFigure,
  fitFigure,
  writeFigure,
} from "./core/output/figures.ts";
