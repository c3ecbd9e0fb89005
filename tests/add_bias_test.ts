/**
 * The bias `Add` route of the wasm backend (core/kernels/wasm/add_bias.ts): which shapes it takes,
 * and the same bits as the stock kernel on them, in either operand order; its gradient, the Sum
 * over leading axes, with the bits of a float64 sum per channel.
 */
import assert from "node:assert/strict";
import type { KernelFunc, Tensor, TensorInfo } from "@tensorflow/tfjs-core";
import { tf, useBackend } from "./helpers.ts";
import { addBiasKernel, biasLayout } from "../core/kernels/wasm/add_bias.ts";
import { MT19937 } from "../core/rng/mt19937.ts";

Deno.test("biasLayout finds [G, N, C] + [G, 1, C] and refuses other broadcasts", () => {
  assert.deepEqual(biasLayout([25, 10000, 10], [25, 1, 10]), { G: 25, N: 10000, C: 10 });
  assert.deepEqual(biasLayout([128, 40, 40, 64], [64]), { G: 1, N: 128 * 40 * 40, C: 64 });
  assert.deepEqual(biasLayout([2, 3, 4], [1, 3, 4]), { G: 1, N: 2, C: 12 });
  assert.deepEqual(biasLayout([2, 5, 6, 8], [2, 1, 1, 8]), { G: 2, N: 30, C: 8 });
  assert.equal(biasLayout([2, 3, 4], [2, 3, 4]), null); // no broadcast
  assert.equal(biasLayout([2, 3, 4], [2, 3, 1]), null); // C = 1
  assert.equal(biasLayout([2, 3, 8], [1, 3, 1]), null); // two separate runs
  assert.equal(biasLayout([3, 8], [2, 3, 8]), null); // the bias has the higher rank
});

Deno.test("the wasm bias Add gives the stock kernel's bits, bias on either side", async () => {
  await useBackend("wasm");
  let fell = 0;
  const stock = tf.getKernel("Add", "wasm")!.kernelFunc; // the route itself (registered)
  const counting: KernelFunc = (args) => {
    fell++;
    return stock(args);
  };
  const route = addBiasKernel(counting);
  const rng = new MT19937(3);
  const rand = (shape: number[]) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal()),
      shape,
    );
  const run = (k: KernelFunc, a: Tensor, b: Tensor) => {
    const info = k({
      inputs: { a, b } as unknown as Record<string, TensorInfo>,
      backend: tf.backend(),
      attrs: {},
    }) as TensorInfo;
    const t = tf.engine().makeTensorFromTensorInfo(info);
    const v = t.dataSync() as Float32Array;
    t.dispose();
    return { shape: info.shape, v };
  };
  for (const [fa, fb] of [[[25, 30, 10], [25, 1, 10]], [[4, 5, 6, 9], [9]], [[3, 7, 5], [7, 5]]]) {
    const a = rand(fa), b = rand(fb);
    for (const [x, y] of [[a, b], [b, a]]) {
      const got = run(route, x, y);
      // the reference: tf.add of the materialised broadcast, an elementwise add of equal shapes
      const want = tf.add(tf.broadcastTo(x, fa), tf.broadcastTo(y, fa));
      assert.deepEqual(got.shape, fa);
      const w = want.dataSync();
      for (let i = 0; i < w.length; i++) assert.ok(Object.is(got.v[i], w[i]), `${fa} element ${i}`);
      want.dispose();
    }
    tf.dispose([a, b]);
  }
  assert.equal(fell, 0, "every case above took the bias route");
  const a = rand([2, 3, 4]), c = rand([2, 3, 1]);
  run(route, a, c);
  assert.equal(fell, 1, "a width-1 bias went to the stock kernel");
  tf.dispose([a, c]);
});

Deno.test("the wasm Sum over leading axes (bias gradients): float64 per channel in row order", async () => {
  await useBackend("wasm");
  const rng = new MT19937(5);
  // 64 channels (four 16-channel passes), 21 (one pass and a tail of 5), 3 (tail only)
  for (
    const [shape, axis, keepDims] of [
      [[64, 20, 20, 64], [0, 1, 2], false],
      [[30, 7, 21], [0], true],
      [[12, 5, 6, 3], [1, 0], false],
    ] as const
  ) {
    const n = shape.reduce((p, q) => p * q, 1);
    const xv = Float32Array.from({ length: n }, () => rng.normal() * 10);
    const x = tf.tensor(xv, shape as unknown as number[]);
    const got = tf.sum(x, axis as unknown as number[], keepDims);
    const k = axis.length, rest = shape.slice(k);
    assert.deepEqual(got.shape, keepDims ? [...axis.map(() => 1), ...rest] : rest);
    const C = rest.reduce((p, q) => p * q, 1), acc = new Float64Array(C);
    for (let i = 0; i < n; i++) acc[i % C] += xv[i];
    const want = Float32Array.from(acc), gv = got.dataSync();
    for (let c = 0; c < C; c++) assert.ok(Object.is(gv[c], want[c]), `${shape} channel ${c}`);
    tf.dispose([x, got]);
  }
});
