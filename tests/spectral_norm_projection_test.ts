/**
 * The `spectral_norm` projection (docs/method.md (4.5)): its explicit gradient equals TF.js's
 * autodiff of `W / (uᵀ W v)` with `u`, `v` held constant, its output has spectral norm 1, and its
 * per-value cache of power-iteration vectors follows a weight's `assign`.
 */
import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs-core";
import { hostOps, maxAbsDiff, tf, useBackend } from "./helpers.ts";
import spectralNorm from "../plugins/projections/spectral_norm.ts";
import { spectralNorm as sigmaMax } from "../core/ops/bjorck.ts";

/** The power-iteration vectors of (4.5), 30 steps from all-ones, as plain constants. */
function vectors(w: Tensor): [Tensor, Tensor] {
  return tf.tidy(() => {
    let v: Tensor = tf.ones([w.shape[1]!, 1]);
    let u: Tensor = tf.ones([w.shape[0], 1]);
    for (let i = 0; i < 30; i++) {
      u = tf.div(tf.matMul(w, v), tf.norm(tf.matMul(w, v)));
      v = tf.div(tf.matMul(w, u, true, false), tf.norm(tf.matMul(w, u, true, false)));
    }
    return [u, v];
  });
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`spectral_norm ${backend}: gradient, unit norm and the vector cache`, async () => {
    await useBackend(backend);
    const p = spectralNorm.create({ tf, ops: hostOps }, {});
    const w0 = tf.randomNormal([7, 5], 0, 1, "float32", 3);
    const c = tf.randomNormal([7, 5], 0, 1, "float32", 4);
    const [u, v] = vectors(w0);
    // Reference: autodiff of sum(c ∘ W / (uᵀ W v)) with u, v constants.
    const ref = tf.grad((w: Tensor) =>
      tf.sum(tf.mul(c, tf.div(w, tf.sum(tf.mul(u, tf.matMul(w, v))))))
    )(w0);
    const got = tf.grad((w: Tensor) => tf.sum(tf.mul(c, p.project(w))))(w0);
    const d = maxAbsDiff(await got.data(), await ref.data());
    assert.ok(d < 1e-5, `gradient differs from autodiff by ${d}`);

    // Batched [B, out, in] weights: each matrix divided by its own sigma.
    const wb = tf.stack([w0, tf.mul(w0, 3)]);
    const pb = p.project(wb);
    const s = await sigmaMax(pb);
    assert.ok(Math.abs(s[0] - 1) < 1e-3 && Math.abs(s[1] - 1) < 1e-3, `sigma ${s}`);

    // The cache: same value, same result; after assign, the new value's projection.
    const wv = tf.variable(w0);
    const a = await p.project(wv).data();
    const b = await p.project(wv).data();
    assert.deepEqual(b, a);
    const w1 = tf.randomNormal([7, 5], 0, 1, "float32", 9);
    wv.assign(w1);
    const after = await p.project(wv).data();
    const fresh = await spectralNorm.create({ tf, ops: hostOps }, {}).project(w1).data();
    assert.deepEqual(after, fresh);
    assert.ok(maxAbsDiff(after, a) > 1e-2, "the cache must not serve the old weight");
    for (const t of [w0, c, u, v, ref, got, wb, pb, wv, w1]) t.dispose();
  });
}
