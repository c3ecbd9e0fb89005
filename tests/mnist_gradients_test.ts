/**
 * Gradients of the WGAN's two whole networks (plugins/experiments/wgan/networks.ts: generator
 * with batch norm in training mode, transposed convolutions and tanh; discriminator with the
 * Björck-projected downsample layers and linear-spline activations) against central finite
 * differences, on a batch of 4. Float32 only, so each check is a directional derivative along
 * the gradient itself restricted to a random half of one parameter tensor: `⟨g, d⟩ = Σ g_i²`
 * over the half is large against float32 rounding, and a wrong gradient entry anywhere in the
 * tensor would show. The step is small enough that no spline or ReLU kink is crossed in
 * practice; the tolerance is 2 %.
 */
import assert from "node:assert/strict";
import type { Scalar, Tensor } from "@tensorflow/tfjs-core";
import { tf, useBackend } from "./helpers.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import type { Network } from "../core/nn/network.ts";
import type { ActivationParams } from "../core/plugin/interfaces.ts";
import { buildDiscriminator, buildGenerator, Z_DIM } from "../plugins/experiments/wgan/networks.ts";

const registry = createRegistry(builtinPlugins);

/** Check each trainable tensor's gradient of `loss` by a masked directional finite difference. */
async function checkGradients(net: Network, loss: () => Scalar, seed: number): Promise<number> {
  const rng = new MT19937(seed);
  const trainable = net.parameters().filter((p) => p.variable.trainable);
  const { grads } = tf.variableGrads(loss, trainable.map((p) => p.variable));
  const value = async () => {
    const l = loss();
    const v = (await l.data())[0];
    l.dispose();
    return v;
  };
  let checked = 0;
  for (const p of trainable) {
    const v0 = (await p.variable.data()) as Float32Array;
    const g = (await grads[p.variable.name].data()) as Float32Array;
    const d = new Float32Array(v0.length);
    let dot = 0, dn = 0, vn = 0;
    for (let i = 0; i < d.length; i++) {
      if (rng.random() < 0.5) continue;
      d[i] = g[i];
      dot += g[i] * g[i];
      dn += g[i] * g[i];
      vn += v0[i] * v0[i];
    }
    if (dot === 0) continue;
    // step: a relative change of 6e-5 of the masked entries' norm (at least 1e-3 absolute)
    const h = Math.max(6e-5 * Math.sqrt(vn), 6e-5) / Math.sqrt(dn);
    const at = async (s: number) => {
      const w = new Float32Array(v0.length);
      for (let i = 0; i < w.length; i++) w[i] = v0[i] + s * h * d[i];
      p.variable.assign(tf.tensor(w, p.variable.shape));
      return await value();
    };
    const fd = ((await at(1)) - (await at(-1))) / (2 * h);
    p.variable.assign(tf.tensor(v0, p.variable.shape));
    // A gradient that vanishes mathematically (a bias before batch norm, the spline scaling
    // at init) only has to vanish in the finite difference too.
    const ok = dot < 1e-6 ? Math.abs(fd) < 1e-3 : Math.abs(fd - dot) <= 2e-2 * dot;
    assert.ok(ok, `${p.name}: finite difference ${fd} vs gradient ${dot}`);
    checked++;
  }
  for (const t of Object.values(grads)) t.dispose();
  return checked;
}

/** Inputs and weights of the loss `Σ f(x) · r` (fixed, smooth in every pixel). */
function fixed(shape: number[], f: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, (_, i) => f(i)), shape);
}

Deno.test("generator: gradients of every parameter tensor match finite differences", async () => {
  await useBackend("cpu");
  const act: ActivationParams = { activation_type: "relu" } as ActivationParams;
  const net = await buildGenerator(tf, registry, new MT19937(1), act);
  const z = fixed([4, Z_DIM], (i) => (Math.sin(1.3 * i) + 1) / 2);
  const r = fixed([4, 28, 28, 1], (i) => Math.cos(0.37 * i));
  const n = await checkGradients(
    net,
    () => tf.tidy(() => tf.sum(tf.mul(net.forward(z), r)) as Scalar),
    7,
  );
  assert.ok(n >= 10, `only ${n} tensors checked`);
  net.dispose();
  z.dispose();
  r.dispose();
});

Deno.test("discriminator: gradients of every parameter tensor match finite differences", async () => {
  await useBackend("cpu");
  const act = {
    activation_type: "linearspline",
    spline_init: "absolute_value",
    spline_range: 0.1,
    spline_size: 21,
    lipschitz_constrained: true,
    prelu_init: -1,
    groupsort_groupsize: 2,
    lmbda: 1e-6,
  } as ActivationParams;
  // The linear layers unprojected (Björck on 1024×6272 is tested in bjorck tests and would be
  // slow here); the downsample layers keep their Björck projection.
  const net = await buildDiscriminator(tf, registry, new MT19937(2), act, {
    projection: "no_projection",
  });
  // absolute_value init puts every slope at ±1, on the kink of the slope constraint: move the
  // coefficients inside (slopes ±0.8) so that the function is differentiable there.
  for (const p of net.parameters()) {
    if (p.name.endsWith("/spline_coefficients")) p.variable.assign(tf.mul(p.variable, 0.8));
  }
  const x = fixed([4, 28, 28, 1], (i) => Math.sin(0.11 * i));
  const r = fixed([4, 1], (i) => 1 - 0.5 * i);
  const n = await checkGradients(
    net,
    () => tf.tidy(() => tf.sum(tf.mul(net.forward(x), r)) as Scalar),
    8,
  );
  assert.ok(n >= 8, `only ${n} tensors checked`);
  net.dispose();
  x.dispose();
  r.dispose();
});
