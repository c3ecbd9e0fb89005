/**
 * Björck orthonormalisation (docs/method.md §4) with every matrix product a native `sgemm`
 * (OpenBLAS through FFI, `core/backend/openblas_ffi.ts`): the route {@linkcode bjorck} takes for
 * large matrices on `cpu` and `wasm` when OpenBLAS is there. The update
 * `w <- (1 + beta) w - beta w (wᵀ w)` is one `sgemm` with BLAS's alpha/beta on a copy of `w`
 * (no elementwise passes through the backend), and the forward keeps both the iterates and
 * their Gram matrices, so the backward does 3 products per iteration instead of 4 (the
 * composite recomputes the Gram): 5 per iteration in all.
 *
 * Backward, for k = iters-1 … 0 (`G = dL/dw_{k+1}`, adjoint of docs/method.md §4):
 * out ≥ in: `dL/dw_k = (1+β) G - β (G A + w (P + Pᵀ))`, `A = wᵀw`, `P = wᵀG`;
 * out < in: `dL/dw_k = (1+β) G - β ((Q + Qᵀ) w + A' G)`, `A' = w wᵀ`, `Q = G wᵀ`.
 *
 * @module
 */
import type { GradSaveFunc, Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { type NativeSgemm, openBlas } from "../backend/openblas_ffi.ts";
import { blasRoute } from "../kernels/blas/blas_kernels.ts";

/** Largest store of iterates and Gram matrices (bytes) this route keeps for the backward. */
export const BLAS_BJORCK_MAX_KEPT_BYTES = 1024 * 1024 * 1024;

/** The BLAS library when the current backend routes products through it, else null. */
function blasForBackend(): NativeSgemm | null {
  return blasRoute(tf.getBackend()) !== null ? openBlas() : null;
}

/**
 * Whether {@linkcode bjorckBlas} can run `shape` (`[out, in]` or `[B, out, in]`, `iters`
 * iterations) on the current backend: OpenBLAS serves it and the kept iterates fit in
 * {@linkcode BLAS_BJORCK_MAX_KEPT_BYTES}.
 */
export function canBjorckBlas(shape: readonly number[], iters: number): boolean {
  if (!blasForBackend()) return false;
  const [m, n] = shape.slice(-2);
  const B = shape.length === 3 ? shape[0] : 1;
  const c = Math.min(m, n);
  return B * iters * (m * n + c * c) * 4 <= BLAS_BJORCK_MAX_KEPT_BYTES;
}

/** Forward of one matrix: returns the result and fills `xs[k]` (iterates) and `gs[k]` (Grams). */
function forwardOne(
  blas: NativeSgemm,
  x0: Float32Array,
  m: number,
  n: number,
  iters: number,
  beta: number,
  xs: Float32Array[],
  gs: Float32Array[],
): Float32Array {
  const tall = m >= n, c = tall ? n : m;
  let x = x0;
  for (let k = 0; k < iters; k++) {
    const a = new Float32Array(c * c);
    const next = x.slice();
    // docs/method.md §4: next = (1 + β) x - β x (xᵀx)  (or (x xᵀ) x when out < in)
    if (tall) {
      blas.sgemm(true, false, n, n, m, x, x, a);
      blas.sgemm(false, false, m, n, n, x, a, next, 1 + beta, -beta);
    } else {
      blas.sgemm(false, true, m, m, n, x, x, a);
      blas.sgemm(false, false, m, n, m, a, x, next, 1 + beta, -beta);
    }
    xs.push(x);
    gs.push(a);
    x = next;
  }
  return x;
}

/** `s = p + pᵀ` for a `c×c` matrix, in place. */
function symmetrize(p: Float32Array, c: number): void {
  for (let i = 0; i < c; i++) {
    p[i * c + i] *= 2;
    for (let j = i + 1; j < c; j++) {
      const v = p[i * c + j] + p[j * c + i];
      p[i * c + j] = v;
      p[j * c + i] = v;
    }
  }
}

/** Backward of one matrix from the kept iterates `xs` and Grams `gs`. */
function backwardOne(
  blas: NativeSgemm,
  dy: Float32Array,
  m: number,
  n: number,
  beta: number,
  xs: Float32Array[],
  gs: Float32Array[],
): Float32Array {
  const tall = m >= n, c = tall ? n : m;
  let g = dy;
  const p = new Float32Array(c * c);
  for (let k = xs.length - 1; k >= 0; k--) {
    const x = xs[k], a = gs[k];
    const next = g.slice();
    if (tall) {
      blas.sgemm(true, false, n, n, m, x, g, p); // P = xᵀ G
      symmetrize(p, c);
      blas.sgemm(false, false, m, n, n, g, a, next, 1 + beta, -beta); // (1+β)G - β G A
      blas.sgemm(false, false, m, n, n, x, p, next, 1, -beta); // - β x (P + Pᵀ)
    } else {
      blas.sgemm(false, true, m, m, n, g, x, p); // Q = G xᵀ
      symmetrize(p, c);
      blas.sgemm(false, false, m, n, m, p, x, next, 1 + beta, -beta); // (1+β)G - β (Q+Qᵀ) x
      blas.sgemm(false, false, m, n, m, a, g, next, 1, -beta); // - β A' G
    }
    g = next;
  }
  return g;
}

/**
 * Björck orthonormalisation, order 1 (docs/method.md §4), products through OpenBLAS, with its
 * gradient (see the module note). `w` is `[out, in]` or `[B, out, in]`. Throws when the current
 * backend does not route products through OpenBLAS ({@linkcode canBjorckBlas}).
 *
 * @example
 * ```ts ignore
 * const q = bjorckBlas(tf.div(w, Math.sqrt(out * inp)), 25); // on cpu/wasm with OpenBLAS
 * ```
 */
export function bjorckBlas(w: Tensor, iters: number, beta = 0.5): Tensor {
  const blas = blasForBackend();
  if (!blas) {
    throw new Error(
      `Cannot run the BLAS Björck route: no OpenBLAS on backend '${tf.getBackend()}'`,
    );
  }
  const shape = w.shape.slice();
  const [m, n] = shape.slice(-2);
  const B = shape.length === 3 ? shape[0] : 1;
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const x0 = args[0] as Tensor;
    const data = Float32Array.from(x0.dataSync() as Float32Array);
    const out = new Float32Array(data.length);
    const kept: { xs: Float32Array[]; gs: Float32Array[] }[] = [];
    for (let b = 0; b < B; b++) {
      const xs: Float32Array[] = [], gs: Float32Array[] = [];
      const slice = data.subarray(b * m * n, (b + 1) * m * n).slice();
      out.set(forwardOne(blas, slice, m, n, iters, beta, xs, gs), b * m * n);
      kept.push({ xs, gs });
    }
    return {
      value: tf.tensor(out, shape, "float32"),
      gradFunc: (dy: Tensor | Tensor[]) => {
        const d = (dy as Tensor).dataSync() as Float32Array;
        const dx = new Float32Array(d.length);
        for (let b = 0; b < B; b++) {
          const g = d.slice(b * m * n, (b + 1) * m * n);
          dx.set(backwardOne(blas, g, m, n, beta, kept[b].xs, kept[b].gs), b * m * n);
        }
        return [tf.tensor(dx, shape, "float32")];
      },
    };
  });
  const x = w.dtype === "float32" ? w : tf.cast(w, "float32");
  const y = f(x) as Tensor;
  if (x !== w) x.dispose();
  return y;
}
