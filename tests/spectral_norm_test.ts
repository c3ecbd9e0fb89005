/**
 * `core/certify/spectral_norm.ts`: the float64 upper bounds on σ_max (real, complex, circular
 * convolution) against known singular values and brute-force references, and the BCOP layer's
 * bound against the largest singular value of its dense operator.
 */
import assert from "node:assert/strict";
import { hostOps, tf, useBackend } from "./helpers.ts";
import { rand, singularValues } from "./brute_force.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import {
  circularConvSpectralNormUpperBound,
  complexSpectralNormUpperBound,
  spectralNormUpperBound,
} from "../core/certify/spectral_norm.ts";
import { circularConvSpectralNorm } from "../core/ops/bcop.ts";
import { spectralNorm } from "../core/ops/bjorck.ts";
import bcopConv, { type BcopConvInstance } from "../plugins/layers/bcop_conv.ts";

await useBackend("cpu");

/** Largest singular value of a row-major `m × n` matrix (brute-force Jacobi SVD). */
function jacobiSigmaMax(a: ArrayLike<number>, m: number, n: number): number {
  return singularValues(a, m, n)[0];
}

/** A random `n × n` orthogonal matrix (Gram–Schmidt twice, float64). */
function orthogonal(n: number, seed: number): Float64Array {
  const q = Float64Array.from(rand(n * n, seed));
  for (let i = 0; i < n; i++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let d = 0;
        for (let t = 0; t < n; t++) d += q[i * n + t] * q[j * n + t];
        for (let t = 0; t < n; t++) q[i * n + t] -= d * q[j * n + t];
      }
      let s = 0;
      for (let t = 0; t < n; t++) s += q[i * n + t] ** 2;
      s = Math.sqrt(s);
      for (let t = 0; t < n; t++) q[i * n + t] /= s;
    }
  }
  return q;
}

/** `U diag(s) Vᵀ` for orthogonal `U` (m × m) and `V` (n × n), s of length min(m, n). */
function withSingularValues(m: number, n: number, s: number[], seed: number): Float64Array {
  const U = orthogonal(m, seed), V = orthogonal(n, seed + 1);
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let x = 0;
      for (let k = 0; k < s.length; k++) x += U[i * m + k] * s[k] * V[j * n + k];
      a[i * n + j] = x;
    }
  }
  return a;
}

Deno.test("diagonal matrices: the bound is ≥ max|d| exactly and within 1e-12", () => {
  for (const d of [[3, -4], [1], [0.5, 2, -2, 1e-3], [1e-30, 3e-30], [7e20, 1]]) {
    const n = d.length;
    const a = new Float64Array(n * n);
    d.forEach((x, i) => a[i * n + i] = x);
    const want = Math.max(...d.map(Math.abs));
    const b = spectralNormUpperBound(a, n, n);
    assert.ok(b >= want && b <= want * (1 + 1e-12), `${d}: ${b}`);
  }
  assert.equal(spectralNormUpperBound(new Float64Array(6), 2, 3), 0);
  assert.equal(spectralNormUpperBound([1, NaN], 1, 2), Infinity);
  // A row, a column: σ = the Euclidean norm.
  assert.ok(Math.abs(spectralNormUpperBound([3, 4], 1, 2) - 5) < 1e-13);
  assert.ok(Math.abs(spectralNormUpperBound([3, 4], 2, 1) - 5) < 1e-13);
});

Deno.test("orthogonal × diag × orthogonal: bound ≥ σ_max and within 1e-9 relative", () => {
  const cases: [number, number, number[]][] = [
    [6, 6, [2, 1.5, 1, 0.5, 0.1, 0]],
    [5, 9, [1, 1, 1, 1, 1]],
    [9, 4, [3, 2.999999, 1, 1e-8]],
    [40, 40, Array.from({ length: 40 }, (_, i) => 1 - i / 80)],
    [64, 64, Array.from({ length: 64 }, () => 1)],
  ];
  for (const [m, n, s] of cases) {
    const a = withSingularValues(m, n, s, 11 * m + n);
    const want = Math.max(...s);
    const b = spectralNormUpperBound(a, m, n);
    assert.ok(b >= want * (1 - 1e-14), `${m}×${n}: ${b} < ${want}`);
    assert.ok(b <= want * (1 + 1e-9), `${m}×${n}: ${b} vs ${want}`);
    const brute = jacobiSigmaMax(a, m, n);
    assert.ok(b >= brute * (1 - 1e-15), `${m}×${n}: ${b} < Jacobi ${brute}`);
  }
});

Deno.test("random float32 matrices: bound ≥ brute force (Jacobi) and ≥ power iteration", async () => {
  for (const [m, n, seed] of [[7, 3, 1], [3, 7, 2], [32, 48, 3], [50, 50, 4]]) {
    const a = rand(m * n, seed);
    const b = spectralNormUpperBound(a, m, n);
    const brute = jacobiSigmaMax(a, m, n);
    assert.ok(b >= brute && b <= brute * (1 + 1e-9), `${m}×${n}: ${b} vs ${brute}`);
    const w = tf.tensor2d(a, [m, n]);
    const power = (await spectralNorm(w))[0];
    w.dispose();
    assert.ok(b >= power, `${b} < power iteration ${power}`);
  }
});

Deno.test("complex matrices: σ_max of B + iC equals the brute force on [[B, -C], [C, B]]", () => {
  for (const [m, n, seed] of [[3, 4, 5], [4, 3, 6], [6, 6, 7], [1, 5, 8]]) {
    const z = rand(2 * m * n, seed); // interleaved re, im
    const R = new Float64Array(4 * m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const re = z[2 * (i * n + j)], im = z[2 * (i * n + j) + 1];
        R[i * 2 * n + j] = re;
        R[i * 2 * n + n + j] = -im;
        R[(m + i) * 2 * n + j] = im;
        R[(m + i) * 2 * n + n + j] = re;
      }
    }
    // Brute force: the largest |Az| over many unit z (lower bound), and Jacobi on the embedding.
    const b = complexSpectralNormUpperBound(z, m, n);
    const brute = jacobiSigmaMax(R, 2 * m, 2 * n);
    assert.ok(b >= brute && b <= brute * (1 + 1e-9), `${m}×${n}: ${b} vs ${brute}`);
  }
  // A unitary (DFT) matrix times diag(s): σ_max = max s.
  const n = 8, s = [0.5, 2, 1, 1, 0.25, 1.5, 0, 1];
  const z = new Float64Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const ang = (-2 * Math.PI * ((i * j) % n)) / n;
      z[2 * (i * n + j)] = Math.cos(ang) * s[j] / Math.sqrt(n);
      z[2 * (i * n + j) + 1] = Math.sin(ang) * s[j] / Math.sqrt(n);
    }
  }
  const b = complexSpectralNormUpperBound(z, n, n);
  assert.ok(b >= 2 * (1 - 1e-14) && b <= 2 * (1 + 1e-12), String(b));
});

/** The dense matrix (rows: outputs, cols: inputs, NHWC order) of a circular convolution. */
function denseCircularConv(
  w: ArrayLike<number>,
  k: number,
  cin: number,
  cout: number,
  h: number,
  wd: number,
): Float64Array {
  const p = Math.floor(k / 2), nIn = h * wd * cin, nOut = h * wd * cout;
  const a = new Float64Array(nOut * nIn);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < wd; x++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const iy = (((y + ky - p) % h) + h) % h, ix = (((x + kx - p) % wd) + wd) % wd;
          for (let i = 0; i < cin; i++) {
            for (let o = 0; o < cout; o++) {
              const row = (y * wd + x) * cout + o, col = (iy * wd + ix) * cin + i;
              a[row * nIn + col] += w[((ky * k + kx) * cin + i) * cout + o];
            }
          }
        }
      }
    }
  }
  return a;
}

Deno.test("circular convolutions: the DFT bound ≥ σ_max of the dense operator (random kernels)", () => {
  for (
    const [k, cin, cout, h, wd, seed] of [[3, 2, 3, 4, 5, 1], [3, 3, 2, 5, 5, 2], [
      5,
      2,
      2,
      3,
      6,
      3,
    ]]
  ) {
    const w = rand(k * k * cin * cout, seed);
    const b = circularConvSpectralNormUpperBound(w, k, cin, cout, h, wd);
    const brute = jacobiSigmaMax(
      denseCircularConv(w, k, cin, cout, h, wd),
      h * wd * cout,
      h * wd * cin,
    );
    assert.ok(
      b >= brute && b <= brute * (1 + 1e-9),
      `k${k} ${cin}→${cout} ${h}×${wd}: ${b} vs ${brute}`,
    );
    assert.ok(b >= circularConvSpectralNorm(w, k, cin, cout, h, wd));
  }
});

Deno.test({
  name: "a BCOP layer's bound is ≥ the largest singular value of its dense operator",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const [k, cin, cout, h] = [3, 3, 4, 5];
    const layer = bcopConv.create(
      { tf, ops: hostOps, name: "conv", rng: new MT19937(4) },
      { inChannels: cin, outChannels: cout, kernelSize: k, bias: false },
    ) as BcopConvInstance;
    // Perturb the matrices so that the kernel is not exactly orthogonal.
    const m = layer.parameters()[0].variable;
    tf.tidy(() => m.assign(tf.add(m, tf.mul(0.05, tf.randomNormal(m.shape, 0, 1, "float32", 3)))));
    const kernel = layer.kernel({ training: false });
    const w = (await kernel.data()) as Float32Array;
    const dense = denseCircularConv(w, k, cin, cout, h, h);
    // The dense operator is the layer's forward pass.
    const x = rand(h * h * cin, 9);
    const y = await layer.forward(tf.tensor4d(x, [1, h, h, cin]), { training: false }).data();
    for (let r = 0; r < h * h * cout; r++) {
      let s = 0;
      for (let c = 0; c < h * h * cin; c++) s += dense[r * h * h * cin + c] * x[c];
      assert.ok(Math.abs(s - y[r]) < 1e-5, `row ${r}: ${s} vs ${y[r]}`);
    }
    const brute = jacobiSigmaMax(dense, h * h * cout, h * h * cin);
    const b = await layer.lipschitzBound({ inputShape: [h, h, cin] });
    assert.ok(b.value !== null && b.value >= brute, `${b.value} < ${brute}`);
    assert.ok(b.value! <= brute * (1 + 1e-9), `${b.value} vs ${brute}`);
    assert.match(b.method, /exact float64 SVD \(tridiagonal \+ bisection\) upper bound/);
    layer.dispose!();
    for (const p of layer.parameters()) p.variable.dispose();
  },
});

Deno.test("a 1024×1024 weight's bound is finite and above ‖Av‖ for unit vectors v", () => {
  const n = 1024;
  const w = rand(n * n, 17);
  const b = spectralNormUpperBound(w, n, n);
  assert.ok(Number.isFinite(b) && b > 0);
  for (let trial = 0; trial < 3; trial++) {
    const v = rand(n, 100 + trial);
    let vn = 0;
    for (const x of v) vn += x * x;
    let an = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += w[i * n + j] * v[j];
      an += s * s;
    }
    assert.ok(Math.sqrt(an / vn) <= b, `${Math.sqrt(an / vn)} > ${b}`);
  }
});
