/**
 * Fused spline-coefficient kernels (projection, TV2) and the fused Adam update on `wasm`.
 *
 * @module
 */
import { wasmIO } from "./backend_io.ts";
import { registerCoefficientKernels } from "./coefficients_kernels.ts";
import { registerAdamKernel } from "./adam_kernels.ts";

/** Register them. */
export function register(): void {
  registerCoefficientKernels("wasm", wasmIO);
  registerAdamKernel("wasm", wasmIO);
}
