/**
 * Fused batched Björck kernels (`LipsplineBjorck`, `LipsplineBjorckGrad`, spec §4) for the
 * `cpu` backend: inputs are read from the backend's typed arrays, outputs are new typed arrays.
 * The arithmetic is the WebAssembly SIMD engine of `bjorck_fused.ts`.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { type BackendIO, registerBjorckKernels } from "./bjorck_fused.ts";

/** Re-exported for kernel modules that reuse the cpu/wasm memory-access interface. */
export type { BackendIO } from "./bjorck_fused.ts";

/** Typed-array access on the `cpu` backend. */
export const cpuIO: BackendIO = {
  read(backend: unknown, t: TensorInfo): Float32Array {
    const vals = (backend as MathBackendCPU).data.get(t.dataId).values;
    if (!(vals instanceof Float32Array)) {
      throw new Error(`Cannot run the Björck kernel as the input is not float32: ${t.dtype}`);
    }
    return vals;
  },
  write(backend: unknown, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
    const vals = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(vals);
    return (backend as MathBackendCPU).makeTensorInfo(shape, "float32", vals);
  },
};

/** Register the fused Björck kernels on the `cpu` backend. */
export function register(): void {
  registerBjorckKernels("cpu", cpuIO);
}
