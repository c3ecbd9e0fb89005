/**
 * Björck orthonormalisation (docs/method.md §4): the fused kernels (cpu, wasm) against the composite
 * reference and against float64 central finite differences; spectral norms of the result.
 */
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { initBackend } from "../core/backend/backend.ts";
import {
  bjorck,
  bjorckComposite,
  bjorckFused,
  bjorckReference,
  spectralNorm,
  useFusedBjorck,
} from "../core/ops/bjorck.ts";
import { bjorckEngine } from "../core/kernels/bjorck_fused.ts";
import { blasRoute } from "../core/kernels/blas/blas_kernels.ts";

const BACKENDS = ["cpu", "wasm"] as const;
/**
 * Whether TF.js's own gradients are registered (tfjs-core alone does not register them); the
 * composite reference's autodiff gradient is compared only then.
 */
const HAVE_STOCK_GRADIENTS = tf.getGradient("BatchMatMul") !== undefined &&
  tf.getGradient("BatchMatMul") !== null;

function maxAbsDiff(a: Float32Array | Float64Array, b: Float32Array | Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: Float32Array | Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Random weights prescaled by sqrt(out·in), as the orthonormalize projection does. */
function prescaled(shape: number[], seed: number): Tensor {
  const [m, n] = shape.slice(-2);
  return tf.tidy(() => tf.div(tf.randomNormal(shape, 0, 1, "float32", seed), Math.sqrt(m * n)));
}

/**
 * Jᵀ r: the gradient of sum(f(w) * r) for a fixed r, through the tape (`tf.grad` with `r` as
 * the output gradient), with `f` a Björck function.
 */
async function gradOf(
  f: (w: Tensor, it: number, beta: number) => Tensor,
  w: Tensor,
  r: Tensor,
  iters: number,
  beta = 0.5,
): Promise<Float32Array> {
  const g = tf.grad((x: Tensor) => f(x, iters, beta))(w, r);
  const v = (await g.data()) as Float32Array;
  g.dispose();
  return v;
}

const PARITY_SHAPES: number[][] = [
  [25, 10, 10],
  [25, 10, 1],
  [25, 1, 10],
  [3, 7, 5],
  [
    2,
    5,
    7,
  ],
  [10, 4],
  [
    5,
    17,
    20,
  ],
  [1, 1, 1],
];

for (const backend of BACKENDS) {
  Deno.test(`bjorck ${backend}: fused forward and gradient match the composite reference`, async () => {
    await initBackend(backend);
    for (const [s, shape] of PARITY_SHAPES.entries()) {
      assert.ok(useFusedBjorck(shape, 15), `fused path expected for [${shape}] on ${backend}`);
      const w = prescaled(shape, 10 + s);
      const r = tf.randomNormal(shape, 0, 1, "float32", 100 + s);
      const yf = bjorck(w, 15);
      const yr = bjorckReference(w, 15);
      assert.deepEqual(yf.shape, shape);
      const fwdErr = maxAbsDiff(await yf.data() as Float32Array, await yr.data() as Float32Array);
      assert.ok(fwdErr < 2e-5, `forward [${shape}] max |diff| ${fwdErr}`);
      const gf = await gradOf(bjorck, w, r, 15);
      const g64 = bjorckVjp64(
        Float64Array.from(await w.data()),
        Float64Array.from(await r.data()),
        shape,
        15,
        0.5,
      );
      const bwdErr = maxAbsDiff(gf, g64) / Math.max(1, maxAbs(g64));
      assert.ok(bwdErr < 1e-4, `gradient [${shape}] vs float64: max rel |diff| ${bwdErr}`);
      if (HAVE_STOCK_GRADIENTS) {
        const gr = await gradOf(bjorckReference, w, r, 15);
        const err = maxAbsDiff(gf, gr) / Math.max(1, maxAbs(gr));
        assert.ok(err < 1e-4, `gradient [${shape}] vs composite: max rel |diff| ${err}`);
      }
      tf.dispose([w, r, yf, yr]);
    }
  });

  Deno.test(`bjorck ${backend}: composite route (explicit gradient) matches reference and float64`, async () => {
    await initBackend(backend);
    for (const [s, shape] of [[4, 12, 9], [3, 9, 12], [20, 6], [6, 20], [2, 64, 64]].entries()) {
      const w = prescaled(shape, 30 + s);
      const r = tf.randomNormal(shape, 0, 1, "float32", 40 + s);
      const yc = bjorckComposite(w, 15);
      const yr = bjorckReference(w, 15);
      const fwdErr = maxAbsDiff(await yc.data() as Float32Array, await yr.data() as Float32Array);
      assert.ok(fwdErr < 2e-5, `forward [${shape}] max |diff| ${fwdErr}`);
      const gc = await gradOf(bjorckComposite, w, r, 15);
      const g64 = bjorckVjp64(
        Float64Array.from(await w.data()),
        Float64Array.from(await r.data()),
        shape,
        15,
        0.5,
      );
      const err = maxAbsDiff(gc, g64) / Math.max(1, maxAbs(g64));
      assert.ok(err < 1e-4, `gradient [${shape}] vs float64: max rel |diff| ${err}`);
      // and the fused kernel on the same large-ish input
      const gf = await gradOf(bjorckFused, w, r, 15);
      assert.ok(maxAbsDiff(gf, g64) / Math.max(1, maxAbs(g64)) < 1e-4, `fused [${shape}]`);
      tf.dispose([w, r, yc, yr]);
    }
  });

  Deno.test(`bjorck ${backend}: beta and iteration count are honoured`, async () => {
    await initBackend(backend);
    const w = prescaled([4, 6, 3], 7);
    for (const [iters, beta] of [[1, 0.5], [3, 0.25], [7, 0.5]]) {
      const yf = bjorck(w, iters, beta);
      const yr = bjorckReference(w, iters, beta);
      const err = maxAbsDiff(await yf.data() as Float32Array, await yr.data() as Float32Array);
      assert.ok(err < 1e-5, `iters ${iters} beta ${beta}: ${err}`);
      tf.dispose([yf, yr]);
    }
    const y0 = bjorck(w, 0);
    assert.equal(maxAbsDiff(await y0.data() as Float32Array, await w.data() as Float32Array), 0);
    tf.dispose([w, y0]);
  });

  Deno.test(`bjorck ${backend}: gradient matches float64 central differences`, async () => {
    await initBackend(backend);
    const shape = [2, 3, 2];
    const iters = 4, beta = 0.5;
    const w = prescaled(shape, 3);
    const r = tf.randomNormal(shape, 0, 1, "float32", 4);
    const wv = Float64Array.from(await w.data());
    const rv = Float64Array.from(await r.data());
    const g = await gradOf(bjorck, w, r, iters, beta);
    const g64 = bjorckVjp64(wv, rv, shape, iters, beta);
    const loss = (x: Float64Array) => {
      const y = bjorck64(x, shape, iters, beta);
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * rv[i];
      return s;
    };
    const h = 1e-6;
    for (let i = 0; i < wv.length; i++) {
      const p = wv.slice(), q = wv.slice();
      p[i] += h;
      q[i] -= h;
      const fd = (loss(p) - loss(q)) / (2 * h);
      assert.ok(
        Math.abs(fd - g[i]) < 2e-4 * Math.max(1, Math.abs(fd)),
        `dw[${i}]: ${g[i]} vs ${fd}`,
      );
      assert.ok(Math.abs(fd - g64[i]) < 1e-7 * Math.max(1, Math.abs(fd)), `vjp64[${i}]`);
    }
    tf.dispose([w, r]);
  });

  Deno.test(`bjorck ${backend}: kept iterates and recomputed iterates give the same gradient`, async () => {
    await initBackend(backend);
    const w = prescaled([9, 10, 10], 21);
    const dy = tf.randomNormal([9, 10, 10], 0, 1, "float32", 22);
    bjorckEngine().clearKept();
    // under a tape: the forward keeps its iterates and the backward consumes them
    const kept = await gradOf(bjorck, w, dy, 15);
    assert.equal(bjorckEngine().keptCount, 0, "iterates freed after the backward pass");
    // the gradient kernel alone recomputes the iterates
    const g = tf.engine().runKernel("LipsplineBjorckGrad", { w, dy }, { iters: 15, beta: 0.5 });
    const recomputed = (await (g as Tensor).data()) as Float32Array;
    assert.ok(maxAbsDiff(kept, recomputed) < 1e-6);
    // outside a tape nothing is kept
    const y = bjorck(w, 15);
    assert.equal(bjorckEngine().keptCount, 0);
    tf.dispose([w, dy, g as Tensor, y]);
  });

  Deno.test(`bjorck ${backend}: result has spectral norm 1 ± 1e-3 (10×1, 10×10, 1×10)`, async () => {
    await initBackend(backend);
    for (const shape of [[25, 10, 1], [25, 10, 10], [25, 1, 10], [10, 10]]) {
      const w = prescaled(shape, 5);
      const y = bjorck(w, 15);
      const s = await spectralNorm(y);
      for (const v of s) assert.ok(Math.abs(v - 1) < 1e-3, `[${shape}]: sigma_max ${v}`);
      tf.dispose([w, y]);
    }
  });

  Deno.test(`bjorck ${backend}: no tensors leak through forward and backward`, async () => {
    await initBackend(backend);
    const w = prescaled([25, 10, 10], 1);
    const r = tf.randomNormal([25, 10, 10]);
    const before = tf.memory().numTensors;
    const g = tf.grad((x: Tensor) => bjorck(x, 15))(w, r);
    g.dispose();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([w, r]);
  });
}

Deno.test("bjorck wasm: 784×1024 (composite path) reaches spectral norm 1 ± 1e-3", async () => {
  await initBackend("wasm");
  const w = prescaled([784, 1024], 9);
  assert.equal(useFusedBjorck(w.shape, 25), false);
  const y = bjorck(w, 25);
  const [s] = await spectralNorm(y);
  assert.ok(Math.abs(s - 1) < 1e-3, `sigma_max ${s}`);
  tf.dispose([w, y]);
});

Deno.test({
  name: "bjorck webgpu: composite route on the GPU matches float64 (forward and gradient)",
  ignore: !("gpu" in navigator),
  async fn() {
    await initBackend("webgpu");
    const shape = [3, 6, 4];
    assert.equal(useFusedBjorck(shape, 15), false);
    const w = prescaled(shape, 50);
    const r = tf.randomNormal(shape, 0, 1, "float32", 51);
    const wv = Float64Array.from(await w.data()), rv = Float64Array.from(await r.data());
    const y = bjorck(w, 15);
    const y64 = bjorck64(wv, shape, 15, 0.5);
    assert.ok(maxAbsDiff(await y.data() as Float32Array, y64) < 1e-5);
    const g = await gradOf(bjorck, w, r, 15);
    const g64 = bjorckVjp64(wv, rv, shape, 15, 0.5);
    assert.ok(maxAbsDiff(g, g64) / Math.max(1, maxAbs(g64)) < 1e-4);
    tf.dispose([w, r, y]);
  },
});

Deno.test("spectralNorm: known singular values, both orientations, batched", async () => {
  await initBackend("cpu");
  // diag(3, 2, 1) embedded in 4×3 and its transpose
  const d = tf.tensor2d([[3, 0, 0], [0, 2, 0], [0, 0, 1], [0, 0, 0]]);
  assert.ok(Math.abs((await spectralNorm(d))[0] - 3) < 1e-5);
  const dt = tf.transpose(d);
  assert.ok(Math.abs((await spectralNorm(dt))[0] - 3) < 1e-5);
  // rank one u vᵀ: sigma = |u| |v|
  const u = tf.tensor2d([[1], [2], [2]]), v = tf.tensor2d([[3, 4]]);
  const b = tf.stack([tf.matMul(u, v), tf.mul(tf.matMul(u, v), 2)]);
  const s = await spectralNorm(b);
  assert.ok(Math.abs(s[0] - 15) < 1e-4 && Math.abs(s[1] - 30) < 1e-4, `${s}`);
  // close top singular values (slow power iteration): 1 and 0.999
  const c = tf.tensor2d([[1, 0], [0, 0.999]]);
  assert.ok(Math.abs((await spectralNorm(c))[0] - 1) < 1e-3);
  tf.dispose([d, dt, u, v, b, c]);
});

Deno.test("bjorck: bad arguments throw", async () => {
  await initBackend("cpu");
  const w = tf.zeros([2, 2, 2, 2]);
  assert.throws(() => bjorck(w, 3), /must be \[out, in\]/);
  const v = tf.zeros([2, 2]);
  assert.throws(() => bjorck(v, -1), /iters must be an integer/);
  assert.throws(() => bjorck(v, 1.5), /iters must be an integer/);
  tf.dispose([w, v]);
});

/** Float64 forward of docs/method.md §4 (independent of every TF.js path), for finite differences. */
function bjorck64(w: Float64Array, shape: number[], iters: number, beta: number): Float64Array {
  const [B, m, n] = shape;
  const out = new Float64Array(w.length);
  for (let b = 0; b < B; b++) {
    let x = Array.from(
      { length: m },
      (_, i) => Array.from(w.subarray(b * m * n + i * n, b * m * n + i * n + n)),
    );
    for (let k = 0; k < iters; k++) {
      const a = Array.from(
        { length: n },
        (_, p) => Array.from({ length: n }, (_, q) => x.reduce((s, row) => s + row[p] * row[q], 0)),
      );
      x = x.map((row) =>
        row.map((v, q) => (1 + beta) * v - beta * row.reduce((s, rp, p) => s + rp * a[p][q], 0))
      );
    }
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[b * m * n + i * n + j] = x[i][j];
  }
  return out;
}

/**
 * Float64 vector-Jacobian product of docs/method.md §4 by reverse mode over the stored iterates, written
 * independently of the kernels: per iteration dW = (1+β) G - β (G A + W Gᵀ W + W Wᵀ G).
 */
function bjorckVjp64(
  w: Float64Array,
  dy: Float64Array,
  shape: number[],
  iters: number,
  beta: number,
): Float64Array {
  const [B, m, n] = shape.length === 3 ? shape : [1, ...shape];
  const mm = (a: number[][], b: number[][]) =>
    a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
  const t = (a: number[][]) => a[0].map((_, j) => a.map((row) => row[j]));
  const out = new Float64Array(w.length);
  for (let b = 0; b < B; b++) {
    const mat = (src: Float64Array) =>
      Array.from(
        { length: m },
        (_, i) => Array.from(src.subarray(b * m * n + i * n, b * m * n + i * n + n)),
      );
    const ws = [mat(w)];
    for (let k = 0; k < iters; k++) {
      const x = ws[k];
      const xa = mm(x, mm(t(x), x));
      ws.push(x.map((row, i) => row.map((v, j) => (1 + beta) * v - beta * xa[i][j])));
    }
    let g = mat(dy);
    for (let k = iters - 1; k >= 0; k--) {
      const x = ws[k];
      const ga = mm(g, mm(t(x), x));
      const xgx = mm(mm(x, t(g)), x);
      const xxg = mm(x, mm(t(x), g));
      g = g.map((row, i) =>
        row.map((v, j) => (1 + beta) * v - beta * (ga[i][j] + xgx[i][j] + xxg[i][j]))
      );
    }
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[b * m * n + i * n + j] = g[i][j];
  }
  return out;
}

Deno.test("bjorck wasm: the cost model picks the route measured faster (bench bjorck_size)", async () => {
  await initBackend("wasm");
  // batches of small matrices: fused (the composite's batched products are slow there)
  for (const shape of [[25, 10, 10], [25, 16, 16], [25, 32, 32], [4, 10, 1]]) {
    assert.ok(useFusedBjorck(shape, 15), `fused expected for [${shape}]`);
  }
  // large single matrices: composite, whatever runs the products
  for (const shape of [[1, 256, 256], [1024, 64], [784, 1024]]) {
    assert.equal(useFusedBjorck(shape, 15), false, `composite expected for [${shape}]`);
  }
  // a BCOP layer's five 64×64 matrices: composite when OpenBLAS runs the products (5.2 vs
  // 15.5 ms measured), fused otherwise
  assert.equal(useFusedBjorck([5, 64, 64], 25), blasRoute("wasm") === null);
});
