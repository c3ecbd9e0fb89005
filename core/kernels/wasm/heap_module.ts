/**
 * lipspline's own WebAssembly modules that run on the tfjs `wasm` backend's heap
 * (`core/kernels/native/*.c` built with `--import-memory`): instantiated once per backend memory
 * with that memory as `env.memory`, so they read and write tensors where they live. Also the
 * backend internals they need (tensor offsets, `malloc`), which its public typings omit, and the
 * process-wide cache of compiled modules that every embedded module goes through.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs-core";

/** The parts of the tfjs wasm backend the heap modules use (not in its public typings). */
export interface WasmInternals {
  wasm: {
    asm: { memory: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(id: unknown): { memoryOffset: number } };
}

const compiled = new Map<string, WebAssembly.Module>();
const instances = new WeakMap<WebAssembly.Memory, Map<string, unknown>>();

/**
 * The WebAssembly module whose bytes are `base64` (a `*_wasm_bin.ts` constant), compiled once per
 * process.
 *
 * @example
 * ```ts ignore
 * const ex = new WebAssembly.Instance(compiledModule(IM2COL_WASM_BASE64), {}).exports;
 * ```
 */
export function compiledModule(base64: string): WebAssembly.Module {
  let mod = compiled.get(base64);
  if (!mod) {
    mod = new WebAssembly.Module(Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0)));
    compiled.set(base64, mod);
  }
  return mod;
}

/**
 * The module whose bytes are `base64` instantiated with `memory` as `env.memory` (once per
 * memory), as its exports `E`.
 */
export function moduleOn<E>(memory: WebAssembly.Memory, base64: string): E {
  let perMemory = instances.get(memory);
  if (!perMemory) instances.set(memory, perMemory = new Map());
  let ex = perMemory.get(base64) as E | undefined;
  if (!ex) {
    ex = new WebAssembly.Instance(compiledModule(base64), { env: { memory } })
      .exports as unknown as E;
    perMemory.set(base64, ex);
  }
  return ex;
}

/**
 * The module whose bytes are `base64`, instantiated on `backend`'s memory (once per memory), as
 * its exports `E`.
 */
export function heapModule<E>(backend: unknown, base64: string): E {
  return moduleOn<E>((backend as WasmInternals).wasm.asm.memory, base64);
}

/** Byte offset of tensor `t`'s values on `backend`'s heap. */
export function heapOffset(backend: unknown, t: TensorInfo): number {
  return (backend as WasmInternals).dataIdMap.get(t.dataId).memoryOffset;
}

/** Run `fn` with `bytes` of scratch space on the backend's heap (freed afterwards). */
export function withScratch(backend: unknown, bytes: number, fn: (ptr: number) => void): void {
  const wasm = (backend as WasmInternals).wasm;
  const ptr = wasm._malloc(bytes);
  try {
    fn(ptr);
  } finally {
    wasm._free(ptr);
  }
}
