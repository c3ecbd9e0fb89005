/**
 * Kernels of the fused spline-coefficient ops (projection and TV2, docs/method.md §3) for the CPU
 * backends (`cpu`, `wasm`), which share the loops of `ops/spline_coefficients.ts` and differ
 * only in how they reach tensor memory.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import {
  coefficientRows,
  coefficientStep,
  PROJECT_GRAD_KERNEL,
  PROJECT_KERNEL,
  PROJECT_TV2_GRAD_KERNEL,
  PROJECT_TV2_KERNEL,
  projectRows,
  projectRowsGrad,
  projectTv2Rows,
  projectTv2RowsGrad,
  registerCoefficientGradients,
  TV2_GRAD_KERNEL,
  TV2_KERNEL,
  tv2Rows,
  tv2RowsGrad,
} from "../ops/spline_coefficients.ts";
import type { BackendIO } from "./backend_io.ts";
import { replaceKernel } from "./replace_kernel.ts";

/** Register the kernels on `backendName`, reaching memory through `io`. */
export function registerCoefficientKernels(backendName: string, io: BackendIO): void {
  registerCoefficientGradients();
  // Outputs are computed into JS arrays first: allocating a wasm output may move the heap.
  const kernels: Array<[string, KernelFunc]> = [
    [PROJECT_KERNEL, ({ inputs, backend, attrs }) => {
      const c = (inputs as unknown as { c: TensorInfo }).c;
      const { rows, K } = coefficientRows(c);
      const out = new Float32Array(rows * K);
      projectRows(io.read(backend, c), rows, K, coefficientStep(attrs), out);
      return io.write(backend, c.shape.slice(), (dst) => dst.set(out));
    }],
    [PROJECT_GRAD_KERNEL, ({ inputs, backend, attrs }) => {
      const { c, dy } = inputs as unknown as { c: TensorInfo; dy: TensorInfo };
      const { rows, K } = coefficientRows(c);
      const out = new Float32Array(rows * K);
      projectRowsGrad(
        io.read(backend, c),
        io.read(backend, dy),
        rows,
        K,
        coefficientStep(attrs),
        out,
      );
      return io.write(backend, c.shape.slice(), (dst) => dst.set(out));
    }],
    [PROJECT_TV2_KERNEL, ({ inputs, backend, attrs }) => {
      const c = (inputs as unknown as { c: TensorInfo }).c;
      const { rows, K } = coefficientRows(c);
      const T = coefficientStep(attrs);
      const p = new Float32Array(rows * K);
      const tv = new Float32Array(rows);
      projectTv2Rows(io.read(backend, c), rows, K, T, p, tv);
      return [
        io.write(backend, c.shape.slice(), (dst) => dst.set(p)),
        io.write(backend, c.shape.slice(0, -1), (dst) => dst.set(tv)),
      ];
    }],
    [PROJECT_TV2_GRAD_KERNEL, ({ inputs, backend, attrs }) => {
      const { c, dp, dtv } = inputs as unknown as Record<"c" | "dp" | "dtv", TensorInfo>;
      const { rows, K } = coefficientRows(c);
      const out = new Float32Array(rows * K);
      projectTv2RowsGrad(
        io.read(backend, c),
        io.read(backend, dp),
        io.read(backend, dtv),
        rows,
        K,
        coefficientStep(attrs),
        out,
      );
      return io.write(backend, c.shape.slice(), (dst) => dst.set(out));
    }],
    [TV2_KERNEL, ({ inputs, backend, attrs }) => {
      const p = (inputs as unknown as { p: TensorInfo }).p;
      const { rows, K } = coefficientRows(p);
      const out = new Float32Array(rows);
      tv2Rows(io.read(backend, p), rows, K, coefficientStep(attrs), out);
      return io.write(backend, p.shape.slice(0, -1), (dst) => dst.set(out));
    }],
    [TV2_GRAD_KERNEL, ({ inputs, backend, attrs }) => {
      const { p, dy } = inputs as unknown as { p: TensorInfo; dy: TensorInfo };
      const { rows, K } = coefficientRows(p);
      const out = new Float32Array(rows * K);
      tv2RowsGrad(io.read(backend, p), io.read(backend, dy), rows, K, coefficientStep(attrs), out);
      return io.write(backend, p.shape.slice(), (dst) => dst.set(out));
    }],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    replaceKernel(kernelName, backendName, kernelFunc);
  }
}
