/**
 * Fused linear-spline kernels (`LipsplineSpline`, `LipsplineSplineGrad`, docs/method.md §3) for the
 * `webgpu` backend, as hand-written WGSL programs run through `backend.runWebGPUProgram`.
 *
 * Forward: one thread per element. Backward: `dx` is one elementwise program; `dalpha` is a
 * per-channel reduction (partial sums over chunks of rows, then a sum over chunks); the
 * coefficient gradient has two implementations, selected with {@linkcode setCoefGradMethod}:
 *
 * - `"atomic"`: one thread per element adds `f g` and `(1-f) g` into the zeroed `[G*C, K]`
 *   output with float atomics (an `atomicCompareExchangeWeak` loop on the bit pattern).
 * - `"twopass"`: no atomics. Pass 1: each thread owns one channel of one chunk of rows,
 *   accumulates its `K` coefficient sums (and its `dalpha` sum) privately and writes them to a
 *   `[chunks, K+1, G*C]` buffer. Pass 2: one thread per output sums over the chunks.
 *   (For K > {@linkcode TWOPASS_MAX_K} the atomic kernel is used.)
 *
 * The default is `"twopass"`, chosen by measurement on the software adapter (llvmpipe, 2 busy
 * cores), where it beat the CAS loop: spline fwd+bwd on fc `[512, 1024]`, K=21, 34–48 ms against
 * 47–55 ms; on NHWC `[16, 40, 40, 64]`, K=51, 74–89 ms against 126–154 ms (the
 * `spline_fwd_bwd_*_{atomic,twopass}` cases of `bench/spline_bench.ts`). Not yet measured on a
 * real GPU.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { WebGPUBackend, WebGPUProgram } from "@tensorflow/tfjs-backend-webgpu";
import {
  SPLINE_GRAD_KERNEL,
  SPLINE_KERNEL,
  type SplineAttrs,
  splineAttrsOf,
  splineConstants,
  type SplineKernelInputs,
} from "../../ops/spline.ts";
import { replaceKernel } from "../replace_kernel.ts";

/** How the coefficient gradient is reduced on WebGPU. */
export type CoefGradMethod = "atomic" | "twopass";

let coefGradMethod: CoefGradMethod = "twopass";

/** Choose the WebGPU coefficient-gradient reduction (default `"twopass"`). */
export function setCoefGradMethod(method: CoefGradMethod): void {
  if (method !== "atomic" && method !== "twopass") {
    throw new Error(
      `Cannot set the coefficient-gradient method as it is unknown: '${method}', expected ` +
        `atomic or twopass`,
    );
  }
  coefGradMethod = method;
}

/** The WebGPU coefficient-gradient reduction currently in use. */
export function getCoefGradMethod(): CoefGradMethod {
  return coefGradMethod;
}

type Uniform = { type: "float32" | "int32"; data: number[] };
type Dispatch = [number, number, number];
type WorkgroupSize = [number, number, number];

const ELEMENTWISE_WG = 64;
/** Target number of threads of the chunked reduction (pass 1). */
const TARGET_THREADS = 65536;
/** Fewest rows per chunk, so that each thread does some work. */
const MIN_CHUNK_ROWS = 16;
/** Largest K of the two-pass reduction (K sums per thread); larger K use atomics. */
export const TWOPASS_MAX_K = 256;

/** The common uniforms of every program (order matters: it is the order in the WGSL struct). */
const COMMON_UNIFORMS = "C : i32, N : i32, K : i32, z : i32, invT : f32, shift : f32, " +
  "vmin : f32, vmax : f32,";

function commonUniforms(x: TensorInfo, attrs: SplineAttrs): Uniform[] {
  const { K, invT, z, shift, vmin, vmax } = splineConstants(attrs);
  const [, N, C] = x.shape;
  return [
    { type: "int32", data: [C] },
    { type: "int32", data: [N] },
    { type: "int32", data: [K] },
    { type: "int32", data: [z] },
    { type: "float32", data: [invT] },
    { type: "float32", data: [shift] },
    { type: "float32", data: [vmin] },
    { type: "float32", data: [vmax] },
  ];
}

// docs/method.md §3 evaluation in knot units, shared by every program: v = (alpha x - shift)/T,
// j = z + floor(clamp(v, -z, K-2-z)), f = v - (j - z) with the unclamped v (linear extension).
const SEGMENT_WGSL = `
  struct Segment { j : i32, f : f32 };
  fn segment(u : f32) -> Segment {
    let v = (u - uniforms.shift) * uniforms.invT;
    let vc = clamp(v, uniforms.vmin, uniforms.vmax);
    let j = clamp(i32(floor(vc)) + uniforms.z, 0, uniforms.K - 2);
    return Segment(j, v - f32(j - uniforms.z));
  }
`;

function flatDispatch(threads: number, wg: number): Dispatch {
  return [Math.max(1, Math.ceil(threads / wg)), 1, 1];
}

/** Forward: y = (p[j] + (p[j+1] - p[j]) f + shift) / alpha (docs/method.md §3). */
class ForwardProgram implements WebGPUProgram {
  variableNames = ["x", "coef", "alpha"];
  outputShape: number[];
  shaderKey = "lipsplineSplineFwd";
  dispatchLayout = { x: [0] };
  dispatch: Dispatch;
  workgroupSize: WorkgroupSize = [ELEMENTWISE_WG, 1, 1];
  size = true;
  uniforms = COMMON_UNIFORMS;
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatch = flatDispatch(shape.reduce((a, b) => a * b, 1), ELEMENTWISE_WG);
  }
  getUserCode(): string {
    return `${SEGMENT_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let ch = (index / (uniforms.N * uniforms.C)) * uniforms.C + index % uniforms.C;
          let a = alpha[ch];
          let sg = segment(a * x[index]);
          let b = ch * uniforms.K + sg.j;
          let p0 = coef[b];
          result[index] = (p0 + (coef[b + 1] - p0) * sg.f + uniforms.shift) / a;
        }
      }`;
  }
}

/** dx = dy s'(u), s'(u) = (p[j+1] - p[j]) / T, also outside the range (docs/method.md §3). */
class DxProgram implements WebGPUProgram {
  variableNames = ["x", "coef", "alpha", "dy"];
  outputShape: number[];
  shaderKey = "lipsplineSplineDx";
  dispatchLayout = { x: [0] };
  dispatch: Dispatch;
  workgroupSize: WorkgroupSize = [ELEMENTWISE_WG, 1, 1];
  size = true;
  uniforms = COMMON_UNIFORMS;
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatch = flatDispatch(shape.reduce((a, b) => a * b, 1), ELEMENTWISE_WG);
  }
  getUserCode(): string {
    return `${SEGMENT_WGSL}
      fn main(index : i32) {
        if (index < uniforms.size) {
          let ch = (index / (uniforms.N * uniforms.C)) * uniforms.C + index % uniforms.C;
          let sg = segment(alpha[ch] * x[index]);
          let b = ch * uniforms.K + sg.j;
          result[index] = dy[index] * (coef[b + 1] - coef[b]) * uniforms.invT;
        }
      }`;
  }
}

/**
 * dcoef with float atomics (docs/method.md §3): g = dy/alpha; p[j+1] += f g, p[j] += (1-f) g, added with
 * a compare-exchange loop on the i32 bit pattern. Output `[G*C, K]`, pre-zeroed.
 */
class CoefAtomicProgram implements WebGPUProgram {
  variableNames = ["x", "alpha", "dy"];
  outputShape: number[];
  shaderKey = "lipsplineSplineCoefAtomic";
  dispatchLayout = { x: [0] };
  dispatch: Dispatch;
  workgroupSize: WorkgroupSize = [ELEMENTWISE_WG, 1, 1];
  atomic = true;
  uniforms = COMMON_UNIFORMS + " xSize : i32,";
  constructor(xSize: number, outShape: number[]) {
    this.outputShape = outShape;
    this.dispatch = flatDispatch(xSize, ELEMENTWISE_WG);
  }
  getUserCode(): string {
    return `${SEGMENT_WGSL}
      fn atomicAddF32(i : i32, v : f32) {
        var old = atomicLoad(&result[i]);
        loop {
          let r = atomicCompareExchangeWeak(&result[i], old, bitcast<i32>(bitcast<f32>(old) + v));
          if (r.exchanged) { break; }
          old = r.old_value;
        }
      }
      fn main(index : i32) {
        if (index < uniforms.xSize) {
          let ch = (index / (uniforms.N * uniforms.C)) * uniforms.C + index % uniforms.C;
          let a = alpha[ch];
          let sg = segment(a * x[index]);
          let b = ch * uniforms.K + sg.j;
          let g = dy[index] / a;
          atomicAddF32(b, g - g * sg.f);
          atomicAddF32(b + 1, g * sg.f);
        }
      }`;
  }
}

/** Chunking of the rows for the two-pass reductions. */
interface Chunking {
  chunkRows: number;
  numChunks: number;
  /** Threads per workgroup (= channels per workgroup). */
  wg: number;
  /** Channel tiles per group: ceil(C / wg). */
  tiles: number;
  /** Slots per channel: K coefficient sums (when reducing dcoef) + 1 for dalpha. */
  slots: number;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function chunking(G: number, N: number, C: number, K: number, withCoef: boolean): Chunking {
  const wg = Math.min(64, nextPow2(C));
  const chunkRows = Math.min(
    Math.max(MIN_CHUNK_ROWS, Math.ceil((N * G * C) / TARGET_THREADS)),
    Math.max(N, 1),
  );
  const numChunks = Math.max(1, Math.ceil(N / chunkRows));
  return { chunkRows, numChunks, wg, tiles: Math.ceil(C / wg), slots: withCoef ? K + 1 : 1 };
}

/**
 * Pass 1 of the two-pass reductions (no atomics): partial sums over a chunk of rows, written to
 * `partial[(chunk * slots + s) * G*C + channel]`. Slots `0..K-1` (when `withCoef`) hold the
 * coefficient gradient (g = dy/alpha; p[j+1] += f g, p[j] += (1-f) g), the last slot holds
 * dalpha = Σ g (x s'(u) - y) (docs/method.md §3). Each thread owns one channel of one chunk and keeps its
 * K sums in a function-scope array (on llvmpipe this was 25× faster than the same sums in
 * workgroup memory), so nothing is shared and nothing needs synchronisation.
 */
class PartialsProgram implements WebGPUProgram {
  variableNames = ["x", "coef", "alpha", "dy"];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: Dispatch;
  workgroupSize: WorkgroupSize;
  uniforms = COMMON_UNIFORMS + " G : i32, tiles : i32, chunkRows : i32, numWorkgroups : i32,";
  private ck: Chunking;
  private withCoef: boolean;
  constructor(G: number, C: number, ck: Chunking, withCoef: boolean, K: number) {
    this.ck = ck;
    this.withCoef = withCoef;
    this.outputShape = [ck.numChunks * ck.slots * G * C];
    this.workgroupSize = [ck.wg, 1, 1];
    this.dispatch = [ck.numChunks * G * ck.tiles, 1, 1];
    // workgroup size and slot count are baked into the shader
    this.shaderKey = `lipsplineSplinePartials_${ck.wg}_${withCoef ? K : 0}`;
  }
  getUserCode(): string {
    const { wg, slots } = this.ck;
    const K = slots - 1;
    const coefDecl = this.withCoef ? `var acc : array<f32, ${K}>;` : "";
    const coefAdd = this.withCoef
      ? `acc[sg.j] += ga - gf;
         acc[sg.j + 1] += gf;`
      : "";
    const coefOut = this.withCoef
      ? `for (var s = 0; s < ${K}; s++) {
           result[(chunk * ${slots} + s) * GC + ch] = acc[s];
         }`
      : "";
    return `${SEGMENT_WGSL}
      fn main(index : i32) {
        ${coefDecl}
        let w = index / ${wg};
        let lane = index % ${wg};
        if (w >= uniforms.numWorkgroups) { return; }
        let gTiles = uniforms.G * uniforms.tiles;
        let chunk = w / gTiles;
        let rem = w % gTiles;
        let g = rem / uniforms.tiles;
        let c = (rem % uniforms.tiles) * ${wg} + lane;
        if (c >= uniforms.C) { return; }
        let GC = uniforms.G * uniforms.C;
        let ch = g * uniforms.C + c;
        let a = alpha[ch];
        let ia = 1.0 / a;
        let n0 = chunk * uniforms.chunkRows;
        let n1 = min(n0 + uniforms.chunkRows, uniforms.N);
        var da = 0.0;
        for (var n = n0; n < n1; n++) {
          let i = (g * uniforms.N + n) * uniforms.C + c;
          let xv = x[i];
          let sg = segment(a * xv);
          let b = ch * uniforms.K + sg.j;
          let p0 = coef[b];
          let dp = coef[b + 1] - p0;
          let slope = dp * uniforms.invT;
          let ga = dy[i] * ia;
          let gf = ga * sg.f;
          ${coefAdd}
          da += ga * (xv * slope - (p0 + dp * sg.f + uniforms.shift) * ia);
        }
        ${coefOut}
        result[(chunk * ${slots} + ${K}) * GC + ch] = da;
      }`;
  }
}

/**
 * Pass 2 of the two-pass reductions: `out[ch * count + s] = Σ_chunk partial[(chunk * slots +
 * offset + s) * GC + ch]`, one thread per output, threads ordered `s`-major so that neighbouring
 * threads read neighbouring partials.
 */
class SumChunksProgram implements WebGPUProgram {
  variableNames = ["partial"];
  outputShape: number[];
  shaderKey = "lipsplineSplineSumChunks";
  dispatchLayout = { x: [0] };
  dispatch: Dispatch;
  workgroupSize: WorkgroupSize = [ELEMENTWISE_WG, 1, 1];
  size = true;
  uniforms = "GC : i32, count : i32, slots : i32, offset : i32, numChunks : i32,";
  constructor(outShape: number[]) {
    this.outputShape = outShape;
    this.dispatch = flatDispatch(outShape.reduce((a, b) => a * b, 1), ELEMENTWISE_WG);
  }
  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let s = index / uniforms.GC;
          let ch = index % uniforms.GC;
          var sum = 0.0;
          for (var k = 0; k < uniforms.numChunks; k++) {
            sum += partial[(k * uniforms.slots + uniforms.offset + s) * uniforms.GC + ch];
          }
          result[ch * uniforms.count + s] = sum;
        }
      }`;
  }
}

function run(
  be: WebGPUBackend,
  program: WebGPUProgram,
  inputs: TensorInfo[],
  uniforms: Uniform[],
  output?: TensorInfo,
): TensorInfo {
  return be.runWebGPUProgram(
    program,
    inputs,
    "float32",
    uniforms as unknown as Parameters<WebGPUBackend["runWebGPUProgram"]>[3],
    output,
  );
}

const forwardWebgpu: KernelFunc = (args) => {
  const { x, coef, alpha } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as WebGPUBackend;
  const attrs = splineAttrsOf(args.attrs);
  return run(be, new ForwardProgram(x.shape), [x, coef, alpha], commonUniforms(x, attrs));
};

/** Sum the chunk partials of slots `offset..offset+count-1` into an output of `outShape`. */
function sumChunks(
  be: WebGPUBackend,
  partial: TensorInfo,
  outShape: number[],
  GC: number,
  count: number,
  offset: number,
  ck: Chunking,
): TensorInfo {
  return run(be, new SumChunksProgram(outShape), [partial], [
    { type: "int32", data: [GC] },
    { type: "int32", data: [count] },
    { type: "int32", data: [ck.slots] },
    { type: "int32", data: [offset] },
    { type: "int32", data: [ck.numChunks] },
  ]);
}

const backwardWebgpu: KernelFunc = (args) => {
  const { x, coef, alpha, dy } = args.inputs as unknown as SplineKernelInputs;
  const be = args.backend as WebGPUBackend;
  const attrs = splineAttrsOf(args.attrs);
  const [G, N, C] = x.shape;
  const K = attrs.size;
  const GC = G * C;
  const common = commonUniforms(x, attrs);
  const dx = run(be, new DxProgram(x.shape), [x, coef, alpha, dy!], common);

  // two-pass keeps K sums per thread; beyond TWOPASS_MAX_K the atomic kernel is used
  const twopass = coefGradMethod === "twopass" && K <= TWOPASS_MAX_K;
  const ck = chunking(G, N, C, K, twopass);
  const partial = run(
    be,
    new PartialsProgram(G, C, ck, twopass, K),
    [x, coef, alpha, dy!],
    [
      ...common,
      { type: "int32", data: [G] },
      { type: "int32", data: [ck.tiles] },
      { type: "int32", data: [ck.chunkRows] },
      { type: "int32", data: [ck.numChunks * G * ck.tiles] },
    ],
  );
  let dcoef: TensorInfo;
  if (twopass) {
    dcoef = sumChunks(be, partial, [GC, K], GC, K, 0, ck);
  } else {
    const zeros = be.makeTensorInfo([GC, K], "float32", new Float32Array(GC * K));
    dcoef = run(
      be,
      new CoefAtomicProgram(G * N * C, [GC, K]),
      [x, alpha, dy!],
      [...common, { type: "int32", data: [G * N * C] }],
      zeros,
    );
  }
  const dalpha = sumChunks(be, partial, [GC], GC, 1, ck.slots - 1, ck);
  be.disposeData(partial.dataId);
  return [dx, dcoef, dalpha];
};

/** Register the spline kernels for the `webgpu` backend (idempotent). */
export function register(): void {
  replaceKernel(SPLINE_KERNEL, "webgpu", forwardWebgpu);
  replaceKernel(SPLINE_GRAD_KERNEL, "webgpu", backwardWebgpu);
}
