/**
 * `certify`: every built-in bound against a brute-force computation, product ≥ empirical on
 * short-trained networks, non-Lipschitz networks fail `--max 1`, the `--json` contract, and
 * user mistakes (exit 2, one line).
 */
import { singularValues } from "./brute_force.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { createRegistry, type PluginManifest } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { buildFcNetwork, type FcNetParams, type Network } from "../core/nn/fc_network.ts";
import { Adam } from "../core/train/adam.ts";
import { certifyNetwork } from "../core/certify/certify.ts";
import { loadTrainedNetworks } from "../core/certify/load_trained.ts";
import { writeCheckpoint } from "../core/io/checkpoint.ts";
import { parametersToStored } from "../core/io/parameter_store.ts";
import { runCertify } from "../cli/commands/certify.ts";
import type {
  Activation,
  ActivationContext,
  ActivationParams,
  LayerInstance,
} from "../core/plugin/interfaces.ts";
import type { Tensor } from "@tensorflow/tfjs-core";

await useBackend("cpu");
const registry = createRegistry(builtinPlugins);

// ---------------------------------------------------------------- brute force helpers

Deno.test("the Jacobi SVD of the test is right on a known matrix", () => {
  // diag(3, 2) rotated: singular values 3 and 2; a 3×2 with a zero row.
  const c = Math.cos(0.3), s = Math.sin(0.3);
  const a = [3 * c, -2 * s, 3 * s, 2 * c, 0, 0];
  const sv = singularValues(a, 3, 2);
  assert.ok(Math.abs(sv[0] - 3) < 1e-12 && Math.abs(sv[1] - 2) < 1e-12, String(sv));
  assert.ok(Math.abs(singularValues([1, 2, 3], 1, 3)[0] - Math.sqrt(14)) < 1e-12);
});

/** The Jacobian of an affine layer, column by column: `f(e_j) - f(0)`, per model. */
async function affineJacobians(
  layer: LayerInstance,
  M: number,
  n: number,
): Promise<Float64Array[]> {
  const x = new Float32Array(M * (n + 1) * n);
  for (let m = 0; m < M; m++) for (let j = 0; j < n; j++) x[(m * (n + 1) + j + 1) * n + j] = 1;
  const y = layer.forward(tf.tensor(x, [M, n + 1, n]));
  const out = y.shape[2]!;
  const v = await y.data();
  y.dispose();
  const jac: Float64Array[] = [];
  for (let m = 0; m < M; m++) {
    const J = new Float64Array(out * n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < out; i++) {
        const base = (m * (n + 1)) * out + i;
        J[i * n + j] = v[(m * (n + 1) + j + 1) * out + i] - v[base];
      }
    }
    jac.push(J);
  }
  return jac;
}

const relClose = (a: number, b: number, tol: number) =>
  Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

// ---------------------------------------------------------------- layer and projection bounds

for (const projection of ["orthonormalize", "spectral_norm", "no_projection"]) {
  for (const [out, inp] of [[5, 3], [3, 5]]) {
    Deno.test(`lipschitz_linear + ${projection} (${out}×${inp}): bound = brute-force σ_max`, async () => {
      const M = 3;
      const proj = (await registry.projection(projection)).create({ tf }, { bjorckIter: 15 });
      const layer = (await registry.layer("lipschitz_linear")).create(
        { tf, name: "l", ensemble: M, rng: new MT19937(3), projection: proj },
        { inFeatures: inp, outFeatures: out, bias: true, init: "He_uniform" },
      );
      // Make the models differ and the raw weights large (σ_max of the raw weight ≫ 1).
      const w = layer.parameters()[0].variable;
      const scales = tf.reshape(tf.tensor([0.5, 2, 4]), [M, 1, 1]);
      w.assign(tf.mul(w, scales));
      const b = await layer.lipschitzBound({ inputShape: [inp] });
      assert.ok(b.perModel && b.perModel.length === M, JSON.stringify(b));
      const jac = await affineJacobians(layer, M, inp);
      for (let m = 0; m < M; m++) {
        const brute = singularValues(jac[m], out, inp)[0];
        assert.ok(relClose(b.perModel[m], brute, 1e-5), `model ${m}: ${b.perModel[m]} vs ${brute}`);
        if (projection !== "no_projection") assert.ok(b.perModel[m] <= 1 + 1e-3);
      }
      if (projection === "no_projection") assert.ok(b.value! > 1, `raw weights: ${b.value}`);
      assert.equal(b.value, Math.max(...b.perModel));
    });
  }
}

// ---------------------------------------------------------------- activation bounds

/** Largest |Δy/Δx| of every model on a dense 1-D grid (every channel fed the grid). */
async function denseSlopes(
  forward: (x: Tensor) => Tensor,
  M: number,
  C: number,
  lo: number,
  hi: number,
  step: number,
): Promise<number[]> {
  const N = Math.round((hi - lo) / step) + 1;
  const grid = Float32Array.from({ length: N }, (_, i) => lo + i * step);
  const x = new Float32Array(M * N * C);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) x[(m * N + n) * C + c] = grid[n];
  }
  const y = await forward(tf.tensor(x, [M, N, C])).data();
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    let best = 0;
    for (let n = 1; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const dy = y[(m * N + n) * C + c] - y[(m * N + n - 1) * C + c];
        best = Math.max(best, Math.abs(dy / (grid[n] - grid[n - 1])));
      }
    }
    out.push(best);
  }
  return out;
}

for (const constrained of [true, false]) {
  Deno.test(`linearspline (lipschitz_constrained ${constrained}): bound = max slope of a dense evaluation`, async () => {
    const M = 2, C = 3, K = 11, R = 1;
    const act = (await registry.activation("linearspline")).create({
      tf,
      channels: C,
      mode: "fc",
      ensemble: M,
      name: "a",
      rng: new MT19937(1),
      params: {
        activation_type: "linearspline",
        spline_size: K,
        spline_range: R,
        spline_init: "relu",
        lipschitz_constrained: constrained,
      },
    });
    const [coef, alpha] = act.parameters();
    const rng = new MT19937(7);
    coef.variable.assign(
      tf.tensor(Float32Array.from({ length: M * C * K }, () => rng.normal() * 0.4), [M, C, K]),
    );
    alpha.variable.assign(tf.tensor([0.5, 1, 2, 1.5, 0.7, 1.2], [M, C]));
    const b = await act.lipschitzBound();
    const brute = await denseSlopes((x) => act.forward(x), M, C, -4, 4, 0.004);
    assert.ok(b.perModel && b.perModel.length === M);
    for (let m = 0; m < M; m++) {
      assert.ok(
        relClose(b.perModel[m], brute[m], 2e-3),
        `model ${m}: ${b.perModel[m]} vs ${brute[m]}`,
      );
    }
    if (constrained) assert.ok(b.value! <= 1 + 1e-5, String(b.value));
    else assert.ok(b.value! > 1, `raw coefficients give slopes > 1: ${b.value}`);
  });
}

Deno.test("prelu: bound is 1 per model (slopes clipped to [-1, 1]) and matches a dense evaluation", async () => {
  const M = 2, C = 3;
  const act = (await registry.activation("prelu")).create({
    tf,
    channels: C,
    mode: "fc",
    ensemble: M,
    name: "p",
    rng: new MT19937(1),
    params: { activation_type: "prelu", prelu_init: 0.5 },
  });
  act.parameters()[0].variable.assign(tf.tensor([2, -3, 0.5, 0.1, 0.2, -0.3], [M, 1, C]));
  const b = await act.lipschitzBound();
  const brute = await denseSlopes((x) => act.forward(x), M, C, -2, 2, 0.01);
  assert.deepEqual(b.perModel, [1, 1]);
  for (const v of brute) assert.ok(Math.abs(v - 1) < 1e-4, String(brute));
  assert.match(b.method, /by construction/);
});

for (const name of ["relu", "absolute_value", "groupsort", "householder"]) {
  Deno.test(`${name}: bound 1 equals the largest ‖f(x) - f(y)‖ / ‖x - y‖ over random pairs`, async () => {
    const C = 6, N = 4000;
    const act = (await registry.activation(name)).create({
      tf,
      channels: C,
      mode: "fc",
      name: "a",
      rng: new MT19937(1),
      params: { activation_type: name, groupsort_groupsize: 3 },
    });
    if (name === "householder") {
      act.parameters()[0].variable.assign(tf.tensor([0.3, 1.7, -2.2]));
    }
    const rng = new MT19937(11);
    const x = Float32Array.from({ length: N * C }, () => rng.normal());
    // Near pairs (same linear piece, ratio 1) and far pairs.
    const y = x.map((v, i) => v + (i < (N / 2) * C ? 1e-2 : 1) * rng.normal());
    const fx = await act.forward(tf.tensor(x, [N, C])).data();
    const fy = await act.forward(tf.tensor(y, [N, C])).data();
    let brute = 0;
    for (let n = 0; n < N; n++) {
      let num = 0, den = 0;
      for (let c = 0; c < C; c++) {
        num += (fx[n * C + c] - fy[n * C + c]) ** 2;
        den += (x[n * C + c] - y[n * C + c]) ** 2;
      }
      brute = Math.max(brute, Math.sqrt(num / den));
    }
    const b = await act.lipschitzBound();
    assert.equal(b.value, 1);
    assert.ok(brute <= 1 + 1e-4 && brute > 0.999, `brute force ${brute}`);
  });
}

// ---------------------------------------------------------------- networks

const lr = { weights: 1e-2, spline_coeffs: 1e-3, spline_scaling: 1e-3 };

/** A small ensemble network of `activation_type`, trained a few Adam steps on |x|. */
async function trainedNet(
  activation: ActivationParams,
  opts: {
    net?: Partial<FcNetParams>;
    M?: number;
    steps?: number;
    target?: (x: number) => number;
    afterStep?: boolean;
    lr?: typeof lr;
  } = {},
): Promise<{ net: Network; netParams: FcNetParams; M: number }> {
  const M = opts.M ?? 3, B = 16;
  const netParams: FcNetParams = {
    layer_sizes: [1, 6, 6, 1],
    projection: "orthonormalize",
    weight_initialization: "He_uniform",
    bias: true,
    ...opts.net,
  };
  const net = await buildFcNetwork({
    tf,
    registry,
    rng: new MT19937(5),
    net: netParams,
    activation,
    ensemble: M,
  });
  const adam = new Adam(tf, net.parameters(), opts.lr ?? lr);
  const rng = new MT19937(2);
  const target = opts.target ?? Math.abs;
  for (let step = 0; step < (opts.steps ?? 15); step++) {
    const xs = Float32Array.from({ length: M * B }, () => 2 * rng.random() - 1);
    const ys = xs.map(target);
    tf.tidy(() => {
      const x = tf.tensor(xs, [M, B, 1]), y = tf.tensor(ys, [M, B, 1]);
      const { grads } = tf.variableGrads(
        () =>
          tf.div(tf.sum(tf.square(tf.sub(net.forward(x), y))), B) as ReturnType<typeof tf.scalar>,
        adam.variables(),
      );
      adam.apply(grads);
    });
    if (opts.afterStep !== false) net.afterStep();
  }
  adam.dispose();
  return { net, netParams, M };
}

const ACTIVATIONS: ActivationParams[] = [
  { activation_type: "relu" },
  { activation_type: "absolute_value" },
  { activation_type: "prelu", prelu_init: -1 },
  { activation_type: "groupsort", groupsort_groupsize: 2 },
  { activation_type: "householder" },
  {
    activation_type: "linearspline",
    spline_size: 21,
    spline_range: 0.5,
    spline_init: "relu",
    lipschitz_constrained: true,
  },
  {
    activation_type: "linearspline",
    spline_size: 21,
    spline_range: 0.5,
    spline_init: "relu",
    lipschitz_constrained: false,
  },
];

for (const act of ACTIVATIONS) {
  const label = act.activation_type + (act.lipschitz_constrained === false ? " (LS old)" : "");
  Deno.test(`a short-trained 1d network with ${label} certifies ≤ 1 and product ≥ empirical per model`, async () => {
    const { net, M } = await trainedNet(act);
    const r = await certifyNetwork(net, {
      inputDim: 1,
      ensemble: M,
      random: 200,
      adversarial: 4,
      steps: 10,
      rng: new MT19937(0),
    });
    assert.equal(r.layers.length, 5);
    // Piecewise-linear: exact second derivatives fail or vanish; the search uses finite differences.
    assert.equal(r.search.secondOrder, "finite-differences");
    assert.match(r.search.note, /unavailable|zero everywhere/);
    for (const l of r.layers) {
      assert.ok(l.bound !== null && l.bound <= 1 + 1e-3, `${l.name}: ${l.bound}`);
      assert.equal(l.perModel?.length, M);
    }
    assert.ok(r.product !== null && r.product <= 1 + 1e-3, String(r.product));
    assert.equal(r.perModel?.length, M);
    for (const [m, pm] of r.perModel!.entries()) {
      assert.ok(
        pm.product !== null && pm.product >= pm.empirical * (1 - 1e-5),
        `model ${m}: ${JSON.stringify(pm)}`,
      );
      assert.ok(pm.empirical > 0);
    }
    assert.equal(r.product, Math.max(...r.perModel!.map((p) => p.product!)));
    assert.equal(r.empirical, Math.max(...r.perModel!.map((p) => p.empirical)));
    for (const p of net.parameters()) p.variable.dispose();
  });
}

Deno.test("the adversarial search reaches the dense maximum from few random starts (1d)", async () => {
  const { net, M } = await trainedNet(ACTIVATIONS[5], { steps: 30 });
  const dense = await certifyNetwork(net, {
    inputDim: 1,
    ensemble: M,
    random: 20000,
    adversarial: 0,
    rng: new MT19937(1),
  });
  const few = await certifyNetwork(net, {
    inputDim: 1,
    ensemble: M,
    random: 8,
    adversarial: 0,
    rng: new MT19937(2),
  });
  const searched = await certifyNetwork(net, {
    inputDim: 1,
    ensemble: M,
    random: 8,
    adversarial: 4,
    steps: 40,
    rng: new MT19937(2),
  });
  assert.ok(searched.empirical >= few.empirical);
  assert.ok(
    searched.empirical >= 0.999 * dense.empirical,
    `${searched.empirical} vs dense ${dense.empirical}`,
  );
  assert.equal(searched.search.secondOrder, "finite-differences");
  assert.match(searched.search.note, /LipsplineSplineGrad/);
  for (const p of net.parameters()) p.variable.dispose();
});

Deno.test("multi-output networks: full Jacobian and power-iteration paths agree and stay below the product", async () => {
  const netParams: FcNetParams = {
    layer_sizes: [3, 8, 8, 4],
    projection: "no_projection",
    weight_initialization: "He_uniform",
    bias: true,
  };
  const net = await buildFcNetwork({
    tf,
    registry,
    rng: new MT19937(4),
    net: netParams,
    activation: { activation_type: "relu" },
  });
  const full = await certifyNetwork(net, {
    inputDim: 3,
    random: 300,
    adversarial: 8,
    steps: 20,
    rng: new MT19937(3),
  });
  const iter = await certifyNetwork(net, {
    inputDim: 3,
    random: 300,
    adversarial: 8,
    steps: 20,
    rng: new MT19937(3),
    fullJacobianMax: 2,
  });
  assert.match(full.search.jacobian, /full 4×3 Jacobian/);
  assert.match(iter.search.jacobian, /power iteration/);
  assert.ok(full.product !== null && full.product > 1, `no_projection: ${full.product}`);
  assert.ok(
    full.empirical <= full.product * (1 + 1e-5) && iter.empirical <= full.product * (1 + 1e-5),
  );
  assert.ok(
    relClose(iter.empirical, full.empirical, 2e-2),
    `${iter.empirical} vs ${full.empirical}`,
  );
  // Brute force at one point x0 (the box [0.3, 0.3] holds only it): central differences, σ_max.
  const x0 = [0.3, 0.3, 0.3];
  const eps = 1e-3;
  const J = new Float64Array(4 * 3);
  for (let j = 0; j < 3; j++) {
    const xp = x0.slice(), xm = x0.slice();
    xp[j] += eps;
    xm[j] -= eps;
    const fp = await net.forward(tf.tensor([xp])).data();
    const fm = await net.forward(tf.tensor([xm])).data();
    for (let i = 0; i < 4; i++) J[i * 3 + j] = (fp[i] - fm[i]) / (2 * eps);
  }
  const single = await certifyNetwork(net, {
    inputDim: 3,
    random: 1,
    adversarial: 0,
    box: [0.3, 0.3],
    rng: new MT19937(0),
  });
  assert.ok(
    relClose(single.empirical, singularValues(J, 4, 3)[0], 1e-3),
    `${single.empirical} vs ${singularValues(J, 4, 3)[0]}`,
  );
  assert.equal(full.perModel, undefined);
});

Deno.test("a spline with slopes 2 (set directly) is measured and bounded at 2", async () => {
  const act: ActivationParams = {
    activation_type: "linearspline",
    spline_size: 11,
    spline_range: 1,
    lipschitz_constrained: false,
    spline_init: "identity",
  };
  const netParams: FcNetParams = {
    layer_sizes: [1, 4, 1],
    projection: "orthonormalize",
    weight_initialization: "He_uniform",
    bias: false,
  };
  const net = await buildFcNetwork({
    tf,
    registry,
    rng: new MT19937(1),
    net: netParams,
    activation: act,
  });
  const [w0, coef, , w1] = net.parameters();
  w0.variable.assign(tf.tensor([[1], [0], [0], [0]]));
  w1.variable.assign(tf.tensor([[1, 0, 0, 0]]));
  coef.variable.assign(tf.mul(coef.variable, 2));
  const r = await certifyNetwork(net, {
    inputDim: 1,
    random: 100,
    adversarial: 2,
    steps: 5,
    rng: new MT19937(0),
  });
  assert.ok(relClose(r.layers[1].bound!, 2, 1e-5), String(r.layers[1].bound));
  assert.ok(relClose(r.product!, 2, 1e-5) && relClose(r.empirical, 2, 1e-5), JSON.stringify(r));
});

// ---------------------------------------------------------------- third-party plugins without a bound

Deno.test("a third-party activation without a bound is unbounded, never assumed 1", async () => {
  const noBound = {
    kind: "activation",
    name: "nobound",
    version: "0.0.1",
    description: "sin with no lipschitzBound",
    create: (ctx: ActivationContext) => ({
      kind: "nobound",
      parameters: () => [],
      forward: (x: Tensor) => ctx.tf.sin(x),
    }),
  } as unknown as Activation;
  const nullBound = {
    ...noBound,
    name: "nullbound",
    create: (ctx) => ({
      kind: "nullbound",
      parameters: () => [],
      forward: (x: Tensor) => ctx.tf.sin(x),
      lipschitzBound: () => Promise.resolve({ value: null, method: "unknown" }),
    }),
  } as Activation;
  const manifest: PluginManifest = {
    ...builtinPlugins,
    activation: {
      ...builtinPlugins.activation,
      nobound: () => Promise.resolve({ default: noBound }),
      nullbound: () => Promise.resolve({ default: nullBound }),
    },
  };
  const reg = createRegistry(manifest);
  for (const name of ["nobound", "nullbound"]) {
    const net = await buildFcNetwork({
      tf,
      registry: reg,
      rng: new MT19937(1),
      net: {
        layer_sizes: [1, 4, 1],
        projection: "orthonormalize",
        weight_initialization: "He_uniform",
        bias: true,
      },
      activation: { activation_type: name },
      ensemble: 2,
    });
    const r = await certifyNetwork(net, {
      inputDim: 1,
      ensemble: 2,
      random: 50,
      adversarial: 2,
      steps: 3,
      rng: new MT19937(0),
    });
    // sin is smooth: TF.js takes the exact second derivative for the ascent (not through tanh).
    assert.equal(r.search.secondOrder, "exact", r.search.note);
    assert.equal(r.product, null);
    assert.equal(r.layers[1].bound, null);
    assert.match(r.layers[1].method, /unbounded/);
    assert.equal(r.layers[0].bound !== null, true);
    assert.ok(r.empirical > 0);
    // Through the command body: not certified (exit code 1), "unbounded" in the table.
    const dir = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
    await writeRun(
      dir,
      net,
      {
        layer_sizes: [1, 4, 1],
        projection: "orthonormalize",
        weight_initialization: "He_uniform",
        bias: true,
      },
      { activation_type: name },
      2,
    );
    const out = await runCertify(
      dir,
      cliDefaults({ random: "50", adversarial: "0" }),
      reg,
      () => {},
    );
    assert.equal(out.code, 1);
    assert.match(out.lines.join("\n"), /unbounded/);
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------- run folders and the CLI

/** Write a run folder (config.json, run.json, checkpoint.h5) holding `net`. */
async function writeRun(
  dir: string,
  net: Network,
  netParams: FcNetParams,
  activation: ActivationParams,
  M?: number,
): Promise<void> {
  const config = {
    exp_name: "certify_test",
    log_dir: dir,
    seed: 1,
    net_params: netParams,
    activation_fn_params: activation,
  };
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify({ experiment: "1d" }));
  await writeCheckpoint(join(dir, "checkpoint.h5"), {
    tensors: await parametersToStored(net.parameters()),
    meta: { experiment: "1d", epoch: 0, ...(M ? { nbr_models: M } : {}) },
  });
}

function cliDefaults(o: Record<string, string | boolean> = {}) {
  return {
    box: "-1,1",
    max: "1",
    tolerance: "1e-3",
    random: "200",
    adversarial: "4",
    steps: "10",
    seed: "0",
    json: false,
    device: "cpu" as const,
    ...o,
  };
}

Deno.test("loadTrainedNetworks restores the 1d network of a run folder and of a checkpoint path", async () => {
  const act = ACTIVATIONS[5];
  const { net, netParams, M } = await trainedNet(act, { steps: 5 });
  const dir = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
  await writeRun(dir, net, netParams, act, M);
  const x = tf.tensor(Float32Array.from({ length: M * 7 }, (_, i) => (i % 7) / 3 - 1), [M, 7, 1]);
  const want = await net.forward(x).data();
  for (const path of [dir, join(dir, "checkpoint.h5")]) {
    const loaded = await loadTrainedNetworks(path, registry);
    assert.equal(loaded.networks.length, 1);
    const [model] = loaded.networks;
    assert.equal(model.label, "model");
    assert.equal(model.ensemble, M);
    assert.deepEqual(model.inputShape, [1]);
    assert.deepEqual(model.box, [-1, 1]);
    assert.equal(loaded.experiment, "1d");
    assert.equal(loaded.source, join(dir, "checkpoint.h5"));
    assert.deepEqual(Array.from(await model.net.forward(x).data()), Array.from(want));
    model.net.dispose();
  }
  const out = await runCertify(dir, cliDefaults(), registry, () => {});
  assert.equal(out.code, 0);
  const saved = JSON.parse(await Deno.readTextFile(join(dir, "certify.json")));
  assert.equal(saved.certified, true);
  assert.equal(saved.nbr_models, M);
  assert.equal(saved.product, out.result.product);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CLI: LS old trained without normalisation fails --max 1 (exit 1); a constrained run passes with --json", async () => {
  // Unconstrained spline, afterStep never called, a steep target: slopes grow past 1.
  const loose: ActivationParams = { ...ACTIVATIONS[6], spline_init: "identity" };
  const bad = await trainedNet(loose, {
    steps: 40,
    target: (x) => 3 * x,
    afterStep: false,
    lr: { weights: 1e-2, spline_coeffs: 5e-2, spline_scaling: 1e-3 },
  });
  const r = await certifyNetwork(bad.net, {
    inputDim: 1,
    ensemble: bad.M,
    random: 200,
    adversarial: 4,
    steps: 10,
    rng: new MT19937(0),
  });
  assert.ok(r.layers[1].bound! > 1, `spline slopes: ${r.layers[1].bound}`);
  assert.ok(r.product! > 1 && r.product! >= r.empirical * (1 - 1e-5), JSON.stringify(r.perModel));
  const badDir = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
  await writeRun(badDir, bad.net, bad.netParams, loose, bad.M);

  const good = await trainedNet(ACTIVATIONS[5], { steps: 5 });
  const goodDir = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
  await writeRun(goodDir, good.net, good.netParams, ACTIVATIONS[5], good.M);

  const fail = await runCli([
    "certify",
    badDir,
    "--max",
    "1",
    "--random",
    "100",
    "--adversarial",
    "2",
    "--steps",
    "5",
  ]);
  assert.equal(fail.code, 1, fail.stderr);
  assert.match(fail.stdout, /NOT CERTIFIED: product [\d.]+ > max 1/);
  assert.equal(fail.stderr, "");

  const ok = await runCli([
    "certify",
    goodDir,
    "--json",
    "--random",
    "100",
    "--adversarial",
    "2",
    "--steps",
    "5",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const lines = ok.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(j), ["layers", "product", "empirical"]);
  assert.equal(j.layers.length, 5);
  for (const l of j.layers) assert.deepEqual(Object.keys(l), ["name", "kind", "bound"]);
  assert.deepEqual(j.layers.map((l: { kind: string }) => l.kind), [
    "lipschitz_linear",
    "linearspline",
    "lipschitz_linear",
    "linearspline",
    "lipschitz_linear",
  ]);
  assert.ok(typeof j.product === "number" && j.product <= 1 + 1e-3 && j.product >= j.empirical);
  assert.ok(JSON.parse(await Deno.readTextFile(join(goodDir, "certify.json"))).certified);
  for (const d of [badDir, goodDir]) await Deno.remove(d, { recursive: true });
});

Deno.test("CLI: a network trained with no_projection fails certify --max 1", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
  const train = await runCli([
    "train",
    "--exp",
    "1d",
    "--device",
    "cpu",
    "-q",
    "--set",
    `log_dir=${logDir}`,
    "--set",
    "exp_name=noproj",
    "--set",
    "net_params.projection=no_projection",
    "--set",
    "net_params.layer_sizes=[1,8,8,1]",
    // He_uniform applied literally starts far above 1 (the default nn.Linear init can certify)
    "--set",
    "net_params.apply_weight_initialization=true",
    "--set",
    "training_options.epochs=0",
    "--set",
    "training_options.nbr_models=2",
    "--set",
    "dataset.training_dataset_size=20",
    "--set",
    "dataset.testing_dataset_size=50",
  ]);
  assert.equal(train.code, 0, train.stderr);
  const run = join(logDir, "noproj");
  const r = await runCli([
    "certify",
    run,
    "--json",
    "--max",
    "1",
    "--random",
    "100",
    "--adversarial",
    "2",
    "--steps",
    "5",
  ]);
  assert.equal(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.product > 1, String(j.product));
  assert.ok(
    j.layers.some((l: { kind: string; bound: number }) =>
      l.kind === "lipschitz_linear" && l.bound > 1
    ),
  );
  assert.ok(j.product >= j.empirical);
  await Deno.remove(logDir, { recursive: true });
});

Deno.test("CLI: bad paths and bad values exit 2 with one line on stderr", async () => {
  const empty = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
  await Deno.writeTextFile(join(empty, "config.json"), "{}");
  const cases: [string[], RegExp][] = [
    [["certify", "/nonexistent/run"], /path does not exist: \/nonexistent\/run/],
    [["certify", empty], /checkpoint does not exist: .*checkpoint\.h5/],
    [["certify", join(empty, "missing.h5")], /path does not exist: .*missing\.h5/],
    [["certify", "/tmp", "--max", "abc"], /--max must be a positive number: it is 'abc'/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout} ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
  await Deno.remove(empty, { recursive: true });
});

Deno.test("certify: an experiment without loadNetworks is one line (exit 2); several networks get a section each", async () => {
  const act = ACTIVATIONS[0];
  const { net, netParams, M } = await trainedNet(act, { steps: 3 });
  const dir = await Deno.makeTempDir({ prefix: "lipspline_certify_" });
  await writeRun(dir, net, netParams, act, M);
  const oned = await registry.experiment("1d");
  const noHook = { ...oned, name: "nohook", loadNetworks: undefined };
  // Two networks: the 1d ensemble, and the same ensemble again under another label.
  const twice = {
    ...oned,
    name: "twice",
    loadNetworks: async (ctx: Parameters<NonNullable<typeof oned.loadNetworks>>[0]) => {
      const a = await oned.loadNetworks!(ctx);
      const b = await oned.loadNetworks!(ctx);
      return [...a, { ...b[0], label: "critic" }];
    },
  };
  const manifest: PluginManifest = {
    ...builtinPlugins,
    experiment: {
      ...builtinPlugins.experiment,
      nohook: () => Promise.resolve({ default: noHook }),
      twice: () => Promise.resolve({ default: twice }),
    },
  };
  const reg = createRegistry(manifest);
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify({ experiment: "nohook" }));
  await assert.rejects(
    () => runCertify(dir, cliDefaults(), reg, () => {}),
    (e: Error) =>
      e.name === "UserError" && !e.message.includes("\n") &&
      /Cannot certify .* as the experiment nohook does not say how to rebuild its networks/
        .test(e.message),
  );
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify({ experiment: "twice" }));
  const lines: string[] = [];
  const out = await runCertify(
    dir,
    cliDefaults({ random: "50", adversarial: "1", steps: "2" }),
    reg,
    (l) => lines.push(l),
  );
  assert.equal(out.code, 0, lines.join("\n"));
  assert.deepEqual(out.networks.map((c) => c.label), ["model", "critic"]);
  assert.ok(lines.some((l) => l.startsWith("network critic")));
  const saved = JSON.parse(await Deno.readTextFile(join(dir, "certify.json")));
  assert.equal(saved.networks.length, 2);
  assert.equal(saved.networks[1].network, "critic");
  assert.equal(saved.networks[1].nbr_models, M);
  assert.equal(saved.certified, true);
  const json = await runCertify(
    dir,
    cliDefaults({ json: true, random: "50", adversarial: "1", steps: "2" }),
    reg,
    () => {},
  );
  assert.equal(json.networks.length, 2);
  net.dispose();
  await Deno.remove(dir, { recursive: true });
});
