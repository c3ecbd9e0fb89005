/**
 * Fused linear-spline kernels (`LipsplineSpline`, `LipsplineSplineGrad`, docs/method.md §3) for the
 * `cpu` backend: one pass over the typed arrays for the forward pass and one for all three
 * gradients; the coefficient gradient is a direct accumulate (no one-hot matrix, no segment
 * sum). (The `wasm` backend runs the same formulas as WebAssembly SIMD: `native/spline.c`.)
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import {
  SPLINE_GRAD_KERNEL,
  SPLINE_KERNEL,
  type SplineAttrs,
  splineAttrsOf,
  splineConstants,
  type SplineKernelInputs,
} from "../../ops/spline.ts";
import { replaceKernel } from "../replace_kernel.ts";

/** Dimensions of one spline call: `x` is `[G, N, C]`, `K` coefficients per channel. */
export interface SplineDims {
  /** Groups (ensemble members), the leading axis of `x`. */
  G: number;
  /** Rows per group. */
  N: number;
  /** Channels per group; element `(g, n, c)` uses channel `g*C + c`. */
  C: number;
}

/** Read `[G, N, C]` from the shape of `x` (checked by the op). */
export function splineDims(x: TensorInfo): SplineDims {
  const [G, N, C] = x.shape;
  return { G, N, C };
}

/**
 * What both loops derive from their inputs (docs/method.md §3, "Evaluation"): the grid constants and, per
 * channel, `sa = alpha/T` and `ia = 1/alpha`, so that `w = x sa[ch] + off` is `v + z` of the spec
 * and the segment is `floor(w)` clamped to `[0, jm]`.
 */
function loopSetup(av: Float32Array, dims: SplineDims, attrs: SplineAttrs) {
  const { K, invT, z, shift } = splineConstants(attrs);
  const GC = dims.G * dims.C;
  const sa = new Float64Array(GC);
  const ia = new Float64Array(GC);
  for (let ch = 0; ch < GC; ch++) {
    sa[ch] = av[ch] * invT;
    ia[ch] = 1 / av[ch];
  }
  return { ...dims, K, invT, shift, GC, sa, ia, off: z - shift * invT, jm: K - 2 };
}

/** Largest |w| that `w | 0` converts exactly; beyond it the segment is picked by sign. */
const INT_SAFE = 1e9;

/**
 * The segment of knot coordinate `w`: `floor(w)` clamped to `[0, jm]` (the spec's clamp of `u`),
 * branch-free on integers (`w | 0` truncates; negative `w` clamp to 0 either way).
 */
function segment(w: number, jm: number): number {
  let j = w | 0;
  if (w > INT_SAFE || w < -INT_SAFE) j = w > 0 ? jm : 0;
  j &= ~(j >> 31); // max(j, 0)
  const e = j - jm;
  return jm + (e & (e >> 31)); // min(j, jm)
}

/**
 * Forward loop (docs/method.md §3, "Evaluation", odd K and the even-K quirk). In knot units
 * `w = (alpha x - shift)/T + z` (= `u/T + z`); the segment `j = z + k` is `floor(w)` clamped to
 * `[0, K-2]` (the spec's clamp of `u` to `[-T z, T (K-2-z)]`), `f = w - j` uses the unclamped
 * `w` (linear extension), `y = (p[j] + (p[j+1] - p[j]) f + shift) / alpha`.
 *
 * Per segment this is the line `y = q_j + d_j w` with `d_j = (p[j+1] - p[j]) / alpha` and
 * `q_j = (p[j] - j (p[j+1] - p[j]) + shift) / alpha`, tabulated in float64 once per call.
 * The clamp is branch-free on integers (`w | 0` truncates; negative `w` clamp to 0 either way).
 */
function splineForwardLoop(
  xv: Float32Array,
  cv: Float32Array,
  av: Float32Array,
  out: Float32Array,
  dims: SplineDims,
  attrs: SplineAttrs,
): void {
  const { G, N, C, K, shift, GC, sa, ia, off, jm } = loopSetup(av, dims, attrs);
  if (N <= 2 * K) {
    // Few inputs per channel (e.g. the 1d experiment's batch of 10): evaluating each input
    // directly is cheaper than tabulating all G*C*K segments first. Same formula as the table.
    for (let g = 0; g < G; g++) {
      for (let n = 0; n < N; n++) {
        const row = (g * N + n) * C;
        for (let c = 0; c < C; c++) {
          const ch = g * C + c;
          const i = row + c;
          const w = xv[i] * sa[ch] + off;
          const j = segment(w, jm);
          const b = ch * K + j;
          const dp = cv[b + 1] - cv[b];
          out[i] = (cv[b] + dp * (w - j) + shift) * ia[ch];
        }
      }
    }
    return;
  }
  const line = new Float64Array(2 * GC * K); // [q_j, d_j] interleaved per segment
  for (let ch = 0; ch < GC; ch++) {
    for (let j = 0; j < K - 1; j++) {
      const b = ch * K + j;
      const dp = cv[b + 1] - cv[b];
      line[2 * b] = (cv[b] - j * dp + shift) * ia[ch];
      line[2 * b + 1] = dp * ia[ch];
    }
  }
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      const row = (g * N + n) * C;
      for (let c = 0; c < C; c++) {
        const ch = g * C + c;
        const i = row + c;
        const w = xv[i] * sa[ch] + off;
        const j = segment(w, jm);
        const b = 2 * (ch * K + j);
        out[i] = line[b] + line[b + 1] * w;
      }
    }
  }
}

/**
 * Backward loop (docs/method.md §3, "Gradients") for `y = s(alpha x)/alpha` with upstream `dy`:
 * - `dx = dy s'(u)`, `s'(u) = (p[j+1] - p[j])/T` (also outside the range);
 * - with `g = dy/alpha`: `dcoef[j+1] += f g`, `dcoef[j] += (1-f) g`;
 * - `dalpha = Σ dy (x s'(u)/alpha - s(u)/alpha²)`. On segment `j`, `s(u) = b_j + s'_j u` with
 *   the intercept `b_j = s(0) = p[j] + shift - (p[j+1]-p[j]) (j - w0)` (`w0` = `w` at `u = 0`),
 *   so `x s'(u)/alpha - s(u)/alpha² = -b_j/alpha²` and `dalpha = -(1/alpha²) Σ_j b_j Σ_{i∈j} dy_i`.
 *
 * The loop accumulates per segment `S0 = Σ dy` and `S1 = Σ dy f` (float64; `1/alpha` is a
 * per-channel factor applied afterwards); dcoef and dalpha are formed from them and written to
 * `dcoef` (`[G*C*K]`) and `dalpha` (`[G*C]`).
 */
function splineBackwardLoop(
  xv: Float32Array,
  cv: Float32Array,
  av: Float32Array,
  dyv: Float32Array,
  dx: Float32Array,
  dcoef: Float32Array,
  dalpha: Float32Array,
  dims: SplineDims,
  attrs: SplineAttrs,
): void {
  const { G, N, C, K, invT, shift, GC, sa, ia, off, jm } = loopSetup(av, dims, attrs);
  if (N <= 2 * K) {
    // Few inputs per channel: scatter each input's contributions directly (no per-segment
    // tables over all G*C*K coefficients). dcoef and dalpha arrive zero-filled.
    dcoef.fill(0);
    const da = new Float64Array(GC);
    for (let g = 0; g < G; g++) {
      for (let n = 0; n < N; n++) {
        const row = (g * N + n) * C;
        for (let c = 0; c < C; c++) {
          const ch = g * C + c;
          const i = row + c;
          const w = xv[i] * sa[ch] + off;
          const j = segment(w, jm);
          const b = ch * K + j;
          const dp = cv[b + 1] - cv[b];
          const d = dyv[i];
          const gi = d * ia[ch];
          const f = w - j;
          dx[i] = d * dp * invT;
          dcoef[b] += (1 - f) * gi;
          dcoef[b + 1] += f * gi;
          da[ch] += gi * (cv[b] + shift - dp * (j - off)); // b_j g, as in the table path
        }
      }
    }
    for (let ch = 0; ch < GC; ch++) dalpha[ch] = -da[ch] * ia[ch];
    return;
  }
  const slope = new Float64Array(GC * K); // s'_j = (p[j+1] - p[j]) / T per segment
  for (let ch = 0; ch < GC; ch++) {
    for (let j = 0; j < K - 1; j++) {
      slope[ch * K + j] = (cv[ch * K + j + 1] - cv[ch * K + j]) * invT;
    }
  }
  const S = new Float64Array(2 * GC * K); // [S0, S1] interleaved per segment
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      const row = (g * N + n) * C;
      for (let c = 0; c < C; c++) {
        const ch = g * C + c;
        const i = row + c;
        const w = xv[i] * sa[ch] + off;
        const j = segment(w, jm);
        const b = ch * K + j;
        const d = dyv[i];
        dx[i] = d * slope[b];
        S[2 * b] += d;
        S[2 * b + 1] += d * (w - j);
      }
    }
  }
  for (let ch = 0; ch < GC; ch++) {
    const a = ia[ch];
    let prevS1 = 0;
    let da = 0;
    for (let j = 0; j < K; j++) {
      const b = ch * K + j;
      const s0 = j < K - 1 ? S[2 * b] * a : 0; // Σ g over segment j
      const s1 = j < K - 1 ? S[2 * b + 1] * a : 0; // Σ g f over segment j
      dcoef[b] = s0 - s1 + prevS1; // (1-f) g from segment j, f g from segment j-1
      prevS1 = s1;
      if (j < K - 1) {
        const dp = cv[b + 1] - cv[b];
        da += s0 * (cv[b] + shift - dp * (j - off)); // b_j Σ g
      }
    }
    dalpha[ch] = -da * a;
  }
}

const forwardCpu: KernelFunc = (args) => {
  const { x, coef, alpha } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as MathBackendCPU;
  const val = (t: TensorInfo) => be.data.get(t.dataId).values as Float32Array;
  const out = new Float32Array(x.shape.reduce((p, d) => p * d, 1));
  splineForwardLoop(val(x), val(coef), val(alpha), out, splineDims(x), splineAttrsOf(args.attrs));
  return be.makeTensorInfo(x.shape, "float32", out);
};

const backwardCpu: KernelFunc = (args) => {
  const { x, coef, alpha, dy } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as MathBackendCPU;
  const val = (t: TensorInfo) => be.data.get(t.dataId).values as Float32Array;
  const dx = new Float32Array(x.shape.reduce((p, d) => p * d, 1));
  const dcoef = new Float32Array(coef.shape[0] * coef.shape[1]);
  const dalpha = new Float32Array(alpha.shape[0]);
  splineBackwardLoop(
    val(x),
    val(coef),
    val(alpha),
    val(dy!),
    dx,
    dcoef,
    dalpha,
    splineDims(x),
    splineAttrsOf(args.attrs),
  );
  return [
    be.makeTensorInfo(x.shape, "float32", dx),
    be.makeTensorInfo(coef.shape, "float32", dcoef),
    be.makeTensorInfo(alpha.shape, "float32", dalpha),
  ];
};

/** Register the spline kernels for the `cpu` backend (idempotent). */
export function register(): void {
  replaceKernel(SPLINE_KERNEL, "cpu", forwardCpu);
  replaceKernel(SPLINE_GRAD_KERNEL, "cpu", backwardCpu);
}
