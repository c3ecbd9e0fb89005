/**
 * The native ensemble trainer (core/train/native_fc_ensemble.ts) against the generic TF.js step
 * of the 1d experiment (plugins/experiments/oned/model.ts): the same parameters and Adam moments
 * after many steps, bit for bit, as the generic step on wasm (which runs the same kernels), also
 * while the cpu backend is current; the networks it refuses; and the sparse spline gradient
 * kernel against the dense one.
 */
import assert from "node:assert/strict";
import { tf } from "../core/backend/tf.ts";
import { initBackend } from "../core/backend/backend.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { hostOps } from "../core/plugin/host_ops.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { validateWith } from "../core/config/config.ts";
import { onedSchema } from "../plugins/experiments/oned/config.ts";
import {
  canStepNatively,
  createOnedModel,
  disposeOnedModel,
  nativeOnedStep,
  onedStep,
} from "../plugins/experiments/oned/model.ts";
import { SPLINE_WASM_BASE64 } from "../core/kernels/native/spline_wasm_bin.ts";
import type { Tensor3D } from "@tensorflow/tfjs-core";

const paper = validateWith(
  onedSchema,
  JSON.parse(await Deno.readTextFile(new URL("../configs/config_1d.json", import.meta.url))),
  "configs/config_1d.json",
);
type Cfg = typeof paper;

/** The paper's network and optimiser with `M` models, `overrides` applied to its sections. */
function config(M: number, overrides: Partial<Cfg["activation_fn_params"]> = {}): Cfg {
  return {
    ...paper,
    activation_fn_params: { ...paper.activation_fn_params, ...overrides },
    training_options: { ...paper.training_options, nbr_models: M },
  };
}

/** `steps` random batches of `M` models (inputs beyond [-1, 1] too: outer spline segments). */
function batches(M: number, B: number, steps: number): Array<[Float32Array, Float32Array]> {
  const rng = new MT19937(11);
  return Array.from({ length: steps }, () => {
    const x = new Float32Array(M * B).map(() => 3 * rng.random() - 1.5);
    return [x, x.map((v) => Math.abs(v) - 0.5)];
  });
}

/** Parameters and Adam state of a trained model. */
function stateOf(m: Awaited<ReturnType<typeof createOnedModel>>) {
  return {
    params: Object.fromEntries(
      m.net.parameters().map((p) => [p.name, new Float32Array(p.variable.dataSync())]),
    ),
    adam: m.adam.getStateSync(),
  };
}

/**
 * Train the same model (seed 7) for `steps` steps on the same batches twice: with the generic
 * TF.js step on `genericBackend`, and with the native trainer while `nativeBackend` is current.
 */
async function trainBoth(
  genericBackend: "cpu" | "wasm",
  nativeBackend: "cpu" | "wasm",
  cfg: Cfg,
  steps: number,
) {
  const registry = createRegistry(builtinPlugins);
  const M = cfg.training_options.nbr_models, B = cfg.training_options.batch_size;
  const data = batches(M, B, steps);

  await initBackend(genericBackend);
  const generic = await createOnedModel({ tf, ops: hostOps }, registry, new MT19937(7), cfg);
  const genericLosses: number[] = [];
  for (const [x, y] of data) {
    const v = onedStep(
      generic,
      tf.tensor3d(x, [M, B, 1]) as Tensor3D,
      tf.tensor3d(y, [M, B, 1]) as Tensor3D,
    );
    genericLosses.push((await v.data())[0]);
    v.dispose();
  }
  const g = stateOf(generic);
  disposeOnedModel(generic);

  await initBackend(nativeBackend);
  const fast = await createOnedModel({ tf, ops: hostOps }, registry, new MT19937(7), cfg);
  const native = nativeOnedStep(hostOps, fast, cfg);
  assert.ok(native, "the paper network has a native step");
  const nativeLosses = data.map(([x, y]) => native.step(x, y));
  native.push();
  const n = stateOf(fast);
  disposeOnedModel(fast);
  return { generic: g, native: n, losses: genericLosses.map((l, i) => [l, nativeLosses[i]]) };
}

/** Assert that both runs of {@linkcode trainBoth} hold the same bits. */
function assertSame(r: Awaited<ReturnType<typeof trainBoth>>, steps: number): void {
  for (const [name, v] of Object.entries(r.generic.params)) {
    assert.deepEqual(r.native.params[name], v, name);
  }
  assert.equal(r.native.adam.step, steps);
  assert.deepEqual(adamTensors(r.native.adam), adamTensors(r.generic.adam));
  // the loss is summed in another order: float32 rounding only
  for (const [g, n] of r.losses) assert.ok(Math.abs(g - n) <= 1e-5 * Math.abs(g), `${g} vs ${n}`);
}

const adamTensors = (s: { tensors: Record<string, { data: Float32Array }> }) =>
  Object.fromEntries(Object.entries(s.tensors).map(([k, v]) => [k, v.data]));

Deno.test("native 1d step: the generic step's parameters and Adam state bit for bit on wasm (30 steps)", async () => {
  assertSame(await trainBoth("wasm", "wasm", config(5), 30), 30);
  // TV(2) off: the projection's gradient without the TV term
  assertSame(await trainBoth("wasm", "wasm", config(3, { lmbda: 0 }), 30), 30);
});

Deno.test("native 1d step: the wasm route's numbers on the cpu backend too (it runs no TF.js kernel)", async () => {
  // The cpu backend's own generic step rounds differently (its JS spline and product kernels):
  // that run is not the reference; the native step is the same computation on every backend.
  assertSame(await trainBoth("wasm", "cpu", config(3), 30), 30);
});

Deno.test("native 1d step: networks without a native form keep the generic step", async () => {
  await initBackend("wasm");
  const registry = createRegistry(builtinPlugins);
  const cases: Array<[string, Cfg]> = [
    ["relu", config(2, { activation_type: "relu" })],
    ["LS-old", config(2, { lipschitz_constrained: false })],
    ["native_step: false", {
      ...config(2),
      training_options: { ...config(2).training_options, native_step: false },
    }],
    ["spectral_norm projection", {
      ...config(2),
      net_params: { ...paper.net_params, projection: "spectral_norm" },
    }],
  ];
  for (const [what, cfg] of cases) {
    const model = await createOnedModel({ tf, ops: hostOps }, registry, new MT19937(1), cfg);
    assert.equal(nativeOnedStep(hostOps, model, cfg), null, what);
    assert.equal(canStepNatively(hostOps, model, cfg), false, what);
    disposeOnedModel(model);
  }
  const model = await createOnedModel({ tf, ops: hostOps }, registry, new MT19937(1), config(2));
  assert.ok(canStepNatively(hostOps, model, config(2)), "linearspline + orthonormalize");
  assert.ok(nativeOnedStep(hostOps, model, config(2)), "linearspline + orthonormalize");
  disposeOnedModel(model);
});

Deno.test("sparse spline gradient kernel: the dense kernel's dx, dcoef and dalpha bit for bit", () => {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const bytes = Uint8Array.from(atob(SPLINE_WASM_BASE64), (c) => c.charCodeAt(0));
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as Record<string, (...args: number[]) => void>;
  const rng = new MT19937(3);
  for (const [G, N, C, K] of [[3, 10, 10, 101], [2, 4, 7, 21], [1, 6, 5, 8]]) {
    const T = 2 * 0.5 / (K - 1), invT = 1 / T, z = Math.floor(K / 2);
    const shift = K % 2 === 0 ? T / 2 : 0, off = z - shift * invT;
    let top = 1024;
    const f32 = (n: number) => {
      const p = top;
      top += 4 * n + 16 - ((4 * n) % 16);
      return p;
    };
    const x = f32(G * N * C), coef = f32(G * C * K), alpha = f32(G * C), dy = f32(G * N * C);
    const out = [0, 1].map(() => ({ dx: f32(G * N * C), dc: f32(G * C * K), da: f32(G * C) }));
    const S = f32(4 * G * C * K), list = f32(G * C * N);
    const view = new Float32Array(memory.buffer);
    const fill = (p: number, n: number, f: () => number) => {
      for (let i = 0; i < n; i++) view[p / 4 + i] = f();
    };
    // inputs: some repeated (same segment twice), some outside the knots (clamped segments)
    fill(x, G * N * C, () => rng.random() < 0.2 ? 0.123 : 2 * rng.random() - 1);
    fill(coef, G * C * K, () => rng.random() - 0.5);
    fill(alpha, G * C, () => 0.5 + rng.random());
    fill(dy, G * N * C, () => rng.random() - 0.5);
    fill(S, 4 * G * C * K, () => 0);
    fill(out[1].dc, G * C * K, () => 7); // the sparse kernel must clear it
    for (let rep = 0; rep < 2; rep++) { // twice: the scratch must be left all zero
      k.spline_backward(
        x,
        coef,
        alpha,
        dy,
        out[0].dx,
        out[0].dc,
        out[0].da,
        G,
        N,
        C,
        K,
        invT,
        off,
        shift,
        S,
      );
      fill(S, 4 * G * C * K, () => 0);
      k.spline_backward_sparse(
        x,
        coef,
        alpha,
        dy,
        out[1].dx,
        out[1].dc,
        out[1].da,
        G,
        N,
        C,
        K,
        invT,
        off,
        shift,
        S,
        list,
      );
      const at = (p: number, n: number) => view.slice(p / 4, p / 4 + n);
      assert.deepEqual(at(out[1].dx, G * N * C), at(out[0].dx, G * N * C));
      assert.deepEqual(at(out[1].dc, G * C * K), at(out[0].dc, G * C * K));
      assert.deepEqual(at(out[1].da, G * C), at(out[0].da, G * C));
      assert.ok(at(S, 4 * G * C * K).every((v) => v === 0), "scratch left all zero");
    }
  }
});
