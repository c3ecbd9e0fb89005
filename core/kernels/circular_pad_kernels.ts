/**
 * The fused circular-padding kernels (`core/ops/circular_pad.ts`) for the CPU backends (`cpu`,
 * `wasm`): contiguous row copies forward, row folds backward, straight into the output.
 *
 * @module
 */
import type { NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import {
  CIRCULAR_PAD_GRAD_KERNEL,
  CIRCULAR_PAD_KERNEL,
  circularFoldLoop,
  type CircularPadAttrs,
  circularPadLoop,
  type Nhwc,
  registerCircularPadGradient,
} from "../ops/circular_pad.ts";
import type { BackendIO } from "./backend_io.ts";
import { replaceKernel } from "./replace_kernel.ts";

const padOf = (attrs: NamedAttrMap | undefined) => (attrs as unknown as CircularPadAttrs).pad;

/** Register the circular-padding kernels on `backendName`, reaching memory through `io`. */
export function registerCircularPadKernels(backendName: string, io: BackendIO): void {
  registerCircularPadGradient();
  replaceKernel(CIRCULAR_PAD_KERNEL, backendName, ({ inputs, backend, attrs }) => {
    const x = (inputs as unknown as { x: TensorInfo }).x;
    const p = padOf(attrs);
    const [N, H, W, C] = x.shape as Nhwc;
    // inputs are read inside `write`, after the output's allocation (which may move the heap)
    return io.write(
      backend,
      [N, H + 2 * p, W + 2 * p, C],
      (out) => circularPadLoop(io.read(backend, x), out, [N, H, W, C], p),
    );
  });
  replaceKernel(CIRCULAR_PAD_GRAD_KERNEL, backendName, ({ inputs, backend, attrs }) => {
    const dy = (inputs as unknown as { dy: TensorInfo }).dy;
    const p = padOf(attrs);
    const [N, H2, W2, C] = dy.shape as Nhwc;
    const s: Nhwc = [N, H2 - 2 * p, W2 - 2 * p, C];
    return io.write(backend, s, (dx) => circularFoldLoop(io.read(backend, dy), dx, s, p));
  });
}
