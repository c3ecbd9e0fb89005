/**
 * Benchmarks of the fused linear spline (docs/method.md §3) against relu, forward plus backward, on the
 * shapes of the paper's models: a fully connected activation `x [4096, 1024]` (K=21, R=0.15)
 * and a convolutional one, NHWC `[128, 40, 40, 64]` (K=51, R=0.1). Each iteration computes
 * the forward pass and every gradient (spline: x, coef, alpha; relu: x) for a given upstream
 * gradient and awaits all the data. Target: spline fwd+bwd ≤ 3× relu fwd+bwd on one backend.
 *
 * @module
 */
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { linearSpline } from "../core/ops/spline.ts";
import {
  type CoefGradMethod,
  getCoefGradMethod,
  setCoefGradMethod,
} from "../core/kernels/webgpu/spline.ts";
import type { BenchCase, BenchIteration } from "./harness.ts";

/** One activation shape (`[N, C]` or NHWC); the spline sees it as `[1, rows, C]`. */
export interface SplineBenchShape {
  /** Shape of the activation as the layer sees it (`[N, C]` or NHWC). */
  shape: number[];
  /** Spline size K. */
  size: number;
  /** Spline range R. */
  range: number;
}

/** The fully connected shape of the issue. */
export const FC_SHAPE: SplineBenchShape = { shape: [4096, 1024], size: 21, range: 0.15 };
/** The convolutional (NHWC) shape of the issue. */
export const CONV_SHAPE: SplineBenchShape = { shape: [128, 40, 40, 64], size: 51, range: 0.1 };

/**
 * Wait until every output is computed, without timing a copy out of the backend: reading back
 * 16 MB costs 2–50 ms on this VM (page faults) and would dominate. The cpu and wasm kernels run
 * synchronously, so their outputs are complete on return; on webgpu one element of each output
 * is read (its slice is queued after the producer).
 */
async function awaitAll(ts: Tensor[]): Promise<void> {
  if (tf.getBackend() === "webgpu") {
    const firsts = ts.map((t) => tf.slice(tf.reshape(t, [-1]), 0, 1));
    await Promise.all(firsts.map((t) => t.data()));
    tf.dispose(firsts);
  }
  tf.dispose(ts);
}

/** Spline forward + gradients w.r.t. x, coef and alpha, for a random upstream gradient. */
export function splineIteration(s: SplineBenchShape): BenchIteration {
  const C = s.shape[s.shape.length - 1];
  const rows = s.shape.reduce((a, b) => a * b, 1) / C;
  const [x, dy, coef, alpha] = tf.tidy(() => [
    tf.randomNormal([1, rows, C], 0, s.range) as Tensor3D,
    tf.randomNormal([1, rows, C]) as Tensor3D,
    tf.tile(
      tf.reshape(tf.relu(tf.linspace(-s.range, s.range, s.size)), [1, s.size]),
      [C, 1],
    ) as Tensor2D,
    tf.randomUniform([C], 0.5, 1.5) as Tensor1D,
  ]);
  const grid = { size: s.size, range: s.range };
  const f = tf.valueAndGrads((a: Tensor, b: Tensor, c: Tensor) =>
    linearSpline(a as Tensor3D, b as Tensor2D, c as Tensor1D, grid)
  );
  return {
    async run() {
      const { value, grads } = f([x, coef, alpha], dy);
      await awaitAll([value, ...grads]);
    },
    dispose() {
      for (const t of [x, dy, coef, alpha]) t.dispose();
    },
  };
}

/** Relu forward + gradient w.r.t. x, for a random upstream gradient. */
export function reluIteration(s: SplineBenchShape): BenchIteration {
  const [x, dy] = tf.tidy(() => [
    tf.randomNormal(s.shape, 0, s.range),
    tf.randomNormal(s.shape),
  ]);
  const f = tf.valueAndGrads((a: Tensor) => tf.relu(a));
  return {
    async run() {
      const { value, grads } = f([x], dy);
      await awaitAll([value, ...grads]);
    },
    dispose() {
      x.dispose();
      dy.dispose();
    },
  };
}

/** The spline iteration with the WebGPU coefficient-gradient `method`, restored on dispose. */
function withMethod(s: SplineBenchShape, method: CoefGradMethod): BenchIteration {
  const saved = getCoefGradMethod();
  setCoefGradMethod(method);
  const it = splineIteration(s);
  return {
    run: () => it.run(),
    dispose() {
      it.dispose?.();
      setCoefGradMethod(saved);
    },
  };
}

/**
 * The benchmarks for given shapes (smaller ones suit the software WebGPU adapter): spline and
 * relu, fully connected and convolutional, on every backend; plus, on webgpu only, the spline
 * with each coefficient-gradient method (`_atomic`, `_twopass`).
 */
export function splineBenches(
  fc: SplineBenchShape = FC_SHAPE,
  conv: SplineBenchShape = CONV_SHAPE,
): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const [kind, s] of [["fc", fc], ["conv", conv]] as const) {
    const info = { shape: s.shape, K: s.size, R: s.range };
    cases.push(
      { bench: `spline_fwd_bwd_${kind}`, info, setup: () => Promise.resolve(splineIteration(s)) },
      { bench: `relu_fwd_bwd_${kind}`, info, setup: () => Promise.resolve(reluIteration(s)) },
    );
    for (const method of ["atomic", "twopass"] as const) {
      cases.push({
        bench: `spline_fwd_bwd_${kind}_${method}`,
        backends: ["webgpu"],
        info,
        setup: () => Promise.resolve(withMethod(s, method)),
      });
    }
  }
  return cases;
}

/** The benchmarks at the sizes. */
export const benches: BenchCase[] = splineBenches();
