/**
 * Absolute value activation (docs/method.md §2): `|x|`, 1-Lipschitz, no parameters.
 *
 * @module
 */
import type { Activation } from "../../plugin.ts";

const absoluteValue: Activation = {
  kind: "activation",
  name: "absolute_value",
  version: "1.0.0",
  description: "|x|; 1-Lipschitz, no parameters",
  options: {},
  create(ctx) {
    const self = {
      kind: "absolute_value",
      parameters: () => [],
      forward: (x: Parameters<typeof ctx.tf.abs>[0]) => ctx.tf.abs(x),
      lipschitzBound: () => Promise.resolve({ value: 1, method: "slopes of |x| are -1 and 1" }),
      sample: (x: Float32Array, model?: number) =>
        ctx.ops.sampleActivation(ctx.tf, self, x, ctx.channels, ctx.ensemble, model),
    };
    return self;
  },
};
export default absoluteValue;
