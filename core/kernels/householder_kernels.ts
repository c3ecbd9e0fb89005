/**
 * The fused HouseHolder kernels for the CPU backends (`cpu`, `wasm`).
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import {
  HOUSEHOLDER_GRAD_KERNEL,
  HOUSEHOLDER_KERNEL,
  householderGradLoop,
  householderLoop,
  registerHouseholderGradient,
} from "../ops/householder.ts";
import type { BackendIO } from "./backend_io.ts";
import { replaceKernel } from "./replace_kernel.ts";

/** Register the HouseHolder kernels on `backendName`, reaching memory through `io`. */
export function registerHouseholderKernels(backendName: string, io: BackendIO): void {
  registerHouseholderGradient();
  // Outputs are computed into JS arrays first: allocating a wasm output may move the heap.
  const kernels: Array<[string, KernelFunc]> = [
    [HOUSEHOLDER_KERNEL, ({ inputs, backend }) => {
      const { x, theta } = inputs as unknown as { x: TensorInfo; theta: TensorInfo };
      const [G, N, C] = x.shape;
      const y = new Float32Array(G * N * C);
      householderLoop(io.read(backend, x), io.read(backend, theta), G, N, C, y);
      return io.write(backend, x.shape.slice(), (dst) => dst.set(y));
    }],
    [HOUSEHOLDER_GRAD_KERNEL, ({ inputs, backend }) => {
      const { x, theta, dy } = inputs as unknown as Record<"x" | "theta" | "dy", TensorInfo>;
      const [G, N, C] = x.shape;
      const dx = new Float32Array(G * N * C);
      const dtheta = new Float32Array(theta.shape[0]);
      householderGradLoop(
        io.read(backend, x),
        io.read(backend, theta),
        io.read(backend, dy),
        G,
        N,
        C,
        dx,
        dtheta,
      );
      return [
        io.write(backend, x.shape.slice(), (dst) => dst.set(dx)),
        io.write(backend, theta.shape.slice(), (dst) => dst.set(dtheta)),
      ];
    }],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    replaceKernel(kernelName, backendName, kernelFunc);
  }
}
