/**
 * Training-step benchmarks of the denoising experiment (docs/method.md §5): one step (forward, backward,
 * Adam) of the paper's CNN of BCOP 3×3 layers (the `bcop_conv` layer plugin: orthogonal
 * convolutions rebuilt from their matrices by Björck in every forward pass, circular padding,
 * with a bias), channels [1,64,64,64,64,64,64,64,1], on a batch of noisy `size`×`size`
 * grayscale patches (default: batch 128, 40×40, as in the paper). Loss: sum of squared errors
 * / batch (+ λ TV2).
 *
 * - `step_denoise`: the `linearspline` activation between the layers (K = 51, R = 0.1,
 *   identity init, constrained, TV(2) with λ = 1e-6), through the plugin's
 *   `forwardWithRegularization`;
 * - `step_denoise_relu`: the same step with `tf.relu`.
 *
 * **Spline share, method**: every step of both cases runs under `tf.profile`, which times each
 * kernel the engine dispatches (on cpu and wasm the kernels are synchronous, so a kernel's time
 * is its wall time; the profiler only adds one record per kernel, a few hundred per step, which
 * is lost in the noise at these sizes). The spline's time is the sum over the kernels named
 * `LipsplineSpline*` (fused evaluation `LipsplineSpline`, its backward `LipsplineSplineGrad`,
 * the coefficient projection + TV(2) and its backward) and `LipsplineTV2*`, on the step's real
 * activation shapes (`[batch, size, size, 64]`, seven activations); the share is that sum
 * divided by the sum over the step's top-level kernels. `Identity` records are left out of that
 * sum: in this step every one of them is the engine's copy of a kernel input saved for the
 * backward pass (on wasm a real copy, ~0.4 s per full-size step), which runs, and is timed,
 * inside the record of the kernel that saves it, so counting it too would count it twice
 * (checked by wrapping the profiler: all 119 `Identity` of a step are nested). As a second
 * figure, `spline_share_wall` divides by the profiled step's wall time. Reshapes around the spline are free (shared
 * data) and the Adam update of the spline parameters (7×64×52 values) counts as "other". The
 * info reports `spline_share` (median over the timed steps, the {@linkcode DENOISE_WARMUPS} warm-ups left
 * out), `spline_share_runs`, and the last step's `spline_ms`, `conv_ms` (the `Conv2D*`
 * kernels: forward and both backprops), `kernels_ms` (top-level kernels), `clone_ms` (the nested
 * `Identity` copies) and `profiled_step_ms` (its wall time).
 * The BCOP weight construction of the eight layers (batch-independent) is timed on its own by
 * `bcop_weight_64` (forward + backward of one 64-channel 3×3 layer's weight).
 * The relu case reports the same kernel times without the spline fields; its
 * `kernels_ms − conv_ms` bounds the relu's cost. The
 * difference `step_denoise − step_denoise_relu` is a cross-check of the spline's cost.
 *
 * The cpu backend's convolutions run at ~1 GFLOP/s (a full-size forward pass alone is ~91 GFLOP;
 * measured: a cpu step takes 2.5 s at batch 2, 40×40, so ~160 s at batch 128): above
 * {@linkcode CPU_MAX_PIXELS} pixels per batch the cases declare `wasm` and `webgpu` only;
 * {@linkcode denoiseBenches} at small sizes runs them on every backend.
 *
 * @module
 */
import type { Scalar, Tensor, Tensor4D } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import type { ActivationParams } from "../core/plugin/interfaces.ts";
import {
  createDenoiserModel,
  denoiserStep,
  disposeDenoiserModel,
} from "../plugins/experiments/denoising/model.ts";
import type { BenchCase, BenchIteration } from "./harness.ts";
import type { BcopConvInstance } from "../plugins/layers/bcop_conv.ts";

/** Channels of the paper's denoiser (docs/method.md §5). */
export const DENOISE_CHANNELS = [1, 64, 64, 64, 64, 64, 64, 64, 1];
/** The spline of the denoising config: identity init, R 0.1, K 51, λ 1e-6, constrained. */
export const DENOISE_SPLINE: ActivationParams = {
  activation_type: "linearspline",
  lipschitz_constrained: true,
  lmbda: 1e-6,
  spline_init: "identity",
  spline_range: 0.1,
  spline_size: 51,
};
/** Learning rates of the denoising config. */
const LR = { weights: 4e-5, spline_coeffs: 1e-6, spline_scaling: 1e-5 };
/**
 * Untimed steps before the timed ones: the first steps of a run grow the wasm heap into fresh
 * pages (12–35 thousand page faults per step in steps 2–5, at ~20 µs each on the dev VM, none
 * after), a cost of the run's start, not of a step.
 */
export const DENOISE_WARMUPS = 6;
/** Noise level sigma (in /255 units) of the config. */
const SIGMA = 15;
/** Batch × pixels from which the cpu backend is left out (a step there would exceed ~60 s). */
export const CPU_MAX_PIXELS = 16 * 40 * 40;

/** Why the cpu backend is left out at large sizes (measured: 2.5 s per step at batch 2, 40×40). */
const CPU_LEFT_OUT = "left out: a cpu step is ~2.5 s at batch 2 40x40, so ~160 s at batch 128 " +
  "(stock cpu Conv2D ~1 GFLOP/s)";
/** How the spline share is measured (also in the info). */
const SHARE_METHOD = "each timed step runs under tf.profile; spline_share = time of the " +
  "LipsplineSpline*/LipsplineTV2* kernels / time of the step's top-level kernels (all but the " +
  "nested Identity copies of saved inputs), median over the timed steps; spline_share_wall = " +
  "spline kernels / the profiled step's wall time";
/** What a note in the info says is not included. */
const LAYERS = "bcop_conv 3x3 (Bjorck 25, power iterations 10), circular padding, bias";

/** One step of the denoiser, built on the current backend. */
export interface DenoiseStep {
  /** Run one training step (forward, backward, Adam) and return the loss (not yet awaited). */
  step(): Tensor;
  /** Free every tensor of the model, optimiser and data. */
  dispose(): void;
}

/**
 * Build the denoising experiment's own model (`createDenoiserModel` of
 * plugins/experiments/denoising/model.ts: BCOP layers, the activation between them, Adam with
 * the config's three learning rates) for `activation` (`linearspline` with
 * {@linkcode DENOISE_SPLINE}, or `relu`) with seeded weights, and a seeded batch of `batch`
 * noisy `size`×`size` patches; `step()` is the experiment's `denoiserStep`.
 */
export async function buildDenoiseStep(
  activation: "linearspline" | "relu",
  batch: number,
  size: number,
  channels: number[] = DENOISE_CHANNELS,
): Promise<DenoiseStep> {
  const registry = createRegistry(builtinPlugins);
  const model = await createDenoiserModel(tf, registry, new MT19937(42), {
    net_params: { bias: true, kernel_size: 3, num_channels: channels },
    activation_fn_params: { ...DENOISE_SPLINE, activation_type: activation },
    optimizer: {
      lr_weights: LR.weights,
      lr_spline_coeffs: LR.spline_coeffs,
      lr_spline_scaling_coeffs: LR.spline_scaling,
    },
  });
  const [clean, noisy] = tf.tidy(() => {
    const c = tf.randomUniform([batch, size, size, 1], 0, 1, "float32", 7);
    return [c, tf.add(c, tf.mul(tf.randomNormal(c.shape, 0, 1, "float32", 8), SIGMA / 255))];
  }) as [Tensor4D, Tensor4D];
  return {
    step: () => denoiserStep(model, noisy, clean),
    dispose() {
      disposeDenoiserModel(model);
      clean.dispose();
      noisy.dispose();
    },
  };
}

/** Whether a kernel belongs to the spline activation (evaluation, coefficients, TV(2)). */
export function isSplineKernel(name: string): boolean {
  return name.startsWith("LipsplineSpline") || name.startsWith("LipsplineTV2");
}

/** Kernel times of one profiled step, in milliseconds. */
export interface StepProfile {
  /** Spline kernels ({@linkcode isSplineKernel}). */
  spline_ms: number;
  /** `Conv2D*` kernels (forward and both backprops). */
  conv_ms: number;
  /** All top-level kernels of the step (every kernel but the nested `Identity` copies). */
  kernels_ms: number;
  /** `Identity` kernels: copies of saved inputs, nested in other kernels' records. */
  clone_ms: number;
  /** Wall time of the profiled step. */
  profiled_step_ms: number;
  /** `spline_ms / kernels_ms`. */
  spline_share: number;
  /** `spline_ms / profiled_step_ms`. */
  spline_share_wall: number;
}

/** Run one step under `tf.profile` and sum its kernel times by family. */
export async function profileStep(s: DenoiseStep): Promise<StepProfile> {
  const t0 = performance.now();
  let loss: Tensor | null = null;
  const info = await tf.profile(() => {
    loss = s.step();
    return loss;
  });
  await (loss as Tensor | null)?.data();
  const profiled_step_ms = performance.now() - t0;
  (loss as Tensor | null)?.dispose();
  let spline = 0, conv = 0, total = 0, clone = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    if (k.name === "Identity") {
      clone += ms; // nested: already inside the saving kernel's time (module notes)
      continue;
    }
    total += ms;
    if (isSplineKernel(k.name)) spline += ms;
    else if (k.name.startsWith("Conv2D")) conv += ms;
  }
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    spline_ms: r(spline),
    conv_ms: r(conv),
    kernels_ms: r(total),
    clone_ms: r(clone),
    profiled_step_ms: r(profiled_step_ms),
    spline_share: Math.round((spline / total) * 1000) / 1000,
    spline_share_wall: Math.round((spline / profiled_step_ms) * 1000) / 1000,
  };
}

/**
 * One timed iteration: a step under `tf.profile` (see the module notes). After each run the
 * case's `info` gets the kernel times of that run and the median spline share of the runs so
 * far, leaving out the {@linkcode DENOISE_WARMUPS} warm-up runs once there are more.
 */
function profiledStepIteration(
  s: DenoiseStep,
  info: Record<string, unknown>,
  spline: boolean,
): BenchIteration {
  const runs: StepProfile[] = [];
  return {
    async run() {
      const p = await profileStep(s);
      runs.push(p);
      const { conv_ms, kernels_ms, clone_ms, profiled_step_ms } = p;
      if (!spline) {
        Object.assign(info, { conv_ms, kernels_ms, clone_ms, profiled_step_ms });
        return;
      }
      const warm = runs.length > DENOISE_WARMUPS ? runs.slice(DENOISE_WARMUPS) : runs;
      const shares = warm.map((r) => r.spline_share).sort((a, b) => a - b);
      Object.assign(info, p, {
        spline_share: shares[Math.floor(shares.length / 2)],
        spline_share_runs: shares,
      });
    },
    dispose: () => s.dispose(),
  };
}

/**
 * The denoising step benchmarks for a batch of `batch` patches of `size`×`size`. Large sizes
 * (more than {@linkcode CPU_MAX_PIXELS} pixels per batch) leave out the cpu backend. Each case
 * times at least 3 steps after {@linkcode DENOISE_WARMUPS} warm-up steps.
 */
export function denoiseBenches(batch = 128, size = 40): BenchCase[] {
  const backends = batch * size * size > CPU_MAX_PIXELS ? ["wasm", "webgpu"] : undefined;
  const base = {
    batch,
    patch: [size, size],
    channels: DENOISE_CHANNELS.join("-"),
    layers: LAYERS,
    ...(backends ? { cpu: CPU_LEFT_OUT } : {}),
  };
  const cases: BenchCase[] = [];
  for (const activation of ["linearspline", "relu"] as const) {
    const info: Record<string, unknown> = {
      ...base,
      activation: activation === "relu"
        ? "relu"
        : "linearspline K=51 R=0.1 identity, constrained, TV2 1e-6",
      ...(activation === "relu" ? {} : { share_method: SHARE_METHOD }),
    };
    cases.push({
      bench: activation === "relu" ? "step_denoise_relu" : "step_denoise",
      backends,
      info,
      minReps: 3,
      budgetMs: 0,
      warmups: DENOISE_WARMUPS,
      setup: async () =>
        profiledStepIteration(
          await buildDenoiseStep(activation, batch, size),
          info,
          activation !== "relu",
        ),
    });
  }
  return cases;
}

/**
 * Forward + backward of the BCOP weight construction of one 64→64 3×3 layer (docs/method.md §4: power
 * iterations, Björck on the five 64×64 matrices, projectors, kernel products), the per-layer
 * cost of a denoiser step that does not depend on the batch.
 */
export function bcopWeightBench(): BenchCase {
  return {
    bench: "bcop_weight_64",
    info: { layer: "bcop_conv 64->64 3x3, Bjorck 25, power iterations 10" },
    async setup() {
      const registry = createRegistry(builtinPlugins);
      const bcop = await registry.layer("bcop_conv");
      const conv = bcop.create({ tf, name: "conv", rng: new MT19937(1) }, {
        inChannels: 64,
        outChannels: 64,
        kernelSize: 3,
        bias: false,
      }) as BcopConvInstance;
      const matrices = conv.parameters()[0].variable;
      return {
        async run() {
          const first = tf.tidy(() => {
            const { grads } = tf.variableGrads(() => tf.sum(conv.kernel()) as Scalar, [matrices]);
            return tf.slice(tf.reshape(grads[matrices.name], [-1]), 0, 1);
          });
          await first.data(); // waits for the whole computation on every backend
          first.dispose();
        },
        dispose() {
          conv.dispose?.();
          matrices.dispose();
        },
      };
    },
  };
}

/** The benchmarks at the paper's size: batch 128, 40×40, and the BCOP weight construction. */
export const benches: BenchCase[] = [bcopWeightBench(), ...denoiseBenches()];
