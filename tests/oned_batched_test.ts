import assert from "node:assert/strict";
import { maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { buildFcNetwork, type FcNetParams } from "../core/nn/fc_network.ts";
import { Adam } from "../core/train/adam.ts";
import { type OnedModel, onedStep } from "../plugins/experiments/oned/model.ts";
import type { Tensor3D } from "@tensorflow/tfjs-core";
import type { ActivationParams, Parameter } from "../core/plugin/interfaces.ts";

await useBackend("cpu");
const registry = createRegistry(builtinPlugins);

const net: FcNetParams = {
  layer_sizes: [1, 10, 10, 10, 1],
  projection: "orthonormalize",
  weight_initialization: "He_uniform",
  bias: true,
};
const act: ActivationParams = {
  activation_type: "linearspline",
  spline_init: "relu",
  spline_range: 0.5,
  spline_size: 101,
  spline_scaling_coeff: true,
  lipschitz_constrained: true,
  lmbda: 1e-3, // large, so the TV2 gradient matters in the comparison
};
const lr = { weights: 2e-3, spline_coeffs: 5e-5, spline_scaling: 5e-4 };

for (const activation_type of ["linearspline", "groupsort", "householder", "prelu"]) {
  Deno.test(`the batched 25-model step equals 25 separate steps (${activation_type})`, async () => {
    const M = 25, B = 10;
    const params = { ...act, activation_type, groupsort_groupsize: 5 };
    const batched = await buildFcNetwork({
      tf,
      registry,
      rng: new MT19937(5),
      net,
      activation: params,
      ensemble: M,
    });
    // Perturb the spline coefficients so that every model differs everywhere.
    const rng = new MT19937(9);
    for (const p of batched.parameters()) {
      p.variable.assign(
        tf.add(
          p.variable,
          tf.mul(tf.randomNormal(p.variable.shape, 0, 1, "float32", rng.int(1e6)), 0.01),
        ),
      );
    }
    const singles = [];
    for (let m = 0; m < M; m++) {
      const s = await buildFcNetwork({
        tf,
        registry,
        rng: new MT19937(1),
        net,
        activation: params,
      });
      batched.parameters().forEach((bp, i) => {
        const sp = s.parameters()[i];
        const slice = tf.reshape(tf.gather(bp.variable, m), sp.variable.shape);
        sp.variable.assign(slice);
      });
      singles.push(s);
    }
    const xs = Float32Array.from({ length: M * B }, () => 2 * rng.random() - 1);
    const ys = xs.map((x) => Math.abs(x) - 0.5);
    // Both sides train through the experiment's own step (forwardWithRegularization, Adam,
    // afterStep): the batched ensemble, and each model alone with its slice of the batch.
    const model = (net: typeof batched, models: number): OnedModel => ({
      tf,
      net,
      adam: new Adam(tf, net.parameters(), lr),
      lmbda: params.lmbda!,
      batchSize: B,
      models,
    });
    const mb = model(batched, M);
    for (let step = 0; step < 3; step++) {
      tf.dispose(onedStep(mb, tf.tensor3d(xs, [M, B, 1]), tf.tensor3d(ys, [M, B, 1])));
    }
    for (let m = 0; m < M; m++) {
      const ms = model(singles[m], 1);
      const x = tf.tensor(xs.slice(m * B, (m + 1) * B), [B, 1]) as unknown as Tensor3D;
      const y = tf.tensor(ys.slice(m * B, (m + 1) * B), [B, 1]) as unknown as Tensor3D;
      for (let step = 0; step < 3; step++) tf.dispose(onedStep(ms, x, y));
      for (const [i, bp] of batched.parameters().entries()) {
        const sp: Parameter = singles[m].parameters()[i];
        const a = await tf.gather(bp.variable, m).data();
        const b: Float32Array = new Float32Array(await sp.variable.data());
        assert.ok(maxAbsDiff(a, b) < 2e-6, `model ${m} ${sp.name}: ${maxAbsDiff(a, b)}`);
      }
    }
  });
}
