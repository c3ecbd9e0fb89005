/**
 * lipspline's small fused kernels on the `cpu` backend: the spline-coefficient projection and
 * TV2, the Adam update, GroupSort, HouseHolder and circular padding.
 *
 * @module
 */
import { cpuIO } from "../backend_io.ts";
import { registerCoefficientKernels } from "../coefficients_kernels.ts";
import { registerAdamKernel } from "../adam_kernels.ts";
import { registerGroupSortKernels } from "../groupsort_kernels.ts";
import { registerHouseholderKernels } from "../householder_kernels.ts";
import { registerCircularPadKernels } from "../circular_pad_kernels.ts";

/** Register them. */
export function register(): void {
  registerCoefficientKernels("cpu", cpuIO);
  registerAdamKernel("cpu", cpuIO);
  registerGroupSortKernels("cpu", cpuIO);
  registerHouseholderKernels("cpu", cpuIO);
  registerCircularPadKernels("cpu", cpuIO);
}
