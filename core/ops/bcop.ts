/**
 * BCOP, the block convolution orthogonal parametrisation (docs/method.md §4, "BCOP convolution"): the
 * pure construction of an orthogonal `k×k` convolution weight from `2(k-1)+1` unconstrained
 * `M×M` matrices, the circular convolution itself (padding: `circular_pad.ts`), and the exact Lipschitz
 * constant of a circular convolution from the 2-D DFT of its kernel (Sedghi et al. 2019).
 *
 * Weights are in TF.js's HWIO layout `[k, k, cin, cout]`; activations are NHWC.
 *
 * @module
 */
import type { GradSaveFunc, Tensor, Tensor4D } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { bjorck } from "./bjorck.ts";
import { circularPad } from "./circular_pad.ts";

/** Björck iterations of the reference BCOP layer (docs/method.md §4). */
export const BCOP_BJORCK_ITERS = 25;
/** Power iterations of the reference BCOP layer's prescaling (docs/method.md §4). */
export const BCOP_POWER_ITERS = 10;

/** Number of unconstrained matrices of a BCOP kernel of size `k`: `2(k-1)+1` (docs/method.md §4). */
export function bcopMatrixCount(k: number): number {
  return 2 * (k - 1) + 1;
}

/** Fixed start vector of the power iteration (positive entries, never orthogonal to much). */
function powerStart(n: number): Float32Array {
  const v = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 13), 0x5bd1e995) + 0x3c6ef372) >>> 0;
    v[i] = 1 + 0.5 * (s / 4294967296);
  }
  return v;
}

/**
 * Largest singular value of each matrix of `w` (`[B, m, n]` → `[B, 1, 1]`), estimated by
 * `iters` power iterations from a fixed start vector, WITHOUT gradient (docs/method.md §4: "divide by
 * the largest singular value estimated by 10 power iterations without gradient"): the
 * gradient with respect to `w` is zero, and the iterations are not recorded on the tape.
 * Follows the reference: `v = wᵀu/|wᵀu|`, `u = wv/|wv|`, then `sigma = uᵀ w v`.
 */
export function powerIterationSigma(w: Tensor, iters = BCOP_POWER_ITERS): Tensor {
  if (w.rank !== 3) {
    throw new Error(
      `Cannot estimate sigma as the matrices must be [B, m, n]: shape is [${w.shape}]`,
    );
  }
  const [B, m] = w.shape;
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const x = args[0] as Tensor;
    // Inside a customGrad forward the tape is off: none of this is differentiated.
    const start = tf.tensor3d(powerStart(m), [1, m, 1]);
    let u: Tensor = tf.tile(start, [B, 1, 1]);
    let v: Tensor = u;
    for (let i = 0; i < iters; i++) {
      v = tf.matMul(x, u, true, false);
      v = tf.div(v, tf.add(tf.norm(v, "euclidean", [1, 2], true), 1e-30));
      u = tf.matMul(x, v);
      u = tf.div(u, tf.add(tf.norm(u, "euclidean", [1, 2], true), 1e-30));
    }
    const sigma = iters > 0
      ? tf.matMul(u, tf.matMul(x, v), true, false)
      : tf.norm(x, "euclidean", [1, 2], true); // no iteration: the Frobenius norm, an upper bound
    return { value: sigma, gradFunc: () => [tf.zerosLike(x)] };
  });
  return f(w) as Tensor;
}

/** Options of {@linkcode bcopOrthonormalize} and {@linkcode bcopKernel}. */
export interface BcopOptions {
  /** Björck iterations (default 25, docs/method.md §4). */
  bjorckIters?: number;
  /** Power iterations of the prescaling (default 10, docs/method.md §4). */
  powerIters?: number;
  /**
   * Use these scale factors (`[B, 1, 1]`, held constant) instead of the power-iteration
   * estimate: for finite-difference tests, where the estimate must not move with the input.
   */
  sigma?: Tensor;
}

/**
 * Spec §4, first step: orthonormalise every matrix of `matrices` (`[B, M, M]`) at once:
 * `bjorck(W / sigma(W), 25, 0.5)`, `sigma` from {@linkcode powerIterationSigma} (no gradient).
 * Differentiable in `matrices`.
 */
export function bcopOrthonormalize(matrices: Tensor, opts: BcopOptions = {}): Tensor {
  return tf.tidy(() => {
    const sigma = opts.sigma ?? powerIterationSigma(matrices, opts.powerIters ?? BCOP_POWER_ITERS);
    return bjorck(tf.div(matrices, sigma), opts.bjorckIters ?? BCOP_BJORCK_ITERS, 0.5);
  });
}

/**
 * Matrix convolution along axis `axis` (0 or 1) of the tap grid `t` (`[s1, s2, r, M]`) with the
 * two-tap kernel `[P, I - P]` on the right (docs/method.md §4, one factor of the 2×2 block):
 * `out[i] = t[i] P + t[i-1] (I - P)`, one tap longer along `axis`.
 */
function convWithProjector(t: Tensor, p: Tensor, axis: 0 | 1): Tensor {
  const [s1, s2, r, M] = t.shape;
  const tp = tf.reshape(tf.matMul(tf.reshape(t, [s1 * s2 * r, M]), p), t.shape);
  const rest = tf.sub(t, tp); // t (I - P)
  const after: [number, number][] = axis === 0
    ? [[0, 1], [0, 0], [0, 0], [0, 0]]
    : [[0, 0], [0, 1], [0, 0], [0, 0]];
  const before: [number, number][] = axis === 0
    ? [[1, 0], [0, 0], [0, 0], [0, 0]]
    : [[0, 0], [1, 0], [0, 0], [0, 0]];
  return tf.add(tf.pad(tp, after), tf.pad(rest, before));
}

/**
 * Spec §4, from the orthonormalised matrices `ortho` (`[2(k-1)+1, M, M]`, `M = max(cin, cout)`)
 * to the conv weight `[k, k, cin, cout]` (HWIO). Differentiable in `ortho`.
 *
 * - `H` = `ortho[0]` cut to `cin × cout`; each other matrix `Q_j` keeps its first `floor(M/2)`
 *   columns and becomes the projector `P_j = Q_j Q_jᵀ`.
 * - The 2×2 block `[[P Q, P(I-Q)], [(I-P)Q, (I-P)(I-Q)]]` of a pair `(P, Q)` is the matrix
 *   convolution of the 2×1 kernel `[P; I-P]` with the 1×2 kernel `[Q, I-Q]`, so the `k-1`
 *   blocks of the pairs `(P_1,P_2), (P_3,P_4), ...` are applied as `2(k-1)` such one-axis
 *   factors, each one right product ({@linkcode convWithProjector}); matrix convolution is
 *   associative, so the taps equal the reference's `block_orth` / `matrix_conv` product.
 * - "Left-multiply every tap by `H`" is folded in by starting the product from the 1×1 kernel
 *   `H` (`Hᵀ` when `cin > cout`, the reference's transposed roles): taps `H_eff · p[i, j]`.
 * - Layout, as the reference's `permute` to PyTorch's `[cout, cin, kh, kw]`: the tap at
 *   `(kh, kw)` is `p[kw, kh]`, used as `[cin, cout]` when `cin ≤ cout` and transposed when
 *   `cin > cout`. The convolution's transfer matrix is then `(H p(z))ᵀ` (an isometry) or
 *   `Hᵀ p(z)` (a co-isometry, non-expansive).
 */
export function bcopKernelFromOrthonormal(
  ortho: Tensor,
  k: number,
  cin: number,
  cout: number,
): Tensor {
  const M = Math.max(cin, cout);
  const count = bcopMatrixCount(k);
  if (
    ortho.rank !== 3 || ortho.shape[0] !== count || ortho.shape[1] !== M || ortho.shape[2] !== M
  ) {
    throw new Error(
      `Cannot build a BCOP kernel as the matrices must be [${count}, ${M}, ${M}]: shape is [${ortho.shape}]`,
    );
  }
  return tf.tidy(() => {
    const flipped = cin > cout;
    const H = tf.reshape(tf.slice(ortho, [0, 0, 0], [1, cin, cout]), [cin, cout]);
    const hEff = flipped ? tf.transpose(H) : H; // [min, M]
    let t: Tensor = tf.reshape(hEff, [1, 1, hEff.shape[0], M]);
    if (k > 1) {
      const half = Math.floor(M / 2);
      const projectors = half > 0
        ? (() => {
          const q = tf.slice(ortho, [1, 0, 0], [count - 1, M, half]);
          return tf.matMul(q, q, false, true); // P_j = Q_j Q_jᵀ
        })()
        : tf.zeros([count - 1, M, M]);
      const ps = tf.unstack(projectors);
      for (let j = 0; j < k - 1; j++) {
        t = convWithProjector(t, ps[2 * j], 0); // rows: [P; I-P]
        t = convWithProjector(t, ps[2 * j + 1], 1); // columns: [Q, I-Q]
      }
    }
    // t[i, j] = H_eff p[i, j]; the HWIO tap (kh, kw) is p[kw, kh] (oriented by `flipped`).
    return tf.transpose(t, flipped ? [1, 0, 3, 2] : [1, 0, 2, 3]);
  });
}

/**
 * The BCOP conv weight `[k, k, cin, cout]` from the unconstrained matrices
 * `[2(k-1)+1, M, M]` (docs/method.md §4): {@linkcode bcopOrthonormalize} then
 * {@linkcode bcopKernelFromOrthonormal}. Differentiable in `matrices` (the power-iteration
 * scale is a constant).
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { bcopKernel, bcopMatrixCount } from "./bcop.ts";
 * const w = bcopKernel(tf.randomNormal([bcopMatrixCount(3), 8, 8]), 3, 8, 8); // [3, 3, 8, 8]
 * ```
 */
export function bcopKernel(
  matrices: Tensor,
  k: number,
  cin: number,
  cout: number,
  opts: BcopOptions = {},
): Tensor {
  return tf.tidy(() => bcopKernelFromOrthonormal(bcopOrthonormalize(matrices, opts), k, cin, cout));
}

/**
 * The circular convolution of docs/method.md §4 (stride 1, odd `k`): circular padding by `k//2`, then
 * `conv2d` with padding 'valid'. `x` is NHWC `[N, H, W, cin]`, `kernel` `[k, k, cin, cout]`.
 */
export function circularConv2d(x: Tensor, kernel: Tensor): Tensor {
  return tf.tidy(() => {
    const padded = circularPad(x, Math.floor(kernel.shape[0] / 2));
    return tf.conv2d(padded as Tensor4D, kernel as Tensor4D, 1, "valid");
  });
}

/** Deterministic complex start vector for the per-frequency power iteration. */
function complexStart(n: number): Float64Array {
  const v = new Float64Array(2 * n);
  let s = 0x9e3779b9;
  for (let i = 0; i < 2 * n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    v[i] = (i % 2 === 0 ? 1 : 0) + 0.5 * (s / 4294967296 - 0.5);
  }
  return v;
}

/** Normalise interleaved complex `v` in place; returns its former norm. */
function cnormalize(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const nrm = Math.sqrt(s);
  if (nrm > 0) { for (let i = 0; i < v.length; i++) v[i] /= nrm; }
  return nrm;
}

/**
 * Largest singular value of the circular convolution (stride 1, any padding offset) with
 * `kernel` (HWIO `[k, k, cin, cout]`, row-major) on an `n × nw` input (default square), after
 * Sedghi, Gupta & Long 2019 ("The singular values of convolutional layers"): the operator's
 * singular values are those of the `n·nw` complex `cin × cout` matrices
 * `A(u, v) = Σ_{ky,kx} W[ky, kx] e^{-2πi(u·ky/n + v·kx/nw)}`. Each `σ_max(A(u, v))` comes from
 * power iteration on `AᴴA` (or `AAᴴ`, the smaller) in float64, at most `iters` iterations or
 * until the estimate changes by less than 1e-10 relative; `A(-u,-v) = conj(A(u,v))` halves
 * the work. Returns the maximum over frequencies (a tight lower estimate of it: power
 * iteration approaches from below).
 */
export function circularConvSpectralNorm(
  kernel: Float32Array,
  k: number,
  cin: number,
  cout: number,
  n: number,
  nw = n,
  iters = 100,
): number {
  if (kernel.length !== k * k * cin * cout) {
    throw new Error(
      `Cannot compute the spectral norm as the kernel has ${kernel.length} values, not ${k}·${k}·${cin}·${cout}`,
    );
  }
  if (!(n >= 1 && nw >= 1)) {
    throw new Error(`Cannot compute the spectral norm on a ${n}×${nw} input`);
  }
  const cc = cin * cout;
  // B[ky][v] = Σ_kx W[ky, kx] e^{-2πi v kx / nw}: interleaved complex cin×cout matrices.
  const B = new Float64Array(k * nw * cc * 2);
  for (let ky = 0; ky < k; ky++) {
    for (let v = 0; v < nw; v++) {
      const out = (ky * nw + v) * cc * 2;
      for (let kx = 0; kx < k; kx++) {
        const ang = (-2 * Math.PI * ((v * kx) % nw)) / nw;
        const c = Math.cos(ang), s = Math.sin(ang);
        const tap = (ky * k + kx) * cc;
        for (let e = 0; e < cc; e++) {
          const w = kernel[tap + e];
          B[out + 2 * e] += w * c;
          B[out + 2 * e + 1] += w * s;
        }
      }
    }
  }
  const A = new Float64Array(cc * 2);
  // Power iteration on G = AᴴA (x ∈ C^cout) when cout ≤ cin, else on AAᴴ (x ∈ C^cin).
  const onCols = cout <= cin;
  const dim = onCols ? cout : cin, other = onCols ? cin : cout;
  const x = new Float64Array(2 * dim), y = new Float64Array(2 * other);
  const start = complexStart(dim);
  // re/im of A[i][j] as seen by the iteration: `onCols` uses A (other×dim), else Aᵀ.
  const idx = (r: number, c: number) => 2 * (onCols ? r * cout + c : c * cout + r);
  let best = 0;
  for (let u = 0; u < n; u++) {
    for (let v = 0; v < nw; v++) {
      const mu = (n - u) % n, mv = (nw - v) % nw;
      if (mu * nw + mv < u * nw + v) continue; // conjugate of a frequency already done
      A.fill(0);
      for (let ky = 0; ky < k; ky++) {
        const ang = (-2 * Math.PI * ((u * ky) % n)) / n;
        const c = Math.cos(ang), s = Math.sin(ang);
        const off = (ky * nw + v) * cc * 2;
        for (let e = 0; e < cc; e++) {
          const re = B[off + 2 * e], im = B[off + 2 * e + 1];
          A[2 * e] += re * c - im * s;
          A[2 * e + 1] += re * s + im * c;
        }
      }
      // y = T x, x = Tᴴ y with T = A (onCols) or Aᵀ: |Tᴴ T x| → λ_max, σ = sqrt(λ).
      x.set(start);
      cnormalize(x);
      let lambda = 0;
      for (let it = 0; it < iters; it++) {
        for (let r = 0; r < other; r++) {
          let sr = 0, si = 0;
          for (let c = 0; c < dim; c++) {
            const a = idx(r, c);
            const ar = A[a], ai = A[a + 1], xr = x[2 * c], xi = x[2 * c + 1];
            sr += ar * xr - ai * xi;
            si += ar * xi + ai * xr;
          }
          y[2 * r] = sr;
          y[2 * r + 1] = si;
        }
        for (let c = 0; c < dim; c++) {
          let sr = 0, si = 0;
          for (let r = 0; r < other; r++) {
            const a = idx(r, c);
            const ar = A[a], ai = -A[a + 1], yr = y[2 * r], yi = y[2 * r + 1];
            sr += ar * yr - ai * yi;
            si += ar * yi + ai * yr;
          }
          x[2 * c] = sr;
          x[2 * c + 1] = si;
        }
        const next = cnormalize(x);
        const done = it > 0 && Math.abs(next - lambda) <= 1e-10 * next;
        lambda = next;
        if (done || next === 0) break;
      }
      best = Math.max(best, Math.sqrt(lambda));
    }
  }
  return best;
}
