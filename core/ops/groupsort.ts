/**
 * The fused GroupSort op (docs/method.md §2): consecutive groups of `g` channels (last axis) sorted
 * ascending (ties keep their order), and its gradient, which routes `dy` back through the same
 * permutation. Backends without the kernel (WebGPU) use a composite of stock ops.
 *
 * @module
 */
import type { NamedAttrMap, Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { registerKernelGradient } from "./kernel_gradient.ts";

/** Kernel names. */
export const GROUPSORT_KERNEL = "LipsplineGroupSort";
/** Gradient kernel of {@linkcode GROUPSORT_KERNEL}: inputs `x`, `dy`; output `dx`. */
export const GROUPSORT_GRAD_KERNEL = "LipsplineGroupSortGrad";

/** Attributes: the group size. */
export interface GroupSortAttrs {
  groupSize: number;
}

/**
 * Sort each group of `g` values of `x` ascending (stable insertion sort; `g` is small). Writes the
 * sorted values to `out` and, when `perm` is given, the source index of each output.
 */
export function groupSortLoop(
  x: Float32Array,
  g: number,
  out: Float32Array,
  perm?: Int32Array,
): void {
  const idx = new Int32Array(g);
  for (let o = 0; o < x.length; o += g) {
    for (let k = 0; k < g; k++) {
      // Insert element k after every earlier element that is <= it (stable).
      const v = x[o + k];
      let j = k;
      while (j > 0 && x[o + idx[j - 1]] > v) {
        idx[j] = idx[j - 1];
        j--;
      }
      idx[j] = k;
    }
    for (let k = 0; k < g; k++) {
      out[o + k] = x[o + idx[k]];
      if (perm) perm[o + k] = idx[k];
    }
  }
}

/** Gradient of {@linkcode groupSortLoop}: `dx[o + perm[k]] = dy[o + k]`. */
export function groupSortGradLoop(
  x: Float32Array,
  dy: Float32Array,
  g: number,
  dx: Float32Array,
): void {
  const sorted = new Float32Array(x.length);
  const perm = new Int32Array(x.length);
  groupSortLoop(x, g, sorted, perm);
  for (let o = 0; o < x.length; o += g) {
    for (let k = 0; k < g; k++) dx[o + perm[o + k]] = dy[o + k];
  }
}

/** Register the op's gradient (backend-independent; idempotent). */
export function registerGroupSortGradient(): void {
  registerKernelGradient({
    kernel: GROUPSORT_KERNEL,
    gradKernel: GROUPSORT_GRAD_KERNEL,
    saved: ["x"],
    dys: ["dy"],
    grads: ["x"],
  });
}

/**
 * GroupSort of the last axis of `x` in groups of `g`: the fused kernel where the backend has it,
 * else {@linkcode groupSortComposite}.
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { groupSort } from "./groupsort.ts";
 * const y = groupSort(tf.tensor2d([[3, 1, 2, -1]]), 2); // [[1, 3, -1, 2]]
 * ```
 */
export function groupSort(x: Tensor, g: number): Tensor {
  if (g === 1) return tf.clone(x);
  if (tf.getKernel(GROUPSORT_KERNEL, tf.getBackend()) != null) {
    const attrs: GroupSortAttrs = { groupSize: g };
    return tf.engine().runKernel(
      GROUPSORT_KERNEL,
      { x },
      attrs as unknown as NamedAttrMap,
    ) as Tensor;
  }
  return groupSortComposite(x, g);
}

/**
 * GroupSort from differentiable stock ops (comparisons enter through `tf.step`, whose gradient is
 * zero): for g = 2 a min/max pair; otherwise by rank,
 * `rank_i = #{j < i: x_j <= x_i} + #{j > i: x_j < x_i}` (ties keep their order) and
 * `y_k = sum_i x_i [rank_i = k]`.
 */
export function groupSortComposite(x: Tensor, g: number): Tensor {
  return tf.tidy(() => {
    const shape = x.shape;
    const grouped = tf.reshape(x, [-1, g]);
    if (g === 2) {
      const a = tf.slice(grouped, [0, 0], [-1, 1]);
      const b = tf.slice(grouped, [0, 1], [-1, 1]);
      return tf.reshape(tf.concat([tf.minimum(a, b), tf.maximum(a, b)], 1), shape);
    }
    const xi = tf.expandDims(grouped, 2); // [rows, g, 1]: x_i
    const xj = tf.expandDims(grouped, 1); // [rows, 1, g]: x_j
    const lt = tf.step(tf.sub(xi, xj)); // [x_j < x_i]
    const le = tf.sub(1, tf.step(tf.sub(xj, xi))); // [x_j <= x_i]
    const upper = tf.linalg.bandPart(tf.ones([g, g]), 0, -1); // [i, j] = 1 when j >= i
    const jBelow = tf.sub(tf.ones([g, g]), upper); // [i, j] = 1 when j < i
    const jAbove = tf.sub(upper, tf.eye(g)); // [i, j] = 1 when j > i
    const rank = tf.sum(tf.add(tf.mul(le, jBelow), tf.mul(lt, jAbove)), 2); // [rows, g]
    const k = tf.reshape(tf.range(0, g), [1, 1, g]);
    const onehot = tf.sub(1, tf.step(tf.sub(tf.abs(tf.sub(tf.expandDims(rank, 2), k)), 0.5)));
    return tf.reshape(tf.sum(tf.mul(xi, onehot), 1), shape);
  });
}
