/**
 * The patch matrix (im2col) of the BLAS convolutions, built by a WebAssembly module
 * (`native/im2col.c`) in its own memory, where OpenBLAS then reads it: one `memory.copy` per
 * (pixel, filter row) run instead of one `TypedArray.set` (~150 ns each; 2.2 s of a 4.9 s
 * denoiser step). The chunk's input images are copied in first (a fraction of the patch matrix's
 * size). Same matrix, bit for bit, as the JS loop `im2colRows` (tests/blas_kernels_test.ts).
 *
 * @module
 */
import type { ConvGeometry } from "../cpu/missing.ts";
import { IM2COL_WASM_BASE64 } from "../native/im2col_wasm_bin.ts";
import { compiledModule } from "../wasm/heap_module.ts";

interface Im2colExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  im2col(
    x: number,
    cols: number,
    images: number,
    H: number,
    W: number,
    Cin: number,
    OH: number,
    OW: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    top: number,
    left: number,
  ): void;
}

let exports: Im2colExports | undefined;

const align16 = (n: number) => (n + 15) & ~15;

/**
 * im2col of images `n0 ≤ n < n1` of `x` (`[N, H, W, Cin]`, NHWC) for geometry `g`, as a view of
 * the module's memory: `cols[p, (ky·fw + kx)·Cin + ci]` for the chunk's output pixels `p` (zero
 * where a tap falls in the padding). The view is valid until the next call.
 *
 * @example
 * ```ts ignore
 * const cols = im2colWasm(x, g, 0, 8); // [8·OH·OW, fh·fw·Cin]
 * ```
 */
export function im2colWasm(
  x: Float32Array,
  g: ConvGeometry,
  n0: number,
  n1: number,
): Float32Array {
  if (!exports) {
    exports = new WebAssembly.Instance(compiledModule(IM2COL_WASM_BASE64), {})
      .exports as unknown as Im2colExports;
  }
  const ex = exports;
  const image = g.H * g.W * g.Cin;
  const inputFloats = (n1 - n0) * image;
  const colFloats = (n1 - n0) * g.OH * g.OW * g.fh * g.fw * g.Cin;
  const xAt = align16(ex.__heap_base.value as number);
  const colsAt = align16(xAt + 4 * inputFloats);
  const need = colsAt + 4 * colFloats - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  new Float32Array(ex.memory.buffer, xAt, inputFloats).set(x.subarray(n0 * image, n1 * image));
  ex.im2col(
    xAt,
    colsAt,
    n1 - n0,
    g.H,
    g.W,
    g.Cin,
    g.OH,
    g.OW,
    g.fh,
    g.fw,
    g.sh,
    g.sw,
    g.top,
    g.left,
  );
  return new Float32Array(ex.memory.buffer, colsAt, colFloats);
}
