/**
 * The BCOP convolution (docs/method.md §4): the construction against a literal float64 transcription of
 * the spec's steps, isometry / non-expansiveness of the layer on cpu and wasm, the DFT spectral
 * norm against a brute-force one, gradients against central finite differences, tensor
 * bookkeeping (no leaks, the evaluation cache) and option errors.
 */
import assert from "node:assert/strict";
import type { Tensor, Variable } from "@tensorflow/tfjs-core";
import { hostOps, maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { isUserError } from "../core/errors.ts";
import { initWeight } from "../core/nn/weight_init.ts";
import {
  bcopKernel,
  bcopKernelFromOrthonormal,
  bcopMatrixCount,
  bcopOrthonormalize,
  circularConv2d,
  circularConvSpectralNorm,
  powerIterationSigma,
} from "../core/ops/bcop.ts";
import { circularPad, circularPadComposite } from "../core/ops/circular_pad.ts";
import bcopConv, {
  type BcopConvInstance,
  type BcopConvOptions,
} from "../plugins/layers/bcop_conv.ts";

const BACKENDS = ["cpu", "wasm"] as const;

/**
 * `count` random, non-orthogonal `M×M` matrices `U diag(s) V` (`U`, `V` random orthogonal,
 * `s` uniform in [0.2, 1.5]): random but conditioned well enough for Björck's 25 iterations
 * (a Gaussian matrix is often so close to singular that they do not converge, as in the
 * reference).
 */
function randomMatrices(count: number, M: number, seed: number): Tensor {
  const rng = new MT19937(seed);
  const out = new Float32Array(count * M * M);
  for (let j = 0; j < count; j++) {
    const u = initWeight(rng, "orthonormal", M, M), v = initWeight(rng, "orthonormal", M, M);
    const s = Array.from({ length: M }, () => 0.2 + 1.3 * rng.random());
    for (let r = 0; r < M; r++) {
      for (let c = 0; c < M; c++) {
        let acc = 0;
        for (let l = 0; l < M; l++) acc += u[r * M + l] * s[l] * v[l * M + c];
        out[(j * M + r) * M + c] = acc;
      }
    }
  }
  return tf.tensor3d(out, [count, M, M]);
}

/** Build a layer and give its matrices random (non-orthogonal) values. */
function randomLayer(o: BcopConvOptions, seed: number): BcopConvInstance {
  const rng = new MT19937(seed);
  const layer = bcopConv.create({ tf, ops: hostOps, name: "conv", rng }, o) as BcopConvInstance;
  const m = layer.parameters()[0].variable;
  const [count, M] = m.shape as number[];
  tf.tidy(() => m.assign(randomMatrices(count, M, seed + 1000)));
  return layer;
}

function freeLayer(layer: BcopConvInstance): void {
  layer.dispose!();
  for (const p of layer.parameters()) p.variable.dispose();
}

/** Euclidean norm of a tensor, read back. */
function norm(t: Tensor): number {
  return tf.tidy(() => tf.norm(t).dataSync()[0]);
}

// ---- a literal float64 transcription of docs/method.md §4, for comparison ----------------------------

type Mat = Float64Array; // row-major n×n
function matMul(a: Mat, b: Mat, n: number): Mat {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < n; l++) {
      const ail = a[i * n + l];
      for (let j = 0; j < n; j++) c[i * n + j] += ail * b[l * n + j];
    }
  }
  return c;
}
function iMinus(a: Mat, n: number): Mat {
  return a.map((v, i) => (Math.floor(i / n) === i % n ? 1 : 0) - v);
}
/** block_orth(P, Q): the 2×2 kernel [[PQ, P(I-Q)], [(I-P)Q, (I-P)(I-Q)]]. */
function blockOrth(p: Mat, q: Mat, n: number): Mat[][] {
  const ip = iMinus(p, n), iq = iMinus(q, n);
  return [[matMul(p, q, n), matMul(p, iq, n)], [matMul(ip, q, n), matMul(ip, iq, n)]];
}
/** matrix_conv(m1, m2)[i][j] = Σ m1[a][b] m2[i-a][j-b]. */
function matrixConv(m1: Mat[][], m2: Mat[][], n: number): Mat[][] {
  const k = m1.length, l = m2.length, size = k + l - 1;
  const out: Mat[][] = [];
  for (let i = 0; i < size; i++) {
    out.push([]);
    for (let j = 0; j < size; j++) {
      const acc = new Float64Array(n * n);
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          if (i - a < 0 || i - a >= l || j - b < 0 || j - b >= l) continue;
          const pr = matMul(m1[a][b], m2[i - a][j - b], n);
          for (let e = 0; e < n * n; e++) acc[e] += pr[e];
        }
      }
      out[i].push(acc);
    }
  }
  return out;
}

/**
 * Spec §4 step by step from orthonormal matrices `[count, M, M]` (row-major): H, projectors of
 * the first floor(M/2) columns, block_orth / matrix_conv, H·tap, then the reference's layout
 * (PyTorch `[cout, cin, kh, kw]` with kh ↔ the second tap index) read as HWIO.
 */
function literalKernel(ortho: Float32Array, k: number, cin: number, cout: number): Float64Array {
  const M = Math.max(cin, cout), half = Math.floor(M / 2);
  const mat = (j: number) => Float64Array.from(ortho.subarray(j * M * M, (j + 1) * M * M));
  const proj = (j: number) => {
    const q = mat(j), p = new Float64Array(M * M);
    for (let r = 0; r < M; r++) {
      for (let c = 0; c < M; c++) {
        let s = 0;
        for (let l = 0; l < half; l++) s += q[r * M + l] * q[c * M + l];
        p[r * M + c] = s;
      }
    }
    return p;
  };
  let p: Mat[][] = [[Float64Array.from({ length: M * M }, (_, i) => (i % (M + 1) === 0 ? 1 : 0))]];
  for (let j = 0; j < k - 1; j++) {
    p = matrixConv(p, blockOrth(proj(1 + 2 * j), proj(2 + 2 * j), M), M);
  }
  const h = mat(0); // H = h[:cin, :cout]
  const out = new Float64Array(k * k * cin * cout);
  const flipped = cin > cout;
  for (let kh = 0; kh < k; kh++) {
    for (let kw = 0; kw < k; kw++) {
      const tap = p[kw][kh];
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) {
          // not flipped: (H tap)[ci, co] with H cin×M; flipped: (Hᵀ tap)[co, ci] with Hᵀ cout×M
          let s = 0;
          for (let l = 0; l < M; l++) {
            s += flipped ? h[l * M + co] * tap[l * M + ci] : h[ci * M + l] * tap[l * M + co];
          }
          out[((kh * k + kw) * cin + ci) * cout + co] = s;
        }
      }
    }
  }
  return out;
}

Deno.test({
  name: "the BCOP kernel equals a literal float64 transcription of docs/method.md §4",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    for (const [cin, cout, k] of [[3, 3, 3], [2, 5, 3], [5, 2, 5], [4, 4, 1], [3, 4, 5]]) {
      const M = Math.max(cin, cout);
      const m = randomMatrices(bcopMatrixCount(k), M, 7 + k + cin);
      const ortho = bcopOrthonormalize(m);
      // orthonormalised: every QᵀQ = I
      const gram = tf.matMul(ortho, ortho, true, false);
      const eye = tf.tile(tf.expandDims(tf.eye(M), 0), [bcopMatrixCount(k), 1, 1]);
      assert.ok(maxAbsDiff(await gram.data(), await eye.data()) < 1e-4, `QᵀQ = I (${cin}→${cout})`);
      const w = bcopKernelFromOrthonormal(ortho, k, cin, cout);
      assert.deepEqual(w.shape, [k, k, cin, cout]);
      const want = literalKernel((await ortho.data()) as Float32Array, k, cin, cout);
      const got = await w.data();
      assert.ok(maxAbsDiff(got, want) < 1e-5, `${cin}→${cout} k=${k}: ${maxAbsDiff(got, want)}`);
      // ...and bcopKernel is the two steps in a row
      const direct = bcopKernel(m, k, cin, cout);
      assert.ok(maxAbsDiff(await direct.data(), got) < 1e-6);
      tf.dispose([m, ortho, gram, eye, w, direct]);
    }
  },
});

Deno.test({
  name: "the power-iteration scale estimates the largest singular value and has no gradient",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    // diag(3, 1, 0.5) rotated: sigma = 3 after 10 iterations to ~1e-4
    const d = tf.tensor3d([[[3, 0, 0], [0, 1, 0], [0, 0, 0.5]]]);
    const s = powerIterationSigma(d, 10);
    assert.ok(Math.abs((await s.data())[0] - 3) < 1e-3);
    const g = tf.grad((x: Tensor) => tf.sum(powerIterationSigma(x, 10)))(d);
    assert.equal(maxAbsDiff(await g.data(), new Float32Array(9)), 0);
    tf.dispose([d, s, g]);
  },
});

Deno.test({
  name: "circular padding wraps rows and columns",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    const x = tf.reshape(tf.range(0, 12), [1, 3, 4, 1]);
    const p = circularPad(x, 1);
    assert.deepEqual(p.shape, [1, 5, 6, 1]);
    // rows [2, 0, 1, 2, 0] of x, columns [3, 0, 1, 2, 3, 0]
    const want: number[] = [];
    for (const r of [2, 0, 1, 2, 0]) for (const c of [3, 0, 1, 2, 3, 0]) want.push(r * 4 + c);
    assert.deepEqual(Array.from(await p.data()), want);
    assert.throws(() => circularPad(x, 4));
    tf.dispose([x, p]);
  },
});

for (const backend of BACKENDS) {
  Deno.test({
    name: `BCOP with cin = cout is an isometry, random parameters, k = 3 and 5 (${backend})`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await useBackend(backend);
      for (const k of [3, 5]) {
        const layer = randomLayer({ inChannels: 8, outChannels: 8, kernelSize: k, bias: false }, k);
        for (let seed = 0; seed < 3; seed++) {
          const x = tf.randomNormal([2, 7, 6, 8], 0, 1, "float32", 100 + seed);
          const y = layer.forward(x);
          assert.deepEqual(y.shape, [2, 7, 6, 8]);
          const rel = Math.abs(norm(y) / norm(x) - 1);
          assert.ok(rel < 1e-4, `k=${k}: |y|/|x| - 1 = ${rel}`);
          tf.dispose([x, y]);
        }
        // not the identity: the output differs from the input
        const x = tf.randomNormal([1, 6, 6, 8], 0, 1, "float32", 9);
        const y = layer.forward(x);
        assert.ok(maxAbsDiff(await y.data(), await x.data()) > 0.1);
        tf.dispose([x, y]);
        freeLayer(layer);
      }
    },
  });

  Deno.test({
    name:
      `BCOP preserves norms for cin < cout and is tight non-expansive for cin > cout (${backend})`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      await useBackend(backend);
      const up = randomLayer({ inChannels: 4, outChannels: 8, kernelSize: 3, bias: false }, 11);
      const down = randomLayer({ inChannels: 8, outChannels: 4, kernelSize: 3, bias: false }, 12);
      for (let seed = 0; seed < 3; seed++) {
        const x4 = tf.randomNormal([2, 6, 6, 4], 0, 1, "float32", 200 + seed);
        const y8 = up.forward(x4);
        assert.deepEqual(y8.shape, [2, 6, 6, 8]);
        const rel = Math.abs(norm(y8) / norm(x4) - 1);
        assert.ok(rel < 1e-4, `4→8: |y|/|x| - 1 = ${rel}`);
        const x8 = tf.randomNormal([2, 6, 6, 8], 0, 1, "float32", 300 + seed);
        const y4 = down.forward(x8);
        assert.deepEqual(y4.shape, [2, 6, 6, 4]);
        const ratio = norm(y4) / norm(x8);
        assert.ok(ratio <= 1 + 1e-4, `8→4: |y|/|x| = ${ratio}`);
        assert.ok(ratio < 0.95, `8→4 loses energy on a random input: ${ratio}`);
        tf.dispose([x4, y8, x8, y4]);
      }
      // tight: for x = Aᵀ r (the gradient of <A x, r>), |A x| = |x| = |r|
      const r = tf.randomNormal([1, 6, 6, 4], 0, 1, "float32", 400);
      const x = tf.grad((z: Tensor) => tf.sum(tf.mul(down.forward(z), r)))(tf.zeros([1, 6, 6, 8]));
      const y = down.forward(x);
      assert.ok(Math.abs(norm(x) / norm(r) - 1) < 1e-4, "Aᵀ is an isometry");
      assert.ok(Math.abs(norm(y) / norm(x) - 1) < 1e-4, `tight: ${norm(y) / norm(x)}`);
      tf.dispose([r, x, y]);
      freeLayer(up);
      freeLayer(down);
    },
  });
}

/** Largest eigenvalue of a symmetric PSD n×n float64 matrix (power iteration to convergence). */
function largestEigen(g: Float64Array, n: number): number {
  let v = Float64Array.from({ length: n }, (_, i) => 1 + Math.sin(i * 12.9898) * 0.5);
  let lambda = 0;
  for (let it = 0; it < 20000; it++) {
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) u[i] += g[i * n + j] * v[j];
    const nrm = Math.hypot(...u);
    v = u.map((x) => x / nrm);
    if (Math.abs(nrm - lambda) < 1e-14 * nrm) return nrm;
    lambda = nrm;
  }
  return lambda;
}

/** Largest singular value of the explicit matrix of x ↦ circularConv2d(x, kernel) on n×n. */
async function bruteForceNorm(kernel: Tensor, n: number): Promise<number> {
  const [, , cin, cout] = kernel.shape;
  const dIn = n * n * cin, dOut = n * n * cout;
  // row i = the image of the i-th basis vector
  const basis = tf.reshape(tf.eye(dIn), [dIn, n, n, cin]);
  const img = circularConv2d(basis, kernel);
  const a = (await img.data()) as Float32Array;
  tf.dispose([basis, img]);
  const g = new Float64Array(dIn * dIn); // A Aᵀ over the rows
  for (let i = 0; i < dIn; i++) {
    for (let j = 0; j < dIn; j++) {
      let s = 0;
      for (let e = 0; e < dOut; e++) s += a[i * dOut + e] * a[j * dOut + e];
      g[i * dIn + j] = s;
    }
  }
  return Math.sqrt(largestEigen(g, dIn));
}

Deno.test({
  name: "circularConvSpectralNorm: 1 for BCOP kernels, the brute-force norm for random kernels",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    for (const [cin, cout, k] of [[8, 8, 3], [6, 6, 5], [4, 8, 3], [8, 4, 3]]) {
      const M = Math.max(cin, cout);
      const m = randomMatrices(bcopMatrixCount(k), M, 30 + k + cin);
      const w = bcopKernel(m, k, cin, cout);
      const s = circularConvSpectralNorm((await w.data()) as Float32Array, k, cin, cout, 8);
      // all singular values are 1 (isometry) or 0 and 1 (co-isometry when cin > cout)
      assert.ok(Math.abs(s - 1) < 1e-3, `${cin}→${cout} k=${k}: ${s}`);
      if (cin > cout) assert.ok(s <= 1 + 1e-3);
      tf.dispose([m, w]);
    }
    // random (unconstrained) kernels on a 4×4 input, against the explicit matrix
    for (const [cin, cout, k] of [[2, 2, 3], [2, 3, 3], [3, 2, 3], [2, 2, 1]]) {
      const w = tf.randomNormal([k, k, cin, cout], 0, 1, "float32", 50 + cin * 7 + cout);
      const fft = circularConvSpectralNorm(
        (await w.data()) as Float32Array,
        k,
        cin,
        cout,
        4,
        4,
        5000,
      );
      const brute = await bruteForceNorm(w, 4);
      assert.ok(Math.abs(fft / brute - 1) < 1e-5, `${cin}→${cout}: dft ${fft}, brute ${brute}`);
      // a scaled kernel scales the norm (guards against a constant answer)
      const w3 = tf.mul(w, 3);
      const fft3 = circularConvSpectralNorm((await w3.data()) as Float32Array, k, cin, cout, 4);
      assert.ok(Math.abs(fft3 / (3 * brute) - 1) < 1e-4);
      tf.dispose([w, w3]);
    }
    // a non-square input: 3×5
    const w = tf.randomNormal([3, 3, 2, 2], 0, 1, "float32", 77);
    const kernel = (await w.data()) as Float32Array;
    const basis = tf.reshape(tf.eye(30), [30, 3, 5, 2]);
    const img = circularConv2d(basis, w);
    const a = (await img.data()) as Float32Array;
    const g = new Float64Array(30 * 30);
    for (let i = 0; i < 30; i++) {
      for (let j = 0; j < 30; j++) {
        for (let e = 0; e < 30; e++) g[i * 30 + j] += a[i * 30 + e] * a[j * 30 + e];
      }
    }
    const brute = Math.sqrt(largestEigen(g, 30));
    const fft = circularConvSpectralNorm(kernel, 3, 2, 2, 3, 5, 5000);
    assert.ok(Math.abs(fft / brute - 1) < 1e-5, `3×5: dft ${fft}, brute ${brute}`);
    tf.dispose([w, basis, img]);
  },
});

Deno.test({
  name: "the layer's Lipschitz bound is 1 (DFT of the constructed kernel)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    const layer = randomLayer({ inChannels: 3, outChannels: 5, kernelSize: 3, bias: true }, 3);
    const b = await layer.lipschitzBound({ inputShape: [6, 6, 3] });
    assert.ok(b.value !== null && Math.abs(b.value - 1) < 1e-3, `bound ${b.value}`);
    assert.match(b.method, /singular value.*6×6/);
    const d = await layer.lipschitzBound();
    assert.match(d.method, /32×32/);
    freeLayer(layer);
  },
});

Deno.test({
  name: "gradients w.r.t. the matrices and the bias match central finite differences (cpu)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    const [cin, cout, k] = [2, 3, 3];
    const layer = randomLayer(
      { inChannels: cin, outChannels: cout, kernelSize: k, bias: true },
      21,
    );
    const [mat, bias] = layer.parameters().map((p) => p.variable);
    const x = tf.randomNormal([1, 4, 4, cin], 0, 1, "float32", 22);
    const r = tf.randomNormal([1, 4, 4, cout], 0, 1, "float32", 23);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.forward(x), r)), [mat, bias]);
    const gm = (await grads[mat.name].data()) as Float32Array;
    const gb = (await grads[bias.name].data()) as Float32Array;
    // The power-iteration scale has no gradient by design: the finite differences hold it at
    // its value for the unperturbed matrices.
    const sigma = powerIterationSigma(mat, 10);
    const loss = (m: Tensor, b: Tensor): number =>
      tf.tidy(() => {
        const w = bcopKernel(m, k, cin, cout, { sigma });
        return tf.sum(tf.mul(tf.add(circularConv2d(x, w), b), r)).dataSync()[0];
      });
    const h = 1e-3;
    const fd = (v: Variable, at: number): number => {
      const base = v.dataSync().slice() as Float32Array;
      const plus = base.slice(), minus = base.slice();
      plus[at] += h;
      minus[at] -= h;
      const tp = tf.tensor(plus, v.shape), tm = tf.tensor(minus, v.shape);
      const lp = v === mat ? loss(tp, bias) : loss(mat, tp);
      const lm = v === mat ? loss(tm, bias) : loss(mat, tm);
      tf.dispose([tp, tm]);
      return (lp - lm) / (2 * h);
    };
    const fdm = Float32Array.from({ length: gm.length }, (_, i) => fd(mat, i));
    const fdb = Float32Array.from({ length: gb.length }, (_, i) => fd(bias, i));
    const relErr = (a: Float32Array, b: Float32Array) => {
      let d = 0, s = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i] - b[i]) ** 2;
        s += b[i] ** 2;
      }
      return Math.sqrt(d / s);
    };
    assert.ok(Math.hypot(...gm) > 0.1, "a non-trivial gradient");
    assert.ok(relErr(fdm, gm) < 2e-2, `matrices: relative error ${relErr(fdm, gm)}`);
    assert.ok(maxAbsDiff(fdm, gm) < 2e-2 * Math.max(...gm.map(Math.abs)), "matrices, per entry");
    assert.ok(relErr(fdb, gb) < 2e-2, `bias: relative error ${relErr(fdb, gb)}`);
    tf.dispose([x, r, sigma, ...Object.values(grads)]);
    freeLayer(layer);
  },
});

Deno.test({
  name: "forward + backward frees its tensors; evaluation reuses the weight until it changes",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("wasm");
    const layer = bcopConv.create(
      { tf, ops: hostOps, name: "conv", rng: new MT19937(4) },
      { inChannels: 4, outChannels: 6, kernelSize: 3, bias: true },
    ) as BcopConvInstance;
    const vars = layer.parameters().map((p) => p.variable);
    const x = tf.randomNormal([2, 5, 5, 4], 0, 1, "float32", 5);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.forward(x))), vars);
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);

    const train = await layer.forward(x).data();
    const before = tf.memory().numTensors;
    const w1 = layer.kernel({ training: false });
    assert.equal(layer.kernel({ training: false }), w1, "the same cached weight");
    for (let i = 0; i < 3; i++) {
      const y = layer.forward(x, { training: false });
      assert.ok(maxAbsDiff(await y.data(), train) < 1e-5);
      y.dispose();
    }
    assert.equal(tf.memory().numTensors, before + 1, "one cached weight, nothing else");

    const m = vars[0];
    tf.tidy(() => m.assign(tf.add(m, tf.randomNormal(m.shape, 0, 0.3, "float32", 6))));
    const w2 = layer.kernel({ training: false });
    assert.notEqual(w2, w1, "a new weight after the assignment");
    assert.ok(w1.isDisposed, "the old cached weight is freed");
    const train2 = await layer.forward(x).data();
    const eval2 = await layer.forward(x, { training: false }).data();
    assert.ok(maxAbsDiff(train2, train) > 1e-3, "the change changes the output");
    assert.ok(maxAbsDiff(eval2, train2) < 1e-5, "the cache was refreshed");
    layer.dispose!();
    assert.ok(w2.isDisposed, "dispose() frees the cache");
    x.dispose();
    for (const v of vars) v.dispose();
  },
});

Deno.test({
  name: "bad options are user errors naming the option",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await useBackend("cpu");
    const ok: BcopConvOptions = { inChannels: 4, outChannels: 4, kernelSize: 3, bias: true };
    const cases: [Partial<BcopConvOptions> | Record<string, unknown>, RegExp, number?][] = [
      [{ kernelSize: 4 }, /kernel size \(kernelSize\) must be odd: kernel size is 4/],
      [{ kernelSize: 0 }, /kernelSize must be a positive integer: kernelSize is 0/],
      [{ inChannels: 0 }, /inChannels .*inChannels is 0/],
      [{ outChannels: 2.5 }, /outChannels .*outChannels is 2\.5/],
      [{ bias: "yes" }, /bias must be true or false/],
      [{ bjorckIters: -1 }, /bjorckIters .*bjorckIters is -1/],
      [{ powerIters: 0 }, /powerIters .*powerIters is 0/],
      [{}, /ensembles are not supported: ensemble is 3/, 3],
    ];
    for (const [bad, re, ensemble] of cases) {
      assert.throws(
        () =>
          bcopConv.create(
            { tf, ops: hostOps, name: "conv", rng: new MT19937(1), ensemble },
            { ...ok, ...bad } as BcopConvOptions,
          ),
        (e) => isUserError(e) && re.test(e.message) && /^Cannot build bcop_conv/.test(e.message),
        JSON.stringify(bad),
      );
    }
    const layer = bcopConv.create({ tf, ops: hostOps, name: "conv", rng: new MT19937(1) }, ok);
    const x = tf.zeros([1, 5, 5, 3]);
    assert.throws(
      () => layer.forward(x),
      (e) => isUserError(e) && /\[N, H, W, 4\]/.test(e.message),
    );
    x.dispose();
    layer.dispose!();
    for (const p of layer.parameters()) p.variable.dispose();
  },
});

Deno.test({
  name: "circularPad (fused cpu/wasm kernels, composite on webgpu): values and adjoint gradient",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (
      const [backend, pad] of [
        ["cpu", circularPad],
        ["cpu", circularPadComposite],
        ["wasm", circularPad],
        ["webgpu", circularPad],
      ] as const
    ) {
      await useBackend(backend);
      // p = 1 on 5×4 (wrapped bands apart), p = 2 on 3×3 (bands overlap), p = 3 on 3×4 (p = H)
      for (const [H, W, p] of [[5, 4, 1], [3, 3, 2], [3, 4, 3]]) {
        const x = tf.randomNormal([2, H, W, 3], 0, 1, "float32", H + p);
        const y = tf.randomNormal([2, H + 2 * p, W + 2 * p, 3], 0, 1, "float32", W + p);
        const g = tf.grad((t: Tensor) => tf.sum(tf.mul(pad(t, p), y)))(x);
        // adjoint identity: <pad(x), y> = <x, padᵀ(y)>, and padᵀ(y) is the gradient above
        const padded = pad(x, p);
        const lhs = (await tf.sum(tf.mul(padded, y)).data())[0];
        const rhs = (await tf.sum(tf.mul(x, g)).data())[0];
        const at = `${backend} ${pad.name} H=${H} W=${W} p=${p}`;
        assert.ok(Math.abs(lhs - rhs) <= 1e-4 * (1 + Math.abs(lhs)), at);
        // and entry by entry against a brute-force fold of y
        const xv = await x.data(),
          yv = await y.data(),
          gv = await g.data(),
          pv = await padded.data();
        const want = new Float64Array(gv.length);
        const [H2, W2] = [H + 2 * p, W + 2 * p];
        for (let n = 0; n < 2; n++) {
          for (let i = 0; i < H2; i++) {
            for (let j = 0; j < W2; j++) {
              const si = (((i - p) % H) + H) % H, sj = (((j - p) % W) + W) % W;
              for (let c = 0; c < 3; c++) {
                want[((n * H + si) * W + sj) * 3 + c] += yv[((n * H2 + i) * W2 + j) * 3 + c];
                assert.equal(
                  pv[((n * H2 + i) * W2 + j) * 3 + c],
                  xv[((n * H + si) * W + sj) * 3 + c],
                );
              }
            }
          }
        }
        assert.ok(maxAbsDiff(gv, want) < 1e-5, `fold ${at}`);
        tf.dispose([x, y, g, padded]);
      }
    }
  },
});
