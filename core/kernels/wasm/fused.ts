/**
 * lipspline's small fused kernels on the `wasm` backend: the spline-coefficient projection and
 * TV2, the Adam update, GroupSort, HouseHolder, circular padding and the bias `Add`; the
 * projection, Adam and the bias `Add` in WebAssembly modules on the heap (`./coefficients.ts`,
 * `./adam.ts`, `./add_bias.ts`).
 *
 * @module
 */
import { wasmIO } from "../backend_io.ts";
import { registerCoefficientKernels } from "../coefficients_kernels.ts";
import { registerGroupSortKernels } from "../groupsort_kernels.ts";
import { registerHouseholderKernels } from "../householder_kernels.ts";
import { registerCircularPadKernels } from "../circular_pad_kernels.ts";
import { register as registerNativeCoefficientKernels } from "./coefficients.ts";
import { register as registerNativeAdamKernel } from "./adam.ts";
import { register as registerAddBias } from "./add_bias.ts";

/** Register them. */
export function register(): void {
  registerCoefficientKernels("wasm", wasmIO);
  // the projection kernels on the heap (native/coefficients.c) replace the JS ones
  registerNativeCoefficientKernels();
  registerNativeAdamKernel(); // adamLoop of ops/adam_update.ts on the heap (native/adam.c)
  registerGroupSortKernels("wasm", wasmIO);
  registerHouseholderKernels("wasm", wasmIO);
  registerCircularPadKernels("wasm", wasmIO);
  registerAddBias();
}
