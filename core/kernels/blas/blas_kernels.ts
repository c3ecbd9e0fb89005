/**
 * Matrix products and 2-D convolutions through a native BLAS (`cblas_sgemm` of the system
 * OpenBLAS, reached by Deno FFI in `core/backend/openblas_ffi.ts`), on both CPU backends. Registered only
 * when the library opens; products below {@linkcode BLAS_MIN_MACS} multiply-adds, and layouts
 * these kernels do not handle (NCHW, dilation > 1, non-float32), go to the kernel that was
 * registered before (the stock one, or lipspline's replacement in `missing_*.ts`).
 *
 * - `BatchMatMul`: one `sgemm` per matrix of the (broadcast) batch, transposes as BLAS flags.
 * - `Conv2D` (NHWC): im2col of a chunk of images into `cols [P, fh·fw·Cin]` (P = output
 *   pixels of the chunk), then `out [P, Cout] = cols · W`, the filter `[fh, fw, Cin, Cout]`
 *   being `W [fh·fw·Cin, Cout]` row-major. A 1×1 filter with stride 1 and no padding uses `x`
 *   itself as `cols`.
 * - `Conv2DBackpropInput`: for stride 1, the convolution of `dy` with the flipped filter
 *   (im2col + product again); otherwise `cols = dy · Wᵀ` per chunk, then col2im (scatter-add).
 * - `Conv2DBackpropFilter`: `dW = Σ_chunks colsᵀ · dy`, accumulated by `sgemm` itself.
 *
 * The patch matrix is built in the memory of a small WebAssembly module (`im2col_wasm.ts`),
 * reused across calls (at most {@linkcode IM2COL_CHUNK_BYTES} per chunk): fresh pages are slow to
 * fault in on some VMs. On the wasm backend, BLAS reads and writes the tensors on the wasm heap in
 * place (FFI takes the views). `im2colRows` is the same matrix in JS, the reference in tests.
 *
 * @module
 */
import type {
  Conv2DAttrs,
  Conv2DBackpropFilterAttrs,
  Conv2DBackpropInputAttrs,
  KernelFunc,
  TensorInfo,
} from "@tensorflow/tfjs-core";
import { tf } from "../../backend/tf.ts";
import type { BackendIO } from "../backend_io.ts";
import { replaceKernel } from "../replace_kernel.ts";
import { matMulCall } from "../matmul_call.ts";
import { type ConvGeometry, convGeometry } from "../cpu/missing.ts";
import { col2imAdd } from "../wasm/missing.ts";
import { type NativeSgemm, openBlas } from "../../backend/openblas_ffi.ts";
import { im2colWasm } from "./im2col_wasm.ts";
import {
  winogradApplies,
  winogradConv2D,
  winogradConv2DBackpropFilter,
  winogradConv2DBackpropInput,
} from "./winograd.ts";

/**
 * Multiply-adds per product from which the BLAS kernels take over, per backend: the stock cpu
 * matMul runs at ~1 GFLOP/s, so BLAS wins early; wasm's XNNPACK products run at 13–27 GFLOP/s
 * on one core with ~3 µs per call, so BLAS (two cores, ~50+ GFLOP/s) wins from mid sizes.
 */
export const BLAS_MIN_MACS: Readonly<Record<string, number>> = { cpu: 16 ** 3, wasm: 64 ** 3 };

/**
 * Smallest inner dimension `K` and output width `N` of a product that BLAS takes, per backend.
 * Thin products stay on wasm's XNNPACK, which is faster there: the 1d test pass
 * `[10000, 10] · [10, 10]ᵀ` (25 of them) took 22 ms through OpenBLAS and 8 ms on XNNPACK, and
 * the OpenBLAS threads' spinning after each call slowed the next epoch's steps by 60%
 * (bench/RESULTS.md, "1d paper config").
 */
export const BLAS_MIN_SIDE: Readonly<Record<string, number>> = { cpu: 1, wasm: 32 };

/** Largest patch matrix (bytes) one chunk of a convolution materialises. */
export const IM2COL_CHUNK_BYTES = 32 * 1024 * 1024;

/** The library serving a backend's BLAS route: its file and thread count. */
export interface BlasRoute {
  /** The library file that was opened. */
  path: string;
  /** Threads the library uses. */
  threads: number;
  /** The library's CPU kernels (OpenBLAS core name). */
  core: string;
}

const routes = new Map<string, BlasRoute>();

/**
 * What runs matrix products and convolutions on `backendName` through BLAS, or null when they
 * run on the backend's own kernels.
 *
 * @example
 * ```ts ignore
 * blasRoute("wasm"); // { path: "libopenblas.so.0", threads: 2 } once the wasm kernels are registered
 * ```
 */
export function blasRoute(backendName: string): BlasRoute | null {
  return routes.get(backendName) ?? null;
}

let patches = new Float32Array(0);

/** A scratch patch matrix of `n` floats (reused; contents undefined). */
function patchBuffer(n: number): Float32Array {
  if (patches.length < n) patches = new Float32Array(n);
  return patches.subarray(0, n);
}

const size = (shape: readonly number[]) => shape.reduce((p, q) => p * q, 1);

// ---------------------------------------------------------------------------------------------
// BatchMatMul

/**
 * `BatchMatMul` through `blas` from `minMacs` multiply-adds per matrix and inner and output
 * dimensions of at least `minSide`, else `fallback`.
 */
export function blasBatchMatMul(
  io: BackendIO,
  blas: NativeSgemm,
  fallback: KernelFunc,
  minMacs: number,
  minSide = 1,
): KernelFunc {
  return (args) => {
    const { a, b, transposeA, transposeB, M, K, K2, N, batchA, batchB } = matMulCall(args);
    if (
      a.dtype !== "float32" || b.dtype !== "float32" || K !== K2 || M * N * K < minMacs ||
      Math.min(K, N) < minSide
    ) {
      return fallback(args);
    }
    const outer = tf.backend_util.assertAndGetBroadcastShape(
      a.shape.slice(0, -2),
      b.shape.slice(0, -2),
    );
    const batch = size(outer);
    if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch)) {
      return fallback(args);
    }
    return io.write(args.backend, [...outer, M, N], (out) => {
      const av = io.read(args.backend, a), bv = io.read(args.backend, b);
      for (let i = 0; i < batch; i++) {
        const ao = (batchA === 1 ? 0 : i) * M * K, bo = (batchB === 1 ? 0 : i) * K * N;
        blas.sgemm(
          transposeA,
          transposeB,
          M,
          N,
          K,
          av.subarray(ao, ao + M * K),
          bv.subarray(bo, bo + K * N),
          out.subarray(i * M * N, (i + 1) * M * N),
        );
      }
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Convolutions

/**
 * im2col of images `n0 ≤ n < n1`: `cols[p, (ky·fw + kx)·Cin + ci] = x[n, iy, ix, ci]` with
 * `iy = oy·sh - top + ky`, `ix = ox·sw - left + kx` for output pixel `p` of `(n, oy, ox)`, zero
 * where the tap falls in the padding. For one pixel and filter row `ky`, the taps inside the
 * image are one contiguous run of `x`, copied at once.
 */
export function im2colRows(
  x: Float32Array,
  cols: Float32Array,
  g: ConvGeometry,
  n0: number,
  n1: number,
): void {
  const { H, W, Cin, OH, OW, fh, fw, sh, sw, top, left } = g;
  const K = fh * fw * Cin;
  const rowLen = fw * Cin;
  for (let n = n0; n < n1; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const cOff = (((n - n0) * OH + oy) * OW + ox) * K;
        const ix0 = ox * sw - left;
        const kx0 = Math.max(0, -ix0), kx1 = Math.min(fw, W - ix0); // taps inside: [kx0, kx1)
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh - top + ky;
          const rowOff = cOff + ky * rowLen;
          if (iy < 0 || iy >= H || kx1 <= kx0) {
            cols.fill(0, rowOff, rowOff + rowLen);
            continue;
          }
          if (kx0 > 0) cols.fill(0, rowOff, rowOff + kx0 * Cin);
          if (kx1 < fw) cols.fill(0, rowOff + kx1 * Cin, rowOff + rowLen);
          const src = ((n * H + iy) * W + ix0 + kx0) * Cin;
          cols.set(x.subarray(src, src + (kx1 - kx0) * Cin), rowOff + kx0 * Cin);
        }
      }
    }
  }
}

/** Whether `g` is a 1×1 filter with stride 1 and no padding: `x` is its own patch matrix. */
function isPointwise(g: ConvGeometry): boolean {
  return g.fh === 1 && g.fw === 1 && g.sh === 1 && g.sw === 1 && g.top === 0 && g.left === 0;
}

/** Images per chunk so that the patch matrix stays under {@linkcode IM2COL_CHUNK_BYTES}. */
function imagesPerChunk(g: ConvGeometry): number {
  const perImage = 4 * g.fh * g.fw * g.Cin * Math.max(1, g.OH * g.OW);
  return Math.max(1, Math.floor(IM2COL_CHUNK_BYTES / perImage));
}

/**
 * Run `body` for each chunk of images `[n0, n1)` with the chunk's patch matrix `cols [P, K]`
 * (`P` output pixels, `K = fh·fw·Cin`), filled by im2col of `src` when given (else left for
 * `body` to fill).
 */
function forEachChunk(
  g: ConvGeometry,
  src: Float32Array | null,
  body: (n0: number, n1: number, cols: Float32Array) => void,
): void {
  const K = g.fh * g.fw * g.Cin;
  const step = imagesPerChunk(g);
  for (let n0 = 0; n0 < g.N; n0 += step) {
    const n1 = Math.min(g.N, n0 + step);
    // The patch matrix built by WebAssembly in its own memory (im2col_wasm.ts); a scratch
    // buffer when the body fills it.
    const cols = src ? im2colWasm(src, g, n0, n1) : patchBuffer((n1 - n0) * g.OH * g.OW * K);
    body(n0, n1, cols);
  }
}

/** Whether the BLAS conv kernels handle these attributes (else the fallback runs). */
function handled(
  dtypes: string[],
  dataFormat: string,
  dilations: [number, number] | number | undefined,
): boolean {
  const d = dilations ?? 1;
  const unit = typeof d === "number" ? d === 1 : d[0] === 1 && d[1] === 1;
  return dataFormat === "NHWC" && unit && dtypes.every((t) => t === "float32");
}

/** The dilations of conv attributes (the backprop kernels have none: always 1). */
const DILATION = (a: object) => (a as { dilations?: [number, number] | number }).dilations;

const convMacs = (g: ConvGeometry) => g.N * g.OH * g.OW * g.fh * g.fw * g.Cin * g.Cout;

/**
 * The geometry of a convolution the BLAS kernels take (NHWC, dilation 1, float32, at least
 * `minMacs` multiply-adds), or null: then the fallback kernel runs.
 */
function blasGeometry(
  dtypes: string[],
  a: Conv2DBackpropFilterAttrs | Conv2DBackpropInputAttrs | Conv2DAttrs,
  xShape: number[],
  filterShape: number[],
  minMacs: number,
): ConvGeometry | null {
  if (!handled(dtypes, a.dataFormat, DILATION(a))) return null;
  const g = convGeometry(xShape, filterShape, a.strides, a.pad, "NHWC", a.dimRoundingMode);
  return convMacs(g) < minMacs ? null : g;
}

/** `Conv2D` (NHWC): im2col + `out = cols · W` per chunk of images. */
export function blasConv2D(
  io: BackendIO,
  blas: NativeSgemm,
  fallback: KernelFunc,
  minMacs: number,
): KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as unknown as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DAttrs;
    const g = blasGeometry([x.dtype, filter.dtype], a, x.shape, filter.shape, minMacs);
    if (!g) return fallback(args);
    const K = g.fh * g.fw * g.Cin;
    const perImage = g.OH * g.OW;
    return io.write(args.backend, [g.N, g.OH, g.OW, g.Cout], (out) => {
      const xv = io.read(args.backend, x), wv = io.read(args.backend, filter);
      if (isPointwise(g)) {
        blas.sgemm(false, false, g.N * perImage, g.Cout, K, xv, wv, out);
        return;
      }
      if (winogradApplies(g, "forward")) {
        winogradConv2D(xv, wv, out, g, blas, args.backend);
        return;
      }
      forEachChunk(g, xv, (n0, n1, cols) => {
        // out[P, Cout] = cols[P, K] · W[K, Cout]
        const P = (n1 - n0) * perImage;
        blas.sgemm(false, false, P, g.Cout, K, cols, wv, out.subarray(n0 * perImage * g.Cout));
      });
    });
  };
}

/**
 * The input gradient of a stride-1 convolution is itself a stride-1 convolution: of `dy` with the
 * filter flipped in space and with its channel roles swapped, `W'[ky', kx', co, ci] =
 * W[fh-1-ky', fw-1-kx', ci, co]`, padded by `fh-1-top` rows above and `fw-1-left` columns left
 * (substitute `ky' = fh-1-ky` in `dx[iy, ix] = Σ dy[iy+top-ky, ix+left-kx] W[ky, kx]`). So dx
 * is im2col of dy and one product per chunk, with no col2im scatter.
 */
function transposedConv(
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
): void {
  const { fh, fw, Cin, Cout } = g;
  const flipped = new Float32Array(fh * fw * Cout * Cin);
  for (let ky = 0; ky < fh; ky++) {
    for (let kx = 0; kx < fw; kx++) {
      const src = ((fh - 1 - ky) * fw + (fw - 1 - kx)) * Cin * Cout;
      const dst = (ky * fw + kx) * Cout * Cin;
      for (let ci = 0; ci < Cin; ci++) {
        for (let co = 0; co < Cout; co++) flipped[dst + co * Cin + ci] = w[src + ci * Cout + co];
      }
    }
  }
  const t: ConvGeometry = {
    N: g.N,
    H: g.OH,
    W: g.OW,
    Cin: Cout,
    OH: g.H,
    OW: g.W,
    Cout: Cin,
    fh,
    fw,
    sh: 1,
    sw: 1,
    top: fh - 1 - g.top,
    left: fw - 1 - g.left,
  };
  const K = fh * fw * Cout;
  const perImage = t.OH * t.OW;
  forEachChunk(t, dy, (n0, n1, cols) => {
    const P = (n1 - n0) * perImage;
    // dx[P, Cin] = cols[P, fh·fw·Cout] · W'[fh·fw·Cout, Cin]
    blas.sgemm(false, false, P, Cin, K, cols, flipped, dx.subarray(n0 * perImage * Cin));
  });
}

/** `Conv2DBackpropInput` (NHWC): stride 1 as a convolution of dy, else `dy · Wᵀ` and col2im. */
export function blasConv2DBackpropInput(
  io: BackendIO,
  blas: NativeSgemm,
  fallback: KernelFunc,
  minMacs: number,
): KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as Conv2DBackpropInputAttrs;
    const g = blasGeometry([dy.dtype, filter.dtype], a, a.inputShape, filter.shape, minMacs);
    if (!g) return fallback(args);
    const K = g.fh * g.fw * g.Cin;
    const perImage = g.OH * g.OW;
    return io.write(args.backend, a.inputShape, (dx) => {
      const dyv = io.read(args.backend, dy), wv = io.read(args.backend, filter);
      if (isPointwise(g)) {
        // dx[P, Cin] = dy[P, Cout] · W[Cin, Cout]ᵀ
        blas.sgemm(false, true, g.N * perImage, K, g.Cout, dyv, wv, dx);
        return;
      }
      if (winogradApplies(g, "input")) {
        winogradConv2DBackpropInput(dyv, wv, dx, g, blas, args.backend);
        return;
      }
      if (g.sh === 1 && g.sw === 1) {
        transposedConv(dyv, wv, dx, g, blas);
        return;
      }
      dx.fill(0);
      forEachChunk(g, null, (n0, n1, cols) => {
        const P = (n1 - n0) * perImage;
        // cols[P, K] = dy[P, Cout] · W[K, Cout]ᵀ, then scatter-add each patch into dx
        blas.sgemm(false, true, P, K, g.Cout, dyv.subarray(n0 * perImage * g.Cout), wv, cols);
        col2imAdd(cols, dx, g, n0, n1);
      });
    });
  };
}

/** `Conv2DBackpropFilter` (NHWC): `dW = Σ_chunks colsᵀ · dy`, accumulated by `sgemm`. */
export function blasConv2DBackpropFilter(
  io: BackendIO,
  blas: NativeSgemm,
  fallback: KernelFunc,
  minMacs: number,
): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as unknown as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    const g = blasGeometry([x.dtype, dy.dtype], a, x.shape, a.filterShape, minMacs);
    if (!g) return fallback(args);
    const K = g.fh * g.fw * g.Cin;
    const perImage = g.OH * g.OW;
    return io.write(args.backend, a.filterShape, (dw) => {
      const xv = io.read(args.backend, x), dyv = io.read(args.backend, dy);
      if (isPointwise(g)) {
        // dW[Cin, Cout] = x[P, Cin]ᵀ · dy[P, Cout]
        blas.sgemm(true, false, K, g.Cout, g.N * perImage, xv, dyv, dw);
        return;
      }
      if (winogradApplies(g, "filter")) {
        winogradConv2DBackpropFilter(xv, dyv, dw, g, blas, args.backend);
        return;
      }
      forEachChunk(g, xv, (n0, n1, cols) => {
        const P = (n1 - n0) * perImage;
        // dW[K, Cout] (+)= cols[P, K]ᵀ · dy[P, Cout]
        blas.sgemm(
          true,
          false,
          K,
          g.Cout,
          P,
          cols,
          dyv.subarray(n0 * perImage * g.Cout, n1 * perImage * g.Cout),
          dw,
          n0 > 0,
        );
      });
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Registration

/** The kernels registered before ours, per `backend/kernel` (kept across re-registrations). */
const fallbacks = new Map<string, KernelFunc>();

const FACTORIES: Record<
  string,
  (
    io: BackendIO,
    blas: NativeSgemm,
    fallback: KernelFunc,
    minMacs: number,
    minSide: number,
  ) => KernelFunc
> = {
  BatchMatMul: blasBatchMatMul,
  Conv2D: blasConv2D,
  Conv2DBackpropInput: blasConv2DBackpropInput,
  Conv2DBackpropFilter: blasConv2DBackpropFilter,
};

/**
 * Route `backendName`'s matrix products and convolutions through the native BLAS when one
 * opens (else nothing changes). Call after the backend's other replacement kernels, which
 * become the fallbacks for small or unhandled cases.
 */
export function registerBlasKernels(backendName: string, io: BackendIO): void {
  const blas = openBlas();
  if (!blas) return;
  const minMacs = BLAS_MIN_MACS[backendName] ?? 0;
  const minSide = BLAS_MIN_SIDE[backendName] ?? 1;
  for (const [kernelName, make] of Object.entries(FACTORIES)) {
    const key = `${backendName}/${kernelName}`;
    if (!fallbacks.has(key)) {
      const current = tf.getKernel(kernelName, backendName)?.kernelFunc;
      if (!current) continue;
      fallbacks.set(key, current);
    }
    replaceKernel(kernelName, backendName, make(io, blas, fallbacks.get(key)!, minMacs, minSide));
  }
  routes.set(backendName, { path: blas.path, threads: blas.threads, core: blas.core });
}
