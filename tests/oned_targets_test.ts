import assert from "node:assert/strict";
import {
  evaluateTargets,
  makeTarget,
  type Target1d,
  testGrid,
  trainingInputs,
} from "../plugins/experiments/oned/targets.ts";

const XS = [-1, -0.5, 0, 0.5, 1];

function assertClose(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

// docs/method.md §7 vectors; printed to 12 decimals, so compare to 1e-9.
const F1_CASES: { seed: number; n: number; knots: number[]; values: number[] }[] = [
  {
    seed: 5,
    n: 9,
    knots: [
      -0.586561689321,
      -0.556013657821,
      -0.406398996848,
      -0.02317762241,
      0.036835975746,
      0.223487725805,
      0.531815712961,
      0.741464612355,
      0.837221815876,
    ],
    values: [-0.234684237568, 0.204219699431, -0.062223049443, 0.064473450438, -0.180380716599],
  },
  {
    seed: 42,
    n: 9,
    knots: [
      -0.883832775664,
      -0.688010959328,
      -0.687962719115,
      -0.250919762305,
      0.197316968394,
      0.202230023486,
      0.463987883623,
      0.73235229155,
      0.90142861282,
    ],
    values: [0.108557971244, -0.159011099658, -0.157171575048, 0.260978082013, 0.099130724553],
  },
  {
    seed: 1,
    n: 7,
    knots: [
      -0.999771250365,
      -0.815322810462,
      -0.706488218366,
      -0.627479577245,
      -0.395334854736,
      -0.165955990595,
      0.440648986884,
    ],
    values: [-0.066260023307, -0.093174185355, -0.051931913638, 0.329366060131, -0.170633939869],
  },
];

const F2_CASES: { seed: number; n: number; values: number[] }[] = [
  {
    seed: 5,
    n: 7,
    values: [0.135137547534, 0.016925344491, 0.040705895546, 0.05442246369, -0.44557753631],
  },
  {
    seed: 42,
    n: 9,
    values: [0.522858489925, 0.183677331044, -0.207838183037, -0.173496201893, -0.223365047339],
  },
];

Deno.test("f1 knots and values match docs/method.md §7 to 1e-9", () => {
  for (const c of F1_CASES) {
    const t = makeTarget("f1", c.n, c.seed);
    assert.equal(t.type, "f1");
    assertClose(t.knots, c.knots, 1e-9, `f1 knots seed ${c.seed}`);
    assertClose(XS.map((x) => t.evaluate(x)), c.values, 1e-9, `f1 values seed ${c.seed}`);
  }
});

Deno.test("f2 values match docs/method.md §7 to 1e-9", () => {
  for (const c of F2_CASES) {
    const t = makeTarget("f2", c.n, c.seed);
    assert.equal(t.type, "f2");
    assert.equal(t.knots.length, c.n);
    assertClose(XS.map((x) => t.evaluate(x)), c.values, 1e-9, `f2 values seed ${c.seed}`);
  }
});

Deno.test("f3 is cos(7 pi x) / (7 pi) without correction", () => {
  const t = makeTarget("f3", 9, 5);
  assert.deepEqual(t.knots, []);
  assert.equal(t.evaluate(0), 1 / (7 * Math.PI));
  assert.ok(Math.abs(t.evaluate(1) + 1 / (7 * Math.PI)) < 1e-15);
  assert.ok(Math.abs(t.evaluate(1 / 14)) < 1e-15);
});

/** Trapezoid mean of `t` on [-1, 1] with `n` points. */
function trapezoidMean(t: Target1d, n: number): number {
  const h = 2 / (n - 1);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const x = -1 + i * h;
    s += (i === 0 || i === n - 1 ? 0.5 : 1) * t.evaluate(x);
  }
  return (s * h) / 2;
}

/** Slopes of `t` on a fine grid, skipping cells that contain a knot. */
function slopes(t: Target1d, n: number): number[] {
  const out: number[] = [];
  const h = 2 / (n - 1);
  for (let i = 0; i < n - 1; i++) {
    const a = -1 + i * h;
    const b = a + h;
    if (t.knots.some((k) => k >= a && k <= b)) continue;
    out.push((t.evaluate(b) - t.evaluate(a)) / h);
  }
  return out;
}

Deno.test("f1 and f2 have zero mean on [-1, 1]", () => {
  for (const seed of [1, 5, 42, 123]) {
    for (const type of ["f1", "f2"] as const) {
      const m = trapezoidMean(makeTarget(type, 9, seed), 100000);
      assert.ok(Math.abs(m) < 1e-6, `${type} seed ${seed}: mean ${m}`);
    }
  }
  // The correction is not a no-op: f(-1) = -shift, and the shift is far from 0 here.
  assert.ok(Math.abs(makeTarget("f1", 9, 5).evaluate(-1)) > 0.1);
});

Deno.test("f1 is 1-Lipschitz with |slope| = 1 almost everywhere", () => {
  for (const seed of [1, 5, 42]) {
    const t = makeTarget("f1", 9, seed);
    const s = slopes(t, 20001);
    assert.ok(s.length > 19000);
    for (const v of s) assert.ok(Math.abs(Math.abs(v) - 1) < 1e-9, `f1 seed ${seed}: slope ${v}`);
    // Slopes alternate, so both signs occur.
    assert.ok(s.some((v) => v > 0) && s.some((v) => v < 0));
    // Lipschitz across knots too.
    for (let i = 0; i < 1000; i++) {
      const a = -1 + 2 * i / 1000;
      const b = -1 + 2 * ((i * 7919) % 1000) / 1000;
      assert.ok(Math.abs(t.evaluate(a) - t.evaluate(b)) <= Math.abs(a - b) + 1e-12);
    }
  }
});

Deno.test("f2 slopes lie in {-1, 0, 1}", () => {
  const seen = new Set<number>();
  for (const seed of [1, 5, 42, 7]) {
    const t = makeTarget("f2", 9, seed);
    for (const v of slopes(t, 20001)) {
      const r = Math.round(v);
      assert.ok([-1, 0, 1].includes(r) && Math.abs(v - r) < 1e-9, `f2 seed ${seed}: slope ${v}`);
      seen.add(r);
    }
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [-1, 0, 1]);
});

Deno.test("training inputs match docs/method.md §7 (seed 5, 1000 x 25)", () => {
  const X = trainingInputs(5, 1000, 25);
  assert.ok(X instanceof Float32Array);
  assert.equal(X.length, 25000);
  // X[0, 0:3, 0] (exact float32 values)
  assert.deepEqual(Array.from(X.subarray(0, 3)), [
    -0.5560136437416077,
    0.7414646148681641,
    -0.5865616798400879,
  ]);
  assert.equal(X[999 * 25 + 24], 0.6874629855155945);
  let sum = 0;
  for (const v of X) sum += v;
  assert.ok(Math.abs(sum - 226.25166998466466) / 226.25166998466466 < 1e-6, `sum ${sum}`);
  // Re-seeded: the inputs do not depend on targets drawn before.
  makeTarget("f2", 9, 5);
  assert.deepEqual(trainingInputs(5, 1000, 25), X);
});

Deno.test("testGrid is numpy linspace(-1, 1, n) in float32", () => {
  const g = testGrid(10000);
  assert.equal(g.length, 10000);
  assert.equal(g[0], -1);
  assert.equal(g[9999], 1);
  // numpy: -1 + 5000 * (2 / 9999) = 0.00010001000100010001 -> float32
  assert.equal(g[5000], Math.fround(5000 * (2 / 9999) - 1));
  for (let i = 1; i < g.length; i++) assert.ok(g[i] > g[i - 1]);
  assert.deepEqual(Array.from(testGrid(5)), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(Array.from(testGrid(1)), [-1]);
  assert.equal(testGrid(0).length, 0);
});

Deno.test("evaluateTargets evaluates in double and stores float32", () => {
  const t = makeTarget("f1", 9, 5);
  const xs = testGrid(5);
  const ys = evaluateTargets(t, xs);
  assert.ok(ys instanceof Float32Array);
  for (let i = 0; i < xs.length; i++) assert.equal(ys[i], Math.fround(t.evaluate(xs[i])));
  assertClose(Array.from(ys), F1_CASES[0].values, 1e-7, "f1 float32 values");
});
