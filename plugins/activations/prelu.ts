/**
 * PReLU with learnable slopes clipped to [-1, 1] in the forward pass (docs/method.md §2): `x` for
 * `x >= 0`, else `a_c x`. Init: `prelu_init` for every channel, or "maxmin" (+1 on even
 * channels, -1 on odd ones).
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

function initialSlopes(params: ActivationParams, channels: number): Float32Array {
  const init = params.prelu_init ?? -1;
  if (init === "maxmin") {
    return Float32Array.from({ length: channels }, (_, c) => c % 2 === 0 ? 1 : -1);
  }
  if (typeof init !== "number" || init < -1 || init > 1) {
    throw new UserError(
      `Cannot build prelu as prelu_init must be a number in [-1, 1] or "maxmin": prelu_init is ${
        JSON.stringify(init)
      }`,
    );
  }
  return new Float32Array(channels).fill(init);
}

const prelu: Activation = {
  kind: "activation",
  name: "prelu",
  version: "1.0.0",
  description: "x for x >= 0, a_c x otherwise, learnable a_c clipped to [-1, 1]",
  options: { prelu_init: activationParamsSchema.shape.prelu_init },
  validate(params, channels) {
    initialSlopes(params, channels);
  },
  create(ctx) {
    const { tf, ops, channels, ensemble } = ctx;
    const a = ops.createParameter(
      tf,
      `${ctx.name}/prelu_slope`,
      "weights",
      ops.channelShape(channels, ensemble),
      ops.repeatValues(initialSlopes(ctx.params, channels), ensemble ?? 1),
    );
    const clipped = () => tf.clipByValue(a.variable, -1, 1);
    const self = {
      kind: "prelu",
      parameters: () => [a],
      // relu(x) - a relu(-x) equals x for x >= 0 and a x otherwise (docs/method.md §2).
      forward: (x: Tensor) =>
        tf.tidy(() => tf.sub(tf.relu(x), tf.mul(clipped(), tf.relu(tf.neg(x))))),
      async lipschitzBound() {
        // 1 by construction: the slopes are 1 and clip(a_c, -1, 1); computed per model anyway.
        const v = tf.tidy(() => {
          const m = ensemble
            ? tf.max(tf.abs(clipped()), [1, 2])
            : tf.reshape(tf.max(tf.abs(clipped())), [1]);
          return tf.maximum(m, 1);
        });
        const perModel = Array.from(await v.data());
        v.dispose();
        return {
          value: Math.max(...perModel),
          perModel: ensemble ? perModel : undefined,
          method: "1 by construction: slopes 1 and clip(a_c, -1, 1), i.e. max(1, max |a_c|)",
        };
      },
      sample: (x: Float32Array, model?: number) =>
        ops.sampleActivation(tf, self, x, channels, ensemble, model),
    };
    return self;
  },
};
export default prelu;
