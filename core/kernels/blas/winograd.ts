/**
 * Winograd convolutions (minimal filtering F(m×m, 3×3), Lavin & Gray 2016) for the BLAS conv
 * kernels: 3×3 filters, stride 1, dilation 1, an input of at least
 * {@linkcode WINOGRAD_MIN_CHANNELS} channels, a multiple of 4 ({@linkcode winogradApplies}). The
 * transforms of the tiles run in WebAssembly SIMD (`native/winograd.c`), on the wasm backend's
 * heap itself (else on a memory of the module's own); the `(m+2)²` products per chunk run in
 * OpenBLAS on that memory. A chunk is several whole images, or bands of tile rows of one large
 * image. With `m = 4` the products do 4× fewer multiply-adds than im2col's (36 instead of 144 per
 * 4×4 output tile and channel pair); the backward passes are the exact transposes of the forward
 * map, so they are the gradients of what the forward computes. The rounding differs from im2col's
 * (relative ~2e-7 for m = 2, ~3e-6 for m = 4: tests/winograd_test.ts), the math is the same
 * convolution. docs/backends.md "Winograd convolutions" has the formulas.
 *
 * @module
 */
import type { ConvGeometry } from "../cpu/missing.ts";
import type { NativeSgemm } from "../../backend/openblas_ffi.ts";
import { WINOGRAD_WASM_BASE64 } from "../native/winograd_wasm_bin.ts";
import { moduleOn, type WasmInternals } from "../wasm/heap_module.ts";

/** Output tile side `m` of F(m×m, 3×3): 2 (16 products) or 4 (36 products). */
export type WinogradTile = 2 | 4;

/** The tile the kernels use: F(4×4, 3×3) (bench/RESULTS.md, "Winograd convolutions"). */
export const WINOGRAD_TILE: WinogradTile = 4;

/** Fewest input channels (of the pass: `dy`'s for the input gradient) the route takes. */
export const WINOGRAD_MIN_CHANNELS = 16;

/**
 * Largest transformed input + output tiles (bytes) one chunk materialises: larger chunks give
 * OpenBLAS more rows but spill the transforms out of the caches (docs/backends.md).
 */
export const WINOGRAD_CHUNK_BYTES = 64 * 1024 * 1024;

/** The filter transform `G` of F(m×m, 3×3) (`(m+2) × 3`), for the points 0, ±1, (±2,) ∞. */
const G: Record<WinogradTile, number[][]> = {
  2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  4: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
};

/**
 * Whether the Winograd route computes a pass of convolution `g`: a 3×3 filter, stride 1, and
 * the pass's input (the images for `forward` and `filter`, `dy` for `input`) has at least
 * {@linkcode WINOGRAD_MIN_CHANNELS} channels, a multiple of 4 — a thin input's own im2col is
 * cheap, and its tiles' products too thin to gain. The other side may have any channel count:
 * it is padded with zeros to a multiple of 4 (the denoiser's last layer, 64 → 1, whose forward
 * im2col would write 9 floats per input float).
 */
export function winogradApplies(g: ConvGeometry, pass: "forward" | "input" | "filter"): boolean {
  const C = pass === "input" ? g.Cout : g.Cin;
  const other = pass === "input" ? g.Cin : g.Cout;
  return g.fh === 3 && g.fw === 3 && g.sh === 1 && g.sw === 1 &&
    C % 4 === 0 && C >= WINOGRAD_MIN_CHANNELS && (pass !== "input" || other % 4 === 0);
}

/** `n` rounded up to a multiple of 4 (one SIMD vector of channels). */
const ceil4 = (n: number) => (n + 3) & ~3;

/**
 * Copy `rows` rows of `C` channels from `src` into `dst` (rows of `Cp ≥ C` channels, the extra
 * ones zero), or back when `unpad`: `dst` then has `C` channels and `src` `Cp`.
 */
function copyRows(
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  C: number,
  Cp: number,
  unpad = false,
): void {
  if (C === Cp) {
    dst.set(src.subarray(0, rows * C));
    return;
  }
  if (!unpad) dst.fill(0, 0, rows * Cp);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < C; c++) {
      if (unpad) dst[r * C + c] = src[r * Cp + c];
      else dst[r * Cp + c] = src[r * C + c];
    }
  }
}

type Transform = (...args: number[]) => void;

/** The module's exports (`input4`, `output4`, ... of `native/winograd.c`). */
type WinogradExports = Record<string, unknown>;

/**
 * Where the transforms run: the module instantiated on a memory, and scratch space in it.
 * On the tfjs wasm backend that memory is the backend's heap (tensors read and written in place,
 * scratch from its `malloc`); elsewhere a memory of the module's own (inputs copied in).
 */
interface Site {
  ex: WinogradExports;
  memory: WebAssembly.Memory;
  /** Byte offset of `bytes` for the tile planes (16-aligned), valid until the next call. */
  planes(bytes: number): number;
  /** Byte offset of `bytes` of scratch (16-aligned), valid until `release`. */
  scratch(bytes: number): number;
  /** Give back every scratch block. */
  release(): void;
}

/** The module on `memory` (once per memory). */
const instanceOn = (memory: WebAssembly.Memory) =>
  moduleOn<WinogradExports>(memory, WINOGRAD_WASM_BASE64);

/** The memory of the module's own (the cpu backend, tests), grown on demand and kept. */
let ownMemory: WebAssembly.Memory | undefined;

function ownSite(): Site {
  // the module declares 2 pages (its unused stack); it touches only what it is handed
  const memory = ownMemory ??= new WebAssembly.Memory({ initial: 4 });
  let top = 64;
  const scratch = (bytes: number) => {
    const at = top;
    top = align16(top + bytes);
    const need = top - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    return at;
  };
  return {
    ex: instanceOn(memory),
    memory,
    planes: scratch,
    scratch,
    release() {
      top = 64;
    },
  };
}

/** Per heap, the block the tile planes live in: kept between calls, grown when too small. */
const planeBlocks = new WeakMap<WebAssembly.Memory, { raw: number; bytes: number }>();

/** `bytes` from the backend's `malloc` (+16 for alignment), or a readable error. */
function heapAlloc(wasm: WasmInternals["wasm"], bytes: number): number {
  const raw = wasm._malloc(bytes + 16) >>> 0; // an address above 2 GiB comes back negative
  if (raw === 0) {
    throw new Error(
      `Cannot run a Winograd convolution as the wasm heap has no room for ${bytes} bytes of scratch`,
    );
  }
  return raw;
}

function heapSite(backend: WasmInternals): Site {
  const { wasm } = backend;
  const memory = wasm.asm.memory;
  const blocks: number[] = [];
  return {
    ex: instanceOn(memory),
    memory,
    planes(bytes) {
      // one block for the whole run: a fresh 60 MB malloc and free per convolution fragmented the
      // heap, which then grew, and fresh pages cost ~20 µs each to fault in on this VM
      let b = planeBlocks.get(memory);
      if (!b || b.bytes < bytes) {
        if (b) wasm._free(b.raw);
        b = { raw: heapAlloc(wasm, bytes), bytes };
        planeBlocks.set(memory, b);
      }
      return align16(b.raw);
    },
    scratch(bytes) {
      const raw = heapAlloc(wasm, bytes);
      blocks.push(raw);
      return align16(raw);
    },
    release() {
      for (const b of blocks.splice(0)) wasm._free(b);
    },
  };
}

/** The site for `backend`: its heap on the tfjs wasm backend, else the module's own memory. */
function siteFor(backend: unknown): Site {
  const heap = backend as Partial<WasmInternals> | undefined;
  return heap?.wasm?.asm?.memory instanceof WebAssembly.Memory &&
      typeof heap.wasm._malloc === "function"
    ? heapSite(heap as WasmInternals)
    : ownSite();
}

/** `n` rounded up to a multiple of 16 (arithmetic: heap addresses may exceed 2^31). */
const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * An array the transforms read or write: its byte offset when it lies in the site's memory (a
 * tensor on the wasm heap), else -1 (it is copied through scratch). Taken before any scratch is
 * allocated, since a growing memory detaches the views.
 */
function placeOf(site: Site, a: Float32Array): number {
  return a.buffer === site.memory.buffer ? a.byteOffset : -1;
}

/** The chunk plan of a convolution: tiles per image, images per chunk, plane sizes. */
interface Plan {
  site: Site;
  m: WinogradTile;
  /** Output channels padded to a multiple of 4. */
  Cp: number;
  a2: number;
  TH: number;
  TW: number;
  images: number;
  /** Tile rows per chunk when one image's tiles exceed the budget (else `TH`). */
  bandRows: number;
  /** Scratch: the transformed input and output planes. */
  vAt: number;
  yhAt: number;
}

function plan(site: Site, g: ConvGeometry, m: WinogradTile, chunkBytes: number): Plan {
  const a2 = (m + 2) ** 2;
  const TH = Math.ceil(g.OH / m), TW = Math.ceil(g.OW / m);
  const Cp = ceil4(g.Cout);
  const tileRow = a2 * TW * (g.Cin + Cp) * 4;
  const images = Math.max(1, Math.min(g.N, Math.floor(chunkBytes / (TH * tileRow))));
  // an image whose tiles exceed the budget goes in bands of tile rows
  const bandRows = Math.max(1, Math.min(TH, Math.floor(chunkBytes / tileRow)));
  const T = images * (images > 1 ? TH : bandRows) * TW;
  const vBytes = 4 * a2 * planeOf(T, g.Cin);
  const vAt = site.planes(vBytes + 4 * a2 * planeOf(T, Cp));
  const yhAt = align16(vAt + vBytes);
  return { site, m, Cp, a2, TH, TW, images, bandRows, vAt, yhAt };
}

/** A fresh view of `n` floats at byte offset `at` of the site's memory. */
const view = (p: Plan, at: number, n: number) => new Float32Array(p.site.memory.buffer, at, n);

/**
 * Floats from one tile position's `[T, C]` plane to the next: `T·C` and a 128-byte pad, so that
 * the `(m+2)²` planes a tile touches do not share cache sets (`T·C·4` is often a multiple of 4096).
 */
const planeOf = (T: number, C: number) => T * C + 32;
const fn = (p: Plan, name: string) => p.site.ex[`${name}${p.m}`] as Transform;

/**
 * Byte offset of images `[n0, n0 + k)` of `a` (`per` floats per image, `C` channels per pixel) in
 * the site's memory, `Cp` channels per pixel: in place when `a` lies there with `C = Cp` (`at`),
 * else copied (and padded) into the scratch block `buf`.
 */
function imagesIn(
  p: Plan,
  a: Float32Array,
  at: number,
  buf: number,
  n0: number,
  k: number,
  pixels: number,
  C: number,
  Cp: number,
): number {
  if (at >= 0 && C === Cp) return at + 4 * n0 * pixels * C;
  const src = at >= 0
    ? view(p, at + 4 * n0 * pixels * C, k * pixels * C)
    : a.subarray(n0 * pixels * C);
  copyRows(src, view(p, buf, k * pixels * Cp), k * pixels, C, Cp);
  return buf;
}

/**
 * Where the transform writes images `[n0, n0 + k)` of `a` (`C` channels, `Cp` computed): in place
 * when `a` lies in the site's memory with `C = Cp`, else the scratch block `buf`, which
 * {@linkcode imagesOut} then copies (and unpads) into `a`.
 */
function outputAt(at: number, buf: number, n0: number, pixels: number, C: number, Cp: number) {
  return at >= 0 && C === Cp ? at + 4 * n0 * pixels * C : buf;
}

/** Copy the scratch block `buf` out to images `[n0, n0 + k)` of `a`, unless written in place. */
function imagesOut(
  p: Plan,
  a: Float32Array,
  at: number,
  buf: number,
  n0: number,
  k: number,
  pixels: number,
  C: number,
  Cp: number,
): void {
  if (at >= 0 && C === Cp) return;
  const dst = at >= 0
    ? view(p, at + 4 * n0 * pixels * C, k * pixels * C)
    : a.subarray(n0 * pixels * C);
  copyRows(view(p, buf, k * pixels * Cp), dst, k * pixels, C, Cp, true);
}

/**
 * `U[k][ci][co] = (G g G^T)[k]` for each channel pair of the filter `w [3, 3, Cin, Cout]`
 * (k over the `(m+2)²` tile positions), in float64 then rounded.
 */
export function filterTransform(
  w: Float32Array,
  Cin: number,
  Cout: number,
  m: WinogradTile,
): Float32Array {
  const Gm = G[m], a = m + 2, P = Cin * Cout;
  const u = new Float32Array(a * a * P);
  const row = new Float64Array(3 * a * P); // row[ky][b] = Σ_kx G[b][kx] w[ky][kx]
  for (let ky = 0; ky < 3; ky++) {
    for (let b = 0; b < a; b++) {
      const dst = (ky * a + b) * P;
      for (let kx = 0; kx < 3; kx++) {
        const c = Gm[b][kx];
        if (c === 0) continue;
        const src = (ky * 3 + kx) * P;
        for (let i = 0; i < P; i++) row[dst + i] += c * w[src + i];
      }
    }
  }
  const acc = new Float64Array(P);
  for (let a1 = 0; a1 < a; a1++) {
    for (let b = 0; b < a; b++) {
      acc.fill(0);
      for (let ky = 0; ky < 3; ky++) {
        const c = Gm[a1][ky];
        if (c === 0) continue;
        const src = (ky * a + b) * P;
        for (let i = 0; i < P; i++) acc[i] += c * row[src + i];
      }
      u.set(acc, (a1 * a + b) * P);
    }
  }
  return u;
}

/** `dg = G^T dU G`: the transpose of {@linkcode filterTransform}, into `dw [3, 3, Cin, Cout]`. */
export function filterTransformTranspose(
  du: Float32Array,
  dw: Float32Array,
  Cin: number,
  Cout: number,
  m: WinogradTile,
): void {
  const Gm = G[m], a = m + 2, P = Cin * Cout;
  const acc = new Float64Array(9 * P);
  for (let a1 = 0; a1 < a; a1++) {
    for (let b = 0; b < a; b++) {
      const src = (a1 * a + b) * P;
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) {
          const c = Gm[a1][ky] * Gm[b][kx];
          if (c === 0) continue;
          const dst = (ky * 3 + kx) * P;
          for (let i = 0; i < P; i++) acc[dst + i] += c * du[src + i];
        }
      }
    }
  }
  dw.set(acc);
}

/**
 * The filter `w [3, 3, Cin, Cout]` with its output channels padded to a multiple of 4,
 * transformed (before any scratch is allocated: `w` may be a view of the wasm heap).
 */
function paddedFilterTransform(w: Float32Array, g: ConvGeometry, m: WinogradTile): Float32Array {
  const Cp = ceil4(g.Cout);
  const wp = Cp === g.Cout ? w : new Float32Array(9 * g.Cin * Cp);
  if (wp !== w) copyRows(w, wp, 9 * g.Cin, g.Cout, Cp);
  return filterTransform(wp, g.Cin, Cp, m);
}

/**
 * Run `body` with a plan on the site of `backend` (scratch given back afterwards). The arrays'
 * places are taken first: allocating scratch may grow the memory and detach their views.
 */
function withPlan<T>(
  backend: unknown,
  g: ConvGeometry,
  m: WinogradTile,
  chunkBytes: number,
  arrays: Float32Array[],
  body: (p: Plan, at: number[]) => T,
): T {
  const site = siteFor(backend);
  const at = arrays.map((a) => placeOf(site, a));
  try {
    return body(plan(site, g, m, chunkBytes), at);
  } finally {
    site.release();
  }
}

/** Scratch for images of `floats` floats each, `images` of them, unless `inPlace`. */
const imageBuffer = (p: Plan, inPlace: boolean, floats: number) =>
  inPlace ? -1 : p.site.scratch(4 * p.images * floats);

/**
 * One chunk: images `[n0, n0 + k)`, tile rows `[ty0, ty0 + rows)` of each (all of them unless an
 * image is too large for one chunk: then `k = 1` and the image comes in bands), its tile count `T`
 * and plane sizes; `first` and `last` mark an image group's first and last band.
 */
interface Chunk {
  n0: number;
  k: number;
  ty0: number;
  rows: number;
  T: number;
  pv: number;
  py: number;
  first: boolean;
  last: boolean;
}

/** Run `body` for each chunk of the convolution (see {@linkcode Chunk}). */
function forChunks(p: Plan, g: ConvGeometry, body: (c: Chunk) => void): void {
  for (let n0 = 0; n0 < g.N; n0 += p.images) {
    const k = Math.min(p.images, g.N - n0);
    const band = k === 1 ? p.bandRows : p.TH;
    for (let ty0 = 0; ty0 < p.TH; ty0 += band) {
      const rows = Math.min(band, p.TH - ty0), T = k * rows * p.TW;
      const [pv, py] = [planeOf(T, g.Cin), planeOf(T, p.Cp)];
      body({ n0, k, ty0, rows, T, pv, py, first: ty0 === 0, last: ty0 + rows === p.TH });
    }
  }
}

/** One operand of the per-position products: `size` floats per position, `stride` apart. */
interface Planes {
  data: Float32Array;
  stride: number;
  size: number;
}

const planes = (data: Float32Array, stride: number, size: number): Planes => ({
  data,
  stride,
  size,
});

const at = (q: Planes, j: number) => q.data.subarray(j * q.stride, j * q.stride + q.size);

/**
 * The `(m+2)²` products of a chunk, one per tile position `j`:
 * `c[j] (+)= op(a[j]) · op(b[j])` (`M × N`, inner dimension `K`, row-major, `sgemm`'s flags).
 */
function products(
  blas: NativeSgemm,
  p: Plan,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  a: Planes,
  b: Planes,
  c: Planes,
  accumulate = false,
): void {
  for (let j = 0; j < p.a2; j++) {
    blas.sgemm(transA, transB, M, N, K, at(a, j), at(b, j), at(c, j), accumulate);
  }
}

/**
 * The image-side transform of chunk `c` (`input`: images at `img` → planes V; `inputGrad`:
 * planes dV → added into the images at `img`), on the chunk's band of tile rows.
 */
function imageSide(
  p: Plan,
  g: ConvGeometry,
  c: Chunk,
  name: "input" | "inputGrad",
  img: number,
): void {
  const [src, dst] = name === "input" ? [img, p.vAt] : [p.vAt, img];
  const top = g.top - p.m * c.ty0; // the band's first tile row reads from there
  fn(p, name)(src, dst, c.k, g.H, g.W, g.Cin, c.rows, p.TW, top, g.left, c.pv);
}

/**
 * The output-side transform of chunk `c` (`output`: planes Yh → the output images at `img`;
 * `outputGrad`: `dy` images at `img` → planes Mg), on the chunk's band of tile rows.
 */
function outputSide(
  p: Plan,
  g: ConvGeometry,
  c: Chunk,
  name: "output" | "outputGrad",
  img: number,
): void {
  const from = p.m * c.ty0; // the band's first output row
  const band = img + 4 * from * g.OW * p.Cp;
  const [src, dst] = name === "output" ? [p.yhAt, band] : [band, p.yhAt];
  fn(p, name)(src, dst, c.k, g.OH - from, g.OW, p.Cp, c.rows, p.TW, c.py);
}

/** Chunk `c`'s input-side planes (V or dV) and output-side planes (Yh or Mg) as operands. */
function chunkPlanes(p: Plan, g: ConvGeometry, c: Chunk): { v: Planes; y: Planes } {
  return {
    v: planes(view(p, p.vAt, p.a2 * c.pv), c.pv, c.T * g.Cin),
    y: planes(view(p, p.yhAt, p.a2 * c.py), c.py, c.T * p.Cp),
  };
}

/**
 * `Conv2D` by Winograd: `out [N, OH, OW, Cout] = conv(x [N, H, W, Cin], w [3, 3, Cin, Cout])`
 * for geometry `g` (see {@linkcode winogradApplies}). `backend` is the TF.js backend the arrays
 * belong to (on `wasm` they are read and written on its heap), or anything else for plain arrays.
 *
 * @example
 * ```ts ignore
 * if (winogradApplies(g, "forward")) winogradConv2D(x, w, out, g, openBlas()!, null);
 * ```
 */
export function winogradConv2D(
  x: Float32Array,
  w: Float32Array,
  out: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
  backend: unknown,
  m: WinogradTile = WINOGRAD_TILE,
  chunkBytes: number = WINOGRAD_CHUNK_BYTES,
): void {
  const u = paddedFilterTransform(w, g, m);
  withPlan(backend, g, m, chunkBytes, [x, out], (p, [xAt, outAt]) => {
    const { Cp } = p, Cin = g.Cin, image = g.H * g.W, pixels = g.OH * g.OW;
    const xBuf = imageBuffer(p, xAt >= 0, image * Cin);
    const yBuf = imageBuffer(p, outAt >= 0 && Cp === g.Cout, pixels * Cp);
    const wu = planes(u, Cin * Cp, Cin * Cp);
    let xi = 0;
    forChunks(p, g, (c) => {
      if (c.first) xi = imagesIn(p, x, xAt, xBuf, c.n0, c.k, image, Cin, Cin);
      imageSide(p, g, c, "input", xi);
      const { v, y: yh } = chunkPlanes(p, g, c);
      products(blas, p, false, false, c.T, Cp, Cin, v, wu, yh); // Yh[j] = V[j] · U[j]
      outputSide(p, g, c, "output", outputAt(outAt, yBuf, c.n0, pixels, g.Cout, Cp));
      if (c.last) imagesOut(p, out, outAt, yBuf, c.n0, c.k, pixels, g.Cout, Cp);
    });
  });
}

/**
 * `Conv2DBackpropInput` by Winograd: `dx [N, H, W, Cin]` of the convolution `g` from
 * `dy [N, OH, OW, Cout]` and the filter `w` (`backend` as for {@linkcode winogradConv2D}).
 */
export function winogradConv2DBackpropInput(
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
  backend: unknown,
  m: WinogradTile = WINOGRAD_TILE,
  chunkBytes: number = WINOGRAD_CHUNK_BYTES,
): void {
  const u = paddedFilterTransform(w, g, m);
  withPlan(backend, g, m, chunkBytes, [dy, dx], (p, [dyAt, dxAt]) => {
    const { Cp } = p, Cin = g.Cin, image = g.H * g.W, pixels = g.OH * g.OW;
    const dyBuf = imageBuffer(p, dyAt >= 0 && Cp === g.Cout, pixels * Cp);
    const dxBuf = imageBuffer(p, dxAt >= 0, image * Cin);
    const wu = planes(u, Cin * Cp, Cin * Cp);
    let di = 0, xo = 0;
    forChunks(p, g, (c) => {
      if (c.first) {
        di = imagesIn(p, dy, dyAt, dyBuf, c.n0, c.k, pixels, g.Cout, Cp);
        xo = outputAt(dxAt, dxBuf, c.n0, image, Cin, Cin);
        view(p, xo, c.k * image * Cin).fill(0); // the bands add into it
      }
      outputSide(p, g, c, "outputGrad", di);
      const { v: dv, y: mg } = chunkPlanes(p, g, c);
      products(blas, p, false, true, c.T, Cin, Cp, mg, wu, dv); // dV[j] = Mg[j] · U[j]ᵀ
      imageSide(p, g, c, "inputGrad", xo);
      if (c.last) imagesOut(p, dx, dxAt, dxBuf, c.n0, c.k, image, Cin, Cin);
    });
  });
}

/**
 * `Conv2DBackpropFilter` by Winograd: `dw [3, 3, Cin, Cout]` of the convolution `g` from its
 * input `x` and `dy`; `dU[k] = Σ_chunks V[k]ᵀ · Mg[k]`, accumulated by `sgemm`, then `G^T dU G`
 * (`backend` as for {@linkcode winogradConv2D}).
 */
export function winogradConv2DBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
  backend: unknown,
  m: WinogradTile = WINOGRAD_TILE,
  chunkBytes: number = WINOGRAD_CHUNK_BYTES,
): void {
  withPlan(backend, g, m, chunkBytes, [x, dy, dw], (p, [xAt, dyAt, dwAt]) => {
    const { Cp } = p, Cin = g.Cin, image = g.H * g.W, pixels = g.OH * g.OW, P = Cin * Cp;
    const du = new Float32Array(p.a2 * P);
    const xBuf = imageBuffer(p, xAt >= 0, image * Cin);
    const dyBuf = imageBuffer(p, dyAt >= 0 && Cp === g.Cout, pixels * Cp);
    let xi = 0, di = 0;
    forChunks(p, g, (c) => {
      if (c.first) {
        xi = imagesIn(p, x, xAt, xBuf, c.n0, c.k, image, Cin, Cin);
        di = imagesIn(p, dy, dyAt, dyBuf, c.n0, c.k, pixels, g.Cout, Cp);
      }
      imageSide(p, g, c, "input", xi);
      outputSide(p, g, c, "outputGrad", di);
      const { v, y: mg } = chunkPlanes(p, g, c);
      // dU[j] (+)= V[j]ᵀ · Mg[j], accumulated over the chunks
      const more = c.n0 > 0 || c.ty0 > 0;
      products(blas, p, true, false, Cin, Cp, c.T, v, mg, planes(du, P, P), more);
    });
    const full = new Float32Array(9 * P);
    filterTransformTranspose(du, full, Cin, Cp, m);
    // dw by offset when on the heap: the scratch may have grown it and detached the view
    const out = dwAt >= 0 ? view(p, dwAt, 9 * Cin * g.Cout) : dw;
    copyRows(full, out, 9 * Cin, g.Cout, Cp, true);
  });
}
