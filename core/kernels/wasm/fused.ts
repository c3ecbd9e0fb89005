/**
 * lipspline's small fused kernels on the `wasm` backend: the spline-coefficient projection and
 * TV2, the Adam update, GroupSort, HouseHolder and circular padding.
 *
 * @module
 */
import { wasmIO } from "../backend_io.ts";
import { registerCoefficientKernels } from "../coefficients_kernels.ts";
import { registerAdamKernel } from "../adam_kernels.ts";
import { registerGroupSortKernels } from "../groupsort_kernels.ts";
import { registerHouseholderKernels } from "../householder_kernels.ts";
import { registerCircularPadKernels } from "../circular_pad_kernels.ts";

/** Register them. */
export function register(): void {
  registerCoefficientKernels("wasm", wasmIO);
  registerAdamKernel("wasm", wasmIO);
  registerGroupSortKernels("wasm", wasmIO);
  registerHouseholderKernels("wasm", wasmIO);
  registerCircularPadKernels("wasm", wasmIO);
}
