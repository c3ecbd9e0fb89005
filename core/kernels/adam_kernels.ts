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
    // Outputs first (a wasm allocation may move the heap), then views of everything: the loop
    // writes straight into the output tensors. Fresh JS arrays here would cost a page fault per
    // 4 KiB on every step (about 0.3 s per step for a 6.4M-weight layer on a 2-core machine).
    const outs = [0, 1, 2].map(() => io.write(backend, w.shape.slice(), () => {}));
    const [wOut, mOut, vOut] = outs.map((o) => io.read(backend, o));
    adamLoop(
      io.read(backend, w),
      io.read(backend, g),
      io.read(backend, m),
      io.read(backend, v),
      attrs as unknown as AdamAttrs,
      wOut,
      mOut,
      vOut,
    );
    return outs;
  });
}
