/**
 * lipspline: 1-Lipschitz neural networks with learnable 1-Lipschitz linear-spline activations
 * (Ducotterd et al., *Improving Lipschitz-Constrained Neural Networks by Learning Activation
 * Functions*, JMLR 2024), on TensorFlow.js.
 *
 * This module is the public API: the four plugin interfaces, the registry, and the helpers a
 * plugin author needs. A plugin is a module whose default export is one typed object; it receives
 * the host's `tf` through its context.
 *
 * @example A third-party activation plugin (`./softsign.ts`), used with
 * `--set activation_fn_params.activation_type=./softsign.ts`:
 * ```ts
 * import type { Activation } from "./mod.ts";
 *
 * export default {
 *   kind: "activation",
 *   name: "softsign",
 *   version: "1.0.0",
 *   description: "x / (1 + |x|), 1-Lipschitz",
 *   create: ({ tf }) => ({
 *     kind: "softsign",
 *     parameters: () => [],
 *     forward: (x) => tf.div(x, tf.add(1, tf.abs(x))),
 *     lipschitzBound: () => Promise.resolve({ value: 1, method: "slope at 0" }),
 *   }),
 * } satisfies Activation;
 * ```
 *
 * @module
 */

export type {
  Activation,
  ActivationContext,
  ActivationInstance,
  ActivationParams,
  Experiment,
  ExperimentContext,
  ExperimentResult,
  Layer,
  LayerContext,
  LayerInstance,
  LipschitzBound,
  Metrics,
  NativeActivation,
  NativeLayer,
  NativeProjection,
  Parameter,
  ParamGroup,
  Plugin,
  PluginBase,
  PluginKind,
  PluginResolver,
  Progress,
  Projection,
  ProjectionInstance,
  ProjectionOptions,
} from "./core/plugin/interfaces.ts";

/**
 * What a plugin file imports (types, zod, a silent progress, run files, figures), from the
 * plugin-author entry `plugin.ts`, which loads no TensorFlow.js. The config schemas
 * (`activationParamsSchema`, `fcNetSchema`, ...) are imported from `plugin.ts` itself.
 *
 * @example
 * ```ts
 * import { type Activation, z } from "./mod.ts";
 * const options = { my_scale: z.number().positive().optional() };
 * ```
 */
export {
  activationFigure,
  activationsFigure,
  curvesFigure,
  fitFigure,
  readMetrics,
  RUN_FILES,
  silentProgress,
  writeFigure,
  z,
} from "./plugin.ts";
export type {
  ActivationUse,
  HostContext,
  HostOps,
  LoadNetworksContext,
  OptionsSchema,
  ProjectionContext,
  ResolvedActivation,
  ResolvedLayer,
  ResolvedProjection,
  TrainedNetwork,
  TrainingPlan,
} from "./plugin.ts";

/**
 * The host's ops, as handed to every plugin in `ctx.ops` (fused ops, spline math, parameter
 * helpers, sampling, networks, Adam, spectral-norm bounds), all bound to the host's engine.
 *
 * @example
 * ```ts
 * import { hostOps, tf } from "./mod.ts";
 * const y = hostOps.circularPad(tf.ones([1, 4, 4, 2]), 1); // [1, 6, 6, 2]
 * ```
 */
export { hostOps } from "./core/plugin/host_ops.ts";

/**
 * Sampling an activation on a grid for figures: through its own `sample`, else through its
 * forward (every activation gets a figure).
 *
 * @example
 * ```ts ignore
 * const curves = await activationCurves(tf, act, grid, channels);
 * ```
 */
export { activationCurves, sampleActivation } from "./core/nn/activation_sample.ts";

/**
 * The activation contract `train` checks before a run folder exists (a forward on a tiny input
 * of the real shape keeps it and is finite; a bound exists).
 *
 * @example
 * ```ts ignore
 * const problem = await activationProblem(tf, instance, [2, 10]); // null when it holds
 * ```
 */
export {
  activationProblem,
  activationUses,
  checkActivationContracts,
} from "./core/plugin/contract.ts";

/**
 * The host's TensorFlow.js namespace and its type.
 *
 * @example
 * ```ts
 * import { tf } from "./mod.ts";
 * const y = tf.relu(tf.tensor([-1, 2]));
 * ```
 */
export { type TF, tf } from "./core/backend/tf.ts";

/**
 * Errors for user mistakes: the CLI prints the message on one line and exits with code 2.
 *
 * @example
 * ```ts
 * import { UserError } from "./mod.ts";
 * const e = new UserError("Cannot build x as y: value is 3");
 * ```
 */
export { isUserError, UserError } from "./core/errors.ts";

/**
 * The plugin registry: resolves built-in names and module paths.
 *
 * @example
 * ```ts
 * import { builtinPlugins, createRegistry } from "./mod.ts";
 * const registry = createRegistry(builtinPlugins);
 * const spline = await registry.activation("linearspline");
 * ```
 */
export { createRegistry, type PluginManifest, type Registry } from "./core/plugin/registry.ts";

/**
 * The manifest of built-in plugins (name → lazy import).
 *
 * @example
 * ```ts
 * import { builtinPlugins } from "./mod.ts";
 * console.log(Object.keys(builtinPlugins.activation));
 * ```
 */
export { builtinPlugins } from "./plugins/builtin.ts";

/**
 * Choose and start the TF.js backend (`auto`, `cpu`, `wasm`, `webgpu`).
 *
 * @example
 * ```ts
 * import { initBackend } from "./mod.ts";
 * const info = await initBackend("cpu");
 * ```
 */
export { type BackendInfo, type DeviceChoice, initBackend } from "./core/backend/backend.ts";

/**
 * Declaring parameters once, with an optional leading ensemble axis.
 *
 * @example
 * ```ts
 * import { createParameter, tf } from "./mod.ts";
 * const a = createParameter(tf, "act/slope", "weights", [4], new Float32Array(4).fill(0.5));
 * ```
 */
export { channelShape, createParameter, repeatValues } from "./core/nn/parameters.ts";

/**
 * The fused linear-spline op (docs/method.md §3): `y = s_c(alpha_c x) / alpha_c`, differentiable in
 * `x`, the coefficients and `alpha`.
 *
 * @example
 * ```ts
 * import { linearSpline, tf } from "./mod.ts";
 * const x = tf.tensor3d([[[0.1, -0.3]]]);
 * const coef = tf.tensor2d([[1, 0.5, 0, 0.5, 1], [1, 0.5, 0, 0.5, 1]]);
 * const y = linearSpline(x, coef, tf.ones([2]), { size: 5, range: 1 });
 * ```
 */
export { linearSpline, type SplineGrid } from "./core/ops/spline.ts";

/**
 * Spline coefficient math (docs/method.md §3): grid, initialisations, the 1-Lipschitz projection, TV2.
 *
 * @example
 * ```ts
 * import { gridStep, initialCoefficients, projectCoefficients, tf } from "./mod.ts";
 * const c = tf.tensor2d(initialCoefficients("relu", 1, 11, 1), [1, 11]);
 * const p = projectCoefficients(tf, c, gridStep(1, 11));
 * ```
 */
export {
  gridStep,
  initialCoefficients,
  knots,
  lsOldNormalize,
  maxSlope,
  projectCoefficients,
  type SplineInit,
  tv2,
} from "./core/nn/spline_math.ts";

/**
 * Björck orthonormalisation (docs/method.md §4) and the spectral norm by power iteration.
 *
 * @example
 * ```ts
 * import { bjorck, tf } from "./mod.ts";
 * const w = bjorck(tf.div(tf.randomNormal([4, 3]), Math.sqrt(12)), 15);
 * ```
 */
export { bjorck, spectralNorm } from "./core/ops/bjorck.ts";

/**
 * BCOP orthogonal convolutions (docs/method.md §4): the weight built from its `2(k-1)+1` matrices, the
 * circular convolution, and its exact Lipschitz constant from the 2-D DFT of the kernel; and
 * circular padding of NHWC tensors (differentiable).
 *
 * @example
 * ```ts
 * import { bcopKernel, circularConv2d, circularConvSpectralNorm, tf } from "./mod.ts";
 * const matrices = tf.randomNormal([5, 4, 4]); // k = 3: 2(k-1)+1 matrices of M×M, M = 4
 * const w = bcopKernel(matrices, 3, 4, 4); // [3, 3, 4, 4], an orthogonal convolution
 * const y = circularConv2d(tf.randomNormal([1, 8, 8, 4]), w); // [1, 8, 8, 4], same norm
 * const sigma = circularConvSpectralNorm(await w.data() as Float32Array, 3, 4, 4, 8); // ≈ 1
 * ```
 */
export {
  bcopKernel,
  bcopMatrixCount,
  circularConv2d,
  circularConvSpectralNorm,
} from "./core/ops/bcop.ts";

/**
 * Circular padding of an NHWC tensor by `p` pixels on each side of both spatial axes.
 *
 * @example
 * ```ts
 * import { circularPad, tf } from "./mod.ts";
 * const y = circularPad(tf.ones([1, 4, 4, 2]), 1); // [1, 6, 6, 2]
 * ```
 */
export { circularPad } from "./core/ops/circular_pad.ts";

/**
 * Weight initialisations of docs/method.md §4.
 *
 * @example
 * ```ts
 * import { initWeight, MT19937 } from "./mod.ts";
 * const w = initWeight(new MT19937(1), "orthonormal", 4, 4);
 * ```
 */
export { initBias, initWeight, type WeightInit } from "./core/nn/weight_init.ts";

/**
 * MT19937, NumPy's legacy generator: the same seed gives the authors' random numbers.
 *
 * @example
 * ```ts
 * import { MT19937 } from "./mod.ts";
 * const rng = new MT19937(5);
 * rng.random(); // 0.22199317108973948, as numpy.random.rand() after seed(5)
 * ```
 */
export { MT19937, permutation } from "./core/rng/mt19937.ts";
export type { Rng, RngState } from "./core/rng/rng.ts";

/**
 * HDF5 checkpoints (written atomically; open in h5py).
 *
 * @example
 * ```ts ignore
 * import { readCheckpoint } from "./mod.ts";
 * const ck = await readCheckpoint("1d_exps/ortho/test/checkpoint.h5");
 * ```
 */
export {
  type Checkpoint,
  readCheckpoint,
  type StoredTensor,
  writeCheckpoint,
} from "./core/io/checkpoint.ts";

/**
 * A fully connected 1-Lipschitz network from `net_params` (optionally an ensemble).
 *
 * @example
 * ```ts ignore
 * const net = await buildFcNetwork({ tf, registry, rng, net: cfg.net_params, activation: cfg.activation_fn_params });
 * ```
 */
export { buildFcNetwork, type FcNetParams, type Network } from "./core/nn/fc_network.ts";

/**
 * Adam with the paper's three parameter groups.
 *
 * @example
 * ```ts ignore
 * const opt = new Adam(tf, net.parameters(), { weights: 2e-3, spline_coeffs: 5e-5, spline_scaling: 5e-4 });
 * ```
 */
export { Adam, type AdamState, type LearningRates } from "./core/train/adam.ts";

/**
 * Config loading, `--set` overrides and validation against the authors' schemas.
 *
 * @example
 * ```ts
 * import { applyOverrides } from "./mod.ts";
 * const cfg = applyOverrides({ seed: 1 }, ["seed=2"]);
 * ```
 */
export {
  applyOverrides,
  authorsSchemas,
  loadConfigFile,
  validateWith,
} from "./core/config/config.ts";
