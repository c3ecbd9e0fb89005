/**
 * The operands and sizes of a `BatchMatMul` kernel call, read once for the kernels that route
 * products (`wasm/missing.ts`, `blas/blas_kernels.ts`).
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";

/** `op(a) [..., M, K] · op(b) [..., K2, N]`, `op` transposing the last two axes when flagged. */
export interface MatMulCall {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  M: number;
  K: number;
  /** The inner size as `b` gives it (equal to `K` in a valid call). */
  K2: number;
  N: number;
  /** Matrices in `a` and in `b` (products of their leading axes). */
  batchA: number;
  batchB: number;
}

/** Read a `BatchMatMul` call's operands, flags and sizes from its kernel arguments. */
export function matMulCall(args: Parameters<KernelFunc>[0]): MatMulCall {
  const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
  };
  const ar = a.shape.length, br = b.shape.length;
  const batch = (t: TensorInfo) => t.shape.slice(0, -2).reduce((p, q) => p * q, 1);
  return {
    a,
    b,
    transposeA,
    transposeB,
    M: transposeA ? a.shape[ar - 1] : a.shape[ar - 2],
    K: transposeA ? a.shape[ar - 2] : a.shape[ar - 1],
    K2: transposeB ? b.shape[br - 1] : b.shape[br - 2],
    N: transposeB ? b.shape[br - 2] : b.shape[br - 1],
    batchA: batch(a),
    batchB: batch(b),
  };
}
