/**
 * The fused learnable linear spline op (docs/method.md §3): `y = s_c(alpha_c x) / alpha_c` per channel,
 * one TF.js kernel `LipsplineSpline` per backend (see `core/kernels/spline_*.ts`) and one
 * backward kernel `LipsplineSplineGrad` that returns `[dx, dcoef, dalpha]` in one pass.
 *
 * Layout: `x` is `[G, N, C]`, `coef` is `[G*C, K]` (already projected, `p` of docs/method.md (3.2)) and
 * `alpha` is `[G*C]`; element `(g, n, c)` uses channel `g*C + c`. Callers reshape:
 * fully connected `[N, C]` → `[1, N, C]`; NHWC `[N, H, W, C]` → `[1, N*H*W, C]`; an ensemble
 * of `M` models `[M, N, C]` with `coef` `[M*C, K]`.
 *
 * This module also holds {@linkcode linearSplineReference}, the same function built from stock
 * TF.js ops, which the parity tests compare the kernels against.
 *
 * @module
 */
import type {
  GradSaveFunc,
  NamedAttrMap,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  TensorInfo,
} from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { registerKernelGradient } from "./kernel_gradient.ts";

/** Name of the forward kernel (inputs `x`, `coef`, `alpha`; attrs {@linkcode SplineAttrs}). */
export const SPLINE_KERNEL = "LipsplineSpline";
/** Name of the backward kernel (inputs `x`, `coef`, `alpha`, `dy`); returns `[dx, dcoef, dalpha]`. */
export const SPLINE_GRAD_KERNEL = "LipsplineSplineGrad";

/** The knot grid: `size` = K coefficients on `[-range, range]`, step `T = 2R/(K-1)`. */
export interface SplineGrid {
  /** Number of coefficients K (≥ 2). */
  size: number;
  /** Half-width R of the knot range. */
  range: number;
}

/** Kernel attributes of `LipsplineSpline` / `LipsplineSplineGrad`. */
export interface SplineAttrs extends SplineGrid {
  /** TF.js attribute maps are string-keyed. */
  [key: string]: number;
}

/** Inputs of the spline kernels (`dy` only for the backward one). */
export interface SplineKernelInputs {
  x: TensorInfo;
  coef: TensorInfo;
  alpha: TensorInfo;
  dy?: TensorInfo;
}

/** A kernel's attribute map read as {@linkcode SplineAttrs}. */
export function splineAttrsOf(attrs: NamedAttrMap | undefined): SplineAttrs {
  const a = attrs as unknown as SplineAttrs;
  return { size: a.size, range: a.range };
}

/**
 * The constants every kernel derives from the grid (docs/method.md §3, "Evaluation"). All kernels use
 * the same formulation in knot units: `v = (alpha x - shift) / T`,
 * `j = clamp(floor(clamp(v, vmin, vmax)) + z, 0, K-2)` (= `z + k` of docs/method.md (3.3), since the clamp
 * bounds are integers), `f = v - (j - z)` with the *unclamped* `v`,
 * `s = p[j+1] f + p[j] (1 - f) + shift`, `y = s / alpha`.
 */
export interface SplineConstants {
  /** K. */
  K: number;
  /** Grid step T = 2R/(K-1). */
  T: number;
  /** 1/T. */
  invT: number;
  /** Zero-knot index z = floor(K/2). */
  z: number;
  /** Even-K quirk shift T/2 (0 for odd K): subtracted from u, added to s. */
  shift: number;
  /** Lower clamp bound in knot units: -z (docs/method.md (3.3): u' ≥ -T floor(K/2), also -T K/2 for even K). */
  vmin: number;
  /** Upper clamp bound in knot units: K-2-z (odd: z-1; even: K/2-2). */
  vmax: number;
}

/** Derive the {@linkcode SplineConstants} of a grid (docs/method.md §3, odd K and the even-K quirk). */
export function splineConstants(grid: SplineGrid): SplineConstants {
  const K = grid.size;
  if (!Number.isInteger(K) || K < 2) {
    throw new Error(`Cannot evaluate the spline as the size must be an integer ≥ 2: size is ${K}`);
  }
  if (!(grid.range > 0)) {
    throw new Error(
      `Cannot evaluate the spline as the range must be positive: range is ${grid.range}`,
    );
  }
  const T = (2 * grid.range) / (K - 1);
  const z = Math.floor(K / 2);
  const even = K % 2 === 0;
  return { K, T, invT: 1 / T, z, shift: even ? T / 2 : 0, vmin: -z, vmax: K - 2 - z };
}

function checkShapes(x: Tensor, coef: Tensor, alpha: Tensor, grid: SplineGrid): void {
  if (x.rank !== 3 || coef.rank !== 2 || alpha.rank !== 1) {
    throw new Error(
      `Cannot evaluate the spline as the ranks are wrong: x ${x.shape}, coef ${coef.shape}, ` +
        `alpha ${alpha.shape} (expected [G,N,C], [G*C,K], [G*C])`,
    );
  }
  const [G, , C] = x.shape;
  if (coef.shape[0] !== G * C || coef.shape[1] !== grid.size || alpha.shape[0] !== G * C) {
    throw new Error(
      `Cannot evaluate the spline as the shapes do not match: x ${x.shape}, coef ${coef.shape}, ` +
        `alpha ${alpha.shape}, size ${grid.size} (expected coef [${G * C},${grid.size}], ` +
        `alpha [${G * C}])`,
    );
  }
}

/**
 * Evaluate per-channel linear splines with scaling (docs/method.md §3): `y = s_c(alpha_c x) / alpha_c`.
 * `x`: `[G, N, C]`; `coef`: `[G*C, K]` (already projected, `p` of docs/method.md (3.2)); `alpha`: `[G*C]`
 * (positive). Element `(g, n, c)` uses channel `g*C + c`. Differentiable w.r.t. `x`, `coef`
 * and `alpha` (one backward kernel computes all three).
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { linearSpline } from "./spline.ts";
 * // needs the backend's kernels: registerKernelsFor(tf.getBackend()) from core/kernels/index.ts
 * const x = tf.randomNormal([1, 8, 4]) as tf.Tensor3D;                    // [G=1, N=8, C=4]
 * const coef = tf.tile(tf.reshape(tf.linspace(-1, 1, 5), [1, 5]), [4, 1]) as tf.Tensor2D;
 * const y = linearSpline(x, coef, tf.ones([4]) as tf.Tensor1D, { size: 5, range: 1 });
 * ```
 */
export function linearSpline(
  x: Tensor3D,
  coef: Tensor2D,
  alpha: Tensor1D,
  grid: SplineGrid,
): Tensor3D {
  checkShapes(x, coef, alpha, grid);
  splineConstants(grid);
  const attrs: SplineAttrs = { size: grid.size, range: grid.range };
  return tf.engine().runKernel(
    SPLINE_KERNEL,
    { x, coef, alpha },
    attrs as unknown as NamedAttrMap,
  ) as Tensor3D;
}

// The gradient (docs/method.md §3, "Gradients"), registered once for every backend: one backward kernel
// computes dx = dy s'(u), dcoef (scatter of f g and (1-f) g, g = dy/alpha) and
// dalpha = Σ dy (x s'(u)/alpha - s(u)/alpha²); the closures hand out the three results.
registerKernelGradient({
  kernel: SPLINE_KERNEL,
  gradKernel: SPLINE_GRAD_KERNEL,
  saved: ["x", "coef", "alpha"],
  dys: ["dy"],
  grads: ["x", "coef", "alpha"],
});

/**
 * The same function as {@linkcode linearSpline}, built from stock TF.js ops (clip, floor,
 * two gathers for the forward pass; `tf.customGrad` with a `scatterND` for the coefficient
 * gradient). Slow; used by the parity tests (on `cpu`).
 */
export function linearSplineReference(
  x: Tensor3D,
  coef: Tensor2D,
  alpha: Tensor1D,
  grid: SplineGrid,
): Tensor3D {
  checkShapes(x, coef, alpha, grid);
  const { K, T, z, shift } = splineConstants(grid);
  const [G, N, C] = x.shape;
  const spec = (xx: Tensor, cc: Tensor, aa: Tensor) => {
    const a3 = tf.reshape(aa, [G, 1, C]);
    // docs/method.md §3 evaluation: u = alpha x (even K: u <- u - T/2); u' = clamp(u); k = floor(u'/T);
    // f = u/T - k with the unclamped u; s = p[z+k+1] f + p[z+k] (1-f) (even K: + T/2).
    const u = shift === 0 ? tf.mul(xx, a3) : tf.sub(tf.mul(xx, a3), shift);
    const lo = -T * z;
    const hi = T * (K - 2 - z); // odd: T (floor(K/2) - 1); even: T (K/2 - 2)
    // (the outer clip only guards float rounding of u'/T at the bounds, e.g. -z - 1e-7)
    const k = tf.clipByValue(tf.floor(tf.div(tf.clipByValue(u, lo, hi), T)), -z, K - 2 - z);
    const f = tf.sub(tf.div(u, T), k);
    // index of p[z+k] in the flattened coefficients: (g*C + c)*K + z + k
    const base = tf.reshape(tf.range(0, G * C * K, K, "int32"), [G, 1, C]);
    const i0 = tf.add(tf.add(tf.cast(k, "int32"), tf.scalar(z, "int32")), base);
    const i1 = tf.add(i0, tf.scalar(1, "int32"));
    const flat = tf.reshape(cc, [G * C * K]);
    const p0 = tf.gather(flat, i0);
    const p1 = tf.gather(flat, i1);
    let s = tf.add(tf.mul(p1, f), tf.mul(p0, tf.sub(1, f)));
    if (shift !== 0) s = tf.add(s, shift);
    return { a3, f, i0, i1, p0, p1, y: tf.div(s, a3) };
  };
  const fn = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [xx, cc, aa] = args as Tensor[];
    const save = args[3] as GradSaveFunc;
    save([xx, cc, aa]);
    return {
      value: spec(xx, cc, aa).y,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, cs, as] = saved;
        const { a3, f, i0, i1, p0, p1, y } = spec(xs, cs, as);
        // docs/method.md §3 gradients: s'(u) = (p[z+k+1] - p[z+k]) / T, also outside the range
        const slope = tf.div(tf.sub(p1, p0), T);
        const dx = tf.mul(dy, slope);
        const g = tf.div(dy, a3); // y = s(alpha x)/alpha, so dL/dp = dy (ds/dp) / alpha
        const M = G * N * C;
        const indices = tf.concat([tf.reshape(i0, [M, 1]), tf.reshape(i1, [M, 1])], 0);
        const updates = tf.concat([
          tf.reshape(tf.mul(g, tf.sub(1, f)), [M]),
          tf.reshape(tf.mul(g, f), [M]),
        ]);
        const dcoef = tf.reshape(tf.scatterND(indices, updates, [G * C * K]), [G * C, K]);
        // dalpha = Σ_n dy (x s'(u)/alpha - s(u)/alpha²) = Σ_n g (x s'(u) - y)
        const dalpha = tf.reshape(tf.sum(tf.mul(g, tf.sub(tf.mul(xs, slope), y)), 1), [G * C]);
        return [dx, dcoef, dalpha];
      },
    };
  });
  return fn(x, coef, alpha) as Tensor3D;
}
