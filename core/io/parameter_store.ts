/**
 * Saving and restoring parameters by name (the checkpoint keys are the parameter names).
 *
 * @module
 */
import type { Parameter } from "../plugin/interfaces.ts";
import type { TF } from "../backend/tf.ts";
import type { StoredTensor } from "./checkpoint.ts";
import { UserError } from "../errors.ts";

/** Copy every parameter's value, keyed `prefix + name`. */
export async function parametersToStored(
  params: Parameter[],
  prefix = "model/",
): Promise<Record<string, StoredTensor>> {
  const out: Record<string, StoredTensor> = {};
  for (const p of params) {
    out[prefix + p.name] = {
      shape: p.variable.shape.slice(),
      data: new Float32Array(await p.variable.data()),
    };
  }
  return out;
}

/** Assign stored values to parameters; a missing name or a shape mismatch is a `UserError`. */
export function restoreParameters(
  tf: TF,
  params: Parameter[],
  tensors: Record<string, StoredTensor>,
  source: string,
  prefix = "model/",
): void {
  for (const p of params) {
    const s = tensors[prefix + p.name];
    if (!s) {
      throw new UserError(`Cannot restore ${source} as it has no tensor ${prefix + p.name}`);
    }
    if (s.shape.join(",") !== p.variable.shape.join(",")) {
      throw new UserError(
        `Cannot restore ${source} as ${
          prefix + p.name
        } has shape [${s.shape}], expected [${p.variable.shape}]`,
      );
    }
    tf.tidy(() => p.variable.assign(tf.tensor(s.data, s.shape)));
  }
}
