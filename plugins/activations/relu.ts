/**
 * ReLU activation (docs/method.md §2): `max(x, 0)`, 1-Lipschitz, no parameters.
 *
 * @module
 */
import type { Activation } from "../../plugin.ts";

const relu: Activation = {
  kind: "activation",
  name: "relu",
  version: "1.0.0",
  description: "max(x, 0); 1-Lipschitz, no parameters",
  options: {},
  create(ctx) {
    const self = {
      kind: "relu",
      parameters: () => [],
      forward: (x: Parameters<typeof ctx.tf.relu>[0]) => ctx.tf.relu(x),
      lipschitzBound: () => Promise.resolve({ value: 1, method: "slopes of relu are 0 and 1" }),
      sample: (x: Float32Array, model?: number) =>
        ctx.ops.sampleActivation(ctx.tf, self, x, ctx.channels, ctx.ensemble, model),
    };
    return self;
  },
};
export default relu;
