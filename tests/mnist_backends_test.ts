/**
 * The MNIST experiments' new layers on every backend (docs/backends.md): a tiny network of
 * `lipschitz_downsample` (Björck-projected), linear spline, `batch_norm` (training mode, then
 * eval with the running statistics), `conv_transpose` and `tanh`, built from the same seed on
 * cpu, wasm and webgpu (the software adapter here), must give the same forward pass and the
 * same gradients within float32 tolerance. Whole-experiment runs with `--device webgpu` are
 * too slow for a test on the software adapter (a 2-step `wgan` run took 14 min under load);
 * see the closing note of issue 11.
 */
import assert from "node:assert/strict";
import type { Scalar } from "@tensorflow/tfjs-core";
import { maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { sequentialNetwork } from "../core/nn/network.ts";
import type { ActivationParams } from "../core/plugin/interfaces.ts";

interface Outcome {
  train: Float32Array;
  evaluated: Float32Array;
  grads: Float32Array[];
  names: string[];
}

async function runOn(backend: "cpu" | "wasm" | "webgpu"): Promise<Outcome> {
  assert.equal(await useBackend(backend), backend);
  const registry = createRegistry(builtinPlugins);
  const rng = new MT19937(3);
  const orth = (await registry.projection("orthonormalize")).create({ tf }, { bjorckIter: 12 });
  const params = {
    activation_type: "linearspline",
    spline_init: "absolute_value",
    spline_range: 0.5,
    spline_size: 11,
    lipschitz_constrained: true,
  } as ActivationParams;
  const spline = await registry.activation("linearspline");
  const tanh = await registry.activation("tanh");
  const net = sequentialNetwork(tf, [
    {
      type: "layer",
      name: "d",
      layer: (await registry.layer("lipschitz_downsample")).create(
        { tf, name: "d", rng, projection: orth },
        { inChannels: 2, outChannels: 4, bias: true, inputSize: 6 },
      ),
    },
    {
      type: "activation",
      name: "a",
      channels: 4,
      activation: spline.create({ tf, channels: 4, mode: "conv", params, name: "a", rng }),
    },
    {
      type: "layer",
      name: "bn",
      layer: (await registry.layer("batch_norm")).create({ tf, name: "bn", rng }, {
        channels: 4,
        init: "gan",
      }),
    },
    {
      type: "layer",
      name: "ct",
      layer: (await registry.layer("conv_transpose")).create({ tf, name: "ct", rng }, {
        inChannels: 4,
        outChannels: 1,
        kernelSize: 4,
        stride: 2,
        padding: 1,
        bias: true,
        init: "gan",
      }),
    },
    {
      type: "activation",
      name: "t",
      channels: 1,
      activation: tanh.create({
        tf,
        channels: 1,
        mode: "conv",
        params: { activation_type: "tanh" } as ActivationParams,
        name: "t",
        rng,
      }),
    },
  ]);
  const x = tf.tensor4d(Float32Array.from({ length: 3 * 72 }, (_, i) => Math.sin(0.7 * i)), [
    3,
    6,
    6,
    2,
  ]);
  const r = tf.tensor4d(Float32Array.from({ length: 3 * 36 }, (_, i) => Math.cos(0.3 * i)), [
    3,
    6,
    6,
    1,
  ]);
  const trainable = net.parameters().filter((p) => p.variable.trainable);
  const train = net.forward(x, { training: true });
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.mul(net.forward(x, { training: true }), r)) as Scalar,
    trainable.map((p) => p.variable),
  );
  const evaluated = net.forward(x, { training: false });
  const out: Outcome = {
    train: (await train.data()) as Float32Array,
    evaluated: (await evaluated.data()) as Float32Array,
    grads: await Promise.all(
      trainable.map(async (p) => (await grads[p.variable.name].data()) as Float32Array),
    ),
    names: trainable.map((p) => p.name),
  };
  tf.dispose([train, evaluated, x, r, ...Object.values(grads)]);
  net.dispose();
  return out;
}

Deno.test({
  name: "downsample, spline, batch norm, conv transpose, tanh: cpu, wasm and webgpu agree",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ref = await runOn("cpu");
    for (const b of ["wasm", "webgpu"] as const) {
      const o = await runOn(b);
      assert.ok(maxAbsDiff(o.train, ref.train) < 1e-4, `${b} forward (training)`);
      assert.ok(maxAbsDiff(o.evaluated, ref.evaluated) < 1e-4, `${b} forward (eval)`);
      assert.deepEqual(o.names, ref.names);
      for (let i = 0; i < ref.grads.length; i++) {
        const scale = Math.max(1, ...Array.from(ref.grads[i], Math.abs));
        const d = maxAbsDiff(o.grads[i], ref.grads[i]);
        assert.ok(d < 1e-3 * scale, `${b} gradient of ${ref.names[i]} differs by ${d}`);
      }
    }
  },
});
