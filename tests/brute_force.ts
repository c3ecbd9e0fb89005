/**
 * Brute-force float64 references shared by the kernel tests: a seeded generator, the largest
 * absolute difference, TensorFlow's conv geometry, a convolution (forward, filter and input
 * gradients) over a set of geometries, and a batched matrix product with transposes.
 */
import assert from "node:assert/strict";

export type Pad = "same" | "valid" | number | [
  [number, number],
  [number, number],
  [number, number],
  [
    number,
    number,
  ],
];

export function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Padding (top, left) and output size exactly as TensorFlow defines them. */
export function geometry(
  H: number,
  W: number,
  fh: number,
  fw: number,
  s: [number, number],
  pad: Pad,
) {
  if (pad === "valid") {
    return {
      OH: Math.ceil((H - fh + 1) / s[0]),
      OW: Math.ceil((W - fw + 1) / s[1]),
      top: 0,
      left: 0,
    };
  }
  if (pad === "same") {
    const OH = Math.ceil(H / s[0]), OW = Math.ceil(W / s[1]);
    const ph = Math.max(0, (OH - 1) * s[0] + fh - H), pw = Math.max(0, (OW - 1) * s[1] + fw - W);
    return { OH, OW, top: Math.floor(ph / 2), left: Math.floor(pw / 2) };
  }
  if (typeof pad === "number") {
    return {
      OH: Math.floor((H + 2 * pad - fh) / s[0]) + 1,
      OW: Math.floor((W + 2 * pad - fw) / s[1]) + 1,
      top: pad,
      left: pad,
    };
  }
  const [, [t, b], [l, r]] = pad;
  return {
    OH: Math.floor((H + t + b - fh) / s[0]) + 1,
    OW: Math.floor((W + l + r - fw) / s[1]) + 1,
    top: t,
    left: l,
  };
}

export interface ConvCase {
  x: number[]; // N H W Cin
  f: number[]; // fh fw Cin Cout
  s: [number, number];
  pad: Pad;
}

export const CONV_CASES: ConvCase[] = [
  { x: [2, 5, 6, 3], f: [3, 3, 3, 4], s: [1, 1], pad: "same" },
  { x: [1, 7, 7, 2], f: [3, 3, 2, 3], s: [2, 2], pad: "same" },
  { x: [2, 6, 5, 2], f: [2, 3, 2, 2], s: [1, 2], pad: "valid" },
  { x: [1, 8, 8, 3], f: [4, 4, 3, 2], s: [2, 2], pad: 1 },
  { x: [2, 5, 5, 1], f: [3, 2, 1, 3], s: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 9, 7, 2], f: [3, 3, 2, 2], s: [3, 2], pad: "same" },
];

/** Brute force y = conv2d(x, w), and dW and dx for upstream dy, float64. */
export function convGradsRef(c: ConvCase, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const [N, H, W, Cin] = c.x, [fh, fw, , Cout] = c.f;
  const { OH, OW, top, left } = geometry(H, W, fh, fw, c.s, c.pad);
  const dw = new Float64Array(w.length), dx = new Float64Array(x.length);
  const y = new Float64Array(N * OH * OW * Cout);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let ky = 0; ky < fh; ky++) {
          for (let kx = 0; kx < fw; kx++) {
            const iy = oy * c.s[0] - top + ky, ix = ox * c.s[1] - left + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            for (let ci = 0; ci < Cin; ci++) {
              for (let co = 0; co < Cout; co++) {
                const g = dy[((n * OH + oy) * OW + ox) * Cout + co];
                const xi = ((n * H + iy) * W + ix) * Cin + ci;
                const wi = ((ky * fw + kx) * Cin + ci) * Cout + co;
                dw[wi] += x[xi] * g;
                dx[xi] += w[wi] * g;
                y[((n * OH + oy) * OW + ox) * Cout + co] += x[xi] * w[wi];
              }
            }
          }
        }
      }
    }
  }
  return { y, dw, dx, OH, OW };
}

/** Float64 batched product with TF.js's broadcasting of a batch of 1. */
export function refMatMul(
  a: Float32Array,
  sa: number[],
  b: Float32Array,
  sb: number[],
  tA: boolean,
  tB: boolean,
): Float64Array {
  const [ra, ca] = sa.slice(-2), [rb, cb] = sb.slice(-2);
  const M = tA ? ca : ra, K = tA ? ra : ca, N = tB ? rb : cb;
  const ba = sa.length === 3 ? sa[0] : 1, bb = sb.length === 3 ? sb[0] : 1;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * M * N);
  for (let i = 0; i < batch; i++) {
    const ao = (ba === 1 ? 0 : i) * ra * ca, bo = (bb === 1 ? 0 : i) * rb * cb;
    for (let r = 0; r < M; r++) {
      for (let c = 0; c < N; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          s += a[ao + (tA ? k * ca + r : r * ca + k)] * b[bo + (tB ? c * cb + k : k * cb + c)];
        }
        out[(i * M + r) * N + c] = s;
      }
    }
  }
  return out;
}

/** All singular values of a row-major `m × n` matrix: one-sided Jacobi in float64. */
export function singularValues(a: ArrayLike<number>, m: number, n: number): number[] {
  // Work on columns of A (or of Aᵀ when m < n, so that there are at most as many columns as rows).
  const tr = m < n;
  const rows = tr ? n : m, cols = tr ? m : n;
  const u: number[][] = Array.from(
    { length: cols },
    (_, j) => Array.from({ length: rows }, (_, i) => tr ? a[j * n + i] : a[i * n + j]),
  );
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < cols; p++) {
      for (let q = p + 1; q < cols; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < rows; i++) {
          alpha += u[p][i] ** 2;
          beta += u[q][i] ** 2;
          gamma += u[p][i] * u[q][i];
        }
        if (Math.abs(gamma) <= 1e-300) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < rows; i++) {
          const x = u[p][i], y = u[q][i];
          u[p][i] = c * x - s * y;
          u[q][i] = s * x + c * y;
        }
      }
    }
    if (off < 1e-15) break;
  }
  return u.map((col) => Math.sqrt(col.reduce((s, v) => s + v * v, 0))).sort((x, y) => y - x);
}
