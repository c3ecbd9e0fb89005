/**
 * Björck orthonormalisation (docs/method.md §4) and the spectral norm.
 *
 * {@linkcode bjorck} repeats `iters` times `w <- (1 + beta) w - beta w (wᵀ w)` on `[out, in]` or
 * batched `[B, out, in]` weights, differentiably. On backends that register the fused kernel
 * `LipsplineBjorck` (`cpu`, `wasm`: see `core/kernels/bjorck_fused.ts`) and for small matrices
 * it runs as one op whose gradient is the fused kernel `LipsplineBjorckGrad`; large matrices on
 * `cpu`/`wasm` with OpenBLAS take `bjorckBlas` (core/ops/bjorck_blas.ts: one `sgemm` per product,
 * Gram matrices kept for the backward); otherwise (WebGPU, no OpenBLAS) it is
 * {@linkcode bjorckComposite}, stock batched matMuls with an explicit gradient.
 * {@linkcode bjorckReference} is the plain composite differentiated by TF.js's own autodiff,
 * for parity tests. {@linkcode useFusedBjorck} decides the route.
 *
 * @module
 */
import type { GradSaveFunc, Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { registerKernelGradient } from "./kernel_gradient.ts";
import { BLAS_MIN_MACS, blasRoute } from "../kernels/blas/blas_kernels.ts";
import { MATMUL_SPLIT_MIN_MACS } from "../kernels/wasm/missing.ts";
import { bjorckBlas, canBjorckBlas } from "./bjorck_blas.ts";

/** Name of the fused forward kernel (input `w`; attrs `iters`, `beta`). */
export const BJORCK_KERNEL = "LipsplineBjorck";
/** Name of the fused backward kernel (inputs `w`, `dy`; attrs `iters`, `beta`); returns `dw`. */
export const BJORCK_GRAD_KERNEL = "LipsplineBjorckGrad";

/**
 * Cost model that picks the route, fitted to `deno task bench bjorck_size` (15 iterations,
 * forward + backward, 2-core AMD EPYC, 2026-11-26). A "unit" is `r·c²` with
 * `r = max(out, in)`, `c = min(out, in)` (about the multiply-adds of one product of the
 * iteration): both routes do O(iters · r · c²) work per matrix, and every term scales with
 * `iters`, so the decision does not depend on it.
 *
 * - fused kernel: ≈ 30 ns per unit per group of 4 matrices (its SIMD lanes run over the batch,
 *   so 1 to 4 matrices cost the same);
 * - composite, by the route its matrix products take (see {@linkcode compositeCost}):
 *   `wasmBlas`/`cpuBlas` where OpenBLAS runs products of that size (`blas_kernels.ts`);
 *   `wasmBatched` for a batch of products too small to be split into single products on wasm
 *   (the stock batched path is 6–10× slower); `wasm` (13–27 GFLOP/s once `kernels/wasm/missing.ts`
 *   routes around the slow paths); `cpu` (the stock ~1 GFLOP/s matMul).
 *
 * Measured on wasm with OpenBLAS (ms, fused vs composite): 25×16×16 0.96 vs 9.8; 25×32×32 8.2
 * vs 65; 25×64×64 57 vs 21; 5×64×64 (a BCOP layer) 15.5 vs 5.2; 1×64×64 7.6 vs 1.7;
 * 4×128×128 61 vs 20; 1×256×256 481 vs 27; 1×1024×64 118 vs 9.4. Without OpenBLAS: 25×64×64
 * 56–60 vs 87–93; 4×256×256 500–509 vs 489; 1×64×64 7.5–8 vs 3.7–4.1; 1×1024×64 119–130 vs
 * 59–65.
 */
export const BJORCK_COST_MODEL = {
  fusedNsPerUnitPerGroup: 30,
  composite: {
    wasm: { overheadMs: 3, nsPerUnit: 13 },
    wasmBatched: { overheadMs: 3, nsPerUnit: 80 },
    wasmBlas: { overheadMs: 1, nsPerUnit: 2.5 },
    cpu: { overheadMs: 5, nsPerUnit: 180 },
    cpuBlas: { overheadMs: 3, nsPerUnit: 15 },
  } as Record<string, { overheadMs: number; nsPerUnit: number }>,
};

/** The composite's cost entry for `B` matrices of `unit` multiply-adds per product. */
function compositeCost(backend: string, B: number, unit: number) {
  const model = BJORCK_COST_MODEL.composite;
  if (blasRoute(backend) !== null && unit >= (BLAS_MIN_MACS[backend] ?? Infinity)) {
    return model[`${backend}Blas`];
  }
  if (backend === "wasm" && B > 1 && unit < MATMUL_SPLIT_MIN_MACS) return model.wasmBatched;
  return model[backend];
}

/** Largest iterate store (bytes) the fused path accepts; beyond it the composite is used. */
const FUSED_MAX_KEPT_BYTES = 64 * 1024 * 1024;

/**
 * Whether {@linkcode bjorck} takes the fused path for `shape` (`[out, in]` or `[B, out, in]`)
 * on the current backend: the kernel must be registered there, the iterates it keeps for the
 * backward pass must fit in 64 MiB, and {@linkcode BJORCK_COST_MODEL} must predict it faster
 * than the composite.
 */
export function useFusedBjorck(shape: readonly number[], iters: number): boolean {
  const backend = tf.getBackend();
  if (!tf.getKernel(BJORCK_KERNEL, backend)) return false;
  const [m, n] = shape.slice(-2);
  const B = shape.length === 3 ? shape[0] : 1;
  const r = Math.max(m, n), c = Math.min(m, n);
  const groups = Math.ceil(B / 4);
  const kept = groups * ((iters + 1) * r * c + iters * c * c) * 16;
  if (kept > FUSED_MAX_KEPT_BYTES) return false;
  const unit = r * c * c;
  const comp = compositeCost(backend, B, unit);
  if (!comp) return true;
  const fusedMs = BJORCK_COST_MODEL.fusedNsPerUnitPerGroup * 1e-6 * groups * unit;
  const compositeMs = comp.overheadMs + B * comp.nsPerUnit * 1e-6 * unit;
  return fusedMs <= compositeMs;
}

/**
 * Register the gradient of `LipsplineBjorck` (backend-independent; idempotent). It calls the
 * `LipsplineBjorckGrad` kernel of the current backend with the saved input.
 */
export function registerBjorckGradient(): void {
  registerKernelGradient({
    kernel: BJORCK_KERNEL,
    gradKernel: BJORCK_GRAD_KERNEL,
    saved: ["w"],
    dys: ["dy"],
    grads: ["w"],
  });
}
registerBjorckGradient();

function checkArgs(w: Tensor, iters: number, beta: number): void {
  if (w.rank !== 2 && w.rank !== 3) {
    throw new Error(
      `Cannot orthonormalise as the weight must be [out, in] or [B, out, in]: shape is [${w.shape}]`,
    );
  }
  if (!Number.isInteger(iters) || iters < 0) {
    throw new Error(`Cannot orthonormalise as iters must be an integer ≥ 0: iters is ${iters}`);
  }
  if (!Number.isFinite(beta)) {
    throw new Error(`Cannot orthonormalise as beta must be finite: beta is ${beta}`);
  }
}

/**
 * Björck orthonormalisation, order 1 (docs/method.md §4): repeat `iters` times
 * `w <- (1 + beta) w - beta w (wᵀ w)`. No prescaling: the caller divides by `sqrt(out·in)`.
 * `w` is `[out, in]` or `[B, out, in]`; differentiable.
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { bjorck } from "./bjorck.ts";
 * const w = tf.randomNormal([25, 10, 10]);
 * const q = bjorck(tf.div(w, 10), 15); // ~orthonormal 10×10 matrices
 * ```
 */
export function bjorck(w: Tensor, iters: number, beta = 0.5): Tensor {
  checkArgs(w, iters, beta);
  if (iters === 0) return w.clone();
  if (useFusedBjorck(w.shape, iters)) return bjorckFused(w, iters, beta);
  // Large matrices on cpu/wasm with OpenBLAS: every product one sgemm (core/ops/bjorck_blas.ts)
  if (canBjorckBlas(w.shape, iters)) return bjorckBlas(w, iters, beta);
  return bjorckComposite(w, iters, beta);
}

/**
 * Björck orthonormalisation through the fused kernel whatever the size (for benchmarks and
 * tests; {@linkcode bjorck} chooses the route). Throws when the current backend has no fused
 * kernel.
 */
export function bjorckFused(w: Tensor, iters: number, beta = 0.5): Tensor {
  checkArgs(w, iters, beta);
  if (!tf.getKernel(BJORCK_KERNEL, tf.getBackend())) {
    throw new Error(`Cannot run the fused Björck kernel: none on backend '${tf.getBackend()}'`);
  }
  const x = w.dtype === "float32" ? w : tf.cast(w, "float32");
  // docs/method.md §4, fused: iters × (w <- (1 + beta) w - beta w (wᵀ w))
  const y = tf.engine().runKernel(BJORCK_KERNEL, { w: x }, { iters, beta }) as Tensor;
  if (x !== w) x.dispose();
  return y;
}

/** `a·b` with optional transposes (batched when rank 3). */
function mm(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  // On wasm, transposed and large batched products are routed around the stock kernel's slow
  // paths by the BatchMatMul replacement of core/kernels/wasm/missing.ts.
  return tf.matMul(a, b, transposeA, transposeB);
}

/** Transpose of the last two axes. */
function transposeLast(x: Tensor): Tensor {
  return tf.transpose(x, x.rank === 3 ? [0, 2, 1] : [1, 0]);
}

/** One iteration (docs/method.md §4): `(1 + beta) x - beta x (xᵀx)`, with the smaller Gram matrix. */
function bjorckStep(x: Tensor, beta: number): Tensor {
  const [m, n] = x.shape.slice(-2);
  // x (xᵀx) when out ≥ in, (x xᵀ) x otherwise: the same matrix
  const prod = m >= n ? mm(x, mm(x, x, true, false)) : mm(mm(x, x, false, true), x);
  return tf.sub(tf.mul(x, 1 + beta), tf.mul(prod, beta));
}

/**
 * Björck orthonormalisation from stock TF.js ops (batched matMul), differentiated by TF.js's
 * own autodiff: the reference the other routes are tested against. Uses the smaller Gram
 * matrix: `w (wᵀw)` when out ≥ in, `(w wᵀ) w` otherwise (equal).
 */
export function bjorckReference(w: Tensor, iters: number, beta = 0.5): Tensor {
  checkArgs(w, iters, beta);
  return tf.tidy(() => {
    let x: Tensor = w.dtype === "float32" ? w : tf.cast(w, "float32");
    for (let k = 0; k < iters; k++) x = bjorckStep(x, beta); // docs/method.md §4
    return x === w ? w.clone() : x;
  });
}

/**
 * Björck orthonormalisation from stock TF.js ops with an explicit gradient: the route for large
 * matrices and for backends without the fused kernel (WebGPU). The forward keeps the iterates
 * `w_k`; the backward runs, for k = iters-1 … 0 (adjoint of docs/method.md §4, `G = dL/dw_{k+1}`):
 * `dL/dw_k = (1+β) G - β (G A + w (P + Pᵀ))`, `A = wᵀw`, `P = wᵀG` when out ≥ in, and
 * `dL/dw_k = (1+β) G - β ((Q + Qᵀ) w + A' G)`, `A' = w wᵀ`, `Q = G wᵀ` otherwise — 3 products
 * per iteration plus the recomputed Gram matrix, against 4 for TF.js's autodiff.
 */
export function bjorckComposite(w: Tensor, iters: number, beta = 0.5): Tensor {
  checkArgs(w, iters, beta);
  if (iters === 0) return w.clone();
  const [m, n] = w.shape.slice(-2);
  const tall = m >= n;
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const x0 = args[0] as Tensor, save = args[1] as GradSaveFunc;
    const xs: Tensor[] = [x0];
    for (let k = 0; k < iters; k++) xs.push(bjorckStep(xs[k], beta)); // docs/method.md §4
    const y = xs.pop()!;
    save(xs);
    return {
      value: y,
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        let g = dy as Tensor;
        for (let k = iters - 1; k >= 0; k--) {
          const x = saved[k];
          let inner: Tensor;
          if (tall) {
            const p = mm(x, g, true, false); // P = xᵀ G
            const sym = tf.add(p, transposeLast(p));
            inner = tf.add(mm(g, mm(x, x, true, false)), mm(x, sym));
          } else {
            const q = mm(g, x, false, true); // Q = G xᵀ
            const sym = tf.add(q, transposeLast(q));
            inner = tf.add(mm(sym, x), mm(mm(x, x, false, true), g));
          }
          g = tf.sub(tf.mul(g, 1 + beta), tf.mul(inner, beta));
        }
        return [g];
      },
    };
  });
  const x = w.dtype === "float32" ? w : tf.cast(w, "float32");
  const y = f(x) as Tensor;
  if (x !== w) x.dispose();
  return y;
}

/** Deterministic start vector for power iteration (never orthogonal to a given direction). */
function startVector(n: number): Float64Array {
  const v = new Float64Array(n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    v[i] = 1 + (s / 4294967296) * 0.5;
  }
  return v;
}

function normalize(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const nrm = Math.sqrt(s);
  if (nrm > 0) { for (let i = 0; i < v.length; i++) v[i] /= nrm; }
  return nrm;
}

/**
 * Largest singular value of one row-major `m×n` matrix at `off` in `a`: power iteration on
 * `WᵀW` (on the explicit Gram matrix when it is the cheaper route) in float64, until the
 * estimate changes by at most `tol` relative in an iteration, or `maxIters` iterations.
 */
function sigmaMax(
  a: Float32Array,
  off: number,
  m: number,
  n: number,
  maxIters: number,
  tol: number,
): number {
  // Work on the smaller Gram: if m < n use W Wᵀ (m×m) — same nonzero eigenvalues.
  const tr = m < n;
  const r = tr ? n : m, c = tr ? m : n;
  const at = (i: number, j: number) => tr ? a[off + j * n + i] : a[off + i * n + j];
  const v = startVector(c);
  normalize(v);
  let lambda = 0;
  if (c <= 512) {
    // explicit Gram g = Wᵀ W (c×c, r·c²/2 once), then cheap c² power iterations on it
    const g = new Float64Array(c * c);
    const row = new Float64Array(c);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) row[j] = at(i, j);
      for (let p = 0; p < c; p++) {
        const wp = row[p];
        if (wp === 0) continue;
        for (let q = p; q < c; q++) g[p * c + q] += wp * row[q];
      }
    }
    for (let p = 0; p < c; p++) for (let q = 0; q < p; q++) g[p * c + q] = g[q * c + p];
    const u = new Float64Array(c);
    for (let k = 0; k < maxIters; k++) {
      for (let p = 0; p < c; p++) {
        let s = 0;
        for (let q = 0; q < c; q++) s += g[p * c + q] * v[q];
        u[p] = s;
      }
      const next = normalize(u); // = vᵀ g g v / |g v| → lambda_max
      v.set(u);
      if (k > 0 && Math.abs(next - lambda) <= tol * next) {
        lambda = next;
        break;
      }
      lambda = next;
    }
  } else {
    const u = new Float64Array(r);
    for (let k = 0; k < maxIters; k++) {
      for (let i = 0; i < r; i++) {
        let s = 0;
        for (let j = 0; j < c; j++) s += at(i, j) * v[j];
        u[i] = s;
      }
      v.fill(0);
      for (let i = 0; i < r; i++) {
        const ui = u[i];
        for (let j = 0; j < c; j++) v[j] += at(i, j) * ui;
      }
      const next = normalize(v); // |Wᵀ W v| → lambda_max
      if (k > 0 && Math.abs(next - lambda) <= tol * next) {
        lambda = next;
        break;
      }
      lambda = next;
    }
  }
  return Math.sqrt(lambda);
}

/**
 * Largest singular value of each matrix of `w` (`[out, in]` → 1 value, `[B, out, in]` → B
 * values), by power iteration on `WᵀW` in float64 until the estimate's relative change is at
 * most 1e-6, or `iters` iterations (default 10 000). Used by certification and the
 * `spectral_norm` projection's bound.
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { spectralNorm } from "./bjorck.ts";
 * const s = await spectralNorm(tf.eye(3).mul(2)); // Float32Array [2]
 * ```
 */
export async function spectralNorm(w: Tensor, iters = 10_000): Promise<Float32Array> {
  if (w.rank !== 2 && w.rank !== 3) {
    throw new Error(
      `Cannot compute the spectral norm as the weight must be [out, in] or [B, out, in]: shape is [${w.shape}]`,
    );
  }
  const [m, n] = w.shape.slice(-2);
  const B = w.rank === 3 ? w.shape[0] : 1;
  const data = (await w.data()) as Float32Array;
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) out[b] = sigmaMax(data, b * m * n, m, n, iters, 1e-6);
  return out;
}
