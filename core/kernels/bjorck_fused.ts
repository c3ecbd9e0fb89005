/**
 * The fused batched Björck kernels (`LipsplineBjorck`, `LipsplineBjorckGrad`, docs/method.md §4) shared
 * by the `cpu` and `wasm` backends (`cpu/bjorck.ts`, `wasm/bjorck.ts` supply the
 * {@linkcode BackendIO}), and that memory-access interface itself.
 *
 * The arithmetic runs in a small hand-written WebAssembly SIMD module (`native/bjorck.c`,
 * embedded as base64 in `native/bjorck_wasm_bin.ts`, rebuilt by `native/build.sh`) with its
 * own linear memory: inputs are copied in, outputs copied out (both O(B·m·n), negligible next
 * to the O(iters·B·m·n·min(m,n)) work).
 *
 * Backward pass: when the forward kernel runs under a gradient tape, it keeps every iterate
 * and Gram matrix in the module's memory, together with a copy of its input; the gradient
 * kernel looks for kept iterates whose input is bitwise equal to its `w` (tensor ids cannot be
 * used: the wasm backend's `clone` of a saved tensor gets a new id), backpropagates through
 * them and frees them. On a miss (evicted, or the forward ran outside a tape) the iterates are
 * recomputed from `w`, so the result never depends on the cache. The cache is bounded
 * ({@linkcode BJORCK_CACHE_LIMIT_BYTES}, oldest entries evicted first).
 *
 * @module
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import type { BackendIO } from "./backend_io.ts";
import { replaceKernel } from "./replace_kernel.ts";
import { BJORCK_GRAD_KERNEL, BJORCK_KERNEL, registerBjorckGradient } from "../ops/bjorck.ts";
import { BJORCK_WASM_BASE64 } from "./native/bjorck_wasm_bin.ts";
import { compiledModule } from "./wasm/heap_module.ts";

/** Upper bound on the bytes of iterates kept between a forward and its backward pass. */
export const BJORCK_CACHE_LIMIT_BYTES = 64 * 1024 * 1024;

/** SIMD lanes per group: the kernel processes four matrices at a time. */
const LANES = 4;
const V4 = 16; // bytes per packed element (4 lanes of f32)

export interface BjorckExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  bj_fwd(
    w: number,
    out: number,
    B: number,
    m: number,
    n: number,
    iters: number,
    beta: number,
    work: number,
    keep: number,
  ): void;
  bj_bwd(
    w: number,
    dy: number,
    dw: number,
    B: number,
    m: number,
    n: number,
    iters: number,
    beta: number,
    work: number,
    keep: number,
  ): void;
}

/** First-fit allocator over the module's linear memory (16-byte aligned blocks). */
class ModuleHeap {
  private readonly free: Array<{ start: number; size: number }> = [];
  private readonly sizes = new Map<number, number>();

  constructor(private readonly memory: WebAssembly.Memory, base: number) {
    const start = (base + 15) & ~15;
    this.free.push({ start, size: memory.buffer.byteLength - start });
  }

  alloc(bytes: number): number {
    const size = Math.max(16, (bytes + 15) & ~15);
    let i = this.free.findIndex((b) => b.size >= size);
    if (i < 0) {
      const end = this.memory.buffer.byteLength;
      const last = this.free[this.free.length - 1];
      const tail = last && last.start + last.size === end ? last.size : 0;
      const pages = Math.ceil((size - tail) / 65536);
      this.memory.grow(pages);
      if (tail > 0) last.size += pages * 65536;
      else this.free.push({ start: end, size: pages * 65536 });
      i = this.free.length - 1;
    }
    const block = this.free[i];
    const ptr = block.start;
    block.start += size;
    block.size -= size;
    if (block.size === 0) this.free.splice(i, 1);
    this.sizes.set(ptr, size);
    return ptr;
  }

  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    let i = 0;
    while (i < this.free.length && this.free[i].start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    // coalesce with the neighbours
    const next = this.free[i + 1];
    if (next && ptr + size === next.start) {
      this.free[i].size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === ptr) {
      prev.size += this.free[i].size;
      this.free.splice(i, 1);
    }
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }
}

interface KeptIterates {
  ptr: number;
  bytes: number;
  key: string;
  /** Bit pattern of the forward's input. */
  input: Int32Array;
}

function sameBits(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bitsOf(x: Float32Array): Int32Array {
  return new Int32Array(x.buffer, x.byteOffset, x.length);
}

/** Dimensions of a batched Björck call: B matrices of m×n. */
export interface BjorckDims {
  /** Number of matrices. */
  B: number;
  /** Rows (out). */
  m: number;
  /** Columns (in). */
  n: number;
}

/** The shape `[B, m, n]` or `[m, n]` as {@linkcode BjorckDims}. */
export function bjorckDims(shape: readonly number[]): BjorckDims {
  if (shape.length === 2) return { B: 1, m: shape[0], n: shape[1] };
  if (shape.length === 3) return { B: shape[0], m: shape[1], n: shape[2] };
  throw new Error(
    `Cannot orthonormalise as the weight must be [out, in] or [B, out, in]: ${shape}`,
  );
}

/** Bytes of iterates and Gram matrices kept for the backward pass of one call. */
export function bjorckKeptBytes(d: BjorckDims, iters: number): number {
  const r = Math.max(d.m, d.n), c = Math.min(d.m, d.n);
  const groups = Math.ceil(d.B / LANES);
  return groups * ((iters + 1) * r * c + iters * c * c) * V4;
}

/** The WebAssembly engine: module instance, memory allocator and the iterate cache. */
class BjorckEngine {
  private readonly ex: BjorckExports;
  private readonly heap: ModuleHeap;
  private readonly kept: KeptIterates[] = []; // oldest first
  private keptBytes = 0;

  constructor() {
    const inst = new WebAssembly.Instance(compiledModule(BJORCK_WASM_BASE64), {});
    this.ex = inst.exports as unknown as BjorckExports;
    this.heap = new ModuleHeap(this.ex.memory, this.ex.__heap_base.value as number);
  }

  /** Number of forward calls whose iterates are currently kept (for tests). */
  get keptCount(): number {
    return this.kept.length;
  }

  private dropKept(i: number): void {
    const [e] = this.kept.splice(i, 1);
    this.heap.release(e.ptr);
    this.keptBytes -= e.bytes;
  }

  /** Drop every kept iterate (frees the module memory they used). */
  clearKept(): void {
    while (this.kept.length > 0) this.dropKept(0);
  }

  /**
   * Forward (docs/method.md §4): `iters` iterations of `w <- (1+beta) w - beta w (wᵀw)` on each of the
   * B matrices of `w` ([B, m, n] row-major), written to `write(out)`. With `keep`, the
   * iterates are kept for {@linkcode backward}.
   */
  forward(
    w: Float32Array,
    d: BjorckDims,
    iters: number,
    beta: number,
    keep: boolean,
    write: (out: Float32Array) => void,
  ): void {
    const size = d.B * d.m * d.n;
    const r = Math.max(d.m, d.n), c = Math.min(d.m, d.n);
    let keepPtr = 0;
    const keptBytes = bjorckKeptBytes(d, iters);
    if (keep && keptBytes <= BJORCK_CACHE_LIMIT_BYTES) {
      while (this.keptBytes + keptBytes > BJORCK_CACHE_LIMIT_BYTES && this.kept.length > 0) {
        this.dropKept(0);
      }
      keepPtr = this.heap.alloc(keptBytes);
      const input = bitsOf(w).slice();
      this.kept.push({ ptr: keepPtr, bytes: keptBytes, key: cacheKey(d, iters, beta), input });
      this.keptBytes += keptBytes;
    }
    const pin = this.heap.alloc(size * 4);
    const pout = this.heap.alloc(size * 4);
    const pwork = this.heap.alloc((2 * r * c + c * c) * V4);
    this.heap.f32(pin, size).set(w);
    this.ex.bj_fwd(pin, pout, d.B, d.m, d.n, iters, beta, pwork, keepPtr);
    write(this.heap.f32(pout, size));
    this.heap.release(pwork);
    this.heap.release(pout);
    this.heap.release(pin);
  }

  /**
   * Backward: `dw = Jᵀ dy` for the forward above, through iterates kept by a forward on the
   * same input (bitwise) and attributes, else through iterates recomputed from `w`.
   */
  backward(
    w: Float32Array,
    dy: Float32Array,
    d: BjorckDims,
    iters: number,
    beta: number,
    write: (dw: Float32Array) => void,
  ): void {
    const size = d.B * d.m * d.n;
    const r = Math.max(d.m, d.n), c = Math.min(d.m, d.n);
    const key = cacheKey(d, iters, beta);
    const wbits = bitsOf(w);
    let hitIndex = -1;
    for (let i = this.kept.length - 1; i >= 0 && hitIndex < 0; i--) {
      const e = this.kept[i];
      if (e.key === key && sameBits(e.input, wbits)) hitIndex = i;
    }
    const hit = hitIndex >= 0 ? this.kept[hitIndex] : undefined;
    const useKept = hit !== undefined;
    const perGroupKept = (iters + 1) * r * c + iters * c * c;
    const workElems = 3 * r * c + c * c + (useKept ? 0 : perGroupKept);
    const pw = this.heap.alloc(size * 4);
    const pdy = this.heap.alloc(size * 4);
    const pdw = this.heap.alloc(size * 4);
    const pwork = this.heap.alloc(workElems * V4);
    this.heap.f32(pw, size).set(w);
    this.heap.f32(pdy, size).set(dy);
    this.ex.bj_bwd(pw, pdy, pdw, d.B, d.m, d.n, iters, beta, pwork, useKept ? hit.ptr : 0);
    write(this.heap.f32(pdw, size));
    this.heap.release(pwork);
    this.heap.release(pdw);
    this.heap.release(pdy);
    this.heap.release(pw);
    if (hit) this.dropKept(hitIndex);
  }
}

function cacheKey(d: BjorckDims, iters: number, beta: number): string {
  return `${d.B},${d.m},${d.n},${iters},${beta}`;
}

let engine: BjorckEngine | null = null;

/** The process-wide fused Björck engine (instantiated on first use). */
export function bjorckEngine(): BjorckEngine {
  engine ??= new BjorckEngine();
  return engine;
}

/** Kernel attributes of `LipsplineBjorck` / `LipsplineBjorckGrad`. */
interface BjorckAttrs {
  iters: number;
  beta: number;
}

function attrsOf(attrs: NamedAttrMap | undefined): BjorckAttrs {
  const a = attrs as unknown as BjorckAttrs;
  if (!Number.isInteger(a.iters) || a.iters < 0) {
    throw new Error(`Cannot orthonormalise as iters must be an integer ≥ 0: iters is ${a.iters}`);
  }
  return { iters: a.iters, beta: a.beta };
}

/** Whether a gradient tape is recording (the forward then keeps its iterates). */
function tapeRecording(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** The two kernel configs (`LipsplineBjorck`, `LipsplineBjorckGrad`) for one backend. */
export function bjorckKernelConfigs(backendName: string, io: BackendIO): KernelConfig[] {
  const forward: KernelFunc = ({ inputs, backend, attrs }) => {
    const { w } = inputs as unknown as { w: TensorInfo };
    const { iters, beta } = attrsOf(attrs);
    const d = bjorckDims(w.shape);
    let out: TensorInfo | null = null;
    // docs/method.md §4: w <- (1 + beta) w - beta w (wᵀ w), `iters` times
    bjorckEngine().forward(
      io.read(backend, w),
      d,
      iters,
      beta,
      tapeRecording(),
      (vals) => {
        out = io.write(backend, w.shape.slice(), (dst) => dst.set(vals));
      },
    );
    return out!;
  };
  const backward: KernelFunc = ({ inputs, backend, attrs }) => {
    const { w, dy } = inputs as unknown as { w: TensorInfo; dy: TensorInfo };
    const { iters, beta } = attrsOf(attrs);
    const d = bjorckDims(w.shape);
    let dw: TensorInfo | null = null;
    // adjoint of docs/method.md §4: dL/dw_k = (1+beta) G - beta (G A + w (P + Pᵀ)), P = wᵀ G
    bjorckEngine().backward(
      io.read(backend, w),
      io.read(backend, dy),
      d,
      iters,
      beta,
      (vals) => {
        dw = io.write(backend, w.shape.slice(), (dst) => dst.set(vals));
      },
    );
    return dw!;
  };
  return [
    { kernelName: BJORCK_KERNEL, backendName, kernelFunc: forward },
    { kernelName: BJORCK_GRAD_KERNEL, backendName, kernelFunc: backward },
  ];
}

/** Register the fused Björck kernels (and the shared gradient) for one backend. */
export function registerBjorckKernels(backendName: string, io: BackendIO): void {
  registerBjorckGradient();
  for (const k of bjorckKernelConfigs(backendName, io)) {
    replaceKernel(k.kernelName, backendName, k.kernelFunc);
  }
}
