/**
 * Benchmarks of Björck orthonormalisation (docs/method.md §4), forward plus backward:
 *
 * - `bjorck_1d`: the projections of one training step of the paper's 1d config: 25 models
 *   1-10-10-10-1 batched, weights `[25,10,1]`, `[25,10,10]`, `[25,10,10]`, `[25,1,10]`, 15
 *   iterations each (budget ≲ 1.5 ms per step);
 * - `bjorck25_1024`: 25 iterations on one 1024×1024 matrix (composite path: batched matMul);
 * - `bjorck_size_*`: fused kernel against the composite at growing sizes, to which the cost
 *   model `BJORCK_COST_MODEL` of `core/ops/bjorck.ts` (which route `bjorck` takes) was fitted.
 *
 * Each iteration runs the forward pass under a tape and the backward pass for a fixed upstream
 * gradient (`tf.grad(f)(w, dy)`, so no stock gradient is needed on the fused path), then awaits
 * all the data.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { bjorck, bjorckComposite, bjorckFused } from "../core/ops/bjorck.ts";
import { openBlas } from "../core/backend/openblas_ffi.ts";
import type { BenchCase, BenchIteration } from "./harness.ts";

/** The weight shapes `[B, out, in]` of the 1d config's four LipschitzLinear layers. */
export const ONE_D_SHAPES: number[][] = [[25, 10, 1], [25, 10, 10], [25, 10, 10], [25, 1, 10]];

type BjorckFn = (w: Tensor, iters: number, beta?: number) => Tensor;

/** Forward + backward of `f` with `iters` iterations on random weights of each shape. */
export function bjorckIteration(
  shapes: number[][],
  iters: number,
  f: BjorckFn = bjorck,
): BenchIteration {
  const ws = shapes.map((s, i) =>
    tf.tidy(() => {
      const [m, n] = s.slice(-2);
      return tf.div(tf.randomNormal(s, 0, 1, "float32", 1 + i), Math.sqrt(m * n));
    })
  );
  const dys = shapes.map((s, i) => tf.randomNormal(s, 0, 1, "float32", 101 + i));
  const grads = ws.map(() => tf.valueAndGrad((x: Tensor) => f(x, iters, 0.5)));
  return {
    async run() {
      const outs: Tensor[] = [];
      for (let i = 0; i < ws.length; i++) {
        const { value, grad } = grads[i](ws[i], dys[i]);
        outs.push(value, grad);
      }
      await Promise.all(outs.map((t) => t.data()));
      tf.dispose(outs);
    },
    dispose() {
      tf.dispose([...ws, ...dys]);
    },
  };
}

const sizeCases: BenchCase[] = [];
const SIZES = [
  [25, 16, 16],
  [25, 32, 32],
  [25, 64, 64],
  [1, 64, 64],
  [5, 64, 64],
  [25, 128, 128],
  [
    1,
    128,
    128,
  ],
  [4, 128, 128],
  [1, 256, 256],
  [4, 256, 256],
  [1, 1024, 32],
  [1, 1024, 64],
];
for (const shape of SIZES) {
  for (const [route, f] of [["fused", bjorckFused], ["composite", bjorckComposite]] as const) {
    sizeCases.push({
      bench: `bjorck_size_${shape.join("x")}_${route}`,
      backends: ["cpu", "wasm"],
      info: { shape, iters: 15, route },
      minReps: 3,
      budgetMs: 1000,
      setup: () => Promise.resolve(bjorckIteration([shape], 15, f)),
    });
  }
}

/** The Björck benchmark cases. */
export const benches: BenchCase[] = [
  {
    bench: "bjorck_1d",
    info: { shapes: ONE_D_SHAPES, iters: 15, what: "fwd+bwd of the 4 layer projections" },
    minReps: 20,
    setup: () => Promise.resolve(bjorckIteration(ONE_D_SHAPES, 15)),
  },
  {
    bench: "bjorck_1d_composite",
    info: { shapes: ONE_D_SHAPES, iters: 15, route: "composite" },
    minReps: 10,
    setup: () => Promise.resolve(bjorckIteration(ONE_D_SHAPES, 15, bjorckComposite)),
  },
  {
    bench: "bjorck25_1024",
    // cpu's stock matMul runs at ~1 GFLOP/s (one run would take ~5 minutes): cpu only with
    // the OpenBLAS matMul (core/backend/openblas_ffi.ts).
    backends: openBlas() ? ["cpu", "wasm", "webgpu"] : ["wasm", "webgpu"],
    info: { shape: [1024, 1024], iters: 25 },
    minReps: 2,
    budgetMs: 0,
    setup: () => Promise.resolve(bjorckIteration([[1024, 1024]], 25)),
  },
  ...sizeCases,
];
