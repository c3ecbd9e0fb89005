/**
 * Every built-in projection trains a tiny 1d ensemble on every CPU backend (cpu, wasm), and the
 * regression behind it: LipschitzLinear's evaluation cache must never dispose the weight variable
 * when the projection returns it as it is (no_projection).
 */
import { runExperiment } from "../core/train/run_experiment.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { hostOps, maxAbsDiff, testContext, tf, useBackend } from "./helpers.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";
import type { Metrics } from "../core/plugin/interfaces.ts";
import lipschitzLinear from "../plugins/layers/lipschitz_linear.ts";
import noProjection from "../plugins/projections/no_projection.ts";

const BACKENDS = ["cpu", "wasm"] as const;
const registry = createRegistry(builtinPlugins);
const PROJECTIONS = registry.names("projection");

Deno.test("the built-in projections are listed", () => {
  for (const p of ["no_projection", "orthonormalize", "spectral_norm"]) {
    assert.ok(PROJECTIONS.includes(p), `${p} in ${PROJECTIONS}`);
  }
});

for (const backend of BACKENDS) {
  Deno.test(`LipschitzLinear + no_projection ${backend}: evaluation survives a weight assign`, async () => {
    await useBackend(backend);
    const projection = noProjection.create({ tf, ops: hostOps }, {});
    const layer = lipschitzLinear.create(
      { tf, ops: hostOps, name: "lin", ensemble: 2, rng: new MT19937(3), projection },
      { inFeatures: 3, outFeatures: 4, bias: true, init: "He_uniform" },
    );
    const w = layer.parameters()[0].variable;
    const x = tf.randomNormal([2, 5, 3], 0, 1, "float32", 7);
    const evalOnce = async () => {
      const y = layer.forward(x, { training: false });
      const v = await y.data();
      y.dispose();
      return v;
    };
    const train = layer.forward(x);
    const trainV = await train.data();
    train.dispose();
    const e1 = await evalOnce();
    const e2 = await evalOnce(); // served from the cache (the variable itself)
    assert.ok(maxAbsDiff(e1, trainV) < 1e-6 && maxAbsDiff(e2, trainV) < 1e-6);

    // What an optimiser step does: a new value, hence a new data id, invalidating the cache.
    tf.tidy(() => w.assign(tf.mul(w, -2)));
    assert.ok(!w.isDisposed, "the weight survives the cache refresh");
    const e3 = await evalOnce();
    const train2 = layer.forward(x);
    const train2V = await train2.data();
    train2.dispose();
    assert.ok(maxAbsDiff(e3, train2V) < 1e-6, "evaluation follows the new weight");
    assert.ok(maxAbsDiff(e3, e1) > 1e-3, "the weight change changes the output");
    assert.ok(!w.isDisposed);

    // Disposing the layer's cache leaves its parameters alone.
    layer.dispose!();
    assert.ok(!w.isDisposed, "layer.dispose() does not dispose the weight");
    assert.equal((await w.data()).length, 2 * 4 * 3);
    for (const p of layer.parameters()) p.variable.dispose();
    x.dispose();
  });

  for (const projection of PROJECTIONS) {
    Deno.test(`a tiny 1d run trains with ${projection} on ${backend}`, async () => {
      await useBackend(backend);
      const M = 2, E = 2;
      const rows: Metrics[] = [];
      const ctx = await testContext([
        `training_options.epochs=${E}`,
        `training_options.nbr_models=${M}`,
        "dataset.training_dataset_size=40",
        "dataset.testing_dataset_size=100",
        // A small net: most of a run's time is its figures, one per activation layer.
        "net_params.layer_sizes=[1,5,5,1]",
        `net_params.projection=${projection}`,
      ], (m) => rows.push(m));
      const { config, runDir: dir } = ctx;
      const before = tf.memory().numTensors;
      const exp = await ctx.registry.experiment("1d");
      const result = await runExperiment(exp, ctx);

      // Every epoch ran (0..E inclusive) with a finite test MSE.
      assert.deepEqual(rows.map((r) => r.epoch), [0, 1, 2]);
      for (const r of rows) {
        assert.ok(Number.isFinite(r.median_test_mse) && Number.isFinite(r.min_test_mse), `${r}`);
      }
      assert.equal(result.metrics.epoch, E);
      assert.ok(Number.isFinite(result.metrics.median_test_mse));
      assert.ok(Number.isFinite(result.metrics.min_test_mse));

      // The final checkpoint was written from live parameters: every layer's weight is there,
      // with its ensemble shape, and finite.
      const ck = await readCheckpoint(join(dir, "checkpoint.h5"));
      assert.equal(ck.meta.completed, true);
      const sizes = (config.net_params as { layer_sizes: number[] }).layer_sizes;
      assert.deepEqual(sizes, [1, 5, 5, 1]);
      for (let i = 0; i + 1 < sizes.length; i++) {
        const t = ck.tensors[`model/linear${i}/weight`];
        assert.ok(t, `model/linear${i}/weight in the checkpoint`);
        assert.deepEqual(t.shape, [M, sizes[i + 1], sizes[i]]);
        assert.ok(Array.from(t.data).every(Number.isFinite), `linear${i} weight is finite`);
      }
      assert.ok(Array.from(ck.tensors.test_mse.data).every(Number.isFinite));
      assert.equal(tf.memory().numTensors, before, "everything is freed at the end");
      await Deno.remove(dir, { recursive: true });
    });
  }
}
