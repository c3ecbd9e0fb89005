/**
 * Fused linear-spline kernels (`LipsplineSpline`, `LipsplineSplineGrad`, docs/method.md §3) for the
 * `wasm` backend: a WebAssembly SIMD module (`native/spline.c`, embedded as base64 in
 * `native/spline_wasm_bin.ts`) that imports the backend's own memory, so it reads inputs and
 * writes outputs where the tensors live, without copies. Its scratch space (per-channel
 * factors, per-segment sums) is allocated on the same heap with the backend's `malloc`.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import {
  SPLINE_GRAD_KERNEL,
  SPLINE_KERNEL,
  splineAttrsOf,
  splineConstants,
  type SplineKernelInputs,
} from "../../ops/spline.ts";
import { splineDims } from "../cpu/spline.ts";
import { SPLINE_WASM_BASE64 } from "../native/spline_wasm_bin.ts";
import { replaceKernel } from "../replace_kernel.ts";

/** The module's exports (pointers are byte offsets into the backend's heap). */
interface SplineExports {
  spline_forward(
    x: number,
    coef: number,
    alpha: number,
    out: number,
    G: number,
    N: number,
    C: number,
    K: number,
    invT: number,
    off: number,
    shift: number,
    scratch: number,
  ): void;
  spline_backward(
    x: number,
    coef: number,
    alpha: number,
    dy: number,
    dx: number,
    dcoef: number,
    dalpha: number,
    G: number,
    N: number,
    C: number,
    K: number,
    invT: number,
    off: number,
    shift: number,
    scratch: number,
  ): void;
}

/** The parts of the tfjs wasm backend the kernels use (not in its public typings). */
interface WasmInternals {
  wasm: {
    asm: { memory: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
}

let moduleBytes: WebAssembly.Module | null = null;
const instances = new WeakMap<WebAssembly.Memory, SplineExports>();

/** The module instantiated on `be`'s memory (once per backend memory). */
function splineModule(be: WasmInternals): SplineExports {
  const memory = be.wasm.asm.memory;
  let ex = instances.get(memory);
  if (!ex) {
    moduleBytes ??= new WebAssembly.Module(
      Uint8Array.from(atob(SPLINE_WASM_BASE64), (ch) => ch.charCodeAt(0)),
    );
    ex = new WebAssembly.Instance(moduleBytes, { env: { memory } })
      .exports as unknown as SplineExports;
    instances.set(memory, ex);
  }
  return ex;
}

/** Floats of per-channel factors and segment lines (`build_tables` in native/spline.c). */
function tableFloats(GC: number, K: number): number {
  return ((2 * GC + 1) & ~1) + 2 * GC * K;
}

/** Run `fn` with `bytes` of scratch space on the backend's heap (freed afterwards). */
function withScratch(be: WasmInternals, bytes: number, fn: (ptr: number) => void): void {
  const ptr = be.wasm._malloc(bytes);
  try {
    fn(ptr);
  } finally {
    be.wasm._free(ptr);
  }
}

/** Grid constants in the module's argument order: `invT, off, shift` (docs/method.md §3, knot units). */
function gridArgs(attrs: ReturnType<typeof splineAttrsOf>): [number, number, number] {
  const { invT, z, shift } = splineConstants(attrs);
  return [invT, z - shift * invT, shift];
}

const forwardWasm: KernelFunc = (args) => {
  const { x, coef, alpha } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as BackendWasm;
  const internals = be as unknown as WasmInternals;
  const out = be.makeOutput(x.shape, "float32");
  const ptr = (t: TensorInfo) => internals.dataIdMap.get(t.dataId).memoryOffset;
  const { G, N, C } = splineDims(x);
  const attrs = splineAttrsOf(args.attrs);
  // docs/method.md §3 evaluation (native/spline.c, spline_forward)
  withScratch(
    internals,
    4 * tableFloats(G * C, attrs.size),
    (scratch) =>
      splineModule(internals).spline_forward(
        ptr(x),
        ptr(coef),
        ptr(alpha),
        ptr(out),
        G,
        N,
        C,
        attrs.size,
        ...gridArgs(attrs),
        scratch,
      ),
  );
  return out;
};

const backwardWasm: KernelFunc = (args) => {
  const { x, coef, alpha, dy } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as BackendWasm;
  const internals = be as unknown as WasmInternals;
  const dx = be.makeOutput(x.shape, "float32");
  const dcoef = be.makeOutput(coef.shape, "float32");
  const dalpha = be.makeOutput(alpha.shape, "float32");
  const ptr = (t: TensorInfo) => internals.dataIdMap.get(t.dataId).memoryOffset;
  const { G, N, C } = splineDims(x);
  const attrs = splineAttrsOf(args.attrs);
  const GC = G * C;
  // the tables (padded to 8 bytes), then 2 float64 sums per segment
  const bytes = 4 * ((tableFloats(GC, attrs.size) + 1) & ~1) + 16 * GC * attrs.size;
  // docs/method.md §3 gradients (native/spline.c, spline_backward)
  withScratch(internals, bytes, (scratch) =>
    splineModule(internals).spline_backward(
      ptr(x),
      ptr(coef),
      ptr(alpha),
      ptr(dy!),
      ptr(dx),
      ptr(dcoef),
      ptr(dalpha),
      G,
      N,
      C,
      attrs.size,
      ...gridArgs(attrs),
      scratch,
    ));
  return [dx, dcoef, dalpha];
};

/** Register the spline kernels for the `wasm` backend (idempotent). */
export function register(): void {
  replaceKernel(SPLINE_KERNEL, "wasm", forwardWasm);
  replaceKernel(SPLINE_GRAD_KERNEL, "wasm", backwardWasm);
}
