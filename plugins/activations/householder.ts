/**
 * HouseHolder activation of order 1 (docs/method.md §2): split channels into the first half `x` and the
 * second half `y`; one angle `theta` per pair (init pi/2);
 * `s = x sin(theta/2) - y cos(theta/2)`; if `s <= 0` output `(x, y)`, else the reflection
 * `(x cos theta + y sin theta, x sin theta - y cos theta)`. Orthogonal piecewise, so 1-Lipschitz.
 *
 * @module
 */
import { type Activation, type Tensor, UserError } from "../../plugin.ts";

function checkEven(channels: number): void {
  if (channels % 2 !== 0) {
    throw new UserError(
      `Cannot build householder as the width must be even: width is ${channels}`,
    );
  }
}

const householder: Activation = {
  kind: "activation",
  name: "householder",
  version: "1.0.0",
  description: "order-1 HouseHolder reflection of channel pairs (first half, second half)",
  options: {},
  validate(_params, channels) {
    checkEven(channels);
  },
  create(ctx) {
    const { tf, ops, channels, ensemble } = ctx;
    checkEven(channels);
    const half = channels / 2;
    const shape = ops.channelShape(half, ensemble);
    const theta = ops.createParameter(
      tf,
      `${ctx.name}/householder_theta`,
      "weights",
      shape,
      new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(Math.PI / 2),
    );
    // One fused kernel on CPU backends; stock ops elsewhere (see ops/householder.ts).
    const forward = (x: Tensor): Tensor => ops.householder(x, theta.variable);
    const self = {
      kind: "householder",
      parameters: () => [theta],
      forward,
      lipschitzBound: () =>
        Promise.resolve({
          value: 1,
          method: "1 by construction: identity or an orthogonal reflection on each pair, " +
            "continuous across s = 0",
        }),
      sample: (x: Float32Array, model?: number) =>
        ops.sampleActivation(tf, self, x, channels, ensemble, model),
    };
    return self;
  },
};
export default householder;
