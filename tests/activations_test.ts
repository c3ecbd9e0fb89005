import assert from "node:assert/strict";
import { hostOps, maxAbsDiff, tf, useBackend } from "./helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { isUserError } from "../core/errors.ts";
import type {
  Activation,
  ActivationInstance,
  ActivationParams,
} from "../core/plugin/interfaces.ts";
import {
  gridStep,
  initialCoefficients,
  lsOldNormalize,
  projectCoefficients,
  tv2,
} from "../core/nn/spline_math.ts";
import relu from "../plugins/activations/relu.ts";
import absoluteValue from "../plugins/activations/absolute_value.ts";
import prelu from "../plugins/activations/prelu.ts";
import groupsort from "../plugins/activations/groupsort.ts";
import householder from "../plugins/activations/householder.ts";
import linearspline from "../plugins/activations/linearspline.ts";

await useBackend("cpu");

const splineParams: ActivationParams = {
  activation_type: "linearspline",
  spline_size: 21,
  spline_range: 0.5,
  spline_init: "relu",
  lipschitz_constrained: true,
  lmbda: 1e-7,
};

function build(a: Activation, params: ActivationParams, channels: number, ensemble?: number) {
  return a.create({
    tf,
    ops: hostOps,
    channels,
    mode: "fc",
    ensemble,
    params,
    name: "act",
    rng: new MT19937(1),
  });
}

function randomize(inst: ActivationInstance, rng: MT19937, scale: number) {
  for (const p of inst.parameters()) {
    const v = p.variable;
    const data = Float32Array.from({ length: v.size }, () => rng.normal() * scale);
    v.assign(tf.add(v, tf.tensor(data, v.shape)));
  }
}

Deno.test("every activation is 1-Lipschitz on random inputs (fc, ensemble)", async () => {
  const rng = new MT19937(3);
  const cases: Array<[Activation, ActivationParams]> = [
    [relu, { activation_type: "relu" }],
    [absoluteValue, { activation_type: "absolute_value" }],
    [prelu, { activation_type: "prelu", prelu_init: "maxmin" }],
    [groupsort, { activation_type: "groupsort", groupsort_groupsize: 5 }],
    [groupsort, { activation_type: "groupsort", groupsort_groupsize: 2 }],
    [householder, { activation_type: "householder" }],
    [linearspline, splineParams],
    [linearspline, { ...splineParams, spline_size: 20, spline_init: "maxmin" }],
  ];
  for (const [a, params] of cases) {
    for (const ensemble of [undefined, 3]) {
      const C = 10;
      const inst = build(a, params, C, ensemble);
      randomize(inst, rng, 0.3); // random learned parameters, still constrained in forward
      const shape = ensemble ? [ensemble, 200, C] : [200, C];
      const n = shape.reduce((x, y) => x * y, 1);
      const x1 = tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
      const x2 = tf.add(x1, tf.mul(tf.randomNormal(shape, 0, 1, "float32", 7), 0.05));
      const y1 = inst.forward(x1);
      const y2 = inst.forward(x2);
      // Per row (sample), ||f(x1) - f(x2)|| <= ||x1 - x2|| in the 2-norm over channels.
      const dy = await tf.norm(tf.sub(y1, y2), "euclidean", -1).data();
      const dx = await tf.norm(tf.sub(x1, x2), "euclidean", -1).data();
      for (let i = 0; i < dx.length; i++) {
        assert.ok(dy[i] <= dx[i] * (1 + 1e-4) + 1e-6, `${a.name} row ${i}: ${dy[i]} > ${dx[i]}`);
      }
      const bound = await inst.lipschitzBound();
      assert.ok(bound.value !== null && bound.value <= 1 + 1e-5, `${a.name} bound ${bound.value}`);
    }
  }
});

Deno.test("TV2 per channel is 1 for relu init, 2 for absolute_value, 0 for identity", async () => {
  for (const [init, expected] of [["relu", 1], ["absolute_value", 2], ["identity", 0]] as const) {
    for (const K of [21, 101]) {
      const T = gridStep(0.5, K);
      const p = tf.tensor(initialCoefficients(init, 4, K, 0.5), [4, K]);
      const v = await tv2(tf, projectCoefficients(tf, p, T), T).data();
      // float32 knots: each second difference carries ~1e-7 / T of rounding, summed over K - 2.
      for (const x of v) assert.ok(Math.abs(x - expected) < 1e-3, `${init} K=${K}: ${x}`);
      const inst = build(linearspline, { ...splineParams, spline_init: init, spline_size: K }, 4);
      const reg = await inst.regularization!().data();
      assert.ok(Math.abs(reg[0] - 4 * expected) < 4e-3);
    }
  }
});

Deno.test("slope clipping keeps the mean and bounds every slope to [-1, 1]", async () => {
  const rng = new MT19937(11);
  const K = 31, C = 6, R = 0.3;
  const T = gridStep(R, K);
  const raw = Float32Array.from({ length: C * K }, () => rng.normal() * 0.5);
  const c = tf.tensor(raw, [C, K]);
  const p = await projectCoefficients(tf, c, T).data();
  for (let ch = 0; ch < C; ch++) {
    let mc = 0, mp = 0;
    for (let k = 0; k < K; k++) {
      mc += raw[ch * K + k] / K;
      mp += p[ch * K + k] / K;
      if (k < K - 1) {
        const slope = (p[ch * K + k + 1] - p[ch * K + k]) / T;
        assert.ok(Math.abs(slope) <= 1 + 1e-5, `slope ${slope}`);
        // Slopes already within [-1, 1] are kept exactly.
        const rawSlope = (raw[ch * K + k + 1] - raw[ch * K + k]) / T;
        if (Math.abs(rawSlope) <= 1) assert.ok(Math.abs(slope - rawSlope) < 1e-4);
        else assert.ok(Math.abs(Math.abs(slope) - 1) < 1e-4);
      }
    }
    assert.ok(Math.abs(mc - mp) < 1e-5, `mean ${mc} vs ${mp}`);
  }
});

Deno.test("LS old normalisation rescales each channel to a largest slope of exactly 1", async () => {
  const K = 11, R = 1;
  const T = gridStep(R, K);
  const c = tf.tensor(Float32Array.from({ length: 2 * K }, (_, i) => Math.sin(i) * 3), [2, K]);
  const n = await lsOldNormalize(tf, c, T).data();
  for (let ch = 0; ch < 2; ch++) {
    let m = 0;
    for (let k = 0; k < K - 1; k++) {
      m = Math.max(m, Math.abs(n[ch * K + k + 1] - n[ch * K + k]) / T);
    }
    assert.ok(Math.abs(m - 1) < 1e-5);
  }
  // The plugin applies it in afterStep when lipschitz_constrained is false.
  const inst = build(linearspline, { ...splineParams, lipschitz_constrained: false }, 3);
  randomize(inst, new MT19937(2), 0.5);
  assert.ok((await inst.lipschitzBound()).value! > 1.5, "unconstrained random spline is steep");
  inst.afterStep!();
  assert.ok(Math.abs((await inst.lipschitzBound()).value! - 1) < 1e-4);
});

Deno.test("spline activation with relu init equals relu inside the range; identity init is the identity", async () => {
  const x = tf.tile(tf.reshape(tf.linspace(-0.5, 0.5, 101), [101, 1]), [1, 3]);
  const a = build(linearspline, splineParams, 3);
  assert.ok(maxAbsDiff(await a.forward(x).data(), await tf.relu(x).data()) < 1e-6);
  const id = build(linearspline, { ...splineParams, spline_init: "identity" }, 3);
  const wide = tf.tile(tf.reshape(tf.linspace(-3, 3, 61), [61, 1]), [1, 3]);
  assert.ok(maxAbsDiff(await id.forward(wide).data(), await wide.data()) < 1e-5);
});

Deno.test("prelu, groupsort and householder compute what docs/method.md §2 says", async () => {
  const p = build(prelu, { activation_type: "prelu", prelu_init: "maxmin" }, 2);
  assert.deepEqual(Array.from(await p.forward(tf.tensor([[-2, -2], [3, 3]])).data()), [
    -2,
    2,
    3,
    3,
  ]);
  const g = build(groupsort, { activation_type: "groupsort", groupsort_groupsize: 3 }, 6);
  assert.deepEqual(
    Array.from(await g.forward(tf.tensor([[3, 1, 2, -1, -5, 0]])).data()),
    [1, 2, 3, -5, -1, 0],
  );
  const h = build(householder, { activation_type: "householder" }, 2);
  // theta = pi/2: s = (x - y)/sqrt(2); s <= 0 keeps (x, y), else reflects to (y, x).
  const out = await h.forward(tf.tensor([[1, 2], [2, 1]])).data();
  assert.ok(maxAbsDiff(out, [1, 2, 1, 2]) < 1e-6);
});

Deno.test("configuration mistakes are user errors with the current values", () => {
  assert.throws(
    () => build(groupsort, { activation_type: "groupsort", groupsort_groupsize: 3 }, 10),
    (e) =>
      isUserError(e) &&
      e.message ===
        "Cannot build groupsort as the group size must divide the width: group size is 3, width is 10",
  );
  assert.throws(
    () => build(householder, { activation_type: "householder" }, 5),
    (e) => isUserError(e) && /5/.test(e.message),
  );
  assert.throws(
    () => build(prelu, { activation_type: "prelu", prelu_init: 2 }, 4),
    (e) => isUserError(e) && /2/.test(e.message),
  );
  assert.throws(
    () => build(linearspline, { ...splineParams, spline_size: 2 }, 4),
    (e) => isUserError(e) && /spline_size/.test(e.message),
  );
  assert.throws(
    () => build(linearspline, { ...splineParams, spline_range: -1 }, 4),
    (e) => isUserError(e) && /spline_range/.test(e.message),
  );
});
