/**
 * The gradient of a fused op, registered once for every backend: the op's backward pass is its
 * own kernel (`…Grad`), run on the saved inputs and the upstream gradient(s) with the forward
 * kernel's attributes. Every fused op of lipspline (spline, coefficient projection and TV2,
 * Björck, GroupSort, HouseHolder, circular padding) declares its gradient this way.
 *
 * @module
 */
import type { NamedAttrMap, Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";

/** How a fused kernel's gradient is computed by its gradient kernel. */
export interface KernelGradientSpec {
  /** The forward kernel. */
  kernel: string;
  /** The gradient kernel. */
  gradKernel: string;
  /** Forward inputs saved for the gradient kernel, which gets them under the same names. */
  saved: string[];
  /** Names under which the gradient kernel gets the upstream gradient(s), one per output. */
  dys: string[];
  /**
   * The forward inputs the gradient kernel's outputs belong to, in its output order (one name:
   * a single output, computed only when asked for; several: computed at once).
   */
  grads: string[];
}

/**
 * Register the gradient of `spec.kernel` (idempotent; a gradient registered before is kept).
 *
 * @example
 * ```ts ignore
 * registerKernelGradient({
 *   kernel: "LipsplineGroupSort", gradKernel: "LipsplineGroupSortGrad",
 *   saved: ["x"], dys: ["dy"], grads: ["x"],
 * });
 * ```
 */
export function registerKernelGradient(spec: KernelGradientSpec): void {
  if (tf.getGradient(spec.kernel) != null) return;
  tf.registerGradient({
    kernelName: spec.kernel,
    inputsToSave: spec.saved,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const upstream = Array.isArray(dy) ? dy : [dy];
      const inputs: Record<string, Tensor> = {};
      spec.saved.forEach((name, i) => (inputs[name] = saved[i]));
      spec.dys.forEach((name, i) => (inputs[name] = upstream[i]));
      const run = () => tf.engine().runKernel(spec.gradKernel, inputs, attrs ?? {});
      if (spec.grads.length === 1) return { [spec.grads[0]]: () => run() as Tensor };
      const outs = run() as Tensor[];
      return Object.fromEntries(spec.grads.map((name, i) => [name, () => outs[i]]));
    },
  });
}
