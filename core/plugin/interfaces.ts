/**
 * The four plugin interfaces of lipspline: {@linkcode Activation}, {@linkcode Layer},
 * {@linkcode Projection} and {@linkcode Experiment}. A plugin is a module whose default
 * export is one object of these types. Plugins receive the host's `tf` in their context and
 * never import their own copy of TensorFlow.js.
 *
 * Tensor layout: fully connected activations are `[N, C]`; convolutional ones are NHWC
 * (`[N, H, W, C]`, TensorFlow.js's native layout). When several independent models are
 * trained as one batched computation (an *ensemble* of `M` models, as in the 1d
 * experiment), every parameter gets a leading `[M]` axis and activations are `[M, N, C]`.
 *
 * @module
 */
import type { Scalar, Tensor, Variable } from "@tensorflow/tfjs-core";
import type { TF } from "../backend/tf.ts";
import type { Rng } from "../rng/rng.ts";
import type { TrainingPlan } from "../train/plan.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import type { Network } from "../nn/network.ts";
import type { core as zodCore, ZodObject, ZodType } from "zod";
import type { HostOps } from "./host_ops.ts";

export type { HostOps } from "./host_ops.ts";

/** Which optimiser group (and learning rate) a parameter belongs to (docs/method.md §3). */
export type ParamGroup = "weights" | "spline_coeffs" | "spline_scaling";

/** One trainable tensor of a layer or activation. */
export interface Parameter {
  /** Unique, stable name; used as the checkpoint key. */
  name: string;
  /** Optimiser group. */
  group: ParamGroup;
  /** The TensorFlow.js variable holding the value. */
  variable: Variable;
}

/**
 * A Lipschitz bound computed from a module's *current* parameters. `value` is `null` when the
 * module cannot bound itself ("unbounded"); for an ensemble, `perModel` holds one bound per model
 * and `value` is the worst of them.
 */
export interface LipschitzBound {
  value: number | null;
  perModel?: number[];
  /** How the bound was obtained, e.g. "power iteration on the projected weight". */
  method: string;
}

/** What every plugin's default export has. */
export interface PluginBase {
  /** Name used in configs (e.g. `linearspline`) or a module path. */
  readonly name: string;
  /** Semantic version of the plugin. */
  readonly version: string;
  /** One line shown by `lipspline plugins list`. */
  readonly description: string;
  /**
   * The config keys this plugin reads, with their types (like an ESLint rule's `schema`).
   * `train` rejects a key that no plugin or experiment declares, suggesting the nearest known
   * one. An activation declares its keys of `activation_fn_params`, a projection its keys of
   * `net_params`, an experiment the schema of its whole config (nested objects are walked).
   * The section of the plugin a config names is also validated against its schema. Omitted:
   * the plugin reads no config keys (an experiment without it is checked against the authors'
   * schema of its name, if any, else not at all).
   *
   * @example
   * ```ts
   * import { z } from "zod";
   * import type { OptionsSchema } from "./interfaces.ts";
   * // An activation reading activation_fn_params.softsign_scale declares:
   * const options: OptionsSchema = { softsign_scale: z.number().positive().optional() };
   * // or the same as one object schema:
   * const same: OptionsSchema = z.object({ softsign_scale: z.number().positive().optional() });
   * ```
   */
  readonly options?: OptionsSchema;
}

/**
 * What {@linkcode PluginBase.options} holds: a zod object schema, or a plain record of key → zod
 * type (the shape of such an object). Only the keys matter for the unknown-key check; nested
 * object schemas declare nested keys.
 */
export type OptionsSchema =
  | ZodObject<zodCore.$ZodShape, zodCore.$ZodObjectConfig>
  | { readonly [key: string]: ZodType };

/** The keys of `activation_fn_params` (docs/method.md §1); plugins may read extra keys of their own. */
export interface ActivationParams {
  activation_type: string;
  groupsort_groupsize?: number;
  prelu_init?: number | "maxmin";
  lipschitz_constrained?: boolean;
  spline_init?: "identity" | "relu" | "absolute_value" | "maxmin" | "zero";
  spline_range?: number;
  spline_size?: number;
  spline_scaling_coeff?: boolean;
  lmbda?: number;
  [key: string]: unknown;
}

/** What an activation plugin gets when it builds one activation layer. */
export interface ActivationContext {
  /** The host's TensorFlow.js. */
  tf: TF;
  /** The host's ops (spline, groupsort, householder, bjorck, ...), bound to `tf` and its kernels. */
  ops: HostOps;
  /** Number of channels `C` (last axis). */
  channels: number;
  /** `fc` for `[N, C]` inputs, `conv` for NHWC inputs. */
  mode: "fc" | "conv";
  /** Number of models trained together; parameters get a leading `[M]` axis. */
  ensemble?: number;
  /** The config's activation parameters. */
  params: ActivationParams;
  /** Unique prefix for parameter names, e.g. `act1`. */
  name: string;
  /** Seeded random numbers, for plugins that initialise randomly. */
  rng: Rng;
}

/** A built activation layer. `forward` is pure: it reads parameters and never changes them. */
export interface ActivationInstance {
  readonly kind: string;
  /** Trainable parameters, tagged with their optimiser group. */
  parameters(): Parameter[];
  /** Apply the activation; shape is preserved. */
  forward(x: Tensor): Tensor;
  /** Regularisation term added to the loss (TV2 for splines), summed over channels. */
  regularization?(): Scalar;
  /**
   * `forward` and `regularization` in one pass, sharing their work (the spline computes its
   * projected coefficients once). Optional; the host falls back to the two calls.
   */
  forwardWithRegularization?(x: Tensor): { y: Tensor; regularization: Scalar };
  /** Hook run after each optimiser step (e.g. "LS old" normalisation). */
  afterStep?(): void;
  /** The Lipschitz constant guaranteed by the current parameters. */
  lipschitzBound(): Promise<LipschitzBound>;
  /** Sample the activation on `x` (1-D grid) per channel, for figures: `C` arrays (one model). */
  sample?(x: Float32Array, model?: number): Promise<Float32Array[]>;
  /**
   * The activation's math in terms the native ensemble trainer runs without TF.js
   * (docs/training.md "The native ensemble step"); absent: the generic step is used.
   */
  readonly native?: NativeActivation;
}

/**
 * An activation as the native ensemble trainer runs it (core/train/native_fc_ensemble.ts): the
 * constrained linear spline of docs/method.md §3, evaluated by the op `linearSpline` with the
 * coefficients projected by `projectWithTv2` in every forward pass, its TV(2) in the loss.
 *
 * @example
 * ```ts ignore
 * const native: NativeActivation = { kind: "spline", coefficients: coef, scaling: alpha, size: 101, range: 0.5 };
 * ```
 */
export interface NativeActivation {
  readonly kind: "spline";
  /** Raw coefficients, `[M, C, K]`. */
  coefficients: Parameter;
  /** Scaling coefficients `alpha`, `[M, C]` (trained when `variable.trainable`). */
  scaling: Parameter;
  /** Number of knots K. */
  size: number;
  /** Range R of the knots. */
  range: number;
}

/** An activation plugin (relu, linearspline, ...). */
export interface Activation extends PluginBase {
  readonly kind: "activation";
  /** Check parameters before anything runs; throw a `UserError` naming the key. */
  validate?(params: ActivationParams, channels: number): void;
  create(ctx: ActivationContext): ActivationInstance;
}

/** A built projection: maps an unconstrained weight to a constrained one, differentiably. */
export interface ProjectionInstance {
  /** `w`: `[out, in]` or `[M, out, in]`. Returns a tensor of the same shape. */
  project(w: Tensor): Tensor;
  /** The Lipschitz bound (largest singular value) of `project(w)`, per model. */
  lipschitzBound(w: Tensor): Promise<LipschitzBound>;
  /** The projection in terms the native ensemble trainer runs; absent: generic step only. */
  readonly native?: NativeProjection;
}

/**
 * A projection as the native ensemble trainer runs it: `P(W) = bjorck(W / sqrt(out·in), iters,
 * beta)` (docs/method.md §4), the op `bjorck` differentiated through.
 *
 * @example
 * ```ts ignore
 * const native: NativeProjection = { kind: "bjorck", iters: 15, beta: 0.5 };
 * ```
 */
export interface NativeProjection {
  readonly kind: "bjorck";
  iters: number;
  beta: number;
}

/** Options shared by projections. */
export interface ProjectionOptions {
  /** Björck iterations (`bjorck_iter`). */
  bjorckIter?: number;
  [key: string]: unknown;
}

/** What a projection plugin gets when it builds one projection. */
export interface ProjectionContext {
  /** The host's TensorFlow.js. */
  tf: TF;
  /** The host's ops, bound to `tf` and its kernels. */
  ops: HostOps;
}

/** A projection plugin (orthonormalize, no_projection, spectral_norm, ...). */
export interface Projection extends PluginBase {
  readonly kind: "projection";
  create(ctx: ProjectionContext, options: ProjectionOptions): ProjectionInstance;
}

/** What a layer plugin gets when it builds one layer. */
export interface LayerContext {
  /** The host's TensorFlow.js. */
  tf: TF;
  /** The host's ops (bcop, circularPad, bjorck, parameter helpers, ...), bound to `tf`. */
  ops: HostOps;
  /** Unique prefix for parameter names, e.g. `linear0`. */
  name: string;
  /** Number of models trained together; parameters get a leading `[M]` axis. */
  ensemble?: number;
  /** Seeded random numbers for initialisation. */
  rng: Rng;
  /** Resolves projection names (layers that constrain weights look them up here). */
  projection?: ProjectionInstance;
}

/** A built layer: parameters declared once, a pure forward, the constraint in one place. */
export interface LayerInstance {
  readonly kind: string;
  readonly name: string;
  parameters(): Parameter[];
  /**
   * Pure forward pass. `training` (default true) matters for batch norm; with `training: false`
   * a layer may reuse work that depends only on unchanged parameters (projected weights).
   */
  forward(x: Tensor, opts?: { training?: boolean }): Tensor;
  /** Free what the layer holds besides its parameters (caches). */
  dispose?(): void;
  /** The Lipschitz constant guaranteed by the current parameters. */
  lipschitzBound(opts?: { inputShape?: number[] }): Promise<LipschitzBound>;
  /** The layer in terms the native ensemble trainer runs; absent: generic step only. */
  readonly native?: NativeLayer;
}

/**
 * A layer as the native ensemble trainer runs it: the dense layer `y = x P(W)ᵀ + b`
 * (docs/method.md (4.1)) with `W` `[M, out, in]` and `b` `[M, 1, out]`.
 *
 * @example
 * ```ts ignore
 * const native: NativeLayer = { kind: "linear", weight, bias, projection: projection.native! };
 * ```
 */
export interface NativeLayer {
  readonly kind: "linear";
  weight: Parameter;
  bias?: Parameter;
  projection: NativeProjection;
}

/** A layer plugin (lipschitz_linear, bcop_conv, ...). `Options` are the layer's own. */
export interface Layer<Options = unknown> extends PluginBase {
  readonly kind: "layer";
  create(ctx: LayerContext, options: Options): LayerInstance;
}

/** One appended line of `metrics.jsonl`. */
export type Metrics = Record<string, number | string>;

/** Progress reporting for long loops; the CLI draws bars, tests use a silent one. */
export interface Progress {
  start(total: number, label: string): void;
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

/** Everything an experiment needs from the host while it runs. */
export interface ExperimentContext {
  /** The host's TensorFlow.js. */
  tf: TF;
  /** The host's ops (networks, Adam, fused ops, parameter helpers), bound to `tf`. */
  ops: HostOps;
  /** The resolved, validated config (the authors' keys plus our optional ones). */
  config: Record<string, unknown>;
  /** `log_dir/exp_name`, already created. */
  runDir: string;
  /** Resolves activation, layer and projection names. */
  registry: PluginResolver;
  /** Seeded random numbers (MT19937 seeded with `config.seed`). */
  rng: Rng;
  /** Append one line to `metrics.jsonl` (and to TensorBoard when enabled). */
  logMetrics(m: Metrics): Promise<void>;
  /** Progress bars. */
  progress: Progress;
  /** Print a line for the user (stdout, respecting progress bars). */
  log(message: string): void;
  /** Set when resuming: the path of the checkpoint to continue from. */
  resumeFrom?: string;
  /** Set when resuming: that checkpoint, read once by the host (the engine restores it). */
  resume?: Checkpoint;
  /** Aborted on SIGINT: experiments checkpoint and return early. */
  signal?: AbortSignal;
}

/** What an experiment returns: a one-screen summary for the user. */
export interface ExperimentResult {
  /** Final metrics (also written to `metrics.jsonl`). */
  metrics: Metrics;
  /** Lines printed at the end of the run. */
  summary: string[];
}

/** Where a config uses an activation: the shapes its instances get (see `Experiment.activationUses`). */
export interface ActivationUse {
  /** The config key holding the activation parameters, e.g. `activation_fn_params`. */
  section: string;
  /** Channel counts `C` of the layers using it (each is checked). */
  channels: number[];
  /** `fc` (`[N, C]`) or `conv` (NHWC). */
  mode: "fc" | "conv";
  /** Models trained as one ensemble (inputs `[M, N, C]`). */
  ensemble?: number;
}

/** An experiment plugin (1d, wasserstein, wgan, denoising). */
export interface Experiment extends PluginBase {
  readonly kind: "experiment";
  /** Default config file name in `configs/`. */
  readonly defaultConfig: string;
  /** TensorBoard tag of each metric key it logs (the authors' tags), e.g. `Validation/Median Loss`. */
  readonly tensorboardTags?: Record<string, string>;
  /**
   * Validate the config before anything runs (the run folder is not created yet): keys, and the
   * plugins it names against the shapes they will get. Throw `UserError`.
   */
  validate?(
    config: Record<string, unknown>,
    file: string,
    registry: PluginResolver,
  ): void | Promise<void>;
  /**
   * Where the config uses activations, so that `train` can check each named activation's
   * contract on a tiny input of the real shape before the run folder exists. Omitted: the host
   * reads every `*activation_fn_params` section with a sibling `*net_params` holding
   * `layer_sizes` (fully connected) or `num_channels` (convolutional).
   */
  activationUses?(config: Record<string, unknown>): ActivationUse[];
  /**
   * Build the training plan (data, model, optimisers, step, evaluation) that the host's training
   * engine runs: the loop, checkpoints, resume, metrics, progress, Ctrl-C and the non-finite
   * guard come from the engine (`core/train/engine.ts`). Preferred over `run`.
   */
  prepare?(ctx: ExperimentContext): Promise<TrainingPlan>;
  /** Escape hatch: run the whole experiment without the engine (used when `prepare` is absent). */
  run?(ctx: ExperimentContext): Promise<ExperimentResult>;
  /**
   * Rebuild the trained networks of a checkpoint for `certify` and `report`: one per network the
   * experiment trains that should be certified (the 1d ensemble, the WGAN's discriminator), with
   * their parameters restored from `ctx.checkpoint`. The caller disposes their parameters.
   * Without this hook `certify` cannot rebuild the experiment's networks and says so. Throw a
   * `UserError` naming `ctx.file` (or `ctx.configFile`) when the checkpoint or config does not
   * fit.
   */
  loadNetworks?(ctx: LoadNetworksContext): Promise<TrainedNetwork[]>;
}

/** What {@linkcode Experiment.loadNetworks} gets: a run's resolved config and read checkpoint. */
export interface LoadNetworksContext {
  /** The host's TensorFlow.js. */
  tf: TF;
  /** The host's ops, bound to `tf`. */
  ops: HostOps;
  /** Resolves activation, layer and projection names. */
  registry: PluginResolver;
  /** The run's resolved config (`config.json`). */
  config: Record<string, unknown>;
  /** The checkpoint, read: its tensors by name and its metadata (`core/io/checkpoint.ts`). */
  checkpoint: Checkpoint;
  /** The checkpoint's path, for error messages. */
  file: string;
  /** The config's path (`config.json` of the run folder), for error messages. */
  configFile: string;
}

/** One trained network rebuilt by {@linkcode Experiment.loadNetworks}, ready to certify. */
export interface TrainedNetwork {
  /** Which network of the experiment, e.g. `model`, `discriminator`. */
  label: string;
  /** The network, parameters restored. */
  net: Network;
  /** Per-sample input shape, e.g. `[1]` or `[28, 28, 1]` (NHWC without `N`). */
  inputShape: number[];
  /** Number of models of an ensemble network (inputs `[M, N, ...]`); omitted otherwise. */
  ensemble?: number;
  /** Input range of the empirical search: every coordinate in `[lo, hi]`. */
  box: [number, number];
}

/** Any plugin. */
export type Plugin = Activation | Layer | Projection | Experiment;
/** The kinds of plugin. */
export type PluginKind = Plugin["kind"];

/**
 * A context as a caller of a resolved plugin gives it: `ops` may be left out, and the registry
 * fills in the host's own ({@linkcode HostOps}) before the plugin sees the context.
 */
export type HostContext<C extends { ops: HostOps }> = Omit<C, "ops"> & { ops?: HostOps };

/** An activation plugin as the registry returns it: `create` fills in the host's `ops`. */
export interface ResolvedActivation extends Omit<Activation, "create"> {
  create(ctx: HostContext<ActivationContext>): ActivationInstance;
}

/** A layer plugin as the registry returns it: `create` fills in the host's `ops`. */
export interface ResolvedLayer<Options = unknown> extends Omit<Layer<Options>, "create"> {
  create(ctx: HostContext<LayerContext>, options: Options): LayerInstance;
}

/** A projection plugin as the registry returns it: `create` fills in the host's `ops`. */
export interface ResolvedProjection extends Omit<Projection, "create"> {
  create(ctx: HostContext<ProjectionContext>, options: ProjectionOptions): ProjectionInstance;
}

/** Looks up plugins by name or module path (implemented by the registry). */
export interface PluginResolver {
  activation(name: string): Promise<ResolvedActivation>;
  layer(name: string): Promise<ResolvedLayer>;
  projection(name: string): Promise<ResolvedProjection>;
  experiment(name: string): Promise<Experiment>;
}
