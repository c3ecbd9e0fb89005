/**
 * The replacement / missing kernels of `core/kernels/missing_{cpu,wasm}.ts` against tiny
 * brute-force float64 references: UnsortedSegmentSum, Conv2DBackpropFilter and
 * Conv2DBackpropInput on cpu and wasm, called directly and through `tf.grads` of a conv.
 */
import assert from "node:assert/strict";
import type { Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { initBackend } from "../core/backend/backend.ts";
import { MATMUL_FIX_MIN_MACS } from "../core/kernels/wasm/missing.ts";
import { CONV_CASES, convGradsRef, geometry, maxAbsDiff, rand, refMatMul } from "./brute_force.ts";

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

  Deno.test(`UnsortedSegmentSum ${backend}: 1e6 values into 10 100 segments`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    const n = 1_000_000, numSegments = 10_100;
    const x = tf.ones([n]);
    const ids = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % numSegments), "int32");
    // Correctness only: speed belongs in the benchmarks.
    const out = tf.unsortedSegmentSum(x, ids, numSegments);
    const v = await out.data();
    assert.equal(v[0], Math.ceil(n / numSegments));
    assert.equal(v[numSegments - 1], Math.floor(n / numSegments));
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

Deno.test("Sum wasm over leading axes (one pass) and other axes (stock) matches float64", async () => {
  await initBackend("wasm");
  const shape = [3, 4, 5, 6];
  const xv = rand(360, 91);
  const x = tf.tensor4d(xv, shape as [number, number, number, number]);
  const cases: Array<[number | number[], boolean]> = [
    [0, false],
    [[0, 1], false],
    [[1, 0, 2], false],
    [[-4, -3], true],
    [1, false], // not leading: the stock kernel
    [[0, 2], false],
    [[0, 1, 2, 3], false],
  ];
  for (const [axis, keepDims] of cases) {
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a + 4) % 4);
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const want = new Float64Array(outShape.reduce((p, q) => p * q, 1));
    for (let i = 0; i < 360; i++) {
      let r = i, o = 0, mul = 1;
      const idx = [0, 0, 0, 0];
      for (let d = 3; d >= 0; d--) {
        idx[d] = r % shape[d];
        r = Math.floor(r / shape[d]);
      }
      for (let d = 3; d >= 0; d--) {
        o += (axes.includes(d) ? 0 : idx[d]) * mul;
        mul *= outShape[d];
      }
      want[o] += xv[i];
    }
    const y = tf.sum(x, axis, keepDims);
    const wantShape = keepDims ? outShape : shape.filter((_, i) => !axes.includes(i));
    assert.deepEqual(y.shape, wantShape, `axis ${axis}`);
    assert.ok(maxAbsDiff(await y.data(), want) < 1e-4, `axis ${axis} keepDims ${keepDims}`);
    y.dispose();
  }
  x.dispose();
});

Deno.test("Identity wasm shares memory (no copy), reference-counted", async () => {
  await initBackend("wasm");
  const be = tf.backend() as unknown as { getMemoryOffset(id: object): number };
  const x = tf.tensor1d([1, 2, 3, 4]);
  const n0 = tf.memory().numTensors;
  const y = tf.clone(x);
  assert.equal(be.getMemoryOffset(y.dataId), be.getMemoryOffset(x.dataId));
  assert.equal(tf.memory().numTensors, n0 + 1);
  x.dispose(); // y still holds the memory
  const z = tf.ones([4]); // a new allocation must not reuse y's memory
  assert.deepEqual(Array.from(await tf.add(y, z).data()), [2, 3, 4, 5]);
  tf.dispose([y, z]);
  // strings still copy through the stock kernel
  const s = tf.tensor1d(["a", "b"], "string");
  const s2 = tf.clone(s);
  assert.deepEqual(await s2.data(), ["a", "b"]);
  tf.dispose([s, s2]);
});
