import type { Activation } from "../../plugin.ts";
/**
 * tanh activation (docs/method.md §5.3: the last activation of the WGAN generator): 1-Lipschitz
 * (its slope `1 - tanh²` lies in (0, 1]), no parameters.
 *
 * @module
 */

const tanh: Activation = {
  kind: "activation",
  name: "tanh",
  version: "1.0.0",
  description: "tanh(x); 1-Lipschitz, no parameters (the WGAN generator's output)",
  options: {},
  create(ctx) {
    const self = {
      kind: "tanh",
      parameters: () => [],
      forward: (x: Parameters<typeof ctx.tf.tanh>[0]) => ctx.tf.tanh(x),
      lipschitzBound: () => Promise.resolve({ value: 1, method: "slope of tanh is in (0, 1]" }),
      sample: (x: Float32Array, model?: number) =>
        ctx.ops.sampleActivation(ctx.tf, self, x, ctx.channels, ctx.ensemble, model),
    };
    return self;
  },
};
export default tanh;
