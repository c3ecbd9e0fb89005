/**
 * Fused linear-spline kernels (`LipsplineSpline`, `LipsplineSplineGrad`, docs/method.md §3) for the
 * `wasm` backend: a WebAssembly SIMD module (`native/spline.c`, embedded as base64 in
 * `native/spline_wasm_bin.ts`) that imports the backend's own memory, so it reads inputs and
 * writes outputs where the tensors live, without copies. The backward pass's scratch space (two
 * float64 sums per segment) is allocated on the same heap with the backend's `malloc`.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  SPLINE_GRAD_KERNEL,
  SPLINE_KERNEL,
  splineAttrsOf,
  splineConstants,
  type SplineKernelInputs,
} from "../../ops/spline.ts";
import { splineDims } from "../cpu/spline.ts";
import { SPLINE_WASM_BASE64 } from "../native/spline_wasm_bin.ts";
import { replaceKernel } from "../replace_kernel.ts";
import { heapModule, heapOffset, withScratch } from "./heap_module.ts";

/** The layout and grid arguments every spline kernel ends with (docs/method.md §3, knot units). */
type GridArgs = [
  G: number,
  N: number,
  C: number,
  K: number,
  invT: number,
  off: number,
  shift: number,
];

/** The arguments of `spline_backward` (pointers are byte offsets into the heap). */
type SplineBackwardArgs = [
  x: number,
  coef: number,
  alpha: number,
  dy: number,
  dx: number,
  dcoef: number,
  dalpha: number,
  ...GridArgs,
  scratch: number,
];

/** The module's exports (pointers are byte offsets into the backend's heap). */
export interface SplineExports {
  spline_forward(...args: [x: number, coef: number, alpha: number, out: number, ...GridArgs]): void;
  spline_backward(...args: SplineBackwardArgs): void;
  /** `spline_backward` for few inputs per channel (the native ensemble trainer's). */
  spline_backward_sparse(...args: [...SplineBackwardArgs, list: number]): void;
}

/** The module on `be`'s heap (native/spline.c). */
const splineModule = (be: unknown) => heapModule<SplineExports>(be, SPLINE_WASM_BASE64);

/** Grid constants in the module's argument order: `invT, off, shift` (docs/method.md §3, knot units). */
function gridArgs(attrs: ReturnType<typeof splineAttrsOf>): [number, number, number] {
  const { invT, z, shift } = splineConstants(attrs);
  return [invT, z - shift * invT, shift];
}

const forwardWasm: KernelFunc = (args) => {
  const { x, coef, alpha } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as BackendWasm;
  const out = be.makeOutput(x.shape, "float32");
  const ptr = (t: TensorInfo) => heapOffset(be, t);
  const { G, N, C } = splineDims(x);
  const attrs = splineAttrsOf(args.attrs);
  // docs/method.md §3 evaluation (native/spline.c, spline_forward)
  splineModule(be).spline_forward(
    ptr(x),
    ptr(coef),
    ptr(alpha),
    ptr(out),
    G,
    N,
    C,
    attrs.size,
    ...gridArgs(attrs),
  );
  return out;
};

const backwardWasm: KernelFunc = (args) => {
  const { x, coef, alpha, dy } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as BackendWasm;
  const dx = be.makeOutput(x.shape, "float32");
  const dcoef = be.makeOutput(coef.shape, "float32");
  const dalpha = be.makeOutput(alpha.shape, "float32");
  const ptr = (t: TensorInfo) => heapOffset(be, t);
  const { G, N, C } = splineDims(x);
  const attrs = splineAttrsOf(args.attrs);
  const GC = G * C;
  // 2 float64 sums per segment
  const bytes = 16 * GC * attrs.size;
  // docs/method.md §3 gradients (native/spline.c, spline_backward)
  withScratch(be, bytes, (scratch) =>
    splineModule(be).spline_backward(
      ptr(x),
      ptr(coef),
      ptr(alpha),
      ptr(dy!),
      ptr(dx),
      ptr(dcoef),
      ptr(dalpha),
      G,
      N,
      C,
      attrs.size,
      ...gridArgs(attrs),
      scratch,
    ));
  return [dx, dcoef, dalpha];
};

/** Register the spline kernels for the `wasm` backend (idempotent). */
export function register(): void {
  replaceKernel(SPLINE_KERNEL, "wasm", forwardWasm);
  replaceKernel(SPLINE_GRAD_KERNEL, "wasm", backwardWasm);
}
