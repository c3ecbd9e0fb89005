import assert from "node:assert/strict";
import { MT19937, permutation } from "../core/rng/mt19937.ts";
import { UserError } from "../core/errors.ts";

// docs/method.md §7 test vectors (NumPy legacy generator).
Deno.test("uint32: seed 5, first 6 raw outputs (docs/method.md §7)", () => {
  const rng = new MT19937(5);
  const got = Array.from({ length: 6 }, () => rng.uint32());
  assert.deepEqual(got, [953453411, 236996814, 3739766767, 3570525885, 887852006, 1562238070]);
});

Deno.test("random: seeds 5 and 42, first 4 rand() values exactly (docs/method.md §7)", () => {
  const cases: [number, number[]][] = [
    [5, [0.22199317108973948, 0.8707323061773764, 0.20671915533942642, 0.9186109079379216]],
    [42, [0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366]],
  ];
  for (const [seed, want] of cases) {
    const rng = new MT19937(seed);
    assert.deepEqual(Array.from({ length: 4 }, () => rng.random()), want, `seed ${seed}`);
  }
});

Deno.test("int(2): seed 5, first 12 match randint(2) (docs/method.md §7)", () => {
  const rng = new MT19937(5);
  const got = Array.from({ length: 12 }, () => rng.int(2));
  assert.deepEqual(got, [1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0]);
});

// Vectors below were computed locally with NumPy 2.4.6's legacy RandomState:
// np.random.seed(123); np.random.randn(7)
// np.random.seed(7); np.random.permutation(10), randint(1000), randint(1<<20), randint(2**32),
// randint(3000000000)
Deno.test("normal: seed 123 matches np.random.randn(7)", () => {
  const rng = new MT19937(123);
  const want = [
    -1.0856306033005612,
    0.9973454465835858,
    0.28297849805199204,
    -1.506294713918092,
    -0.5786002519685364,
    1.651436537097151,
    -2.426679243393074,
  ];
  const got = Array.from({ length: 7 }, () => rng.normal());
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-14, `draw ${i}: ${got[i]} vs ${want[i]}`);
  }
});

Deno.test("permutation and int(n) match NumPy legacy for seed 7", () => {
  const rng = new MT19937(7);
  assert.deepEqual(Array.from(permutation(rng, 10)), [8, 5, 0, 2, 1, 9, 7, 3, 6, 4]);
  assert.equal(rng.int(1000), 366);
  assert.equal(rng.int(1 << 20), 784938);
  assert.equal(rng.int(2 ** 32), 1152936666);
  assert.equal(rng.int(3000000000), 68334472);
});

Deno.test("shuffleInPlace equals permutation of the same stream", () => {
  const a = new MT19937(11);
  const b = new MT19937(11);
  const arr = Array.from({ length: 50 }, (_, i) => i);
  a.shuffleInPlace(arr);
  assert.deepEqual(arr, Array.from(permutation(b, 50)));
  assert.deepEqual([...arr].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(arr, Array.from({ length: 50 }, (_, i) => i));
});

Deno.test("randomArray equals successive random() draws", () => {
  const a = new MT19937(3);
  const b = new MT19937(3);
  const arr = a.randomArray(700); // crosses a 624-word refill
  assert.ok(arr instanceof Float64Array);
  for (let i = 0; i < 700; i++) assert.equal(arr[i], b.random());
});

Deno.test("state round-trip continues identically, including the cached normal", () => {
  const rng = new MT19937(2024);
  for (let i = 0; i < 1000; i++) rng.random(); // move past a refill
  rng.normal(); // leaves a spare normal cached
  const state = rng.getState();
  assert.equal(state.kind, "mt19937");
  assert.equal(state.words.length, 624);
  assert.equal(typeof state.spareNormal, "number");
  // The state survives JSON (as in a checkpoint's meta).
  const restored = MT19937.fromState(JSON.parse(JSON.stringify(state)));
  const other = new MT19937(1);
  other.setState(state);
  const seqA = [rng.normal(), rng.normal(), rng.uint32(), rng.random(), rng.int(17)];
  const seqB = [
    restored.normal(),
    restored.normal(),
    restored.uint32(),
    restored.random(),
    restored.int(17),
  ];
  const seqC = [other.normal(), other.normal(), other.uint32(), other.random(), other.int(17)];
  assert.deepEqual(seqB, seqA);
  assert.deepEqual(seqC, seqA);
  // The snapshot is a copy: drawing more did not change it.
  assert.deepEqual(MT19937.fromState(state).normal(), seqA[0]);
});

Deno.test("setState rejects malformed states with UserError", () => {
  const rng = new MT19937(1);
  const good = rng.getState();
  assert.throws(() => rng.setState({ ...good, kind: "pcg64" }), UserError);
  assert.throws(() => rng.setState({ ...good, words: good.words.slice(1) }), UserError);
  assert.throws(() => rng.setState({ ...good, index: 625 }), UserError);
  assert.throws(() => rng.setState({ ...good, words: [-1, ...good.words.slice(1)] }), UserError);
  assert.throws(() => new MT19937(1.5), UserError);
  assert.throws(() => rng.int(0), UserError);
});

Deno.test("normal() is standard normal on 1e5 draws", () => {
  const rng = new MT19937(99);
  const n = 100000;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    sum += z;
    sumSq += z * z;
  }
  const mean = sum / n;
  const variance = sumSq / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
});

Deno.test("int(n) is uniform and in range", () => {
  const rng = new MT19937(8);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 50000; i++) counts[rng.int(5)]++;
  for (const c of counts) assert.ok(Math.abs(c / 50000 - 0.2) < 0.01, `counts ${counts}`);
});
