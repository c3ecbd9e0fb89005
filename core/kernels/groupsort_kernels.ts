/**
 * The fused GroupSort kernels for the CPU backends (`cpu`, `wasm`).
 *
 * @module
 */
import type { KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import {
  GROUPSORT_GRAD_KERNEL,
  GROUPSORT_KERNEL,
  type GroupSortAttrs,
  groupSortGradLoop,
  groupSortLoop,
  registerGroupSortGradient,
} from "../ops/groupsort.ts";
import type { BackendIO } from "./backend_io.ts";
import { replaceKernel } from "./replace_kernel.ts";

const sizeOf = (attrs: NamedAttrMap | undefined) => (attrs as unknown as GroupSortAttrs).groupSize;

/** Register the GroupSort kernels on `backendName`, reaching memory through `io`. */
export function registerGroupSortKernels(backendName: string, io: BackendIO): void {
  registerGroupSortGradient();
  // Outputs are computed into JS arrays first: allocating a wasm output may move the heap.
  const kernels: Array<[string, KernelFunc]> = [
    [GROUPSORT_KERNEL, ({ inputs, backend, attrs }) => {
      const x = (inputs as unknown as { x: TensorInfo }).x;
      const out = new Float32Array(x.shape.reduce((a, b) => a * b, 1));
      groupSortLoop(io.read(backend, x), sizeOf(attrs), out);
      return io.write(backend, x.shape.slice(), (dst) => dst.set(out));
    }],
    [GROUPSORT_GRAD_KERNEL, ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
      const out = new Float32Array(x.shape.reduce((a, b) => a * b, 1));
      groupSortGradLoop(io.read(backend, x), io.read(backend, dy), sizeOf(attrs), out);
      return io.write(backend, x.shape.slice(), (dst) => dst.set(out));
    }],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    replaceKernel(kernelName, backendName, kernelFunc);
  }
}
