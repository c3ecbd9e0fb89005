/**
 * The fused Adam update (`LipsplineAdam`): one kernel per parameter computes PyTorch's Adam step
 * `m' = b1 m + (1-b1) g`, `v' = b2 v + (1-b2) g²`,
 * `w' = w - (lr / bc1) m' / (sqrt(v' / bc2) + eps)` and returns `[w', m', v']`. It replaces ten
 * elementwise ops whose cpu kernels are slow. No gradient: it runs outside the tape.
 *
 * @module
 */
import type { NamedAttrMap, Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";

/** Kernel name. */
export const ADAM_KERNEL = "LipsplineAdam";

/** Hyper-parameters of one step (bias corrections `bc1 = 1 - b1^t`, `bc2 = 1 - b2^t`). */
export interface AdamAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  bc1: number;
  bc2: number;
}

/** The update loop, in float64 arithmetic, writing float32 outputs. */
export function adamLoop(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: AdamAttrs,
  wOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
): void {
  const { beta1, beta2, eps } = a;
  const step = a.lr / a.bc1;
  const c2 = 1 / a.bc2;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + (1 - beta1) * gi;
    const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    mOut[i] = mi;
    vOut[i] = vi;
    wOut[i] = w[i] - (step * Math.fround(mi)) / (Math.sqrt(Math.fround(vi) * c2) + eps);
  }
}

/** Whether the current backend has the fused kernel. */
export function hasFusedAdam(): boolean {
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) != null;
}

/** Run the fused update; returns `[w', m', v']`. */
export function adamFused(w: Tensor, g: Tensor, m: Tensor, v: Tensor, attrs: AdamAttrs): Tensor[] {
  return tf.engine().runKernel(
    ADAM_KERNEL,
    { w, g, m, v },
    attrs as unknown as NamedAttrMap,
  ) as unknown as Tensor[];
}
