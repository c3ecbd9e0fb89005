/**
 * Fused batched Björck kernels (`LipsplineBjorck`, `LipsplineBjorckGrad`, docs/method.md §4) for the
 * `cpu` backend: inputs are read from the backend's typed arrays, outputs are new typed arrays.
 * The arithmetic is the WebAssembly SIMD engine of `bjorck_fused.ts`.
 *
 * @module
 */
import { registerBjorckKernels } from "../bjorck_fused.ts";
import { cpuIO } from "../backend_io.ts";

/** Register the fused Björck kernels on the `cpu` backend. */
export function register(): void {
  registerBjorckKernels("cpu", cpuIO);
}
