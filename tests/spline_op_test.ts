/**
 * Tests of the fused linear-spline op (docs/method.md §3) on cpu, wasm and webgpu (the software adapter
 * here): values at and between knots, linear extension outside the range, odd and even K
 * (the even-K quirk), alpha ≠ 1, ensemble (G > 1) and NHWC layouts, parity of the forward pass
 * and all three gradients with the stock-op reference, and gradients against float64 central
 * finite differences of a plain-JS transcription of the spec.
 */
import assert from "node:assert/strict";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { initBackend } from "../core/backend/backend.ts";
import { registerKernelsFor } from "../core/kernels/index.ts";
import {
  linearSpline,
  linearSplineReference,
  splineConstants,
  type SplineGrid,
} from "../core/ops/spline.ts";
import { register as registerCpu } from "../core/kernels/cpu/spline.ts";
import { register as registerWasm } from "../core/kernels/wasm/spline.ts";
import {
  type CoefGradMethod,
  getCoefGradMethod,
  register as registerWebgpu,
  setCoefGradMethod,
  TWOPASS_MAX_K,
} from "../core/kernels/webgpu/spline.ts";

type BackendName = "cpu" | "wasm" | "webgpu";
const BACKENDS: BackendName[] = ["cpu", "wasm", "webgpu"];
const REGISTER: Record<BackendName, () => void> = {
  cpu: registerCpu,
  wasm: registerWasm,
  webgpu: registerWebgpu,
};

async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name);
  try {
    await registerKernelsFor(name);
  } catch {
    // other kernel families of the loader list may not exist yet; the spline's is below
  }
  REGISTER[name]();
  assert.equal(tf.getBackend(), name);
}

/** Deterministic uniform [0, 1) generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Inputs of one case, as float32 arrays. */
interface Case {
  G: number;
  N: number;
  C: number;
  grid: SplineGrid;
  x: Float32Array;
  coef: Float32Array;
  alpha: Float32Array;
  dy: Float32Array;
}

/**
 * A random case: x spread to `spread`·R (so far outside the range too), moved at least `gap`
 * (in knot units) away from segment boundaries, where the slope (hence dx) is discontinuous.
 */
function randomCase(
  seed: number,
  G: number,
  N: number,
  C: number,
  grid: SplineGrid,
  spread = 10,
  gap = 1e-3,
): Case {
  const r = rng(seed);
  const { T, shift } = splineConstants(grid);
  const alpha = Float32Array.from({ length: G * C }, () => 0.5 + 1.5 * r());
  const x = new Float32Array(G * N * C);
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const a = alpha[g * C + c];
        // mostly inside [-R, R], a quarter spread up to ±spread·R
        const scale = r() < 0.25 ? spread : 1.2;
        let v = (2 * r() - 1) * scale * grid.range;
        const w = (a * v - shift) / T;
        const frac = w - Math.floor(w);
        if (frac < gap) v += (gap * T) / a;
        if (frac > 1 - gap) v -= (gap * T) / a;
        x[(g * N + n) * C + c] = v;
      }
    }
  }
  const coef = Float32Array.from({ length: G * C * grid.size }, () => 2 * r() - 1);
  const dy = Float32Array.from({ length: G * N * C }, () => 2 * r() - 1);
  return { G, N, C, grid, x, coef, alpha, dy };
}

/** Plain-JS float64 transcription of docs/method.md §3 for one value of channel `p` (coefficients). */
function splineF64(x: number, p: ArrayLike<number>, alpha: number, grid: SplineGrid): number {
  const K = grid.size;
  const T = (2 * grid.range) / (K - 1);
  const z = Math.floor(K / 2);
  const even = K % 2 === 0;
  let u = alpha * x;
  if (even) u -= T / 2;
  const lo = even ? -T * (K / 2) : -T * z;
  const hi = even ? T * (K / 2 - 2) : T * (z - 1);
  const uc = Math.min(Math.max(u, lo), hi);
  const k = Math.min(Math.max(Math.floor(uc / T + 1e-12), -z), Math.round(hi / T));
  const f = u / T - k;
  let s = p[z + k + 1] * f + p[z + k] * (1 - f);
  if (even) s += T / 2;
  return s / alpha;
}

type Arr = Float32Array | Float64Array;

/** Float64 forward pass of a whole case with the spec transcription. */
function forwardF64(
  cs: Case,
  x: Arr = cs.x,
  coef: Arr = cs.coef,
  alpha: Arr = cs.alpha,
): Float64Array {
  const { G, N, C, grid } = cs;
  const K = grid.size;
  const y = new Float64Array(G * N * C);
  for (let g = 0; g < G; g++) {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const ch = g * C + c;
        const i = (g * N + n) * C + c;
        y[i] = splineF64(x[i], coef.subarray(ch * K, ch * K + K), alpha[ch], grid);
      }
    }
  }
  return y;
}

/** Forward value and gradients [dx, dcoef, dalpha] of `fn` on the current backend. */
async function evaluate(
  cs: Case,
  fn: typeof linearSpline = linearSpline,
): Promise<Float32Array[]> {
  const { G, N, C, grid } = cs;
  const x = tf.tensor3d(cs.x, [G, N, C]);
  const coef = tf.tensor2d(cs.coef, [G * C, grid.size]);
  const alpha = tf.tensor1d(cs.alpha);
  const dy = tf.tensor3d(cs.dy, [G, N, C]);
  const { value, grads } = tf.valueAndGrads((a: Tensor, b: Tensor, c: Tensor) =>
    fn(a as Tensor3D, b as Tensor2D, c as Tensor1D, grid)
  )([x, coef, alpha], dy);
  assert.deepEqual(value.shape, [G, N, C]);
  assert.deepEqual(grads.map((t) => t.shape), [[G, N, C], [G * C, grid.size], [G * C]]);
  const out = [await value.data(), ...await Promise.all(grads.map((t) => t.data()))];
  for (const t of [x, coef, alpha, dy, value, ...grads]) t.dispose();
  return out as Float32Array[];
}

/** Assert |a - b| ≤ rtol (|b| + max|b|) elementwise; `what` names the tensor. */
function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) {
    const tol = rtol * (Math.abs(b[i]) + scale) + 1e-30;
    if (!(Math.abs(a[i] - b[i]) <= tol)) {
      assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]} (|diff| ${Math.abs(a[i] - b[i])} > ${tol})`);
    }
  }
}

const NAMES = ["y", "dx", "dcoef", "dalpha"];

// ---------------------------------------------------------------------------------------------
// Exact values: knots, linear interpolation, linear extension, odd/even K, alpha ≠ 1.

/**
 * One channel per probe kind, all with the same coefficients: x at every knot, at 30 % between
 * knots, and beyond both ends; expected values from the knot coefficients alone.
 */
async function checkKnots(K: number, R: number): Promise<void> {
  const grid = { size: K, range: R };
  const { T } = splineConstants(grid);
  const shift = K % 2 === 0 ? T / 2 : 0; // the even-K quirk adds T/2 to s (docs/method.md §3)
  const alphas = [1, 0.5, 2.5];
  const C = alphas.length;
  const r = rng(K);
  const p = Array.from({ length: K }, () => 2 * r() - 1);
  const knot = (j: number) => -R + j * T;
  // probes in u = alpha x, with the expected s(u) (before / alpha)
  const probes: Array<[number, number]> = [];
  for (let j = 0; j < K; j++) probes.push([knot(j), p[j]]);
  for (let j = 0; j < K - 1; j++) probes.push([knot(j) + 0.3 * T, 0.7 * p[j] + 0.3 * p[j + 1]]);
  for (const d of [0.5, 3, 10]) {
    probes.push([-R - d * R, p[0] - ((d * R) / T) * (p[1] - p[0])]);
    probes.push([R + d * R, p[K - 1] + ((d * R) / T) * (p[K - 1] - p[K - 2])]);
  }
  const N = probes.length;
  const x = new Float32Array(N * C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) x[n * C + c] = probes[n][0] / alphas[c];
  const coef = new Float32Array(C * K);
  for (let c = 0; c < C; c++) coef.set(p, c * K);
  const y = linearSpline(
    tf.tensor3d(x, [1, N, C]),
    tf.tensor2d(coef, [C, K]),
    tf.tensor1d(alphas),
    grid,
  );
  const yv = await y.data();
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const want = (probes[n][1] + shift) / alphas[c];
      const got = yv[n * C + c];
      const tol = 2e-5 * (1 + Math.abs(want) + Math.abs(probes[n][0] / T));
      assert.ok(
        Math.abs(got - want) <= tol,
        `K=${K} alpha=${alphas[c]} u=${probes[n][0]}: got ${got}, want ${want}`,
      );
    }
  }
  tf.dispose(y);
}

for (const backend of BACKENDS) {
  Deno.test({
    name: `spline op on ${backend}: knots, interpolation, extension, odd and even K`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await useBackend(backend);
      for (const K of [5, 6, 21, 101]) await checkKnots(K, K === 101 ? 2 : 0.5);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Parity with the stock-op reference (computed on cpu), forward and all three gradients.

const PARITY_CASES: Array<[number, number, number, SplineGrid]> = [
  [1, 200, 7, { size: 5, range: 0.5 }],
  [1, 150, 9, { size: 6, range: 0.3 }],
  [2, 120, 70, { size: 21, range: 0.15 }],
  [3, 90, 5, { size: 101, range: 2 }],
  // The 1d experiment's shape: 25 models, batch 10 (the kernels' direct path, N <= 2K) ...
  [25, 10, 10, { size: 101, range: 0.5 }],
  // ... and a case on the tabulated path (N > 2K) with even K.
  [1, 400, 3, { size: 40, range: 0.5 }],
];

/** Reference results (stock ops on cpu) for every parity case, computed once. */
const referenceResults = new Map<number, Float32Array[]>();
async function reference(i: number, cs: Case): Promise<Float32Array[]> {
  if (!referenceResults.has(i)) {
    const current = tf.getBackend() as BackendName;
    await useBackend("cpu");
    referenceResults.set(i, await evaluate(cs, linearSplineReference));
    await useBackend(current);
  }
  return referenceResults.get(i)!;
}

async function checkParity(label: string): Promise<void> {
  for (let i = 0; i < PARITY_CASES.length; i++) {
    const [G, N, C, grid] = PARITY_CASES[i];
    const cs = randomCase(100 + i, G, N, C, grid);
    const ref = await reference(i, cs);
    const got = await evaluate(cs);
    // the spec transcription in float64 checks both (forward)
    const y64 = forwardF64(cs);
    assertClose(ref[0], y64, 1e-6, `reference y K=${grid.size}`);
    for (let k = 0; k < 4; k++) {
      assertClose(got[k], ref[k], 1e-5, `${label} ${NAMES[k]} K=${grid.size} G=${G} C=${C}`);
    }
  }
}

Deno.test("spline op on cpu: parity with the stock-op reference (forward, dx, dcoef, dalpha)", async () => {
  await useBackend("cpu");
  await checkParity("cpu");
});

Deno.test("spline op on wasm: parity with the stock-op reference (forward, dx, dcoef, dalpha)", async () => {
  await useBackend("wasm");
  await checkParity("wasm");
});

Deno.test({
  name: "spline op on webgpu: parity with the reference, atomic and two-pass coefficient gradient",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await useBackend("webgpu");
    const saved = getCoefGradMethod();
    try {
      for (const method of ["twopass", "atomic"] as CoefGradMethod[]) {
        setCoefGradMethod(method);
        await checkParity(`webgpu/${method}`);
      }
    } finally {
      setCoefGradMethod(saved);
    }
    assert.throws(() => setCoefGradMethod("bogus" as CoefGradMethod), /unknown/);
  },
});

Deno.test({
  name: "spline op on webgpu: K above the two-pass limit falls back to atomics, still exact",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const grid = { size: TWOPASS_MAX_K + 45, range: 3 };
    const cs = randomCase(77, 2, 60, 3, grid);
    await useBackend("cpu");
    const ref = await evaluate(cs, linearSplineReference);
    await useBackend("webgpu");
    setCoefGradMethod("twopass");
    const got = await evaluate(cs);
    for (let k = 0; k < 4; k++) assertClose(got[k], ref[k], 1e-5, `K=${grid.size} ${NAMES[k]}`);
  },
});

Deno.test({
  name: "spline op on webgpu: more than 65535 workgroups (2-D dispatch) matches the cpu kernels",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // 65600 x 64 elements = 65600 workgroups of 64 threads for the elementwise programs
    const cs = randomCase(31, 1, 65600, 64, { size: 51, range: 0.1 }, 3);
    await useBackend("cpu");
    const want = await evaluate(cs);
    await useBackend("webgpu");
    const saved = getCoefGradMethod();
    try {
      for (const method of ["twopass", "atomic"] as CoefGradMethod[]) {
        setCoefGradMethod(method);
        const got = await evaluate(cs);
        for (let k = 0; k < 4; k++) assertClose(got[k], want[k], 1e-5, `${method} ${NAMES[k]}`);
      }
    } finally {
      setCoefGradMethod(saved);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Gradients against float64 central finite differences of the spec transcription.

Deno.test({
  name: "spline op: gradients match float64 central finite differences (cpu, wasm, webgpu)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    for (const grid of [{ size: 5, range: 0.5 }, { size: 6, range: 0.4 }]) {
      const cs = randomCase(7 + grid.size, 2, 3, 2, grid, 3, 0.05);
      // loss L = Σ dy · y; dL/dθ by central differences in float64
      const loss = (x: Arr, c: Arr, a: Arr) => {
        const y = forwardF64(cs, x, c, a);
        let s = 0;
        for (let i = 0; i < y.length; i++) s += cs.dy[i] * y[i];
        return s;
      };
      const h = 1e-6;
      const fd = (which: 0 | 1 | 2): Float64Array => {
        const base = [cs.x, cs.coef, cs.alpha].map((t) => Float64Array.from(t));
        const out = new Float64Array(base[which].length);
        for (let i = 0; i < out.length; i++) {
          const plus = base.map((t) => t.slice());
          const minus = base.map((t) => t.slice());
          plus[which][i] += h;
          minus[which][i] -= h;
          out[i] = (loss(plus[0], plus[1], plus[2]) - loss(minus[0], minus[1], minus[2])) / (2 * h);
        }
        return out;
      };
      const want = [fd(0), fd(1), fd(2)];
      for (const backend of BACKENDS) {
        await useBackend(backend);
        for (
          const fn of backend === "cpu" ? [linearSpline, linearSplineReference] : [linearSpline]
        ) {
          const got = await evaluate(cs, fn);
          for (let k = 0; k < 3; k++) {
            assertClose(got[k + 1], want[k], 1e-4, `${backend} FD ${NAMES[k + 1]} K=${grid.size}`);
          }
        }
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------
// Layouts: an ensemble (G > 1) equals G separate calls; NHWC reshaped to [1, N*H*W, C].

for (const backend of BACKENDS) {
  Deno.test({
    name: `spline op on ${backend}: ensemble layout (G > 1) equals separate models`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await useBackend(backend);
      const G = 3, N = 40, C = 4, grid = { size: 11, range: 1 };
      const K = grid.size;
      const cs = randomCase(55, G, N, C, grid, 4);
      const all = await evaluate(cs);
      for (let g = 0; g < G; g++) {
        const one: Case = {
          G: 1,
          N,
          C,
          grid,
          x: cs.x.slice(g * N * C, (g + 1) * N * C),
          coef: cs.coef.slice(g * C * K, (g + 1) * C * K),
          alpha: cs.alpha.slice(g * C, (g + 1) * C),
          dy: cs.dy.slice(g * N * C, (g + 1) * N * C),
        };
        const sep = await evaluate(one);
        const part = [
          all[0].slice(g * N * C, (g + 1) * N * C),
          all[1].slice(g * N * C, (g + 1) * N * C),
          all[2].slice(g * C * K, (g + 1) * C * K),
          all[3].slice(g * C, (g + 1) * C),
        ];
        for (let k = 0; k < 4; k++) assertClose(part[k], sep[k], 1e-6, `model ${g} ${NAMES[k]}`);
      }
    },
  });

  Deno.test({
    name: `spline op on ${backend}: NHWC activations reshaped to [1, N*H*W, C]`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await useBackend(backend);
      const [B, H, W, C] = [2, 5, 6, 3];
      const grid = { size: 21, range: 0.8 };
      const K = grid.size;
      const r = rng(9);
      const xs = Float32Array.from({ length: B * H * W * C }, () => (2 * r() - 1) * 2);
      const coef = Float32Array.from({ length: C * K }, () => 2 * r() - 1);
      const alpha = Float32Array.from([0.7, 1, 1.6]);
      const x4 = tf.tensor4d(xs, [B, H, W, C]);
      const y4 = tf.reshape(
        linearSpline(
          tf.reshape(x4, [1, B * H * W, C]) as Tensor3D,
          tf.tensor2d(coef, [C, K]),
          tf.tensor1d(alpha),
          grid,
        ),
        [B, H, W, C],
      );
      assert.deepEqual(y4.shape, [B, H, W, C]);
      const y = await y4.data();
      const yv = (await y4.array()) as number[][][][];
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          for (let w = 0; w < W; w++) {
            for (let c = 0; c < C; c++) {
              const i = ((b * H + h) * W + w) * C + c;
              const want = splineF64(xs[i], coef.subarray(c * K, c * K + K), alpha[c], grid);
              assert.ok(Math.abs(y[i] - want) <= 1e-5 * (1 + Math.abs(want)), `NHWC ${i}`);
              assert.equal(yv[b][h][w][c], y[i]);
            }
          }
        }
      }
      tf.dispose([x4, y4]);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Memory and argument checks.

for (const backend of BACKENDS) {
  Deno.test({
    name: `spline op on ${backend}: gradients leak no tensors; bad shapes are rejected`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await useBackend(backend);
      const cs = randomCase(3, 2, 30, 5, { size: 7, range: 1 });
      await evaluate(cs); // warm up (programs, backend state)
      const before = tf.memory().numTensors;
      await evaluate(cs);
      assert.equal(tf.memory().numTensors, before);
      // only x differentiated: the unused dcoef and dalpha are disposed too
      const x = tf.tensor3d(cs.x, [2, 30, 5]);
      const coef = tf.tensor2d(cs.coef, [10, 7]);
      const alpha = tf.tensor1d(cs.alpha);
      const n0 = tf.memory().numTensors;
      const dx = tf.grad((a: Tensor) => linearSpline(a as Tensor3D, coef, alpha, cs.grid))(x);
      await dx.data();
      assert.equal(tf.memory().numTensors, n0 + 1);
      assert.throws(
        () => linearSpline(x, coef, alpha, { size: 6, range: 1 }),
        /shapes do not match/,
      );
      const wrong = tf.tensor2d(cs.coef, [5, 14]);
      assert.throws(() => linearSpline(x, wrong, alpha, cs.grid), /shapes do not match/);
      assert.throws(
        () => linearSpline(x, coef, alpha, { size: 7, range: 0 }),
        /range must be positive/,
      );
      tf.dispose([x, coef, alpha, dx, wrong]);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The wasm kernels run a SIMD module on the backend's own heap (core/kernels/native/spline.c).

Deno.test({
  name: "spline op on wasm: NaN and ±Infinity inputs give what the cpu kernels give",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cs = randomCase(41, 1, 6, 9, { size: 21, range: 0.15 });
    const special = [NaN, Infinity, -Infinity, 1e30, -1e30, 3.4e38];
    for (let n = 0; n < 6; n++) cs.x[n * 9 + (n % 9)] = special[n]; // vector and tail lanes
    for (let n = 0; n < 6; n++) cs.x[n * 9 + 8] = special[(n + 1) % 6];
    await useBackend("cpu");
    const want = await evaluate(cs);
    await useBackend("wasm");
    const got = await evaluate(cs);
    for (const k of [0, 1]) { // y and dx; dcoef and dalpha are NaN/Inf sums on both
      for (let i = 0; i < cs.x.length; i++) {
        const [a, b] = [got[k][i], want[k][i]];
        const same = Number.isNaN(b)
          ? Number.isNaN(a)
          : Math.abs(a - b) <= 1e-5 * (Math.abs(b) + 1);
        assert.ok(same || a === b, `${NAMES[k]}[${i}] (x=${cs.x[i]}): wasm ${a}, cpu ${b}`);
      }
    }
  },
});

Deno.test({
  name: "spline op on wasm: still exact after the backend's heap grows under the module",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cs = randomCase(43, 2, 500, 13, { size: 21, range: 0.15 });
    await useBackend("cpu");
    const want = await evaluate(cs);
    await useBackend("wasm");
    const before = await evaluate(cs); // instantiates the module on the current heap
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
    const size0 = heap().buffer.byteLength;
    const big = tf.zeros([size0 / 2]); // 2x the heap in float32: the heap must grow
    assert.ok(heap().buffer.byteLength > size0, "the heap did not grow");
    const after = await evaluate(cs); // same module instance, grown memory
    big.dispose();
    for (let k = 0; k < 4; k++) {
      assertClose(before[k], want[k], 1e-5, `before ${NAMES[k]}`);
      assertClose(after[k], want[k], 1e-5, `after ${NAMES[k]}`);
    }
  },
});

Deno.test({
  name: "spline op on wasm: repeated calls keep the tensor count and the heap flat (scratch freed)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await useBackend("wasm");
    // 4096 channels x K 101: each backward call uses 6.6 MB of scratch on the heap
    const cs = randomCase(45, 1, 8, 4096, { size: 101, range: 1 });
    const heapBytes = () =>
      (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    for (let i = 0; i < 3; i++) await evaluate(cs); // warm up
    const tensors = tf.memory().numTensors, heap = heapBytes();
    for (let i = 0; i < 40; i++) await evaluate(cs); // a leak would add 260 MB
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(heapBytes(), heap);
  },
});

Deno.test({
  name: "spline op on wasm: SIMD kernels equal the cpu kernels on 24 random shapes (G, N, C, K)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = rng(2026);
    const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    for (let t = 0; t < 24; t++) {
      // C from 1 to 13 covers every vector/tail split of the 4-lane loop
      const [G, N, C, K] = [pick(1, 4), pick(1, 60), pick(1, 13), pick(2, 60)];
      const grid = { size: K, range: 0.05 + r() };
      const cs = randomCase(500 + t, G, N, C, grid, 20);
      await useBackend("cpu");
      const want = await evaluate(cs);
      await useBackend("wasm");
      const got = await evaluate(cs);
      for (let k = 0; k < 4; k++) {
        assertClose(got[k], want[k], 1e-5, `G=${G} N=${N} C=${C} K=${K} ${NAMES[k]}`);
      }
    }
  },
});
