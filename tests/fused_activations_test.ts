import assert from "node:assert/strict";
import type { Tensor } from "@tensorflow/tfjs-core";
import { maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { householder, HOUSEHOLDER_KERNEL, householderComposite } from "../core/ops/householder.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { groupSort, GROUPSORT_KERNEL, groupSortComposite } from "../core/ops/groupsort.ts";

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`fused GroupSort equals the stock-op composite, values and gradients (${backend})`, async () => {
    await useBackend(backend);
    assert.ok(tf.getKernel(GROUPSORT_KERNEL, backend));
    const rng = new MT19937(4);
    for (const g of [2, 3, 5]) {
      const shape = [3, 7, 2 * g * 2];
      const n = shape.reduce((a, b) => a * b, 1);
      // Values on a coarse grid, so that ties occur.
      const x = tf.tensor(
        Float32Array.from({ length: n }, () => Math.round(rng.normal() * 3) / 2),
        shape,
      );
      const w = tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
      const yf = await groupSort(x, g).data();
      const yc = await groupSortComposite(x, g).data();
      assert.ok(maxAbsDiff(yf, yc) === 0, `g=${g} values`);
      // Each group is ascending and a permutation of the input group.
      const xv = await x.data();
      for (let o = 0; o < n; o += g) {
        const src = Array.from(xv.slice(o, o + g)).sort((a, b) => a - b);
        assert.deepEqual(Array.from(yf.slice(o, o + g)), src);
      }
      const loss = (f: typeof groupSort) => (v: Tensor) => tf.sum(tf.mul(f(v, g), w));
      const gf = await tf.grad(loss(groupSort))(x).data();
      // Without ties the gradient is unique: both routes agree. (At ties any routing of the tied
      // values' gradients is a valid subgradient; min/max and the kernel choose differently.)
      const distinct = tf.add(x, tf.reshape(tf.mul(tf.range(0, n), 1e-4), shape));
      const gu = await tf.grad(loss(groupSort))(distinct).data();
      const gc = await tf.grad(loss(groupSortComposite))(distinct).data();
      assert.ok(maxAbsDiff(gu, gc) < 1e-6, `g=${g} gradient ${maxAbsDiff(gu, gc)}`);
      // With ties, the fused gradient is still a permutation of w within each group.
      const wv = await w.data();
      for (let o = 0; o < n; o += g) {
        const a = Array.from(gf.slice(o, o + g)).sort();
        const b = Array.from(wv.slice(o, o + g)).sort();
        assert.deepEqual(a, b);
      }
    }
  });
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`fused HouseHolder equals the stock-op composite, values and gradients (${backend})`, async () => {
    await useBackend(backend);
    assert.ok(tf.getKernel(HOUSEHOLDER_KERNEL, backend));
    const rng = new MT19937(6);
    for (const ensemble of [undefined, 3]) {
      const C = 8;
      const xShape = ensemble ? [ensemble, 9, C] : [9, C];
      const tShape = ensemble ? [ensemble, 1, C / 2] : [C / 2];
      const n = xShape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), xShape);
      const t = tf.tensor(
        Float32Array.from({ length: tShape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 2),
        tShape,
      );
      const w = tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), xShape);
      assert.ok(
        maxAbsDiff(await householder(x, t).data(), await householderComposite(x, t).data()) < 1e-5,
      );
      const loss = (f: typeof householder) => (a: Tensor, b: Tensor) => tf.sum(tf.mul(f(a, b), w));
      const gf = tf.grads(loss(householder))([x, t]);
      const gc = tf.grads(loss(householderComposite))([x, t]);
      for (let i = 0; i < 2; i++) {
        const d = maxAbsDiff(await gf[i].data(), await gc[i].data());
        assert.ok(d < 1e-4, `ensemble ${ensemble} input ${i}: ${d}`);
      }
    }
  });
}
