/**
 * Sampling an activation on a 1-D grid for figures: every channel gets the same input grid; the
 * output of one model of an ensemble (default 0) is returned per channel.
 *
 * @module
 */
import type { ActivationInstance } from "../plugin/interfaces.ts";
import type { TF } from "../backend/tf.ts";

/**
 * Evaluate `act.forward` on `x` broadcast to every channel; returns `C` arrays of `x.length`.
 *
 * @example
 * ```ts ignore
 * const curves = await sampleActivation(tf, act, grid, 10);
 * ```
 */
export async function sampleActivation(
  tf: TF,
  act: Pick<ActivationInstance, "forward">,
  x: Float32Array,
  channels: number,
  ensemble?: number,
  model = 0,
): Promise<Float32Array[]> {
  const n = x.length;
  const y = tf.tidy(() => {
    let input = tf.tile(tf.tensor(x, [n, 1]), [1, channels]);
    if (ensemble) input = tf.tile(tf.expandDims(input, 0), [ensemble, 1, 1]);
    const out = act.forward(input);
    return ensemble
      ? tf.reshape(tf.slice(out, [model, 0, 0], [1, n, channels]), [n, channels])
      : out;
  });
  const v = await y.data();
  y.dispose();
  return Array.from(
    { length: channels },
    (_, c) => Float32Array.from({ length: n }, (_, i) => v[i * channels + c]),
  );
}

/**
 * The curves of one activation instance for its figure: its own `sample` when it has one, else
 * the host samples its `forward` on `x` ({@linkcode sampleActivation}), so that every activation,
 * a third-party one without `sample` included, gets a figure.
 *
 * @example
 * ```ts ignore
 * const curves = await activationCurves(tf, module.activation, grid, module.channels, 25, best);
 * ```
 */
export function activationCurves(
  tf: TF,
  act: Pick<ActivationInstance, "forward" | "sample">,
  x: Float32Array,
  channels: number,
  ensemble?: number,
  model = 0,
): Promise<Float32Array[]> {
  return typeof act.sample === "function"
    ? act.sample(x, model)
    : sampleActivation(tf, act, x, channels, ensemble, model);
}
