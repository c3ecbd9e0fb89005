/**
 * Rigorous float64 **upper bounds** on the largest singular value of real and complex matrices
 * and of circular convolutions, for `certify`: a bound used in a certificate must never be an
 * estimate from below (power iteration approaches `σ_max` from below).
 *
 * **Method** for a real `m × n` matrix `A` (entries exactly representable in float64, e.g.
 * float32 weights):
 * 1. Scale `A` by a power of two so that `max|a| ∈ [1, 2)` (exact; undone at the end).
 * 2. Form the smaller Gram matrix `Ĝ = fl(AᵀA)` (or `fl(AAᵀ)`), order `k = min(m, n)`, inner
 *    products of length `p = max(m, n)`.
 * 3. Householder-tridiagonalise `Ĝ` and find the largest eigenvalue of the tridiagonal matrix by
 *    Sturm-sequence bisection: an interval `[lo, hi]`, `hi - lo ≈ 2 ulp`. This is the "exact
 *    SVD" value: `sqrt(hi)` is `σ_max` to about `k·eps` relative.
 * 4. Inflate and **verify**: `μ = hi + 2·k·eps·‖Ĝ‖_F` (the size of the backward error of
 *    Householder tridiagonalisation and bisection), then prove `λ_max(Ĝ) ≤ μ + δ` a posteriori by
 *    a floating-point Cholesky factorisation of `H = fl(μI - Ĝ)` (if it fails, the margin grows
 *    ×16 and the check repeats; after a few failures the bound falls back to the always valid
 *    `λ_max(Ĝ) ≤ ‖Ĝ‖_∞`).
 *
 * **Why the result is an upper bound** (`u = 2⁻⁵³`, `γ_j = j·u / (1 - j·u)`; IEEE-754
 * round-to-nearest double arithmetic and a correctly rounded `Math.sqrt`, as JavaScript
 * guarantees; no underflow after the scaling of step 1, up to the tiny absolute term below):
 * - Gram error (Higham, *Accuracy and Stability*, (3.5)): `|Ĝ - G| ≤ γ_p |A|ᵀ|A|` entrywise, so
 *   `‖Ĝ - G‖₂ ≤ γ_p ‖|A|ᵀ|A|‖₂ ≤ γ_p · min(‖A‖_F², ‖|A|ᵀ|A|‖_∞) =: e_G`, and by Weyl
 *   `λ_max(G) ≤ λ_max(Ĝ) + e_G`.
 * - Cholesky (Demmel; Higham Thm 10.3, which needs only that the factorisation *completes*, not
 *   that `H` be positive definite): the computed `R̂` satisfies `R̂ᵀR̂ = H + ΔH`,
 *   `|ΔH| ≤ γ_{k+1}|R̂ᵀ||R̂|`. Since `(R̂ᵀR̂)_ii ≤ h_ii / (1 - γ_{k+1})`,
 *   `‖ΔH‖₂ ≤ γ_{k+1}‖R̂‖_F² ≤ γ_{k+1}/(1 - γ_{k+1}) · tr(H) =: e_C` (Rump 2006). `R̂ᵀR̂ ⪰ 0` gives
 *   `λ_min(H) ≥ -e_C`.
 * - `H` differs from `μI - Ĝ` only on the diagonal, by `|fl(μ - ĝ_ii) - (μ - ĝ_ii)| ≤
 *   u·|μ - ĝ_ii| ≤ e_D`. Hence `λ_max(Ĝ) ≤ μ + e_C + e_D`.
 * - So `σ_max(A)² ≤ μ + e_C + e_D + e_G (+ 2⁻⁹⁰⁰·k·p for underflow)`. Each margin is computed
 *   with a relative safety factor that covers its own rounding, and the final sum and square root
 *   are rounded up by a factor `1 + 16u`. The bisection itself (step 3) needs no error analysis:
 *   it only proposes `μ`; the Cholesky check proves it.
 *
 * For an orthonormal `1024 × 1024` matrix the margins add up to about `2e-10` relative on `σ²`;
 * for small matrices they are ~`1e-14`. Cost: `k²p + 2k³ + k³/3` flops (a `1024 × 1024` weight:
 * about 2 s on one core).
 *
 * **Complex matrices** `A = B + iC` (`p × q`): the singular values of `A` are those of the real
 * `2p × 2q` matrix `[[B, -C], [C, B]]`, each twice, so `σ_max(A)` is bounded by the real routine
 * on that matrix.
 *
 * **Circular convolutions** (stride 1, any padding offset; Sedghi, Gupta & Long 2019): on an
 * `h × w` input, the singular values are those of the `h·w` complex `cin × cout` matrices
 * `A(u, v) = Σ_{ky,kx} W[ky, kx] e^{-2πi(u·ky/h + v·kx/w)}`; `A(-u, -v) = conj(A(u, v))` has the
 * same singular values, so half the frequencies suffice. The computed `Â(u, v)` differs from
 * `A(u, v)` by the rounding of the phases (angle, `cos`, `sin`: ≤ 30u per real component each)
 * and of the two sums of `k` terms: `|Â_e - A_e| ≤ (256 + 8k)·u·Σ_taps|w_e|`, so
 * `‖Â - A‖₂ ≤ ‖Â - A‖_F ≤ (256 + 8k)·u·sqrt(Σ_e (Σ_taps |w_e|)²)` (a generous constant), added
 * to every frequency's bound.
 *
 * @module
 */

import type { Tensor } from "@tensorflow/tfjs-core";

const U = 2 ** -53;

/** Round a non-negative quantity built from a few float operations up by a safe factor. */
const up = (x: number): number => x * (1 + 16 * U);

/** `γ_j = j·u / (1 - j·u)`, itself rounded up. */
function gamma(j: number): number {
  const ju = j * U;
  return up(ju / (1 - 2 * ju));
}

/**
 * Largest eigenvalue of the symmetric tridiagonal matrix (`d` diagonal, `e` off-diagonal,
 * `e[i]` couples `i` and `i + 1`) by Sturm-sequence bisection: the final interval `[lo, hi]`
 * contains it (up to the rounding of the Sturm counts).
 */
export function tridiagonalLargestEigenvalue(
  d: Float64Array,
  e: Float64Array,
): { lo: number; hi: number } {
  const n = d.length;
  if (n === 0) return { lo: 0, hi: 0 };
  // Gershgorin interval.
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - r);
    hi = Math.max(hi, d[i] + r);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  if (scale === 0) return { lo: 0, hi: 0 };
  const pivmin = scale * 1e-300 + Number.MIN_VALUE * 4;
  hi += 2 * U * scale + pivmin;
  lo -= 2 * U * scale + pivmin;
  const e2 = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n - 1; i++) e2[i] = e[i] * e[i];
  /** Number of eigenvalues < x. */
  const countBelow = (x: number): number => {
    let c = 0;
    let q = d[0] - x;
    if (Math.abs(q) < pivmin) q = -pivmin;
    if (q < 0) c++;
    for (let i = 1; i < n; i++) {
      q = d[i] - x - e2[i - 1] / q;
      if (Math.abs(q) < pivmin) q = -pivmin;
      if (q < 0) c++;
    }
    return c;
  };
  // Invariant: count(lo) < n (λ_max ≥ lo), count(hi) = n (λ_max < hi).
  for (let it = 0; it < 2200; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (hi - lo <= 2 * U * Math.max(Math.abs(lo), Math.abs(hi)) + pivmin) break;
    if (countBelow(mid) === n) hi = mid;
    else lo = mid;
  }
  return { lo, hi };
}

/**
 * Householder reduction of the symmetric `n × n` row-major matrix `a` (overwritten) to
 * tridiagonal form: returns its diagonal and off-diagonal.
 */
export function tridiagonalize(a: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n), e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(n), p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // x = a[k+1:, k]; reflector H = I - β v vᵀ with H x = α e1.
    let xmax = 0;
    for (let i = k + 1; i < n; i++) xmax = Math.max(xmax, Math.abs(a[i * n + k]));
    d[k] = a[k * n + k];
    if (xmax === 0) {
      e[k] = 0;
      continue;
    }
    let s = 0;
    for (let i = k + 1; i < n; i++) {
      const x = a[i * n + k] / xmax;
      v[i] = x;
      s += x * x;
    }
    const x0 = v[k + 1];
    const alpha = -(x0 >= 0 ? 1 : -1) * Math.sqrt(s); // in units of xmax
    e[k] = alpha * xmax;
    v[k + 1] = x0 - alpha;
    // vᵀv = s - 2 α x0 + α² = 2(s - α x0)
    const vtv = 2 * (s - alpha * x0);
    if (vtv === 0) continue;
    const beta = 2 / vtv;
    // p = β A22 v
    for (let i = k + 1; i < n; i++) {
      let acc = 0;
      const row = i * n;
      for (let j = k + 1; j < n; j++) acc += a[row + j] * v[j];
      p[i] = beta * acc;
    }
    // w = p - (β/2)(pᵀv) v, stored in p
    let pv = 0;
    for (let i = k + 1; i < n; i++) pv += p[i] * v[i];
    const c = 0.5 * beta * pv;
    for (let i = k + 1; i < n; i++) p[i] -= c * v[i];
    // A22 -= v wᵀ + w vᵀ
    for (let i = k + 1; i < n; i++) {
      const vi = v[i], wi = p[i], row = i * n;
      for (let j = k + 1; j < n; j++) a[row + j] -= vi * p[j] + wi * v[j];
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2];
    e[n - 2] = a[(n - 1) * n + n - 2];
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1];
  return { d, e };
}

/**
 * Try to prove `λ_max(g) ≤ μ + e_C + e_D` by a Cholesky factorisation of `fl(μI - g)`
 * (`g` symmetric `k × k`, row-major, unchanged). Returns the proved bound, or null when the
 * factorisation breaks down.
 */
function verifyBelow(g: Float64Array, k: number, mu: number, work: Float64Array): number | null {
  const h = work;
  let trace = 0, eD = 0;
  for (let i = 0; i < k; i++) {
    const row = i * k;
    for (let j = 0; j < i; j++) h[row + j] = -g[row + j];
    const t = mu - g[row + i];
    h[row + i] = t;
    if (!(t > 0)) return null;
    trace += t;
    eD = Math.max(eD, Math.abs(t));
  }
  // Lower-triangular Cholesky in place (row-oriented): l_ij = (h_ij - Σ_{t<j} l_it l_jt) / l_jj.
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    for (let j = 0; j <= i; j++) {
      const rj = j * k;
      let s = h[ri + j];
      for (let t = 0; t < j; t++) s -= h[ri + t] * h[rj + t];
      if (j === i) {
        if (!(s > 0)) return null;
        h[ri + i] = Math.sqrt(s);
      } else h[ri + j] = s / h[rj + j];
    }
  }
  const g1 = gamma(k + 1);
  const eC = up((g1 / (1 - g1)) * up(trace));
  return up(mu + eC + up(U * eD));
}

/**
 * A rigorous upper bound on `σ_max(A)` for the real row-major `rows × cols` matrix at `offset`
 * in `a` (see the module documentation for the argument). Non-finite entries give `Infinity`.
 *
 * @example
 * ```ts
 * import { spectralNormUpperBound } from "./spectral_norm.ts";
 * const s = spectralNormUpperBound(new Float64Array([3, 0, 0, 4]), 2, 2); // ≥ 4, ≈ 4
 * ```
 */
export function spectralNormUpperBound(
  a: ArrayLike<number>,
  rows: number,
  cols: number,
  offset = 0,
): number {
  const m = rows, n = cols;
  if (m === 0 || n === 0) return 0;
  // 1. Exact power-of-two scaling so that max|a| ∈ [1, 2).
  let amax = 0;
  for (let i = 0; i < m * n; i++) {
    const x = Math.abs(a[offset + i]);
    if (!Number.isFinite(x)) return Infinity;
    if (x > amax) amax = x;
  }
  if (amax === 0) return 0;
  // a · 2^scaleExp has its max in about [1, 2); the factor is split in two halves so that
  // neither overflows (subnormal weights), and both multiplications are exact.
  const scaleExp = -Math.floor(Math.log2(amax));
  const s1 = 2 ** Math.trunc(scaleExp / 2), s2 = 2 ** (scaleExp - Math.trunc(scaleExp / 2));
  const tr = m < n; // Gram of the smaller side: G = AAᵀ (m×m) when m < n, else AᵀA (n×n)
  const k = tr ? m : n, p = tr ? n : m;
  // Vectors of the Gram: rows of A (tr) or columns of A, each of length p, stored contiguously.
  const vecs = new Float64Array(k * p);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const x = a[offset + i * n + j] * s1 * s2;
      if (tr) vecs[i * p + j] = x;
      else vecs[j * p + i] = x;
    }
  }
  // Margins of the Gram error: ‖A‖_F² and ‖|A|ᵀ|A|‖_∞ (row sums of the k × k |Gram|).
  let fro = 0;
  for (let i = 0; i < k * p; i++) fro += vecs[i] * vecs[i];
  fro *= 1 + 2 * (k * p + 2) * U;
  const colAbs = new Float64Array(p); // Σ_i |vec_i[t]|
  for (let i = 0; i < k; i++) {
    for (let t = 0; t < p; t++) colAbs[t] += Math.abs(vecs[i * p + t]);
  }
  let inf = 0;
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let t = 0; t < p; t++) s += Math.abs(vecs[i * p + t]) * colAbs[t];
    inf = Math.max(inf, s);
  }
  inf *= 1 + 2 * (k + p + 2) * U;
  const eG = up(gamma(p) * Math.min(fro, inf));
  // 2. Ĝ = fl(vecs vecsᵀ), k × k.
  const g = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const oi = i * p;
    for (let j = 0; j <= i; j++) {
      const oj = j * p;
      let s = 0;
      for (let t = 0; t < p; t++) s += vecs[oi + t] * vecs[oj + t];
      g[i * k + j] = s;
      g[j * k + i] = s;
    }
  }
  let gFro = 0, gInf = 0;
  for (let i = 0; i < k; i++) {
    let r = 0;
    for (let j = 0; j < k; j++) {
      const x = g[i * k + j];
      gFro += x * x;
      r += Math.abs(x);
    }
    gInf = Math.max(gInf, r);
  }
  gFro = Math.sqrt(gFro);
  gInf = up(gInf * (1 + 2 * (k + 1) * U));
  // 3. Tridiagonalise a copy, bisect for the largest eigenvalue.
  const work = new Float64Array(g);
  const { d, e } = tridiagonalize(work, k);
  const { hi } = tridiagonalLargestEigenvalue(d, e);
  // 4. Inflate and verify by Cholesky; grow the margin on failure.
  let lambda = gInf; // always valid: λ_max(Ĝ) ≤ ‖Ĝ‖_∞
  let margin = 2 * k * U * gFro + 1e-300;
  for (let attempt = 0; attempt < 6; attempt++) {
    const mu = Math.max(hi, 0) + margin;
    if (mu >= gInf) break;
    const proved = verifyBelow(g, k, mu, work);
    if (proved !== null) {
      lambda = Math.min(proved, gInf);
      break;
    }
    margin *= 16;
  }
  const underflow = 2 ** -900 * k * p;
  const bound2 = up(lambda + eG + underflow);
  // Undo the scaling: σ(A) = σ(A·2^s) · 2^-s (exact power of two).
  return up(Math.sqrt(bound2)) / s1 / s2;
}

/**
 * A rigorous upper bound on `σ_max(B + iC)` for the complex `rows × cols` matrix given as
 * interleaved `(re, im)` pairs, row-major, at `offset` (complex entries) in `a`: the bound of
 * the real matrix `[[B, -C], [C, B]]`, whose singular values are those of `B + iC`, each twice.
 *
 * @example
 * ```ts
 * import { complexSpectralNormUpperBound } from "./spectral_norm.ts";
 * // diag(3i, 4): σ_max = 4
 * const s = complexSpectralNormUpperBound(new Float64Array([0, 3, 0, 0, 0, 0, 4, 0]), 2, 2);
 * ```
 */
export function complexSpectralNormUpperBound(
  a: ArrayLike<number>,
  rows: number,
  cols: number,
  offset = 0,
): number {
  const R = new Float64Array(4 * rows * cols);
  const w = 2 * cols;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const re = a[2 * (offset + i * cols + j)], im = a[2 * (offset + i * cols + j) + 1];
      R[i * w + j] = re;
      R[i * w + cols + j] = -im;
      R[(rows + i) * w + j] = im;
      R[(rows + i) * w + cols + j] = re;
    }
  }
  return spectralNormUpperBound(R, 2 * rows, w);
}

/**
 * A rigorous upper bound on the Lipschitz constant (largest singular value) of the circular
 * convolution (stride 1, any padding offset) with `kernel` (HWIO `[k, k, cin, cout]`,
 * row-major) on an `h × w` input: the largest of the per-frequency bounds of the complex
 * `cin × cout` DFT matrices (see the module documentation), plus the bound on their rounding.
 *
 * @example
 * ```ts
 * import { circularConvSpectralNormUpperBound } from "./spectral_norm.ts";
 * // A 1×1 kernel is the matrix itself at every frequency.
 * const s = circularConvSpectralNormUpperBound(new Float32Array([0.6, 0.8]), 1, 1, 2, 4, 4);
 * ```
 */
export function circularConvSpectralNormUpperBound(
  kernel: ArrayLike<number>,
  k: number,
  cin: number,
  cout: number,
  h: number,
  w = h,
): number {
  if (kernel.length !== k * k * cin * cout) {
    throw new Error(
      `Cannot bound the convolution as the kernel has ${kernel.length} values, not ${k}·${k}·${cin}·${cout}`,
    );
  }
  if (!(h >= 1 && w >= 1)) throw new Error(`Cannot bound the convolution on a ${h}×${w} input`);
  const cc = cin * cout;
  // Rounding of the DFT: (256 + 8k)·u·sqrt(Σ_e (Σ_taps |w_e|)²).
  let sumSq = 0;
  for (let e = 0; e < cc; e++) {
    let s = 0;
    for (let t = 0; t < k * k; t++) s += Math.abs(kernel[t * cc + e]);
    if (!Number.isFinite(s)) return Infinity;
    sumSq += s * s;
  }
  const dftError = up((256 + 8 * k) * U * Math.sqrt(sumSq) * (1 + 4 * (cc + k * k) * U));
  // B[ky][v] = Σ_kx W[ky, kx] e^{-2πi v kx / w}: interleaved complex cin×cout matrices.
  const B = new Float64Array(k * w * cc * 2);
  for (let ky = 0; ky < k; ky++) {
    for (let v = 0; v < w; v++) {
      const out = (ky * w + v) * cc * 2;
      for (let kx = 0; kx < k; kx++) {
        const ang = (-2 * Math.PI * ((v * kx) % w)) / w;
        const c = Math.cos(ang), s = Math.sin(ang);
        const tap = (ky * k + kx) * cc;
        for (let e = 0; e < cc; e++) {
          const x = kernel[tap + e];
          B[out + 2 * e] += x * c;
          B[out + 2 * e + 1] += x * s;
        }
      }
    }
  }
  const A = new Float64Array(cc * 2);
  let best = 0;
  for (let u = 0; u < h; u++) {
    for (let v = 0; v < w; v++) {
      const mu = (h - u) % h, mv = (w - v) % w;
      if (mu * w + mv < u * w + v) continue; // conjugate of a frequency already done
      A.fill(0);
      for (let ky = 0; ky < k; ky++) {
        const ang = (-2 * Math.PI * ((u * ky) % h)) / h;
        const c = Math.cos(ang), s = Math.sin(ang);
        const off = (ky * w + v) * cc * 2;
        for (let e = 0; e < cc; e++) {
          const re = B[off + 2 * e], im = B[off + 2 * e + 1];
          A[2 * e] += re * c - im * s;
          A[2 * e + 1] += re * s + im * c;
        }
      }
      best = Math.max(best, complexSpectralNormUpperBound(A, cin, cout));
    }
  }
  return up(best + dftError);
}

/** The method string of a bound from {@linkcode spectralNormUpperBound}. */
export const EXACT_BOUND_METHOD = "exact float64 SVD (tridiagonal + bisection) upper bound";

/**
 * {@linkcode spectralNormUpperBound} of every matrix of a weight `[out, in]` or `[M, out, in]`
 * (one per model), read from the tensor's float32 values.
 *
 * @example
 * ```ts ignore
 * const perModel = await weightSpectralNormUpperBounds(projectedWeight);
 * ```
 */
export async function weightSpectralNormUpperBounds(w: Tensor): Promise<number[]> {
  if (w.rank !== 2 && w.rank !== 3) {
    throw new Error(
      `Cannot bound the spectral norm as the weight must be [out, in] or [M, out, in]: shape is [${w.shape}]`,
    );
  }
  const [m, n] = w.shape.slice(-2);
  const B = w.rank === 3 ? w.shape[0] : 1;
  const data = await w.data();
  return Array.from({ length: B }, (_, b) => spectralNormUpperBound(data, m, n, b * m * n));
}
