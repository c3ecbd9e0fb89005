/**
 * How lipspline's fused kernels reach tensor memory on the two CPU backends, so that one loop
 * serves both: `cpu` keeps values in JS typed arrays; `wasm` keeps them on its WebAssembly heap.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** How a backend exposes tensor memory to the fused kernels. */
export interface BackendIO {
  /** A float32 view of a tensor's values (valid until the backend allocates again). */
  read(backend: unknown, t: TensorInfo): Float32Array;
  /** Allocate a float32 tensor of `shape` and let `fill` write its values. */
  write(backend: unknown, shape: number[], fill: (dst: Float32Array) => void): TensorInfo;
}

function requireFloat32(t: TensorInfo): void {
  if (t.dtype !== "float32") {
    throw new Error(`Cannot run a fused kernel as its input is not float32: it is ${t.dtype}`);
  }
}

/** Typed-array access on the `cpu` backend. */
export const cpuIO: BackendIO = {
  read(backend: unknown, t: TensorInfo): Float32Array {
    requireFloat32(t);
    return (backend as MathBackendCPU).data.get(t.dataId).values as Float32Array;
  },
  write(backend: unknown, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
    const vals = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(vals);
    return (backend as MathBackendCPU).makeTensorInfo(shape, "float32", vals);
  },
};

/**
 * Heap access on the `wasm` backend. An allocation may grow the heap and detach earlier views:
 * read every input (or copy it) before writing outputs.
 */
export const wasmIO: BackendIO = {
  read(backend: unknown, t: TensorInfo): Float32Array {
    requireFloat32(t);
    return (backend as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  },
  write(backend: unknown, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
    const be = backend as BackendWasm;
    const out = be.makeOutput(shape, "float32");
    fill(be.typedArrayFromHeap(out) as Float32Array);
    return out;
  },
};
