/**
 * The fused Adam kernel (`LipsplineAdam`, docs/method.md (3.10)) on the `wasm` backend, run by the
 * WebAssembly module `native/adam.c` on the backend's heap: the arithmetic of
 * `ops/adam_update.ts`'s loop (same bits), vectorised, and without JS views of the heap.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { ADAM_KERNEL, type AdamAttrs } from "../../ops/adam_update.ts";
import { ADAM_WASM_BASE64 } from "../native/adam_wasm_bin.ts";
import { replaceKernel } from "../replace_kernel.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

/** The module's export (pointers are byte offsets into the heap). */
export interface AdamExports {
  adam_update(
    w: number,
    g: number,
    m: number,
    v: number,
    n: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
    c2: number,
    wOut: number,
    mOut: number,
    vOut: number,
  ): void;
}

const adamWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { w, g, m, v } = inputs as unknown as Record<"w" | "g" | "m" | "v", TensorInfo>;
  const be = backend as BackendWasm;
  const a = attrs as unknown as AdamAttrs;
  const outs = [0, 1, 2].map(() => be.makeOutput(w.shape.slice(), "float32"));
  const at = (t: TensorInfo) => heapOffset(be, t);
  heapModule<AdamExports>(be, ADAM_WASM_BASE64).adam_update(
    at(w),
    at(g),
    at(m),
    at(v),
    w.shape.reduce((p, q) => p * q, 1),
    a.beta1,
    a.beta2,
    a.eps,
    a.lr / a.bc1,
    1 / a.bc2,
    at(outs[0]),
    at(outs[1]),
    at(outs[2]),
  );
  return outs;
};

/** Register the kernel on `wasm`, replacing the JS one (idempotent). */
export function register(): void {
  replaceKernel(ADAM_KERNEL, "wasm", adamWasm);
}
