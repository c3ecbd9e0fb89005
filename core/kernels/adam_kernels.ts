/**
 * The fused Adam kernel for the CPU backends (`cpu`, `wasm`).
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { ADAM_KERNEL, type AdamAttrs, adamLoop } from "../ops/adam_update.ts";
import type { BackendIO } from "./backend_io.ts";
import { replaceKernel } from "./replace_kernel.ts";

/** Register `LipsplineAdam` on `backendName`, reaching memory through `io`. */
export function registerAdamKernel(backendName: string, io: BackendIO): void {
  replaceKernel(ADAM_KERNEL, backendName, ({ inputs, backend, attrs }) => {
    const { w, g, m, v } = inputs as unknown as Record<"w" | "g" | "m" | "v", TensorInfo>;
    const n = w.shape.reduce((a, b) => a * b, 1);
    const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    adamLoop(
      io.read(backend, w),
      io.read(backend, g),
      io.read(backend, m),
      io.read(backend, v),
      attrs as unknown as AdamAttrs,
      out[0],
      out[1],
      out[2],
    );
    // Outputs are allocated after all reads: a wasm allocation may move the heap.
    return out.map((vals) => io.write(backend, w.shape.slice(), (dst) => dst.set(vals)));
  });
}
