/**
 * The denoiser on every backend (docs/method.md §5.4, docs/backends.md): a tiny `[1, 4, 4, 1]`
 * network of BCOP convolutions (circular padding) with linear splines, built from the same seed
 * on cpu, wasm and webgpu (the software adapter here), must give the same forward pass, the
 * same gradients, and the same loss and parameters after two Adam steps, within float32 tolerance; and
 * evaluation (`training: false`, cached weights) on a whole odd-sized image agrees too.
 * A tiny `train` / `denoise` from the CLI with `--device webgpu` is in tests/denoising_test.ts.
 */
import assert from "node:assert/strict";
import type { Tensor4D } from "@tensorflow/tfjs-core";
import { maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import {
  createDenoiserModel,
  denoiseImage,
  denoiserLoss,
  denoiserStep,
  disposeDenoiserModel,
} from "../plugins/experiments/denoising/model.ts";
import type { DenoisingConfig } from "../plugins/experiments/denoising/config.ts";

const CFG: Pick<DenoisingConfig, "net_params" | "activation_fn_params" | "optimizer"> = {
  net_params: { bias: true, kernel_size: 3, num_channels: [1, 4, 4, 1] },
  activation_fn_params: {
    activation_type: "linearspline",
    lipschitz_constrained: true,
    lmbda: 1e-6,
    spline_init: "identity", // every slope on the clip boundary ±T: the knife edge
    spline_range: 0.5,
    spline_size: 11,
  } as DenoisingConfig["activation_fn_params"],
  optimizer: { lr_weights: 1e-3, lr_spline_coeffs: 1e-5, lr_spline_scaling_coeffs: 1e-4 },
};

/** Deterministic clean and noisy 8×8 patches (batch 3) and a 9×11 noisy image. */
function inputs() {
  const rng = new MT19937(11);
  const clean = Float32Array.from({ length: 3 * 64 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
  const noisy = clean.map((v) => v + 0.1 * (rng.random() - 0.5));
  const image = Float32Array.from({ length: 99 }, () => rng.random());
  return { clean, noisy, image };
}

interface Outcome {
  forward: Float32Array;
  grads: Float32Array[];
  losses: number[];
  params: Float32Array[];
  evaluated: Float32Array;
}

async function runOn(backend: "cpu" | "wasm" | "webgpu"): Promise<Outcome> {
  assert.equal(await useBackend(backend), backend);
  const registry = createRegistry(builtinPlugins);
  const model = await createDenoiserModel(tf, registry, new MT19937(5), CFG);
  const { clean, noisy, image } = inputs();
  const x = tf.tensor4d(noisy, [3, 8, 8, 1]) as Tensor4D;
  const y = tf.tensor4d(clean, [3, 8, 8, 1]) as Tensor4D;
  const f = model.net.forward(x);
  const forward = new Float32Array(await f.data());
  f.dispose();
  const { value, grads: g } = tf.variableGrads(
    () => denoiserLoss(model, x, y),
    model.adam.variables(),
  );
  const grads: Float32Array[] = [];
  for (const v of model.adam.variables()) grads.push(new Float32Array(await g[v.name].data()));
  tf.dispose([value, ...Object.values(g)]);
  const losses: number[] = [];
  for (let s = 0; s < 2; s++) {
    const l = denoiserStep(model, x, y);
    losses.push((await l.data())[0]);
    l.dispose();
  }
  const after = denoiserLoss(model, x, y);
  losses.push((await after.data())[0]);
  after.dispose();
  const params: Float32Array[] = [];
  for (const p of model.net.parameters()) params.push(new Float32Array(await p.variable.data()));
  const evaluated = await denoiseImage(tf, model.net, image, 9, 11);
  tf.dispose([x, y]);
  disposeDenoiserModel(model);
  return { forward, grads, losses, params, evaluated };
}

Deno.test({
  name: "denoiser: forward, two training steps and evaluation agree on cpu, wasm and webgpu",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const ref = await runOn("cpu");
    assert.ok(ref.losses[2] < ref.losses[0], `training lowers the loss: ${ref.losses}`);
    for (const backend of ["wasm", "webgpu"] as const) {
      const got = await runOn(backend);
      const at = (what: string) => `${backend} vs cpu: ${what}`;
      assert.ok(maxAbsDiff(got.forward, ref.forward) < 1e-5, at("forward"));
      // Each parameter's gradient to 1e-4 of its largest entry, plus float32 noise of the whole
      // network's scale (the spline scalings' gradient is ~0 at the identity initialisation).
      const global = Math.max(...ref.grads.map((g) => Math.max(...g.map(Math.abs))));
      for (let p = 0; p < ref.grads.length; p++) {
        const scale = Math.max(...ref.grads[p].map(Math.abs));
        const d = maxAbsDiff(got.grads[p], ref.grads[p]);
        assert.ok(
          d <= 1e-4 * scale + 1e-6 * global,
          at(`gradient ${p} differs by ${d} (largest ${scale})`),
        );
      }
      // Adam's first steps are about ±lr whatever the gradient's size, so parameters whose
      // gradient is near zero may move differently: compare losses and parameters loosely.
      for (let i = 0; i < 3; i++) {
        assert.ok(
          Math.abs(got.losses[i] - ref.losses[i]) <= 1e-3 * ref.losses[i],
          at(`loss ${i}: ${got.losses} vs ${ref.losses}`),
        );
      }
      assert.equal(got.params.length, ref.params.length);
      for (let p = 0; p < ref.params.length; p++) {
        const d = maxAbsDiff(got.params[p], ref.params[p]);
        assert.ok(d < 2e-3, at(`parameter ${p} after two steps differs by ${d}`));
      }
      assert.ok(maxAbsDiff(got.evaluated, ref.evaluated) < 1e-5, at("evaluation"));
    }
  },
});
