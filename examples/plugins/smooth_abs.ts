/**
 * A third-party activation plugin, written only against lipspline's public API: a learnable,
 * smooth, 1-Lipschitz mix of the identity and the absolute value, per channel `c`:
 *
 *     f_c(x) = a_c x + (1 - |a_c|) (sqrt(x² + ε_c²) - ε_c),   a_c = tanh(θ_c), ε_c = softplus(η_c) + 0.001
 *
 * Its slope is `a_c + (1 - |a_c|) x / sqrt(x² + ε_c²)`, whose magnitude is below
 * `|a_c| + (1 - |a_c|) = 1` for every parameter value, so the plugin is 1-Lipschitz by
 * construction (no projection needed); `a_c = 0` is a smoothed `|x|`, `a_c = ±1` is `±x`.
 *
 * It imports types only: everything it computes with comes from its context (`ctx.tf`, the host's
 * TensorFlow.js, and `ctx.ops`, the host's helpers), so the same file runs on the host's engine
 * whether the host is `deno run`, a test, or the single-file binary loading it from disk.
 *
 * Use it with `lipspline train --exp 1d --plugin examples/plugins/smooth_abs.ts --set
 * activation_fn_params.activation_type=smooth_abs`, or name the file directly:
 * `--set activation_fn_params.activation_type=./examples/plugins/smooth_abs.ts`.
 *
 * @module
 */
import type { Activation, ActivationInstance, Tensor } from "../../plugin.ts";

/** Initial softness `ε` (the width of the rounded kink at 0). */
const INITIAL_SOFTNESS = 0.1;

const smoothAbs: Activation = {
  kind: "activation",
  name: "smooth_abs",
  version: "1.0.0",
  description: "learnable smooth mix of x and |x|, 1-Lipschitz by construction (example)",
  options: {},
  create({ tf, ops, channels, ensemble, name }): ActivationInstance {
    const shape = ops.channelShape(channels, ensemble);
    const size = shape.reduce((a, b) => a * b, 1);
    // softplus(η) + 0.001 = ε  ⇔  η = log(exp(ε - 0.001) - 1).
    const eta0 = Math.log(Math.expm1(INITIAL_SOFTNESS - 0.001));
    const mix = ops.createParameter(tf, `${name}/mix`, "weights", shape, new Float32Array(size));
    const softness = ops.createParameter(
      tf,
      `${name}/softness`,
      "weights",
      shape,
      new Float32Array(size).fill(eta0),
    );
    const params = [mix, softness];
    return {
      kind: "smooth_abs",
      parameters: () => params,
      forward: (x: Tensor) =>
        tf.tidy(() => {
          const a = tf.tanh(mix.variable);
          const eps = tf.add(tf.softplus(softness.variable), 0.001);
          const smooth = tf.sub(tf.sqrt(tf.add(tf.square(x), tf.square(eps))), eps);
          return tf.add(tf.mul(a, x), tf.mul(tf.sub(1, tf.abs(a)), smooth));
        }),
      // |f'(x)| ≤ |a| + (1 - |a|) |x| / sqrt(x² + ε²) < 1 for every parameter value.
      lipschitzBound: () =>
        Promise.resolve({ value: 1, method: "slope |a| + (1-|a|)|x|/sqrt(x²+ε²) < 1" }),
    };
  },
};

export default smoothAbs;
