/**
 * Fused batched Björck kernels (`LipsplineBjorck`, `LipsplineBjorckGrad`, docs/method.md §4) for the
 * `wasm` backend: inputs are read from the tfjs wasm heap (`typedArrayFromHeap`), outputs are
 * allocated with `makeOutput`. The arithmetic is the WebAssembly SIMD engine of
 * `bjorck_fused.ts` (its own module and memory; the inputs are copied in before any output is
 * allocated, because an allocation may grow the tfjs heap and detach earlier views).
 *
 * @module
 */
import { registerBjorckKernels } from "../bjorck_fused.ts";
import { wasmIO } from "../backend_io.ts";

/** Register the fused Björck kernels on the `wasm` backend. */
export function register(): void {
  registerBjorckKernels("wasm", wasmIO);
}
