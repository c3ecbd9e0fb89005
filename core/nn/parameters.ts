/**
 * Helpers for declaring parameters once, with an optional leading ensemble axis `[M]`.
 *
 * @module
 */
import type { Tensor, Variable } from "@tensorflow/tfjs-core";
import type { Parameter, ParamGroup } from "../plugin/interfaces.ts";
import type { TF } from "../backend/tf.ts";

/**
 * Create a trainable parameter from values (row-major, matching `shape`).
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { createParameter } from "./parameters.ts";
 * const p = createParameter(tf, "act0/theta", "weights", [5], new Float32Array(5).fill(Math.PI / 2));
 * ```
 */
export function createParameter(
  tf: TF,
  name: string,
  group: ParamGroup,
  shape: number[],
  values: Float32Array,
  trainable = true,
): Parameter {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) {
    throw new Error(
      `Cannot create parameter ${name}: ${values.length} values for shape [${shape}]`,
    );
  }
  const init = tf.tensor(values, shape, "float32");
  const variable: Variable = tf.variable(init, trainable);
  init.dispose(); // the variable holds its own reference to the values
  return { name, group, variable };
}

/** Shape of a per-channel parameter: `[C]`, or `[M, 1, C]` for an ensemble (broadcasts on `[M, N, C]`). */
export function channelShape(channels: number, ensemble?: number): number[] {
  return ensemble ? [ensemble, 1, channels] : [channels];
}

/** Repeat `values` `times` times (the same initial value for every model of an ensemble). */
export function repeatValues(values: Float32Array, times: number): Float32Array {
  const out = new Float32Array(values.length * times);
  for (let i = 0; i < times; i++) out.set(values, i * values.length);
  return out;
}

/** Read a tensor's values (works on every backend, including WebGPU). */
export async function readValues(t: Tensor): Promise<Float32Array> {
  return new Float32Array(await t.data());
}
