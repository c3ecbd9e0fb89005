/**
 * HouseHolder activation of order 1 (spec §2): split channels into the first half `x` and the
 * second half `y`; one angle `theta` per pair (init pi/2);
 * `s = x sin(theta/2) - y cos(theta/2)`; if `s <= 0` output `(x, y)`, else the reflection
 * `(x cos theta + y sin theta, x sin theta - y cos theta)`. Orthogonal piecewise, so 1-Lipschitz.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { Activation } from "../../core/plugin.ts";
import { channelShape, createParameter } from "../../core/params.ts";
import { sampleActivation } from "../../core/activation_sample.ts";
import { UserError } from "../../core/errors.ts";

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
  validate(_params, channels) {
    checkEven(channels);
  },
  create(ctx) {
    const { tf, channels, ensemble } = ctx;
    checkEven(channels);
    const half = channels / 2;
    const shape = channelShape(half, ensemble);
    const theta = createParameter(
      tf,
      `${ctx.name}/householder_theta`,
      "weights",
      shape,
      new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(Math.PI / 2),
    );
    const forward = (x: Tensor): Tensor =>
      tf.tidy(() => {
        const [a, b] = tf.split(x, 2, x.rank - 1);
        const t = theta.variable;
        const s = tf.sub(tf.mul(a, tf.sin(tf.div(t, 2))), tf.mul(b, tf.cos(tf.div(t, 2))));
        // keep = [s <= 0] through tf.step (zero gradient), so the mask stays off the tape.
        const keep = tf.sub(1, tf.step(s));
        const flip = tf.sub(1, keep);
        const ra = tf.add(tf.mul(a, tf.cos(t)), tf.mul(b, tf.sin(t)));
        const rb = tf.sub(tf.mul(a, tf.sin(t)), tf.mul(b, tf.cos(t)));
        return tf.concat(
          [tf.add(tf.mul(keep, a), tf.mul(flip, ra)), tf.add(tf.mul(keep, b), tf.mul(flip, rb))],
          x.rank - 1,
        );
      });
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
        sampleActivation(tf, self, x, channels, ensemble, model),
    };
    return self;
  },
};
export default householder;
