/**
 * GroupSort (spec §2): consecutive channels `[0..g-1], [g..2g-1], ...` form groups, each sorted
 * ascending. A permutation of its input, hence 1-Lipschitz (in the 2-norm). `C % g != 0` is a
 * configuration error.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { Activation, ActivationParams } from "../../core/plugin.ts";
import { sampleActivation } from "../../core/activation_sample.ts";
import { UserError } from "../../core/errors.ts";

function groupSize(params: ActivationParams, channels: number): number {
  const g = params.groupsort_groupsize ?? 2;
  if (!Number.isInteger(g) || g < 1) {
    throw new UserError(
      `Cannot build groupsort as groupsort_groupsize must be a positive integer: it is ${g}`,
    );
  }
  if (channels % g !== 0) {
    throw new UserError(
      `Cannot build groupsort as the group size must divide the width: group size is ${g}, width is ${channels}`,
    );
  }
  return g;
}

const groupsort: Activation = {
  kind: "activation",
  name: "groupsort",
  version: "1.0.0",
  description: "sorts consecutive groups of groupsort_groupsize channels ascending",
  validate(params, channels) {
    groupSize(params, channels);
  },
  create(ctx) {
    const { tf, channels, ensemble } = ctx;
    const g = groupSize(ctx.params, channels);
    const forward = (x: Tensor): Tensor =>
      tf.tidy(() => {
        if (g === 1) return x.clone();
        const shape = x.shape;
        const grouped = tf.reshape(x, [-1, g]);
        if (g === 2) {
          // max-min: a sorting network of one comparator, cheaper than topk + gather.
          const a = tf.slice(grouped, [0, 0], [-1, 1]);
          const b = tf.slice(grouped, [0, 1], [-1, 1]);
          return tf.reshape(tf.concat([tf.minimum(a, b), tf.maximum(a, b)], 1), shape);
        }
        // Sort by rank, with differentiable ops only (comparisons enter through tf.step, whose
        // gradient is zero): rank_i = #{j < i: x_j <= x_i} + #{j > i: x_j < x_i} (ties keep
        // their order), then y_k = sum_i x_i [rank_i = k] — a permutation of the group.
        const xi = tf.expandDims(grouped, 2); // [rows, g, 1]: x_i
        const xj = tf.expandDims(grouped, 1); // [rows, 1, g]: x_j
        const lt = tf.step(tf.sub(xi, xj)); // [x_j < x_i]
        const le = tf.sub(1, tf.step(tf.sub(xj, xi))); // [x_j <= x_i]
        const before = tf.linalg.bandPart(tf.ones([g, g]), 0, -1); // [j > i] after transpose
        const lower = tf.sub(tf.ones([g, g]), before); // j < i (strictly below the diagonal)
        const jBelow = tf.transpose(lower); // [i, j] = 1 when j < i
        const jAbove = tf.transpose(tf.sub(before, tf.eye(g))); // [i, j] = 1 when j > i
        const rank = tf.sum(tf.add(tf.mul(le, jBelow), tf.mul(lt, jAbove)), 2); // [rows, g]
        const k = tf.reshape(tf.range(0, g), [1, 1, g]);
        const onehot = tf.sub(1, tf.step(tf.sub(tf.abs(tf.sub(tf.expandDims(rank, 2), k)), 0.5)));
        return tf.reshape(tf.sum(tf.mul(xi, onehot), 1), shape);
      });
    const self = {
      kind: "groupsort",
      parameters: () => [],
      forward,
      lipschitzBound: () =>
        Promise.resolve({
          value: 1,
          method: "1 by construction: sorting each group is 1-Lipschitz in the 2-norm",
        }),
      sample: (x: Float32Array, model?: number) =>
        sampleActivation(tf, self, x, channels, ensemble, model),
    };
    return self;
  },
};
export default groupsort;
