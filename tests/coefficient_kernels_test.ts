import assert from "node:assert/strict";
import { maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import {
  gridStep,
  projectCoefficients,
  projectCoefficientsComposite,
  projectWithTv2,
  tv2,
  tv2Composite,
} from "../core/nn/spline_math.ts";
import {
  hasFusedKernel,
  PROJECT_KERNEL,
  PROJECT_TV2_KERNEL,
  projectFused,
  projectRows,
  projectRowsGrad,
  projectTv2Fused,
  projectTv2Rows,
  projectTv2RowsGrad,
  TV2_KERNEL,
} from "../core/ops/spline_coefficients.ts";
import { Adam } from "../core/train/adam.ts";
import { adamFused, adamLoop, hasFusedAdam } from "../core/ops/adam_update.ts";
import { createParameter } from "../core/nn/parameters.ts";
import type { Tensor } from "@tensorflow/tfjs-core";

/** Raw coefficients with many slopes beyond ±1 (so clipping happens) and ties at ±T. */
function rawCoefficients(rows: number, K: number, T: number, seed: number): Float32Array {
  const rng = new MT19937(seed);
  const c = new Float32Array(rows * K);
  for (let i = 0; i < c.length; i++) c[i] = rng.normal() * 2 * T * (i % 7 === 0 ? 3 : 1);
  return c;
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`fused projection and TV2 match the stock-op composites, values and gradients (${backend})`, async () => {
    await useBackend(backend);
    assert.ok(hasFusedKernel(PROJECT_KERNEL) && hasFusedKernel(TV2_KERNEL));
    for (const [rows, K] of [[1, 3], [7, 20], [250, 101]]) {
      const T = gridStep(0.5, K);
      const c = tf.tensor(rawCoefficients(rows, K, T, K), [rows, K]);
      const w = tf.tensor(rawCoefficients(rows, K, 1, 99), [rows, K]); // random cotangent
      const pf = projectCoefficients(tf, c, T);
      const pc = projectCoefficientsComposite(tf, c, T);
      assert.ok(maxAbsDiff(await pf.data(), await pc.data()) < 1e-5);
      assert.ok(
        maxAbsDiff(await tv2(tf, pf, T).data(), await tv2Composite(tf, pc, T).data()) < 1e-3,
      );
      // Gradients of a loss that uses both: sum(w * p) + sum(tv2(p)).
      const loss = (proj: typeof projectCoefficients, reg: typeof tv2) => (x: Tensor) => {
        const p = proj(tf, x, T);
        return tf.add(tf.sum(tf.mul(w, p)), tf.sum(reg(tf, p, T)));
      };
      const gf = await tf.grad(loss(projectCoefficients, tv2))(c).data();
      const gc = await tf.grad(loss(projectCoefficientsComposite, tv2Composite))(c).data();
      assert.ok(maxAbsDiff(gf, gc) < 1e-3, `rows ${rows} K ${K}: ${maxAbsDiff(gf, gc)}`);
    }
  });

  Deno.test(`fused projection+TV2 matches projection then TV2, values and gradients (${backend})`, async () => {
    await useBackend(backend);
    assert.ok(hasFusedKernel(PROJECT_TV2_KERNEL));
    const rows = 30, K = 51, T = gridStep(0.1, K);
    const c = tf.tensor(rawCoefficients(rows, K, T, 7), [rows, K]);
    const w = tf.tensor(rawCoefficients(rows, K, 1, 8), [rows, K]);
    const [p, tv] = projectWithTv2(tf, c, T);
    const pc = projectCoefficientsComposite(tf, c, T);
    assert.ok(maxAbsDiff(await p.data(), await pc.data()) < 1e-5);
    assert.ok(maxAbsDiff(await tv.data(), await tv2Composite(tf, pc, T).data()) < 1e-3);
    const lossFused = (x: Tensor) => {
      const [q, t] = projectWithTv2(tf, x, T);
      return tf.add(tf.sum(tf.mul(w, q)), tf.mul(tf.sum(t), 0.3));
    };
    const lossComposite = (x: Tensor) => {
      const q = projectCoefficientsComposite(tf, x, T);
      return tf.add(tf.sum(tf.mul(w, q)), tf.mul(tf.sum(tv2Composite(tf, q, T)), 0.3));
    };
    const gf = await tf.grad(lossFused)(c).data();
    const gc = await tf.grad(lossComposite)(c).data();
    assert.ok(maxAbsDiff(gf, gc) < 1e-3, `${maxAbsDiff(gf, gc)}`);
    // Only the TV2 output used: the gradient through p is zero-filled by TF.js.
    const gt = await tf.grad((x: Tensor) => tf.sum(projectWithTv2(tf, x, T)[1]))(c).data();
    const gtc = await tf.grad((x: Tensor) =>
      tf.sum(tv2Composite(tf, projectCoefficientsComposite(tf, x, T), T))
    )(c).data();
    assert.ok(maxAbsDiff(gt, gtc) < 1e-3);
  });

  Deno.test(`fused projection gradient matches central finite differences (${backend})`, async () => {
    await useBackend(backend);
    const K = 9, rows = 2, T = gridStep(1, K);
    const raw = rawCoefficients(rows, K, T, 3);
    const w = rawCoefficients(rows, K, 1, 4);
    const f = (vals: Float32Array) =>
      tf.tidy(() => {
        const p = projectCoefficients(tf, tf.tensor(vals, [rows, K]), T);
        return tf.sum(tf.mul(tf.tensor(w, [rows, K]), p)).dataSync()[0];
      });
    const g = await tf.grad((x: Tensor) =>
      tf.sum(tf.mul(tf.tensor(w, [rows, K]), projectCoefficients(tf, x, T)))
    )(
      tf.tensor(raw, [rows, K]),
    ).data();
    const h = 1e-3 * T;
    for (let i = 0; i < raw.length; i++) {
      const up = raw.slice(), dn = raw.slice();
      up[i] += h;
      dn[i] -= h;
      const fd = (f(up) - f(dn)) / (2 * h);
      assert.ok(Math.abs(fd - g[i]) < 2e-2 * (1 + Math.abs(fd)), `coef ${i}: fd ${fd} vs ${g[i]}`);
    }
  });

  Deno.test(`fused Adam equals the stock-op update over several steps (${backend})`, async () => {
    await useBackend(backend);
    assert.ok(hasFusedAdam());
    const rng = new MT19937(8);
    const values = Float32Array.from({ length: 300 }, () => rng.normal());
    const grads = Array.from(
      { length: 4 },
      () => Float32Array.from({ length: 300 }, () => rng.normal()),
    );
    const run = async (fused: boolean) => {
      const p = createParameter(tf, "w", "spline_coeffs", [3, 100], values);
      const opt = new Adam(tf, [p], { weights: 1, spline_coeffs: 1e-2, spline_scaling: 1 });
      const saved = tf.getKernel("LipsplineAdam", backend)!;
      if (!fused) tf.unregisterKernel("LipsplineAdam", backend);
      try {
        for (const g of grads) opt.apply({ [p.variable.name]: tf.tensor(g, [3, 100]) });
      } finally {
        if (!fused) tf.registerKernel(saved);
      }
      const out = new Float32Array(await p.variable.data());
      opt.dispose();
      p.variable.dispose();
      return out;
    };
    const a = await run(true);
    const b = await run(false);
    assert.ok(maxAbsDiff(a, b) < 1e-6, `${maxAbsDiff(a, b)}`);
    assert.ok(maxAbsDiff(a, values) > 1e-3, "the parameters moved");
  });
}

/** Whether two float32 arrays hold the same bits (NaN payloads aside, -0 ≠ +0). */
function sameBits(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) return `element ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}

Deno.test("wasm heap modules (native/coefficients.c, native/adam.c) give the JS loops' bits", async () => {
  await useBackend("wasm");
  const rows = 37, K = 21, T = gridStep(0.5, K);
  const c = rawCoefficients(rows, K, T, 11);
  c[5] = c[4] + Math.fround(T); // a slope exactly at the clip bound (the float32 test)
  const rng = new MT19937(12);
  const dp = Float32Array.from({ length: rows * K }, () => rng.normal());
  const dtv = Float32Array.from({ length: rows }, () => rng.normal());
  // the JS loops, called directly
  const p = new Float32Array(rows * K), tvJs = new Float32Array(rows);
  projectTv2Rows(c, rows, K, T, p, tvJs);
  const pOnly = new Float32Array(rows * K);
  projectRows(c, rows, K, T, pOnly);
  const dcTv = new Float32Array(rows * K), dc = new Float32Array(rows * K);
  projectTv2RowsGrad(c, dp, dtv, rows, K, T, dcTv);
  projectRowsGrad(c, dp, rows, K, T, dc);
  // the same through the wasm kernels, forward and gradient
  const ct = tf.tensor(c, [rows, K]);
  const [pw, tvw] = projectTv2Fused(ct, T);
  const dpt = tf.tensor(dp, [rows, K]), dtvt = tf.tensor(dtv, [rows]);
  const gTv = tf.grads((x: Tensor) => {
    const [a, b] = projectTv2Fused(x, T);
    return tf.add(tf.sum(tf.mul(a, dpt)), tf.sum(tf.mul(b, dtvt)));
  })([ct])[0];
  const g = tf.grads((x: Tensor) => tf.sum(tf.mul(projectFused(x, T), dpt)))([ct])[0];
  const checks: Array<[string, Float32Array, Tensor]> = [
    ["projection+TV2 p", p, pw],
    ["projection+TV2 tv", tvJs, tvw],
    ["projection p", pOnly, projectFused(ct, T)],
    ["projection+TV2 gradient", dcTv, gTv],
    ["projection gradient", dc, g],
  ];
  for (const [what, js, t] of checks) {
    assert.equal(sameBits(js, new Float32Array(await t.data())), null, what);
  }
  // Adam: one update of every element
  const n = 301;
  const w = Float32Array.from({ length: n }, () => rng.normal());
  const gr = Float32Array.from({ length: n }, () => rng.normal());
  const m = Float32Array.from({ length: n }, () => rng.normal() * 0.1);
  const v = Float32Array.from({ length: n }, () => Math.abs(rng.normal()) * 0.01);
  const attrs = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, bc1: 0.19, bc2: 0.003 };
  const outJs = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  adamLoop(w, gr, m, v, attrs, outJs[0], outJs[1], outJs[2]);
  const outW = adamFused(tf.tensor(w), tf.tensor(gr), tf.tensor(m), tf.tensor(v), attrs);
  for (let i = 0; i < 3; i++) {
    assert.equal(sameBits(outJs[i], new Float32Array(await outW[i].data())), null, `Adam ${i}`);
  }
});
