/**
 * The spline-coefficient projection and TV(2) kernels (docs/method.md §3) on the `wasm` backend,
 * run by the WebAssembly module `native/coefficients.c` on the backend's heap: the same
 * arithmetic as the JS loops of `ops/spline_coefficients.ts` (same bits), without their copies
 * and about 5× faster (bench/RESULTS.md, `step_1d`). The TV(2)-only kernels stay the JS ones.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  coefficientRows,
  coefficientStep,
  PROJECT_GRAD_KERNEL,
  PROJECT_KERNEL,
  PROJECT_TV2_GRAD_KERNEL,
  PROJECT_TV2_KERNEL,
} from "../../ops/spline_coefficients.ts";
import { COEFFICIENTS_WASM_BASE64 } from "../native/coefficients_wasm_bin.ts";
import { replaceKernel } from "../replace_kernel.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

/** The module's exports (pointers are byte offsets into the heap; 0 = absent). */
export interface CoefficientExports {
  coef_project(c: number, rows: number, K: number, T: number, p: number, tv: number): void;
  coef_project_grad(
    c: number,
    g: number,
    dtv: number,
    rows: number,
    K: number,
    T: number,
    dc: number,
  ): void;
}

const module = (be: unknown) => heapModule<CoefficientExports>(be, COEFFICIENTS_WASM_BASE64);

/** Forward, with (`withTv`) or without the TV(2) output: docs/method.md (3.2), (3.8). */
const forward = (withTv: boolean): KernelFunc => ({ inputs, backend, attrs }) => {
  const c = (inputs as unknown as { c: TensorInfo }).c;
  const be = backend as BackendWasm;
  const { rows, K } = coefficientRows(c);
  const p = be.makeOutput(c.shape.slice(), "float32");
  const tv = withTv ? be.makeOutput(c.shape.slice(0, -1), "float32") : null;
  module(be).coef_project(
    heapOffset(be, c),
    rows,
    K,
    coefficientStep(attrs),
    heapOffset(be, p),
    tv ? heapOffset(be, tv) : 0,
  );
  return tv ? [p, tv] : p;
};

/** Gradient, with the upstream TV(2) gradient `dtv` or without: docs/method.md (3.7). */
const gradient = (withTv: boolean): KernelFunc => ({ inputs, backend, attrs }) => {
  const named = inputs as unknown as Record<"c" | "dy" | "dp" | "dtv", TensorInfo>;
  const be = backend as BackendWasm;
  const { rows, K } = coefficientRows(named.c);
  const dc = be.makeOutput(named.c.shape.slice(), "float32");
  module(be).coef_project_grad(
    heapOffset(be, named.c),
    heapOffset(be, withTv ? named.dp : named.dy),
    withTv ? heapOffset(be, named.dtv) : 0,
    rows,
    K,
    coefficientStep(attrs),
    heapOffset(be, dc),
  );
  return dc;
};

/** Register the four kernels on `wasm`, replacing the JS ones (idempotent). */
export function register(): void {
  replaceKernel(PROJECT_KERNEL, "wasm", forward(false));
  replaceKernel(PROJECT_TV2_KERNEL, "wasm", forward(true));
  replaceKernel(PROJECT_GRAD_KERNEL, "wasm", gradient(false));
  replaceKernel(PROJECT_TV2_GRAD_KERNEL, "wasm", gradient(true));
}
