/**
 * The native-BLAS kernels (core/kernels/blas_kernels.ts) on both CPU backends, called directly
 * with a fallback that throws (so the BLAS route itself is what is checked): convolutions
 * forward, input and filter gradients against a float64 brute force over strides and paddings,
 * a 1×1 filter (no im2col), a batch that spans several im2col chunks, products with transposes;
 * unhandled layouts go to the fallback; and through `tf` ops once registered. Skipped where no
 * OpenBLAS opens (CI installs `libopenblas0-pthread`). The WebAssembly im2col against the JS one.
 */
import assert from "node:assert/strict";
import type { KernelFunc, Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { initBackend } from "../core/backend/backend.ts";
import { openBlas } from "../core/backend/openblas_ffi.ts";
import { type BackendIO, cpuIO, wasmIO } from "../core/kernels/backend_io.ts";
import {
  blasBatchMatMul,
  blasConv2D,
  blasConv2DBackpropFilter,
  blasConv2DBackpropInput,
  blasRoute,
  IM2COL_CHUNK_BYTES,
  im2colRows,
} from "../core/kernels/blas/blas_kernels.ts";
import { im2colWasm } from "../core/kernels/blas/im2col_wasm.ts";
import {
  CONV_CASES,
  type ConvCase,
  convGradsRef,
  geometry,
  maxAbsDiff,
  rand,
  refMatMul,
} from "./brute_force.ts";

const BLAS = openBlas();
const IO: Record<string, BackendIO> = { cpu: cpuIO, wasm: wasmIO };

const mustNotFallBack: KernelFunc = () => {
  throw new Error("the fallback kernel ran instead of BLAS");
};

/** Run a kernel function on the current backend and read its output. */
async function call(k: KernelFunc, inputs: Record<string, Tensor>, attrs: object) {
  const info = k({
    inputs: inputs as unknown as Record<string, TensorInfo>,
    backend: tf.backend(),
    attrs: attrs as Record<string, never>,
  }) as TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const v = await t.data();
  t.dispose();
  return { shape: info.shape, values: v as Float32Array };
}

const CASES: ConvCase[] = [
  ...CONV_CASES,
  { x: [3, 6, 5, 4], f: [1, 1, 4, 5], s: [1, 1], pad: "valid" }, // pointwise: x is the patch matrix
  { x: [2, 6, 6, 3], f: [1, 1, 3, 2], s: [2, 2], pad: "valid" }, // 1×1 strided: im2col
  // 2.25 MiB of patches per image: more than one chunk of IM2COL_CHUNK_BYTES
  { x: [16, 24, 24, 128], f: [3, 3, 128, 2], s: [1, 1], pad: "same" },
];

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test({
    name: `BLAS conv2d on ${backend}: forward, input and filter gradients match float64`,
    ignore: BLAS === null,
    async fn() {
      await initBackend(backend);
      const io = IO[backend];
      const big = CASES.at(-1)!;
      const perImage = 4 * 9 * big.x[3] * big.x[1] * big.x[2];
      assert.ok(big.x[0] * perImage > IM2COL_CHUNK_BYTES, "the last case must span chunks");
      for (const [i, c] of CASES.entries()) {
        const xv = rand(c.x.reduce((p, q) => p * q), 10 + i);
        const wv = rand(c.f.reduce((p, q) => p * q), 20 + i);
        const [N, H, W, Cin] = c.x, Cout = c.f[3];
        const { OH, OW } = geometry(H, W, c.f[0], c.f[1], c.s, c.pad);
        const dyv = rand(N * OH * OW * Cout, 30 + i);
        const ref = convGradsRef(c, xv, wv, dyv);
        const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
        const w = tf.tensor4d(wv, c.f as [number, number, number, number]);
        const dy = tf.tensor4d(dyv, [N, ref.OH, ref.OW, Cout]);
        const conv = { strides: c.s, pad: c.pad, dataFormat: "NHWC", dilations: 1 };
        const tol = 1e-4 * Math.sqrt(c.f[0] * c.f[1] * Cin * Math.max(1, N));
        const y = await call(blasConv2D(io, BLAS!, mustNotFallBack, 0), { x, filter: w }, conv);
        assert.deepEqual(y.shape, [N, ref.OH, ref.OW, Cout]);
        assert.ok(maxAbsDiff(y.values, ref.y) < tol, `case ${i} forward`);
        const dx = await call(
          blasConv2DBackpropInput(io, BLAS!, mustNotFallBack, 0),
          { dy, filter: w },
          { ...conv, inputShape: c.x },
        );
        assert.ok(maxAbsDiff(dx.values, ref.dx) < tol, `case ${i} input gradient`);
        const dw = await call(
          blasConv2DBackpropFilter(io, BLAS!, mustNotFallBack, 0),
          { x, dy },
          { ...conv, filterShape: c.f },
        );
        assert.ok(maxAbsDiff(dw.values, ref.dw) < tol * 10, `case ${i} filter gradient`);
        tf.dispose([x, w, dy]);
      }
    },
  });

  Deno.test({
    name: `BLAS kernels on ${backend}: NCHW, dilations and small products go to the fallback`,
    ignore: BLAS === null,
    async fn() {
      await initBackend(backend);
      const io = IO[backend];
      let fell = 0;
      const fallback: KernelFunc = ({ backend: be }) => {
        fell++;
        return io.write(be, [1], (o) => o.fill(7));
      };
      const x = tf.zeros([1, 4, 4, 2]), w = tf.zeros([3, 3, 2, 2]);
      const conv = blasConv2D(io, BLAS!, fallback, 0);
      await call(conv, { x, filter: w }, { strides: 1, pad: "same", dataFormat: "NCHW" });
      await call(conv, { x, filter: w }, {
        strides: 1,
        pad: "same",
        dataFormat: "NHWC",
        dilations: 2,
      });
      await call(blasConv2D(io, BLAS!, fallback, 1e9), { x, filter: w }, {
        strides: 1,
        pad: "same",
        dataFormat: "NHWC",
      });
      const a = tf.ones([8, 8]);
      await call(blasBatchMatMul(io, BLAS!, fallback, 1e9), { a, b: a }, {
        transposeA: false,
        transposeB: false,
      });
      assert.equal(fell, 4);
      // thin products (inner dimension or width below minSide) stay off BLAS, the 1d test pass's
      // [10000, 10] · [10, 10]ᵀ among them; a wide one of the same size goes through it
      const thin = blasBatchMatMul(io, BLAS!, fallback, 0, 32);
      const tall = tf.ones([2, 10000, 10]), small = tf.ones([2, 10, 10]);
      await call(thin, { a: tall, b: small }, { transposeA: false, transposeB: true });
      assert.equal(fell, 5);
      const wide = tf.ones([2, 64, 40]), wideB = tf.ones([2, 40, 32]);
      const out = await call(thin, { a: wide, b: wideB }, { transposeA: false, transposeB: false });
      assert.equal(fell, 5);
      assert.deepEqual(out.shape, [2, 64, 32]);
      assert.equal(out.values[0], 40);
      tf.dispose([x, w, a, tall, small, wide, wideB]);
    },
  });

  Deno.test({
    name: `BLAS BatchMatMul on ${backend}: transposes and broadcast batches match float64`,
    ignore: BLAS === null,
    async fn() {
      await initBackend(backend);
      const k = blasBatchMatMul(IO[backend], BLAS!, mustNotFallBack, 0);
      const cases: Array<[number[], number[], boolean, boolean]> = [
        [[40, 30], [30, 20], false, false],
        [[30, 40], [30, 20], true, false],
        [[40, 30], [20, 30], false, true],
        [[30, 40], [20, 30], true, true],
        [[3, 20, 24], [3, 24, 18], false, false],
        [[3, 20, 24], [24, 18], false, false],
        [[1, 20, 24], [4, 18, 24], false, true],
        [[2, 24, 20], [2, 18, 24], true, true],
      ];
      for (const [i, [sa, sb, tA, tB]] of cases.entries()) {
        const av = rand(sa.reduce((p, q) => p * q), 60 + i);
        const bv = rand(sb.reduce((p, q) => p * q), 70 + i);
        const a = tf.tensor(av, sa), b = tf.tensor(bv, sb);
        const want = refMatMul(av, sa, bv, sb, tA, tB);
        const got = await call(k, { a, b }, { transposeA: tA, transposeB: tB });
        assert.ok(maxAbsDiff(got.values, want) < 1e-4, `case ${i}`);
        tf.dispose([a, b]);
      }
    },
  });

  Deno.test({
    name: `BLAS kernels on ${backend}: registered, tf.conv2d and its gradients go through them`,
    ignore: BLAS === null,
    async fn() {
      const info = await initBackend(backend);
      assert.notEqual(blasRoute(backend), null);
      assert.match(info.description, /OpenBLAS matMul and conv2d with \d+ threads \(\w+ kernels\)/);
      assert.notEqual(blasRoute(backend)!.core, "unknown");
      // above the wasm threshold (64³ multiply-adds)
      const c: ConvCase = { x: [4, 12, 12, 16], f: [3, 3, 16, 16], s: [1, 1], pad: "same" };
      const xv = rand(4 * 12 * 12 * 16, 5), wv = rand(9 * 16 * 16, 6), dyv = rand(4 * 144 * 16, 7);
      const ref = convGradsRef(c, xv, wv, dyv);
      const x = tf.tensor4d(xv, [4, 12, 12, 16]), w = tf.tensor4d(wv, [3, 3, 16, 16]);
      const dy = tf.tensor4d(dyv, [4, 12, 12, 16]);
      const f = (a: Tensor, b: Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same");
      const y = f(x, w);
      const [gx, gw] = tf.grads(f)([x, w], dy);
      assert.ok(maxAbsDiff(await y.data(), ref.y) < 1e-3);
      assert.ok(maxAbsDiff(await gx.data(), ref.dx) < 1e-3);
      assert.ok(maxAbsDiff(await gw.data(), ref.dw) < 1e-2);
      tf.dispose([x, w, dy, y, gx, gw]);
    },
  });
}

Deno.test("the WebAssembly im2col builds the JS loop's patch matrix bit for bit (paddings, strides, chunks)", () => {
  // Runs without OpenBLAS: it is the patch matrix the BLAS convolutions read.
  for (const c of CONV_CASES) {
    const [N, H, W, Cin] = c.x, [fh, fw, , Cout] = c.f;
    const { OH, OW, top, left } = geometry(H, W, fh, fw, c.s, c.pad);
    const g = { N, H, W, Cin, OH, OW, Cout, fh, fw, sh: c.s[0], sw: c.s[1], top, left };
    const x = rand(N * H * W * Cin, 5);
    const K = fh * fw * Cin;
    for (const [n0, n1] of [[0, N], [N - 1, N]]) {
      const js = new Float32Array((n1 - n0) * OH * OW * K).fill(NaN);
      im2colRows(x, js, g, n0, n1);
      const wasm = im2colWasm(x, g, n0, n1).slice();
      assert.deepEqual(wasm, js, `${JSON.stringify(c)}, images ${n0}..${n1 - 1}`);
    }
  }
});
