import assert from "node:assert/strict";
import { hostOps, maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import lipschitzLinear from "../plugins/layers/lipschitz_linear.ts";
import orthonormalize from "../plugins/projections/orthonormalize.ts";

await useBackend("wasm");

Deno.test("LipschitzLinear reuses its projected weight in evaluation until the weight changes", async () => {
  const projection = orthonormalize.create({ tf, ops: hostOps }, { bjorckIter: 15 });
  const layer = lipschitzLinear.create(
    { tf, ops: hostOps, name: "lin", ensemble: 3, rng: new MT19937(2), projection },
    { inFeatures: 6, outFeatures: 4, bias: true, init: "He_uniform" },
  );
  const x = tf.randomNormal([3, 5, 6], 0, 1, "float32", 3);
  const train = await layer.forward(x).data();
  const before = tf.memory().numTensors;
  const evals = [];
  for (let i = 0; i < 3; i++) {
    const y = layer.forward(x, { training: false });
    evals.push(await y.data());
    y.dispose();
  }
  // One cached projected weight is kept; repeated calls add nothing.
  assert.equal(tf.memory().numTensors, before + 1);
  for (const e of evals) assert.ok(maxAbsDiff(e, train) < 1e-6);

  // An optimiser step assigns a new value: evaluation follows it.
  const w = layer.parameters()[0].variable;
  tf.tidy(() => w.assign(tf.mul(w, -2)));
  const train2 = await layer.forward(x).data();
  const eval2 = await layer.forward(x, { training: false }).data();
  assert.ok(maxAbsDiff(train2, train) > 1e-3, "the weight change changes the output");
  assert.ok(maxAbsDiff(eval2, train2) < 1e-6, "the cache was refreshed");
  layer.dispose!();
  for (const p of layer.parameters()) p.variable.dispose();
});
