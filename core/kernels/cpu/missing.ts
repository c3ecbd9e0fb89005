/**
 * Replacements for unusable `cpu` kernels (docs/backends.md, "Kernels the stock backends lack or run badly"):
 *
 * - `UnsortedSegmentSum`: the stock kernel makes one full pass per segment, O(N·segments)
 *   (4.2 s for 1e6 values into 101 segments); this one is one O(N) pass.
 * - `Conv2DBackpropFilter` and `Conv2DBackpropInput` (NHWC, dilation 1): the stock kernels
 *   took 376 s for one 16×40×40×64→64 3×3 backward pass; these run direct loops over the
 *   output pixels and filter taps whose innermost loop runs over the contiguous output channels
 *   (the im2col product without materialising the patch matrix).
 *
 * Where a native BLAS opens, `blas_kernels.ts` routes large products and convolutions past
 * these kernels (they stay the fallback).
 *
 * The loops are exported for the `wasm` module, which runs them on its heap.
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
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { tf } from "../../backend/tf.ts";
import { replaceKernel } from "../replace_kernel.ts";

/** Shapes of an unsorted segment sum: `n` ids, each summing `inner` contiguous values. */
export interface SegmentDims {
  /** Number of segment ids. */
  n: number;
  /** Values per id (product of the trailing dims of x). */
  inner: number;
  /** Output shape `[numSegments, ...innerShape]`. */
  outShape: number[];
}

/** Check and derive the dims of `UnsortedSegmentSum(x, segmentIds)`. */
export function segmentDims(x: TensorInfo, ids: TensorInfo, numSegments: number): SegmentDims {
  const k = ids.shape.length;
  if (ids.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(
      `Cannot sum segments as the ids' shape must be a prefix of x's: ids [${ids.shape}], x [${x.shape}]`,
    );
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`Cannot sum segments as numSegments must be an integer ≥ 0: ${numSegments}`);
  }
  const innerShape = x.shape.slice(k);
  return {
    n: ids.shape.reduce((a, b) => a * b, 1),
    inner: innerShape.reduce((a, b) => a * b, 1),
    outShape: [numSegments, ...innerShape],
  };
}

/**
 * `out[s] += x[i]` for every `i` with `ids[i] = s` (out of range ids are dropped, as in
 * TensorFlow). `out` must be zeroed by the caller. One pass: O(n·inner).
 */
export function segmentSumLoop(
  x: TypedArray,
  ids: TypedArray,
  out: TypedArray,
  d: SegmentDims,
  numSegments: number,
): void {
  const { n, inner } = d;
  if (inner === 1) {
    for (let i = 0; i < n; i++) {
      const s = ids[i];
      if (s >= 0 && s < numSegments) out[s] += x[i];
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner, xi = i * inner;
    for (let j = 0; j < inner; j++) out[o + j] += x[xi + j];
  }
}

/** The geometry of a 2-D convolution, NHWC, dilation 1. */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  Cin: number;
  OH: number;
  OW: number;
  Cout: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

/** Geometry from TF.js's conv attributes (strides, pad 'same'/'valid'/number/explicit). */
export function convGeometry(
  xShape: number[],
  filterShape: number[],
  strides: [number, number] | number,
  pad: Conv2DBackpropFilterAttrs["pad"],
  dataFormat: "NHWC" | "NCHW",
  dimRoundingMode?: "floor" | "round" | "ceil",
): ConvGeometry {
  if (dataFormat !== "NHWC") {
    throw new Error(
      `Cannot run the conv2d backprop kernel as only NHWC is supported: ${dataFormat}`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
  return {
    N: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    Cin: info.inChannels,
    OH: info.outHeight,
    OW: info.outWidth,
    Cout: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/**
 * Filter gradient, NHWC: `dW[ky,kx,ci,co] += Σ_{n,oy,ox} x[n, oy·sh - top + ky,
 * ox·sw - left + kx, ci] · dy[n,oy,ox,co]` for images `n0 ≤ n < n1` (zero padding outside).
 * `dw` ([fh,fw,Cin,Cout]) accumulates.
 */
export function conv2dFilterGradLoop(
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  g: ConvGeometry,
  n0 = 0,
  n1 = g.N,
): void {
  const { H, W, Cin, OH, OW, Cout, fh, fw, sh, sw, top, left } = g;
  for (let n = n0; n < n1; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const dyOff = ((n * OH + oy) * OW + ox) * Cout;
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh - top + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * sw - left + kx;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * Cin;
            const wOff = (ky * fw + kx) * Cin * Cout;
            for (let ci = 0; ci < Cin; ci++) {
              const xv = x[xOff + ci];
              if (xv === 0) continue;
              const o = wOff + ci * Cout;
              for (let co = 0; co < Cout; co++) dw[o + co] += xv * dy[dyOff + co];
            }
          }
        }
      }
    }
  }
}

/**
 * Input gradient, NHWC: `dx[n,iy,ix,ci] += Σ_{oy,ox,ky,kx,co} dy[n,oy,ox,co] · W[ky,kx,ci,co]`
 * over the taps with `iy = oy·sh - top + ky`, `ix = ox·sw - left + kx`. `dx` accumulates.
 */
export function conv2dInputGradLoop(
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
): void {
  const { N, H, W, Cin, OH, OW, Cout, fh, fw, sh, sw, top, left } = g;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const dyOff = ((n * OH + oy) * OW + ox) * Cout;
        for (let ky = 0; ky < fh; ky++) {
          const iy = oy * sh - top + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < fw; kx++) {
            const ix = ox * sw - left + kx;
            if (ix < 0 || ix >= W) continue;
            const xOff = ((n * H + iy) * W + ix) * Cin;
            const wOff = (ky * fw + kx) * Cin * Cout;
            for (let ci = 0; ci < Cin; ci++) {
              const o = wOff + ci * Cout;
              let s = 0;
              for (let co = 0; co < Cout; co++) s += dy[dyOff + co] * w[o + co];
              dx[xOff + ci] += s;
            }
          }
        }
      }
    }
  }
}

function values(be: MathBackendCPU, t: TensorInfo): TypedArray {
  return be.data.get(t.dataId).values as TypedArray;
}

function float32(be: MathBackendCPU, t: TensorInfo, what: string): Float32Array {
  const v = values(be, t);
  if (!(v instanceof Float32Array)) {
    throw new Error(`Cannot run ${what} as the input is not float32: ${t.dtype}`);
  }
  return v;
}

const segmentSumCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as unknown as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
  const be = backend as MathBackendCPU;
  const d = segmentDims(x, segmentIds, numSegments);
  const out = x.dtype === "int32"
    ? new Int32Array(numSegments * d.inner)
    : new Float32Array(numSegments * d.inner);
  segmentSumLoop(values(be, x), values(be, segmentIds), out, d, numSegments);
  return be.makeTensorInfo(d.outShape, x.dtype, out);
};

const filterGradCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const be = backend as MathBackendCPU;
  const g = convGeometry(x.shape, a.filterShape, a.strides, a.pad, a.dataFormat, a.dimRoundingMode);
  const dw = new Float32Array(a.filterShape.reduce((p, q) => p * q, 1));
  conv2dFilterGradLoop(
    float32(be, x, "Conv2DBackpropFilter"),
    float32(be, dy, "Conv2DBackpropFilter"),
    dw,
    g,
  );
  return be.makeTensorInfo(a.filterShape, "float32", dw);
};

const inputGradCpu: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const be = backend as MathBackendCPU;
  const g = convGeometry(
    a.inputShape,
    filter.shape,
    a.strides,
    a.pad,
    a.dataFormat,
    a.dimRoundingMode,
  );
  const dx = new Float32Array(a.inputShape.reduce((p, q) => p * q, 1));
  conv2dInputGradLoop(
    float32(be, dy, "Conv2DBackpropInput"),
    float32(be, filter, "Conv2DBackpropInput"),
    dx,
    g,
  );
  return be.makeTensorInfo(a.inputShape, "float32", dx);
};

/** Register the replacement kernels on the `cpu` backend. */
export function register(): void {
  replaceKernel("UnsortedSegmentSum", "cpu", segmentSumCpu);
  replaceKernel("Conv2DBackpropFilter", "cpu", filterGradCpu);
  replaceKernel("Conv2DBackpropInput", "cpu", inputGradCpu);
}
