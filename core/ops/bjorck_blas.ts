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

/**
 * Scratch buffers reused across calls, by length: on some VMs touching freshly allocated pages
 * costs more than the products (200 MB of new Float32Arrays ≈ 1 s on the 2-core test machine),
 * so the iterates of one step are handed back after its backward and serve the next step.
 */
const pool = new Map<number, Float32Array[]>();
let pooledBytes = 0;
/** Most bytes the pool holds between calls (the peak of one step of the authors' configs). */
const POOL_MAX_BYTES = 1024 * 1024 * 1024;

function take(n: number): Float32Array {
  const free = pool.get(n);
  const a = free?.pop();
  if (a) {
    pooledBytes -= a.byteLength;
    return a;
  }
  return new Float32Array(n);
}

function give(...arrays: Float32Array[]): void {
  for (const a of arrays) {
    if (pooledBytes + a.byteLength > POOL_MAX_BYTES) return;
    const free = pool.get(a.length) ?? [];
    free.push(a);
    pool.set(a.length, free);
    pooledBytes += a.byteLength;
  }
}

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

/**
 * Forward of one matrix (`x0` is consumed): returns the result and, when `keep`, fills `xs[k]`
 * (iterates) and `gs[k]` (Grams); otherwise hands them back to the pool as it goes.
 */
function forwardOne(
  blas: NativeSgemm,
  x0: Float32Array,
  m: number,
  n: number,
  iters: number,
  beta: number,
  keep: boolean,
  xs: Float32Array[],
  gs: Float32Array[],
): Float32Array {
  const tall = m >= n, c = tall ? n : m;
  let x = x0;
  for (let k = 0; k < iters; k++) {
    const a = take(c * c);
    const next = take(m * n);
    next.set(x);
    // docs/method.md §4: next = (1 + β) x - β x (xᵀx)  (or (x xᵀ) x when out < in)
    if (tall) {
      blas.sgemm(true, false, n, n, m, x, x, a);
      blas.sgemm(false, false, m, n, n, x, a, next, 1 + beta, -beta);
    } else {
      blas.sgemm(false, true, m, m, n, x, x, a);
      blas.sgemm(false, false, m, n, m, a, x, next, 1 + beta, -beta);
    }
    if (keep) {
      xs.push(x);
      gs.push(a);
    } else give(x, a);
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

/** Backward of one matrix from the kept iterates `xs` and Grams `gs` (all handed back). */
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
  const p = take(c * c);
  for (let k = xs.length - 1; k >= 0; k--) {
    const x = xs[k], a = gs[k];
    const next = take(m * n);
    next.set(g);
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
    give(g, x, a);
    g = next;
  }
  give(p);
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
  // Keep the iterates only when a gradient may be asked for (a tape is recording).
  const keep = (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
  const f = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const data = (args[0] as Tensor).dataSync() as Float32Array;
    const out = new Float32Array(data.length);
    const kept: { xs: Float32Array[]; gs: Float32Array[] }[] = [];
    for (let b = 0; b < B; b++) {
      const xs: Float32Array[] = [], gs: Float32Array[] = [];
      const x0 = take(m * n);
      x0.set(data.subarray(b * m * n, (b + 1) * m * n));
      const y = forwardOne(blas, x0, m, n, iters, beta, keep, xs, gs);
      out.set(y, b * m * n);
      give(y);
      kept.push({ xs, gs });
    }
    return {
      value: tf.tensor(out, shape, "float32"),
      gradFunc: (dy: Tensor | Tensor[]) => {
        if (!keep) throw new Error("Cannot differentiate the BLAS Björck route: no tape was on");
        const d = (dy as Tensor).dataSync() as Float32Array;
        const dx = new Float32Array(d.length);
        for (let b = 0; b < B; b++) {
          const g = take(m * n);
          g.set(d.subarray(b * m * n, (b + 1) * m * n));
          const r = backwardOne(blas, g, m, n, beta, kept[b].xs, kept[b].gs);
          dx.set(r, b * m * n);
          give(r);
        }
        kept.length = 0;
        return [tf.tensor(dx, shape, "float32")];
      },
    };
  });
  const x = w.dtype === "float32" ? w : tf.cast(w, "float32");
  const y = f(x) as Tensor;
  if (x !== w) x.dispose();
  return y;
}
