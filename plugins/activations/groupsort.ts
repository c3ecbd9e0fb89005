/**
 * GroupSort (docs/method.md §2): consecutive channels `[0..g-1], [g..2g-1], ...` form groups, each sorted
 * ascending. A permutation of its input, hence 1-Lipschitz (in the 2-norm). `C % g != 0` is a
 * configuration error.
 *
 * @module
 */
import {
  type Activation,
  type ActivationParams,
  activationParamsSchema,
  type Tensor,
  UserError,
} from "../../plugin.ts";

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
  options: { groupsort_groupsize: activationParamsSchema.shape.groupsort_groupsize },
  validate(params, channels) {
    groupSize(params, channels);
  },
  create(ctx) {
    const { tf, ops, channels, ensemble } = ctx;
    const g = groupSize(ctx.params, channels);
    // Sorted in one fused kernel on CPU backends; stock ops elsewhere (see ops/groupsort.ts).
    const forward = (x: Tensor): Tensor => ops.groupSort(x, g);
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
        ops.sampleActivation(tf, self, x, channels, ensemble, model),
    };
    return self;
  },
};
export default groupsort;
