/**
 * Fused batched Björck kernels (`LipsplineBjorck`, `LipsplineBjorckGrad`, spec §4) for the
 * `wasm` backend: inputs are read from the tfjs wasm heap (`typedArrayFromHeap`), outputs are
 * allocated with `makeOutput`. The arithmetic is the WebAssembly SIMD engine of
 * `bjorck_fused.ts` (its own module and memory; the inputs are copied in before any output is
 * allocated, because an allocation may grow the tfjs heap and detach earlier views).
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { type BackendIO, registerBjorckKernels } from "./bjorck_fused.ts";

/** Heap access on the `wasm` backend. */
export const wasmIO: BackendIO = {
  read(backend: unknown, t: TensorInfo): Float32Array {
    if (t.dtype !== "float32") {
      throw new Error(`Cannot run the Björck kernel as the input is not float32: ${t.dtype}`);
    }
    return (backend as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  },
  write(backend: unknown, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
    const be = backend as BackendWasm;
    const out = be.makeOutput(shape, "float32");
    fill(be.typedArrayFromHeap(out) as Float32Array);
    return out;
  },
};

/** Register the fused Björck kernels on the `wasm` backend. */
export function register(): void {
  registerBjorckKernels("wasm", wasmIO);
}
