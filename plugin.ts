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
  NativeActivation,
  NativeLayer,
  NativeProjection,
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
export type { PlanOptimizer, TrainingPlan } from "./core/train/plan.ts";
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

/**
 * Config schemas of the authors' keys shared by experiments: the top-level keys every config has
 * and the authors' whole config per experiment (docs/configs.md).
 *
 * @example
 * ```ts
 * import { commonSchema, validateWith } from "./plugin.ts";
 * validateWith(commonSchema, { exp_name: "a", log_dir: "runs", seed: 1 }, "cfg.json");
 * ```
 */
export { authorsSchemas, commonSchema } from "./core/config/config.ts";

/**
 * Checkpoints (HDF5, readable with h5py) and restoring parameters by name from one; atomic writes
 * for any file a plugin saves in the run folder.
 *
 * @example
 * ```ts ignore
 * import { readCheckpoint, restoreParameters } from "./plugin.ts";
 * const ck = await readCheckpoint("runs/x/checkpoint.h5");
 * restoreParameters(ctx.tf, net.parameters(), ck.tensors, "runs/x/checkpoint.h5");
 * ```
 */
export { readCheckpoint } from "./core/io/checkpoint.ts";
export { restoreParameters } from "./core/io/parameter_store.ts";
export { writeFileAtomic } from "./core/io/atomic_write.ts";

/**
 * A sequential network of layer and activation modules (forward, regularisation, bounds), the
 * shape every experiment's networks have for certify and report.
 *
 * @example
 * ```ts ignore
 * import { sequentialNetwork } from "./plugin.ts";
 * const net = sequentialNetwork(ctx.tf, modules);
 * ```
 */
export { sequentialNetwork } from "./core/nn/network.ts";

/**
 * Float64 upper bounds on the largest singular value (docs/method.md §4, Certification): of a
 * circular convolution from its kernel's DFT, with the method string layers report.
 *
 * @example
 * ```ts ignore
 * import { circularConvSpectralNormUpperBound } from "./plugin.ts";
 * const bound = circularConvSpectralNormUpperBound(kernel, 3, 64, 64, 40, 40);
 * ```
 */
export {
  circularConvSpectralNormUpperBound,
  EXACT_BOUND_METHOD,
} from "./core/certify/spectral_norm.ts";

/**
 * Image data for experiments: grayscale PNG/JPEG reading and writing, MNIST (IDX, md5-checked),
 * 40×40 patch sets (HDF5 files in the authors' layout, or cut from image folders), image grids,
 * and PSNR/SSIM (docs/method.md (5.7), (5.8)).
 *
 * @example
 * ```ts ignore
 * import { psnr, readGrayImage } from "./plugin.ts";
 * const img = await readGrayImage("data/set12/01.png");
 * ```
 */
export { encodeGrayPng, type GrayImage, listImages, readGrayImage } from "./core/data/images.ts";
export { loadMnistImages, loadMnistSplits, resolveMnistFile } from "./core/data/mnist.ts";
export {
  DEFAULT_PATCH_SIZE,
  DEFAULT_PATCH_STRIDE,
  extractPatches,
  type PatchOptions,
  type PatchSet,
  readHdf5Images,
  readPatchFile,
} from "./core/data/patches.ts";
export { imageGridPng } from "./core/output/image_grid.ts";
export { psnr, ssim } from "./core/metrics/image_quality.ts";
