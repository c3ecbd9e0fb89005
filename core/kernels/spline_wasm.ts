/**
 * Fused linear-spline kernels (`LipsplineSpline`, `LipsplineSplineGrad`, spec §3) for the
 * `wasm` backend. They run the same loops as the `cpu` kernels, directly on the wasm heap:
 * inputs are read through `typedArrayFromHeap` and outputs are allocated with `makeOutput`
 * (all outputs first, because an allocation can grow the heap and detach earlier views).
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../tf.ts";
import {
  SPLINE_GRAD_KERNEL,
  SPLINE_KERNEL,
  splineAttrsOf,
  type SplineKernelInputs,
} from "../ops/spline.ts";
import { splineBackwardLoop, splineDims, splineForwardLoop } from "./spline_cpu.ts";

const forwardWasm: KernelFunc = (args) => {
  const { x, coef, alpha } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as BackendWasm;
  const out = be.makeOutput(x.shape, "float32");
  const heap = (t: TensorInfo) => be.typedArrayFromHeap(t) as Float32Array;
  // spec §3 evaluation (see splineForwardLoop)
  splineForwardLoop(
    heap(x),
    heap(coef),
    heap(alpha),
    heap(out),
    splineDims(x),
    splineAttrsOf(args.attrs),
  );
  return out;
};

const backwardWasm: KernelFunc = (args) => {
  const { x, coef, alpha, dy } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as BackendWasm;
  const dx = be.makeOutput(x.shape, "float32");
  const dcoef = be.makeOutput(coef.shape, "float32");
  const dalpha = be.makeOutput(alpha.shape, "float32");
  const heap = (t: TensorInfo) => be.typedArrayFromHeap(t) as Float32Array;
  // spec §3 gradients (see splineBackwardLoop)
  splineBackwardLoop(
    heap(x),
    heap(coef),
    heap(alpha),
    heap(dy!),
    heap(dx),
    heap(dcoef),
    heap(dalpha),
    splineDims(x),
    splineAttrsOf(args.attrs),
  );
  return [dx, dcoef, dalpha];
};

/** Register the spline kernels for the `wasm` backend (idempotent). */
export function register(): void {
  for (
    const [kernelName, kernelFunc] of [[SPLINE_KERNEL, forwardWasm], [
      SPLINE_GRAD_KERNEL,
      backwardWasm,
    ]] as const
  ) {
    if (tf.getKernel(kernelName, "wasm") == null) {
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
    }
  }
}
