/**
 * The replacement / missing kernels of `core/kernels/missing_{cpu,wasm}.ts` against tiny
 * brute-force float64 references: UnsortedSegmentSum, Conv2DBackpropFilter and
 * Conv2DBackpropInput on cpu and wasm, called directly and through `tf.grads` of a conv.
 */
import assert from "node:assert/strict";
import type { Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../core/tf.ts";
import { initBackend } from "../core/backend.ts";
import { openBlas } from "../core/runtime.ts";
import { blasBatchMatMul } from "../core/kernels/missing_cpu.ts";
import { MATMUL_FIX_MIN_MACS } from "../core/kernels/missing_wasm.ts";

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [
  number,
  number,
]];

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Padding (top, left) and output size exactly as TensorFlow defines them. */
function geometry(H: number, W: number, fh: number, fw: number, s: [number, number], pad: Pad) {
  if (pad === "valid") {
    return {
      OH: Math.ceil((H - fh + 1) / s[0]),
      OW: Math.ceil((W - fw + 1) / s[1]),
      top: 0,
      left: 0,
    };
  }
  if (pad === "same") {
    const OH = Math.ceil(H / s[0]), OW = Math.ceil(W / s[1]);
    const ph = Math.max(0, (OH - 1) * s[0] + fh - H), pw = Math.max(0, (OW - 1) * s[1] + fw - W);
    return { OH, OW, top: Math.floor(ph / 2), left: Math.floor(pw / 2) };
  }
  if (typeof pad === "number") {
    return {
      OH: Math.floor((H + 2 * pad - fh) / s[0]) + 1,
      OW: Math.floor((W + 2 * pad - fw) / s[1]) + 1,
      top: pad,
      left: pad,
    };
  }
  const [, [t, b], [l, r]] = pad;
  return {
    OH: Math.floor((H + t + b - fh) / s[0]) + 1,
    OW: Math.floor((W + l + r - fw) / s[1]) + 1,
    top: t,
    left: l,
  };
}

interface ConvCase {
  x: number[]; // N H W Cin
  f: number[]; // fh fw Cin Cout
  s: [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 5, 6, 3], f: [3, 3, 3, 4], s: [1, 1], pad: "same" },
  { x: [1, 7, 7, 2], f: [3, 3, 2, 3], s: [2, 2], pad: "same" },
  { x: [2, 6, 5, 2], f: [2, 3, 2, 2], s: [1, 2], pad: "valid" },
  { x: [1, 8, 8, 3], f: [4, 4, 3, 2], s: [2, 2], pad: 1 },
  { x: [2, 5, 5, 1], f: [3, 2, 1, 3], s: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 9, 7, 2], f: [3, 3, 2, 2], s: [3, 2], pad: "same" },
];

/** Brute force dW and dx of y = conv2d(x, w) for upstream dy, float64. */
function convGradsRef(c: ConvCase, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const [N, H, W, Cin] = c.x, [fh, fw, , Cout] = c.f;
  const { OH, OW, top, left } = geometry(H, W, fh, fw, c.s, c.pad);
  const dw = new Float64Array(w.length), dx = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let ky = 0; ky < fh; ky++) {
          for (let kx = 0; kx < fw; kx++) {
            const iy = oy * c.s[0] - top + ky, ix = ox * c.s[1] - left + kx;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            for (let ci = 0; ci < Cin; ci++) {
              for (let co = 0; co < Cout; co++) {
                const g = dy[((n * OH + oy) * OW + ox) * Cout + co];
                const xi = ((n * H + iy) * W + ix) * Cin + ci;
                const wi = ((ky * fw + kx) * Cin + ci) * Cout + co;
                dw[wi] += x[xi] * g;
                dx[xi] += w[wi] * g;
              }
            }
          }
        }
      }
    }
  }
  return { dw, dx, OH, OW };
}

async function run(
  kernel: string,
  inputs: Record<string, Tensor>,
  attrs: object,
): Promise<Float32Array> {
  const out = tf.engine().runKernel(kernel, inputs, attrs as Record<string, never>) as Tensor;
  const v = (await out.data()) as Float32Array;
  out.dispose();
  return v;
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`UnsortedSegmentSum ${backend}: matches a brute-force sum, drops out-of-range ids`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    const n = 57, inner = 3, numSegments = 7;
    const xv = rand(n * inner, 1);
    const ids = Int32Array.from({ length: n }, (_, i) => ((i * 5) % (numSegments + 2)) - 1); // -1..7
    const x = tf.tensor2d(xv, [n, inner]);
    const idT = tf.tensor1d(ids, "int32");
    const out = tf.unsortedSegmentSum(x, idT, numSegments);
    assert.deepEqual(out.shape, [numSegments, inner]);
    const ref = new Float64Array(numSegments * inner);
    for (let i = 0; i < n; i++) {
      if (ids[i] < 0 || ids[i] >= numSegments) continue;
      for (let j = 0; j < inner; j++) ref[ids[i] * inner + j] += xv[i * inner + j];
    }
    assert.ok(maxAbsDiff(await out.data(), ref) < 1e-5);
    // rank-1 values, int32 dtype
    const xi = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i), "int32");
    const oi = tf.unsortedSegmentSum(xi, idT, numSegments);
    assert.equal(oi.dtype, "int32");
    const refI = new Array(numSegments).fill(0);
    for (let i = 0; i < n; i++) if (ids[i] >= 0 && ids[i] < numSegments) refI[ids[i]] += i;
    assert.deepEqual(Array.from(await oi.data()), refI);
    tf.dispose([x, idT, out, xi, oi]);
  });

  Deno.test(`UnsortedSegmentSum ${backend}: O(N) — 1e6 values into 10 100 segments`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    const n = 1_000_000, numSegments = 10_100;
    const x = tf.ones([n]);
    const ids = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % numSegments), "int32");
    const t0 = performance.now();
    const out = tf.unsortedSegmentSum(x, ids, numSegments);
    const v = await out.data();
    const ms = performance.now() - t0;
    assert.equal(v[0], Math.ceil(n / numSegments));
    assert.equal(v[numSegments - 1], Math.floor(n / numSegments));
    assert.ok(ms < 2000, `took ${ms} ms (the stock cpu kernel would take minutes)`);
    tf.dispose([x, ids, out]);
  });

  Deno.test(`Conv2DBackpropFilter/Input ${backend}: match brute force (stride, same/valid/explicit)`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    for (const [i, c] of CONV_CASES.entries()) {
      const xv = rand(c.x.reduce((a, b) => a * b), 10 + i);
      const wv = rand(c.f.reduce((a, b) => a * b), 20 + i);
      const [N, H, W] = c.x;
      const { OH, OW } = geometry(H, W, c.f[0], c.f[1], c.s, c.pad);
      const dyv = rand(N * OH * OW * c.f[3], 30 + i);
      const ref = convGradsRef(c, xv, wv, dyv);
      const x = tf.tensor(xv, c.x),
        w = tf.tensor(wv, c.f),
        dy = tf.tensor(dyv, [N, OH, OW, c.f[3]]);
      // the forward output shape agrees with our geometry
      const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
      assert.deepEqual(y.shape, [N, OH, OW, c.f[3]], `case ${i} forward shape`);
      const common = { strides: c.s, pad: c.pad, dataFormat: "NHWC" };
      const dw = await run("Conv2DBackpropFilter", { x, dy }, { ...common, filterShape: c.f });
      assert.ok(maxAbsDiff(dw, ref.dw) < 1e-4, `case ${i} dW: ${maxAbsDiff(dw, ref.dw)}`);
      const dx = await run("Conv2DBackpropInput", { dy, filter: w }, {
        ...common,
        inputShape: c.x,
      });
      assert.ok(maxAbsDiff(dx, ref.dx) < 1e-4, `case ${i} dx: ${maxAbsDiff(dx, ref.dx)}`);
      tf.dispose([x, w, dy, y]);
    }
  });

  Deno.test(`conv2d ${backend}: tf.grads goes through the replacement kernels`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    const c = CONV_CASES[1];
    const xv = rand(c.x.reduce((a, b) => a * b), 7), wv = rand(c.f.reduce((a, b) => a * b), 8);
    const [N, H, W] = c.x;
    const { OH, OW } = geometry(H, W, c.f[0], c.f[1], c.s, c.pad);
    const dyv = rand(N * OH * OW * c.f[3], 9);
    const ref = convGradsRef(c, xv, wv, dyv);
    const x = tf.tensor(xv, c.x), w = tf.tensor(wv, c.f), dy = tf.tensor(dyv, [N, OH, OW, c.f[3]]);
    const [gx, gw] = tf.grads((a: Tensor, b: Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad)
    )([x, w], dy);
    assert.ok(maxAbsDiff(await gx.data(), ref.dx) < 1e-4);
    assert.ok(maxAbsDiff(await gw.data(), ref.dw) < 1e-4);
    tf.dispose([x, w, dy, gx, gw]);
  });

  Deno.test(`Conv2DBackpropFilter ${backend}: no leaked backend memory`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    const x = tf.randomNormal([2, 8, 8, 3]), dy = tf.randomNormal([2, 8, 8, 4]);
    const beData = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const out = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      strides: 1,
      pad: "same",
      dataFormat: "NHWC",
      filterShape: [3, 3, 3, 4],
    } as unknown as Record<string, never>) as TensorInfo as Tensor;
    assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), beData + 1);
    tf.dispose([x, dy, out]);
  });
}

/** Float64 batched product with TF.js's broadcasting of a batch of 1. */
function refMatMul(
  a: Float32Array,
  sa: number[],
  b: Float32Array,
  sb: number[],
  tA: boolean,
  tB: boolean,
): Float64Array {
  const [ra, ca] = sa.slice(-2), [rb, cb] = sb.slice(-2);
  const M = tA ? ca : ra, K = tA ? ra : ca, N = tB ? rb : cb;
  const ba = sa.length === 3 ? sa[0] : 1, bb = sb.length === 3 ? sb[0] : 1;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * M * N);
  for (let i = 0; i < batch; i++) {
    const ao = (ba === 1 ? 0 : i) * ra * ca, bo = (bb === 1 ? 0 : i) * rb * cb;
    for (let r = 0; r < M; r++) {
      for (let c = 0; c < N; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          s += a[ao + (tA ? k * ca + r : r * ca + k)] * b[bo + (tB ? c * cb + k : k * cb + c)];
        }
        out[(i * M + r) * N + c] = s;
      }
    }
  }
  return out;
}

Deno.test({
  name: "BatchMatMul cpu through OpenBLAS matches float64 (transposes, broadcast batch)",
  ignore: openBlas() === null,
  async fn() {
    await initBackend("cpu");
    const blas = openBlas()!;
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[40, 30], [30, 20], false, false],
      [[30, 40], [30, 20], true, false],
      [[40, 30], [20, 30], false, true],
      [[30, 40], [20, 30], true, true],
      [[3, 20, 24], [3, 24, 18], false, false],
      [[3, 20, 24], [24, 18], false, false],
      [[1, 20, 24], [4, 18, 24], false, true],
      [[5, 6], [6, 7], false, false], // below the threshold: stock kernel
    ];
    for (const [i, [sa, sb, tA, tB]] of cases.entries()) {
      const av = rand(sa.reduce((p, q) => p * q), 60 + i);
      const bv = rand(sb.reduce((p, q) => p * q), 70 + i);
      const a = tf.tensor(av, sa), b = tf.tensor(bv, sb);
      const ref = refMatMul(av, sa, bv, sb, tA, tB);
      const y = tf.matMul(a, b, tA, tB);
      assert.ok(maxAbsDiff(await y.data(), ref) < 1e-4, `case ${i} via tf.matMul`);
      // the BLAS path itself (a stock fallback that throws proves it was not taken)
      const [M, K] = tA ? sa.slice(-2).reverse() : sa.slice(-2);
      const N = tB ? sb.at(-2)! : sb.at(-1)!;
      if (M * N * K >= 16 ** 3) {
        const k = blasBatchMatMul(blas, () => {
          throw new Error("stock path taken");
        });
        const info = k({
          inputs: { a, b },
          backend: tf.backend(),
          attrs: { transposeA: tA, transposeB: tB },
        }) as TensorInfo;
        const t = tf.engine().makeTensorFromTensorInfo(info);
        assert.ok(maxAbsDiff(await t.data(), ref) < 1e-4, `case ${i} BLAS kernel`);
        t.dispose();
      }
      tf.dispose([a, b, y]);
    }
  },
});

Deno.test("BatchMatMul wasm (transpose flags, split batches) matches float64", async () => {
  await initBackend("wasm");
  const cases: Array<[number[], number[], boolean, boolean]> = [
    [[40, 50], [50, 30], false, false],
    [[50, 40], [50, 30], true, false],
    [[40, 50], [30, 50], false, true],
    [[50, 40], [30, 50], true, true],
    [[3, 64, 64], [3, 64, 64], false, false], // split into 3 products
    [[3, 64, 48], [3, 56, 64], true, true], // split, both transposed
    [[2, 64, 64], [64, 64], false, true], // broadcast b: stock batching, transposed b
    [[3, 8, 9], [3, 7, 9], false, true], // small: stock kernel
  ];
  for (const [i, [sa, sb, tA, tB]] of cases.entries()) {
    const av = rand(sa.reduce((p, q) => p * q), 80 + i);
    const bv = rand(sb.reduce((p, q) => p * q), 90 + i);
    const a = tf.tensor(av, sa), b = tf.tensor(bv, sb);
    const y = tf.matMul(a, b, tA, tB);
    const ref = refMatMul(av, sa, bv, sb, tA, tB);
    assert.ok(maxAbsDiff(await y.data(), ref) < 1e-4, `case ${i} [${sa}]·[${sb}] ${tA} ${tB}`);
    tf.dispose([a, b, y]);
  }
  assert.ok(MATMUL_FIX_MIN_MACS <= 40 * 50 * 30);
});
