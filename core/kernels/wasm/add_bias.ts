/**
 * `Add` on the `wasm` backend when one operand is a bias broadcast over middle axes
 * (`[G, N, C] + [G, 1, C]`, `[..., C] + [C]`): the WebAssembly SIMD module `native/add_bias.c` on
 * the heap, one float32 addition per element as the stock kernel (same bits), instead of the
 * stock generic broadcasting loop. Everything else goes to the stock kernel.
 *
 * The module also sums over leading axes, the bias gradient ({@linkcode sumRows}, called by
 * `leadingAxesSum` of `missing.ts`).
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
 * `out[c] = Σ_r x[r, c]` for `x [R, C]` on the heap (the bias gradient; `leadingAxesSum` of
 * `missing.ts`): `sum_rows` of the same module, each channel summed in row order in float64 and
 * rounded once.
 *
 * @example
 * ```ts ignore
 * sumRows(be, dy, out, 128 * 40 * 40, 64); // dy [128, 40, 40, 64] → out [64]
 * ```
 */
export function sumRows(be: BackendWasm, x: TensorInfo, out: TensorInfo, R: number, C: number) {
  heapModule<AddBiasExports>(be, ADD_BIAS_WASM_BASE64).sum_rows(
    heapOffset(be, x),
    heapOffset(be, out),
    R,
    C,
  );
}

let stock: KernelFunc | undefined;

/** Register the route on `wasm` in front of the stock `Add` (idempotent). */
export function register(): void {
  stock ??= tf.getKernel("Add", "wasm")?.kernelFunc;
  if (stock) replaceKernel("Add", "wasm", addBiasKernel(stock));
}
