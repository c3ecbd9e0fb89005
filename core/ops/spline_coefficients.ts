/**
 * Fused ops for the spline coefficients (docs/method.md §3): the 1-Lipschitz projection
 * (`LipsplineSplineProject`) and the TV(2) regulariser (`LipsplineTV2`), each with a hand-derived
 * gradient. They replace a chain of slices, cumsum and concat whose cpu kernels are slow (a
 * [250, 101] slice costs ~18 ms on TF.js's cpu backend). Backends without the kernels (WebGPU)
 * use the composite of stock ops in `core/nn/spline_math.ts`, differentiated by TF.js.
 *
 * @module
 */
import type { NamedAttrMap, Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { registerKernelGradient } from "./kernel_gradient.ts";

/** Kernel names. */
export const PROJECT_KERNEL = "LipsplineSplineProject";
/** Gradient kernel of {@linkcode PROJECT_KERNEL}. */
export const PROJECT_GRAD_KERNEL = "LipsplineSplineProjectGrad";
/** TV(2) kernel. */
export const TV2_KERNEL = "LipsplineTV2";
/** Gradient kernel of {@linkcode TV2_KERNEL}. */
export const TV2_GRAD_KERNEL = "LipsplineTV2Grad";
/** Projection and TV(2) in one kernel: outputs `[p, tv2]` (what a training step needs). */
export const PROJECT_TV2_KERNEL = "LipsplineSplineProjectTV2";
/** Gradient kernel of {@linkcode PROJECT_TV2_KERNEL}: `dc` from `dp` and `dtv2`. */
export const PROJECT_TV2_GRAD_KERNEL = "LipsplineSplineProjectTV2Grad";

/** Attributes of both ops: the grid step `T`. */
export interface CoefficientAttrs {
  step: number;
}

/** Rows and row length `K` of a coefficient tensor `[..., K]` (what every kernel loops over). */
export function coefficientRows(t: TensorInfo): { rows: number; K: number } {
  const K = t.shape[t.shape.length - 1];
  return { rows: t.shape.reduce((a, b) => a * b, 1) / K, K };
}

/** The grid step `T` of a kernel call's attributes. */
export function coefficientStep(attrs: NamedAttrMap | undefined): number {
  return (attrs as unknown as CoefficientAttrs).step;
}

/** Whether the current backend has the fused kernel `name`. */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

/** Scratch row reused by the loops (grown on demand; kernels run one at a time). */
let scratch = new Float64Array(256);
function scratchRow(K: number): Float64Array {
  if (scratch.length < K) scratch = new Float64Array(K);
  return scratch;
}

/** `clamp(v, -T, T)`. */
function clip(v: number, T: number): number {
  return v > T ? T : v < -T ? -T : v;
}

/**
 * Forward of the projection on rows of length K (docs/method.md §3): `d_k = clamp(c[k+1]-c[k], -T, T)`,
 * `p_0 = 0`, `p_{k+1} = p_k + d_k`, `p += mean(c) - mean(p)`.
 */
export function projectRows(
  c: Float32Array,
  rows: number,
  K: number,
  T: number,
  out: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    let prev = c[o], q = 0, sq = 0, sc = prev;
    out[o] = 0;
    for (let k = 1; k < K; k++) {
      const cur = c[o + k];
      q += clip(cur - prev, T);
      out[o + k] = q;
      sq += q;
      sc += cur;
      prev = cur;
    }
    const shift = (sc - sq) / K;
    for (let k = 0; k < K; k++) out[o + k] += shift;
  }
}

/**
 * Gradient of {@linkcode projectRows}: with `G = sum_k g_k`, `gq_k = g_k - G/K`,
 * `gd_j = sum_{k > j} gq_k`, and `dc_i = G/K` plus `±gd_j` where the slope was not clipped
 * (TF.js's clip gradient passes on the closed interval; the test is made in float32).
 */
export function projectRowsGrad(
  c: Float32Array,
  g: Float32Array,
  rows: number,
  K: number,
  T: number,
  dc: Float32Array,
): void {
  for (let r = 0; r < rows; r++) projectRowGrad(c, g, null, r * K, K, T, 0, dc);
}

/**
 * One row of the projection's gradient, optionally with the TV(2) term (docs/method.md §3): TV(2) is
 * `sum_k |d_{k+1} - d_k| / T` in the clipped slopes `d` (the mean shift cancels), so its
 * gradient w.r.t. `d_j` is `(sign(a_{j-1}) - sign(a_j)) tvScale` with `a_k = d_{k+1} - d_k`.
 */
function projectRowGrad(
  c: Float32Array,
  g: Float32Array,
  d: Float64Array | null,
  o: number,
  K: number,
  T: number,
  tvScale: number,
  dc: Float32Array,
): void {
  let G = 0;
  for (let k = 0; k < K; k++) G += g[o + k];
  const mean = G / K;
  let suffix = 0;
  let signNext = 0; // sign(a_j) for the slope after the current one
  dc[o + K - 1] = mean;
  for (let j = K - 2; j >= 0; j--) {
    suffix += g[o + j + 1] - mean; // gd_j from p: sum_{k=j+1}^{K-1} gq_k
    let gd = suffix;
    if (d !== null) {
      const aPrev = j > 0 ? d[j] - d[j - 1] : 0; // a_{j-1}
      const signPrev = j > 0 ? (aPrev > 0 ? 1 : aPrev < 0 ? -1 : 0) : 0;
      gd += (signPrev - signNext) * tvScale;
      signNext = signPrev;
    }
    // The clip test in float32, as the stock composite (and the authors' float32 code) makes it:
    // slopes initialised at exactly ±T (identity, relu) sit on the boundary, and a float64
    // test would block about half of them by rounding noise (tests/denoising_backends_test.ts).
    const diff = Math.fround(c[o + j + 1] - c[o + j]);
    const T32 = Math.fround(T);
    const pass = diff >= -T32 && diff <= T32;
    dc[o + j] = mean - (pass ? gd : 0);
    if (pass) dc[o + j + 1] += gd;
  }
}

/** TV(2) of each row (docs/method.md §3): `sum_k |p[k+2] - 2 p[k+1] + p[k]| / T`. */
export function tv2Rows(
  p: Float32Array,
  rows: number,
  K: number,
  T: number,
  out: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    let s = 0;
    for (let k = 0; k < K - 2; k++) s += Math.abs(p[o + k + 2] - 2 * p[o + k + 1] + p[o + k]);
    out[r] = s / T;
  }
}

/** Gradient of {@linkcode tv2Rows}: `sign(a_k) dy / T` spread with the stencil [1, -2, 1]. */
export function tv2RowsGrad(
  p: Float32Array,
  dy: Float32Array,
  rows: number,
  K: number,
  T: number,
  dp: Float32Array,
): void {
  dp.fill(0);
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    const scale = dy[r] / T;
    for (let k = 0; k < K - 2; k++) {
      const a = p[o + k + 2] - 2 * p[o + k + 1] + p[o + k];
      const s = a > 0 ? scale : a < 0 ? -scale : 0;
      dp[o + k] += s;
      dp[o + k + 1] -= 2 * s;
      dp[o + k + 2] += s;
    }
  }
}

/**
 * Projection and TV(2) in one pass per row (docs/method.md §3): `p` as {@linkcode projectRows}, and
 * `tv[r] = sum_k |d_{k+1} - d_k| / T` from the clipped slopes (equal to the TV(2) of `p`).
 */
export function projectTv2Rows(
  c: Float32Array,
  rows: number,
  K: number,
  T: number,
  p: Float32Array,
  tv: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    let prev = c[o], q = 0, sq = 0, sc = prev, dPrev = 0, t = 0;
    p[o] = 0;
    for (let k = 1; k < K; k++) {
      const cur = c[o + k];
      const d = clip(cur - prev, T);
      if (k > 1) t += Math.abs(d - dPrev);
      dPrev = d;
      q += d;
      p[o + k] = q;
      sq += q;
      sc += cur;
      prev = cur;
    }
    const shift = (sc - sq) / K;
    for (let k = 0; k < K; k++) p[o + k] += shift;
    tv[r] = t / T;
  }
}

/** Gradient of {@linkcode projectTv2Rows} with upstream `dp` (on `p`) and `dtv` (per row). */
export function projectTv2RowsGrad(
  c: Float32Array,
  dp: Float32Array,
  dtv: Float32Array,
  rows: number,
  K: number,
  T: number,
  dc: Float32Array,
): void {
  const d = scratchRow(K);
  for (let r = 0; r < rows; r++) {
    const o = r * K;
    for (let j = 0; j < K - 1; j++) d[j] = clip(c[o + j + 1] - c[o + j], T);
    projectRowGrad(c, dp, d, o, K, T, dtv[r] / T, dc);
  }
}

/** Register the gradients of both ops (backend-independent; idempotent). */
export function registerCoefficientGradients(): void {
  registerKernelGradient({
    kernel: PROJECT_KERNEL,
    gradKernel: PROJECT_GRAD_KERNEL,
    saved: ["c"],
    dys: ["dy"],
    grads: ["c"],
  });
  registerKernelGradient({
    kernel: PROJECT_TV2_KERNEL,
    gradKernel: PROJECT_TV2_GRAD_KERNEL,
    saved: ["c"],
    dys: ["dp", "dtv"],
    grads: ["c"],
  });
  registerKernelGradient({
    kernel: TV2_KERNEL,
    gradKernel: TV2_GRAD_KERNEL,
    saved: ["p"],
    dys: ["dy"],
    grads: ["p"],
  });
}

/** Run the fused projection on `c` (`[..., K]`); the caller checks {@linkcode hasFusedKernel}. */
export function projectFused(c: Tensor, T: number): Tensor {
  const attrs: CoefficientAttrs = { step: T };
  return tf.engine().runKernel(PROJECT_KERNEL, { c }, attrs as unknown as NamedAttrMap) as Tensor;
}

/** Run the fused TV(2) on `p` (`[..., K]` → `[...]`). */
export function tv2Fused(p: Tensor, T: number): Tensor {
  const attrs: CoefficientAttrs = { step: T };
  return tf.engine().runKernel(TV2_KERNEL, { p }, attrs as unknown as NamedAttrMap) as Tensor;
}

/** Run the fused projection + TV(2) on `c` (`[..., K]`): `[p, tv2]` with `tv2` of shape `[...]`. */
export function projectTv2Fused(c: Tensor, T: number): [Tensor, Tensor] {
  const attrs: CoefficientAttrs = { step: T };
  return tf.engine().runKernel(
    PROJECT_TV2_KERNEL,
    { c },
    attrs as unknown as NamedAttrMap,
  ) as unknown as [Tensor, Tensor];
}
