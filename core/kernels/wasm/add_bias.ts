/**
 * `Add` on the `wasm` backend when one operand is a bias broadcast over middle axes
 * (`[G, N, C] + [G, 1, C]`, `[..., C] + [C]`): the WebAssembly SIMD module `native/add_bias.c` on
 * the heap, one float32 addition per element as the stock kernel (same bits), instead of the
 * stock generic broadcasting loop. Everything else goes to the stock kernel.
 *
 * Its gradient, `Sum` over leading axes (`[..., C]` → `[C]`, a convolution bias's gradient on
 * NHWC activations): `sum_rows` of the same module, each channel summed in row order in float32
 * as the stock kernel sums it after transposing the reduced axes innermost (same bits, no
 * transpose: 11 ms → ~3 ms on the denoiser's `[128, 40, 40, 64]`). Other reductions go to the
 * stock `Sum`.
 *
 * @module
 */
import type { KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../backend/tf.ts";
import { ADD_BIAS_WASM_BASE64 } from "../native/add_bias_wasm_bin.ts";
import { replaceKernel } from "../replace_kernel.ts";
import { heapModule, heapOffset } from "./heap_module.ts";

interface AddBiasExports {
  add_bias(a: number, b: number, out: number, G: number, N: number, C: number): void;
  sum_rows(x: number, out: number, R: number, C: number): void;
}

/**
 * `{G, N, C}` when `bias` (left-padded with 1s to the rank of `full`) equals `full` except on one
 * run of axes where it is 1: `full` is `[G, N, C]` and `bias` `[G, 1, C]` after merging axes.
 * Null for equal shapes, other broadcasts, or `C` < 4 (too narrow for the vector loop).
 */
export function biasLayout(
  full: readonly number[],
  bias: readonly number[],
): { G: number; N: number; C: number } | null {
  const r = full.length;
  if (bias.length > r) return null;
  const b = [...Array(r - bias.length).fill(1), ...bias];
  let p = 0;
  while (p < r && b[p] === full[p]) p++;
  if (p === r) return null;
  let q = r;
  while (b[q - 1] === full[q - 1]) q--;
  for (let i = p; i < q; i++) if (b[i] !== 1) return null;
  const C = tf.util.sizeFromShape(full.slice(q));
  if (C < 4) return null;
  return {
    G: tf.util.sizeFromShape(full.slice(0, p)),
    N: tf.util.sizeFromShape(full.slice(p, q)),
    C,
  };
}

/** The bias route in front of `fallback` (the stock kernel). */
export function addBiasKernel(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as unknown as { a: TensorInfo; b: TensorInfo };
    if (a.dtype === "float32" && b.dtype === "float32") {
      for (const [full, bias] of [[a, b], [b, a]]) {
        const layout = biasLayout(full.shape, bias.shape);
        if (!layout) continue;
        const be = args.backend as BackendWasm;
        const out = be.makeOutput(full.shape.slice(), "float32");
        heapModule<AddBiasExports>(be, ADD_BIAS_WASM_BASE64).add_bias(
          heapOffset(be, full),
          heapOffset(be, bias),
          heapOffset(be, out),
          layout.G,
          layout.N,
          layout.C,
        );
        return out;
      }
    }
    return fallback(args);
  };
}

/**
 * `{R, C, rank}` when `Sum` over `axis` of a tensor of `shape` reduces exactly the leading axes:
 * `[R, C]` after merging them, `rank` axes kept. Null otherwise, or when `C` < 4.
 */
export function leadingSumLayout(
  shape: readonly number[],
  axis: number | number[],
): { R: number; C: number; rank: number } | null {
  const axes = tf.util.parseAxisParam(axis, shape as number[]).sort((p, q) => p - q);
  if (axes.length === 0 || axes.length >= shape.length) return null;
  if (axes.some((a, i) => a !== i)) return null;
  const C = tf.util.sizeFromShape(shape.slice(axes.length));
  if (C < 4) return null;
  const R = tf.util.sizeFromShape(shape.slice(0, axes.length));
  return { R, C, rank: shape.length - axes.length };
}

/** The leading-axes route in front of `fallback` (the stock `Sum`). */
export function sumLeadingKernel(fallback: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const layout = x.dtype === "float32" ? leadingSumLayout(x.shape, axis) : null;
    if (!layout) return fallback(args);
    const reduced = x.shape.length - layout.rank;
    const rest = x.shape.slice(reduced);
    const be = args.backend as BackendWasm;
    const out = be.makeOutput(keepDims ? [...Array(reduced).fill(1), ...rest] : rest, "float32");
    heapModule<AddBiasExports>(be, ADD_BIAS_WASM_BASE64).sum_rows(
      heapOffset(be, x),
      heapOffset(be, out),
      layout.R,
      layout.C,
    );
    return out;
  };
}

let stock: KernelFunc | undefined;
let stockSum: KernelFunc | undefined;

/** Register the routes on `wasm` in front of the stock `Add` and `Sum` (idempotent). */
export function register(): void {
  stock ??= tf.getKernel("Add", "wasm")?.kernelFunc;
  if (stock) replaceKernel("Add", "wasm", addBiasKernel(stock));
  stockSum ??= tf.getKernel("Sum", "wasm")?.kernelFunc;
  if (stockSum) replaceKernel("Sum", "wasm", sumLeadingKernel(stockSum));
}
