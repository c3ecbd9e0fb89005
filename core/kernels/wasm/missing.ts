/**
 * Kernels the `wasm` backend lacks (docs/backends.md, "Kernels the stock backends lack or run badly"):
 *
 * - `UnsortedSegmentSum` (needed by the gather gradient): one O(N) pass on the wasm heap.
 * - `Conv2DBackpropFilter` (needed by the conv weight gradient), NHWC, stride, padding
 *   'same' / 'valid' / numbers / explicit, dilation 1: im2col into a transposed patch matrix
 *   `colsᵀ [fh·fw·Cin, P]` (P = output pixels of a chunk of images) and one product
 *   `colsᵀ · dy [P, Cout]` by the backend's own `BatchMatMul` kernel (XNNPACK-class speed,
 *   no transpose flags, which are slow there), chunked so that the patch matrix stays under
 *   {@linkcode IM2COL_CHUNK_BYTES}.
 * - `Conv2DBackpropInput` replaces the stock one, which took ~1 s for the 16×40×40×64→64 3×3
 *   test conv (10× its forward pass): `cols [P, fh·fw·Cin] = dy · Wᵀ` by `BatchMatMul`, then
 *   col2im (scatter-add of the patches into dx), also chunked.
 * - `BatchMatMul` wraps the stock kernel around two slow paths (measured here): a transpose
 *   flag drops it from 13–21 GFLOP/s to 0.5–1.6 (1024²: 4.6 s instead of 0.1 s), and a batch of
 *   matrices of 64² and more runs 6–10× slower than one product per matrix. Products of at
 *   least {@linkcode MATMUL_FIX_MIN_MACS} multiply-adds per matrix get their flagged operands
 *   transposed explicitly (O(size)) and large batches split. TF.js's matMul gradient uses
 *   transpose flags, so this speeds up every large backward product on wasm.
 *
 * - `Sum` over leading axes (e.g. a bias gradient, `dy [N, H, W, C]` summed to `[C]`): one pass
 *   over the rows into float64 accumulators, in WebAssembly SIMD (`sumRows` of `./add_bias.ts`;
 *   11 ms in the JS loop, ~3 ms there); the stock kernel transposes the whole input first (~120 ms
 *   for a `[128, 40, 40, 64]` activation). Other reductions stay with the stock kernel.
 * - `Identity` shares its input's memory (reference-counted, as the backend's own `Reshape` does
 *   and as the cpu backend's `Identity` does) instead of copying it. The engine clones every
 *   tensor a kernel saves for its gradient: the stock copy cost a full activation per saved
 *   tensor (e.g. ~0.3 s and ~1 GB per denoiser training step at batch 128). Kernels never write
 *   into their inputs, so sharing is safe.
 *
 * Every allocation on the wasm heap can grow it and detach earlier views, so views are taken
 * after the allocations they must survive.
 *
 * @module
 */
import type {
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  KernelFunc,
  TensorInfo,
  TypedArray,
} from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../backend/tf.ts";
import { replaceKernel } from "../replace_kernel.ts";
import { matMulCall } from "../matmul_call.ts";
import { type ConvGeometry, convGeometry, segmentDims, segmentSumLoop } from "../cpu/missing.ts";
import { sumRows } from "./add_bias.ts";

/** Largest patch matrix (bytes) one chunk of Conv2DBackpropFilter materialises. */
export const IM2COL_CHUNK_BYTES = 32 * 1024 * 1024;

const segmentSumWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as unknown as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
  const be = backend as BackendWasm;
  const d = segmentDims(x, segmentIds, numSegments);
  const out = be.makeOutput(d.outShape, x.dtype);
  const ov = be.typedArrayFromHeap(out) as TypedArray;
  ov.fill(0);
  segmentSumLoop(
    be.typedArrayFromHeap(x) as TypedArray,
    be.typedArrayFromHeap(segmentIds) as TypedArray,
    ov,
    d,
    numSegments,
  );
  return out;
};

/**
 * Transposed im2col of images `n0 ≤ n < n1`: `cols[k, p]` with `k = (ky·fw + kx)·Cin + ci`
 * (the filter's row order) and `p` the output pixel, zero where the tap falls in the padding.
 */
export function im2colTransposed(
  x: Float32Array,
  cols: Float32Array,
  g: ConvGeometry,
  n0: number,
  n1: number,
): void {
  const { H, W, Cin, OH, OW, fh, fw, sh, sw, top, left } = g;
  const P = (n1 - n0) * OH * OW;
  cols.fill(0);
  for (let ky = 0; ky < fh; ky++) {
    for (let kx = 0; kx < fw; kx++) {
      const kBase = (ky * fw + kx) * Cin;
      for (let n = n0; n < n1; n++) {
        for (let oy = 0; oy < OH; oy++) {
          const iy = oy * sh - top + ky;
          if (iy < 0 || iy >= H) continue;
          const pRow = ((n - n0) * OH + oy) * OW;
          for (let ox = 0; ox < OW; ox++) {
            const ix = ox * sw - left + kx;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * Cin;
            const p = pRow + ox;
            for (let ci = 0; ci < Cin; ci++) cols[(kBase + ci) * P + p] = x[xOff + ci];
          }
        }
      }
    }
  }
}

const filterGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const be = backend as BackendWasm;
  const g = convGeometry(x.shape, a.filterShape, a.strides, a.pad, a.dataFormat, a.dimRoundingMode);
  const K = g.fh * g.fw * g.Cin;
  const perImage = g.OH * g.OW;
  const imagesPerChunk = Math.max(
    1,
    Math.floor(IM2COL_CHUNK_BYTES / (4 * K * Math.max(1, perImage))),
  );
  const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  const acc = new Float32Array(K * g.Cout);
  for (let n0 = 0; n0 < g.N; n0 += imagesPerChunk) {
    const n1 = Math.min(g.N, n0 + imagesPerChunk);
    const P = (n1 - n0) * perImage;
    const cols = be.makeOutput([K, P], "float32");
    const dyChunk = be.makeOutput([P, g.Cout], "float32");
    // views after the allocations above
    const xv = be.typedArrayFromHeap(x) as Float32Array;
    const dyv = be.typedArrayFromHeap(dy) as Float32Array;
    im2colTransposed(xv, be.typedArrayFromHeap(cols) as Float32Array, g, n0, n1);
    (be.typedArrayFromHeap(dyChunk) as Float32Array).set(
      dyv.subarray(n0 * perImage * g.Cout, n1 * perImage * g.Cout),
    );
    // dW [K, Cout] += colsᵀ · dy  (the im2col form of the filter gradient)
    const prod = matMul({
      inputs: { a: cols, b: dyChunk },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    const pv = be.typedArrayFromHeap(prod) as Float32Array;
    for (let i = 0; i < acc.length; i++) acc[i] += pv[i];
    be.disposeData(prod.dataId);
    be.disposeData(dyChunk.dataId);
    be.disposeData(cols.dataId);
  }
  const out = be.makeOutput(a.filterShape, "float32");
  (be.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
};

/**
 * col2im of images `n0 ≤ n < n1`: `dx[n, iy, ix, ci] += cols[p, (ky·fw + kx)·Cin + ci]` for
 * every output pixel `p` and tap with `iy = oy·sh - top + ky`, `ix = ox·sw - left + kx`.
 */
export function col2imAdd(
  cols: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
  n0: number,
  n1: number,
): void {
  const { H, W, Cin, OH, OW, fh, fw, sh, sw, top, left } = g;
  const K = fh * fw * Cin;
  for (let n = n0; n < n1; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const cOff = (((n - n0) * OH + oy) * OW + ox) * K;
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh - top + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * sw - left + kx;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * Cin;
            const k0 = cOff + (ky * fw + kx) * Cin;
            for (let ci = 0; ci < Cin; ci++) dx[xOff + ci] += cols[k0 + ci];
          }
        }
      }
    }
  }
}

const inputGradWasm: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const be = backend as BackendWasm;
  const g = convGeometry(
    a.inputShape,
    filter.shape,
    a.strides,
    a.pad,
    a.dataFormat,
    a.dimRoundingMode,
  );
  const K = g.fh * g.fw * g.Cin;
  const perImage = g.OH * g.OW;
  const imagesPerChunk = Math.max(
    1,
    Math.floor(IM2COL_CHUNK_BYTES / (4 * K * Math.max(1, perImage))),
  );
  const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  // Wᵀ [Cout, K] (the filter [fh, fw, Cin, Cout] is W [K, Cout] row-major)
  const wT = be.makeOutput([g.Cout, K], "float32");
  {
    const wv = be.typedArrayFromHeap(filter) as Float32Array;
    const tv = be.typedArrayFromHeap(wT) as Float32Array;
    for (let k = 0; k < K; k++) {
      for (let co = 0; co < g.Cout; co++) tv[co * K + k] = wv[k * g.Cout + co];
    }
  }
  const dx = new Float32Array(a.inputShape.reduce((p, q) => p * q, 1));
  for (let n0 = 0; n0 < g.N; n0 += imagesPerChunk) {
    const n1 = Math.min(g.N, n0 + imagesPerChunk);
    const P = (n1 - n0) * perImage;
    const dyChunk = be.makeOutput([P, g.Cout], "float32");
    const dyv = be.typedArrayFromHeap(dy) as Float32Array;
    (be.typedArrayFromHeap(dyChunk) as Float32Array).set(
      dyv.subarray(n0 * perImage * g.Cout, n1 * perImage * g.Cout),
    );
    // cols [P, K] = dy · Wᵀ  (the im2col form of the input gradient), then col2im
    const cols = matMul({
      inputs: { a: dyChunk, b: wT },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    col2imAdd(be.typedArrayFromHeap(cols) as Float32Array, dx, g, n0, n1);
    be.disposeData(cols.dataId);
    be.disposeData(dyChunk.dataId);
  }
  be.disposeData(wT.dataId);
  const out = be.makeOutput(a.inputShape, "float32");
  (be.typedArrayFromHeap(out) as Float32Array).set(dx);
  return out;
};

/** Multiply-adds per matrix from which `BatchMatMul` avoids the slow stock paths. */
export const MATMUL_FIX_MIN_MACS = 32 * 32 * 32;
/** Multiply-adds per matrix from which a batched product is split into single products. */
export const MATMUL_SPLIT_MIN_MACS = 48 * 48 * 48;

/** Copy of `t` ([..., r, c]) with its last two axes swapped, on the wasm heap. */
function transposeLastTwo(be: BackendWasm, t: TensorInfo): TensorInfo {
  const rk = t.shape.length;
  const r = t.shape[rk - 2], c = t.shape[rk - 1];
  const batch = t.shape.slice(0, -2).reduce((p, q) => p * q, 1);
  const out = be.makeOutput([...t.shape.slice(0, -2), c, r], "float32");
  const src = be.typedArrayFromHeap(t) as Float32Array;
  const dst = be.typedArrayFromHeap(out) as Float32Array;
  for (let b = 0; b < batch; b++) {
    const o = b * r * c;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) dst[o + j * r + i] = src[o + i * c + j];
  }
  return out;
}

/** Matrix `i` of a batch ([B, r, c]) copied into its own [r, c] tensor. */
function sliceMatrix(be: BackendWasm, t: TensorInfo, i: number): TensorInfo {
  const [r, c] = t.shape.slice(-2);
  const out = be.makeOutput([r, c], "float32");
  const src = be.typedArrayFromHeap(t) as Float32Array;
  (be.typedArrayFromHeap(out) as Float32Array).set(src.subarray(i * r * c, (i + 1) * r * c));
  return out;
}

/** The stock wasm `BatchMatMul` routed around its slow paths (see the module notes). */
export function fastBatchMatMulWasm(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b, transposeA, transposeB, M, K, N, batchA, batchB } = matMulCall(args);
    const macs = M * N * K;
    const split = a.shape.length === 3 && b.shape.length === 3 && batchA === batchB &&
      batchA > 1 &&
      macs >= MATMUL_SPLIT_MIN_MACS;
    if (
      a.dtype !== "float32" || b.dtype !== "float32" || macs < MATMUL_FIX_MIN_MACS ||
      (!transposeA && !transposeB && !split)
    ) {
      return stock(args);
    }
    const be = args.backend as BackendWasm;
    const plain = { transposeA: false, transposeB: false };
    const x = transposeA ? transposeLastTwo(be, a) : a;
    const y = transposeB ? transposeLastTwo(be, b) : b;
    let out: TensorInfo;
    if (!split) {
      out = stock({ inputs: { a: x, b: y }, backend: be, attrs: plain }) as TensorInfo;
    } else {
      out = be.makeOutput([batchA, M, N], "float32");
      for (let i = 0; i < batchA; i++) {
        const xi = sliceMatrix(be, x, i), yi = sliceMatrix(be, y, i);
        const pi = stock({ inputs: { a: xi, b: yi }, backend: be, attrs: plain }) as TensorInfo;
        (be.typedArrayFromHeap(out) as Float32Array).set(
          be.typedArrayFromHeap(pi) as Float32Array,
          i * M * N,
        );
        for (const t of [xi, yi, pi]) be.disposeData(t.dataId);
      }
    }
    if (x !== a) be.disposeData(x.dataId);
    if (y !== b) be.disposeData(y.dataId);
    return out;
  };
}

/** `Sum` over leading axes in one pass over the rows (see the module notes), else `stock`. */
export function leadingAxesSum(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const rank = x.shape.length;
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a))
      .sort((a, b) => a - b);
    const k = axes.length;
    if (x.dtype !== "float32" || k === 0 || k >= rank || axes.some((a, i) => a !== i)) {
      return stock(args);
    }
    const rows = x.shape.slice(0, k).reduce((p, q) => p * q, 1);
    const inner = x.shape.slice(k).reduce((p, q) => p * q, 1);
    const be = args.backend as BackendWasm;
    const shape = keepDims ? [...axes.map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
    const out = be.makeOutput(shape, "float32");
    sumRows(be, x, out, rows, inner); // in float64 per channel, row order (native/add_bias.c)
    return out;
  };
}

/** `Identity` without a copy: the output shares the input's heap memory (reference-counted). */
export function sharedIdentity(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype === "string") return stock(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Register the missing (and replacement) kernels on the `wasm` backend. */
export function register(): void {
  stockWasmIdentity ??= tf.getKernel("Identity", "wasm")?.kernelFunc ?? null;
  if (stockWasmIdentity) replaceKernel("Identity", "wasm", sharedIdentity(stockWasmIdentity));
  stockWasmSum ??= tf.getKernel("Sum", "wasm")?.kernelFunc ?? null;
  if (stockWasmSum) replaceKernel("Sum", "wasm", leadingAxesSum(stockWasmSum));
  replaceKernel("UnsortedSegmentSum", "wasm", segmentSumWasm);
  replaceKernel("Conv2DBackpropFilter", "wasm", filterGradWasm);
  replaceKernel("Conv2DBackpropInput", "wasm", inputGradWasm);
  const stock = tf.getKernel("BatchMatMul", "wasm");
  // keep the original kernel (register() may run again after a re-import)
  stockWasmMatMul ??= stock?.kernelFunc ?? null;
  if (stockWasmMatMul) replaceKernel("BatchMatMul", "wasm", fastBatchMatMulWasm(stockWasmMatMul));
}

let stockWasmMatMul: KernelFunc | null = null;
let stockWasmIdentity: KernelFunc | null = null;
let stockWasmSum: KernelFunc | null = null;
