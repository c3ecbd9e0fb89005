/**
 * Winograd convolutions (minimal filtering F(m×m, 3×3), Lavin & Gray 2016) for the BLAS conv
 * kernels: 3×3 filters, stride 1, dilation 1, channel counts that are multiples of 4 (from
 * {@linkcode WINOGRAD_MIN_CHANNELS}). The transforms of the tiles run in WebAssembly SIMD
 * (`native/winograd.c`, own memory); the `(m+2)²` products per chunk of images run in OpenBLAS
 * on that memory. With `m = 4` the products do 4× fewer multiply-adds than im2col's (36 instead
 * of 144 per 4×4 output tile and channel pair); the backward passes are the exact transposes of
 * the forward map, so they are the gradients of what the forward computes. The rounding differs
 * from im2col's (relative ~1e-6 for m = 2, ~1e-5 for m = 4: tests/winograd_test.ts), the math is
 * the same convolution. docs/backends.md "Winograd convolutions" has the formulas.
 *
 * @module
 */
import type { ConvGeometry } from "../cpu/missing.ts";
import type { NativeSgemm } from "../../backend/openblas_ffi.ts";
import { WINOGRAD_WASM_BASE64 } from "../native/winograd_wasm_bin.ts";

/** Output tile side `m` of F(m×m, 3×3): 2 (16 products) or 4 (36 products). */
export type WinogradTile = 2 | 4;

/** The tile the kernels use: F(4×4, 3×3) (bench/RESULTS.md, "Winograd convolutions"). */
export const WINOGRAD_TILE: WinogradTile = 4;

/** Fewest input and output channels for which the Winograd route is taken. */
export const WINOGRAD_MIN_CHANNELS = 16;

/** Largest transformed input + output tiles (bytes) one chunk of images materialises. */
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

interface WinogradExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  [name: string]: unknown;
}

let exports: WinogradExports | undefined;

function module(): WinogradExports {
  if (!exports) {
    const bytes = Uint8Array.from(atob(WINOGRAD_WASM_BASE64), (c) => c.charCodeAt(0));
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {})
      .exports as unknown as WinogradExports;
  }
  return exports;
}

const align16 = (n: number) => (n + 15) & ~15;

/**
 * The chunk plan of a convolution: tiles per image, images per chunk, and the byte offsets of
 * the four regions in the module's memory (images in, transformed in, transformed out, images
 * out), grown to fit.
 */
interface Plan {
  m: WinogradTile;
  /** Output channels padded to a multiple of 4. */
  Cp: number;
  a2: number;
  TH: number;
  TW: number;
  images: number;
  xAt: number;
  vAt: number;
  yhAt: number;
  yAt: number;
  ex: WinogradExports;
}

function plan(g: ConvGeometry, m: WinogradTile): Plan {
  const a2 = (m + 2) ** 2;
  const TH = Math.ceil(g.OH / m), TW = Math.ceil(g.OW / m);
  const Cp = ceil4(g.Cout);
  const tiles = a2 * TH * TW * (g.Cin + Cp) * 4;
  const images = Math.max(1, Math.min(g.N, Math.floor(WINOGRAD_CHUNK_BYTES / tiles)));
  const ex = module();
  const T = images * TH * TW;
  const xAt = align16(ex.__heap_base.value as number);
  const vAt = align16(xAt + 4 * images * g.H * g.W * g.Cin);
  const yhAt = align16(vAt + 4 * a2 * planeOf(T, g.Cin));
  const yAt = align16(yhAt + 4 * a2 * planeOf(T, Cp));
  const end = yAt + 4 * images * g.OH * g.OW * Cp;
  const need = end - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  return { m, Cp, a2, TH, TW, images, xAt, vAt, yhAt, yAt, ex };
}

const view = (p: Plan, at: number, n: number) => new Float32Array(p.ex.memory.buffer, at, n);

/**
 * Floats from one tile position's `[T, C]` plane to the next: `T·C` and a 128-byte pad, so that
 * the `(m+2)²` planes a tile touches do not share cache sets (`T·C·4` is often a multiple of 4096).
 */
const planeOf = (T: number, C: number) => T * C + 32;
const fn = (p: Plan, name: string) => p.ex[`${name}${p.m}`] as Transform;

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

/** The filter `w [3, 3, Cin, Cout]` with its output channels padded to `Cp`, transformed. */
function paddedFilterTransform(w: Float32Array, g: ConvGeometry, p: Plan): Float32Array {
  const wp = p.Cp === g.Cout ? w : new Float32Array(9 * g.Cin * p.Cp);
  if (wp !== w) copyRows(w, wp, 9 * g.Cin, g.Cout, p.Cp);
  return filterTransform(wp, g.Cin, p.Cp, p.m);
}

/**
 * `Conv2D` by Winograd: `out [N, OH, OW, Cout] = conv(x [N, H, W, Cin], w [3, 3, Cin, Cout])`
 * for geometry `g` (see {@linkcode winogradApplies}).
 *
 * @example
 * ```ts ignore
 * if (winogradApplies(g, "forward")) winogradConv2D(x, w, out, g, openBlas()!);
 * ```
 */
export function winogradConv2D(
  x: Float32Array,
  w: Float32Array,
  out: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
  m: WinogradTile = WINOGRAD_TILE,
): void {
  const p = plan(g, m), Cp = p.Cp, Cin = g.Cin;
  const u = paddedFilterTransform(w, g, p);
  const image = g.H * g.W * Cin, pixels = g.OH * g.OW;
  for (let n0 = 0; n0 < g.N; n0 += p.images) {
    const k = Math.min(p.images, g.N - n0), T = k * p.TH * p.TW;
    view(p, p.xAt, k * image).set(x.subarray(n0 * image, (n0 + k) * image));
    const pv = planeOf(T, Cin), py = planeOf(T, Cp);
    fn(p, "input")(p.xAt, p.vAt, k, g.H, g.W, Cin, p.TH, p.TW, g.top, g.left, pv);
    const v = view(p, p.vAt, p.a2 * pv), yh = view(p, p.yhAt, p.a2 * py);
    for (let j = 0; j < p.a2; j++) {
      // Yh[j] [T, Cp] = V[j] [T, Cin] · U[j] [Cin, Cp]
      blas.sgemm(
        false,
        false,
        T,
        Cp,
        Cin,
        v.subarray(j * pv, j * pv + T * Cin),
        u.subarray(j * Cin * Cp, (j + 1) * Cin * Cp),
        yh.subarray(j * py, j * py + T * Cp),
      );
    }
    fn(p, "output")(p.yhAt, p.yAt, k, g.OH, g.OW, Cp, p.TH, p.TW, py);
    const rows = k * pixels;
    copyRows(view(p, p.yAt, rows * Cp), out.subarray(n0 * pixels * g.Cout), rows, g.Cout, Cp, true);
  }
}

/**
 * `Conv2DBackpropInput` by Winograd: `dx [N, H, W, Cin]` of the convolution `g` from
 * `dy [N, OH, OW, Cout]` and the filter `w`.
 */
export function winogradConv2DBackpropInput(
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
  m: WinogradTile = WINOGRAD_TILE,
): void {
  const p = plan(g, m), Cp = p.Cp, Cin = g.Cin;
  const u = paddedFilterTransform(w, g, p);
  const image = g.H * g.W * Cin, pixels = g.OH * g.OW;
  for (let n0 = 0; n0 < g.N; n0 += p.images) {
    const k = Math.min(p.images, g.N - n0), T = k * p.TH * p.TW, rows = k * pixels;
    copyRows(dy.subarray(n0 * pixels * g.Cout), view(p, p.yAt, rows * Cp), rows, g.Cout, Cp);
    const pv = planeOf(T, Cin), py = planeOf(T, Cp);
    fn(p, "outputGrad")(p.yAt, p.yhAt, k, g.OH, g.OW, Cp, p.TH, p.TW, py);
    const dv = view(p, p.vAt, p.a2 * pv), mg = view(p, p.yhAt, p.a2 * py);
    for (let j = 0; j < p.a2; j++) {
      // dV[j] [T, Cin] = Mg[j] [T, Cp] · U[j] [Cin, Cp]ᵀ
      blas.sgemm(
        false,
        true,
        T,
        Cin,
        Cp,
        mg.subarray(j * py, j * py + T * Cp),
        u.subarray(j * Cin * Cp, (j + 1) * Cin * Cp),
        dv.subarray(j * pv, j * pv + T * Cin),
      );
    }
    fn(p, "inputGrad")(p.vAt, p.xAt, k, g.H, g.W, Cin, p.TH, p.TW, g.top, g.left, pv);
    dx.set(view(p, p.xAt, k * image), n0 * image);
  }
}

/**
 * `Conv2DBackpropFilter` by Winograd: `dw [3, 3, Cin, Cout]` of the convolution `g` from its
 * input `x` and `dy`; `dU[k] = Σ_chunks V[k]ᵀ · Mg[k]`, accumulated by `sgemm`, then `G^T dU G`.
 */
export function winogradConv2DBackpropFilter(
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  g: ConvGeometry,
  blas: NativeSgemm,
  m: WinogradTile = WINOGRAD_TILE,
): void {
  const p = plan(g, m), Cp = p.Cp, Cin = g.Cin;
  const P = Cin * Cp;
  const du = new Float32Array(p.a2 * P);
  const image = g.H * g.W * Cin, pixels = g.OH * g.OW;
  for (let n0 = 0; n0 < g.N; n0 += p.images) {
    const k = Math.min(p.images, g.N - n0), T = k * p.TH * p.TW, rows = k * pixels;
    view(p, p.xAt, k * image).set(x.subarray(n0 * image, (n0 + k) * image));
    const pv = planeOf(T, Cin), py = planeOf(T, Cp);
    fn(p, "input")(p.xAt, p.vAt, k, g.H, g.W, Cin, p.TH, p.TW, g.top, g.left, pv);
    copyRows(dy.subarray(n0 * pixels * g.Cout), view(p, p.yAt, rows * Cp), rows, g.Cout, Cp);
    fn(p, "outputGrad")(p.yAt, p.yhAt, k, g.OH, g.OW, Cp, p.TH, p.TW, py);
    const v = view(p, p.vAt, p.a2 * pv), mg = view(p, p.yhAt, p.a2 * py);
    for (let j = 0; j < p.a2; j++) {
      // dU[j] [Cin, Cp] (+)= V[j] [T, Cin]ᵀ · Mg[j] [T, Cp]
      blas.sgemm(
        true,
        false,
        Cin,
        Cp,
        T,
        v.subarray(j * pv, j * pv + T * Cin),
        mg.subarray(j * py, j * py + T * Cp),
        du.subarray(j * P, (j + 1) * P),
        n0 > 0,
      );
    }
  }
  if (Cp === g.Cout) {
    filterTransformTranspose(du, dw, Cin, Cp, m);
    return;
  }
  const dwp = new Float32Array(9 * P);
  filterTransformTranspose(du, dwp, Cin, Cp, m);
  copyRows(dwp, dw, 9 * Cin, g.Cout, Cp, true);
}
