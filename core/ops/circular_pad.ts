/**
 * Circular padding of NHWC tensors (docs/method.md §4, BCOP: "circular padding `k//2`") and its
 * gradient: one fused kernel per CPU backend (`LipsplineCircularPad`, and
 * `LipsplineCircularPadGrad` which folds the padded gradient back), copying and adding
 * contiguous row runs. Backends without the kernels (WebGPU) use a composite of stock ops with
 * its own gradient: the stock gradient of each slice is a zero-padded copy of the whole input.
 *
 * @module
 */
import type { GradSaveFunc, NamedAttrMap, Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { registerKernelGradient } from "./kernel_gradient.ts";

/** Name of the forward kernel (input `x` NHWC; attr `pad`). */
export const CIRCULAR_PAD_KERNEL = "LipsplineCircularPad";
/** Name of the gradient kernel (input `dy`, the padded gradient; attr `pad`); returns `dx`. */
export const CIRCULAR_PAD_GRAD_KERNEL = "LipsplineCircularPadGrad";

/** Attributes of both kernels. */
export interface CircularPadAttrs {
  /** Pixels added on each side of both spatial axes. */
  pad: number;
}

/** `[N, H, W, C]` of an NHWC shape. */
export type Nhwc = [number, number, number, number];

/**
 * The padding loop: `out [N, H+2p, W+2p, C]` row `i` is input row `(i - p) mod H`, whose last `p`
 * pixels are put before it and first `p` pixels after it (needs `p ≤ H, W`).
 */
export function circularPadLoop(x: Float32Array, out: Float32Array, s: Nhwc, p: number): void {
  const [N, H, W, C] = s;
  const H2 = H + 2 * p, rowIn = W * C, rowOut = (W + 2 * p) * C, edge = p * C;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < H2; i++) {
      const src = (n * H + (((i - p) % H) + H) % H) * rowIn;
      const dst = (n * H2 + i) * rowOut;
      out.set(x.subarray(src + rowIn - edge, src + rowIn), dst);
      out.set(x.subarray(src, src + rowIn), dst + edge);
      out.set(x.subarray(src, src + edge), dst + edge + rowIn);
    }
  }
}

/**
 * The adjoint of {@linkcode circularPadLoop} (its gradient): `dx` (every value overwritten)
 * accumulates every padded pixel of `dy` at the input pixel it was copied from. The centre of
 * each input row is one contiguous copy; only the edges and the 2p wrapped rows are added one by
 * one (the bulk was an element loop: 17 → ~5 ms on the denoiser's `[128, 42, 42, 64]`).
 */
export function circularFoldLoop(dy: Float32Array, dx: Float32Array, s: Nhwc, p: number): void {
  const [N, H, W, C] = s;
  const H2 = H + 2 * p, rowIn = W * C, rowOut = (W + 2 * p) * C, edge = p * C;
  // padded row i, its left p pixels (copies of the row's last p) and right p (of its first p)
  const fold = (dst: number, src: number, center: boolean) => {
    for (let k = 0; k < edge; k++) dx[dst + rowIn - edge + k] += dy[src + k];
    if (center) { for (let k = 0; k < rowIn; k++) dx[dst + k] += dy[src + edge + k]; }
    for (let k = 0; k < edge; k++) dx[dst + k] += dy[src + edge + rowIn + k];
  };
  for (let n = 0; n < N; n++) {
    // the H interior rows: each input row's centre copied at once, then its edges added
    for (let r = 0; r < H; r++) {
      const dst = (n * H + r) * rowIn, src = (n * H2 + r + p) * rowOut;
      dx.set(dy.subarray(src + edge, src + edge + rowIn), dst);
      fold(dst, src, false);
    }
    // the 2p wrapped rows (above: rows H-p.., below: rows 0..p-1) added whole
    for (let i = 0; i < H2; i++) {
      if (i >= p && i < H + p) continue;
      fold((n * H + (((i - p) % H) + H) % H) * rowIn, (n * H2 + i) * rowOut, true);
    }
  }
}

/** Register the gradient of {@linkcode CIRCULAR_PAD_KERNEL} (backend-independent; idempotent). */
export function registerCircularPadGradient(): void {
  registerKernelGradient({
    kernel: CIRCULAR_PAD_KERNEL,
    gradKernel: CIRCULAR_PAD_GRAD_KERNEL,
    saved: [],
    dys: ["dy"],
    grads: ["x"],
  });
}

function checkPad(x: Tensor, p: number): void {
  if (x.rank !== 4) {
    throw new Error(`Cannot pad circularly as the input must be NHWC: shape is [${x.shape}]`);
  }
  const [, H, W] = x.shape;
  if (!Number.isInteger(p) || p < 0 || p > H || p > W) {
    throw new Error(
      `Cannot pad circularly by ${p} pixels an input of ${H}×${W} pixels (need 0 ≤ p ≤ H, W)`,
    );
  }
}

/**
 * Circular padding (docs/method.md §4: "circular padding `k//2`") of an NHWC tensor by `p` pixels on each
 * side of both spatial axes: the last `p` rows are put before the first and the first `p` after
 * the last (then the same for columns). Needs `0 ≤ p ≤ H, W`. Differentiable.
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { circularPad } from "./circular_pad.ts";
 * const y = circularPad(tf.ones([1, 4, 4, 2]), 1); // [1, 6, 6, 2]
 * ```
 */
export function circularPad(x: Tensor, p: number): Tensor {
  // the kernels' registration (core/kernels/circular_pad_kernels.ts) registers the gradient
  if (tf.getKernel(CIRCULAR_PAD_KERNEL, tf.getBackend()) == null) {
    return circularPadComposite(x, p);
  }
  checkPad(x, p);
  if (p === 0) return tf.clone(x);
  const attrs: CircularPadAttrs = { pad: p };
  return tf.engine().runKernel(
    CIRCULAR_PAD_KERNEL,
    { x },
    attrs as unknown as NamedAttrMap,
  ) as Tensor;
}

/** {@linkcode circularPad} from stock ops (slices and concats) with an explicit gradient. */
export function circularPadComposite(x: Tensor, p: number): Tensor {
  checkPad(x, p);
  if (p === 0) return tf.clone(x);
  // A custom gradient: the stock one of each slice is a zero-padded copy of the whole input,
  // which made the padding cost ~4 activation-sized tensors per layer in the backward pass.
  const pad = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const input = args[0] as Tensor;
    return {
      value: tf.tidy(() => wrapAxis(wrapAxis(input, 1, p), 2, p)),
      gradFunc: (dy: Tensor | Tensor[]) => [foldAxis(foldAxis(dy as Tensor, 2, p), 1, p)],
    };
  });
  return pad(x) as Tensor;
}

/** `x` with its last `p` entries along `axis` put before the first and its first `p` after. */
function wrapAxis(x: Tensor, axis: 1 | 2, p: number): Tensor {
  const n = x.shape[axis] as number;
  const take = (start: number, len: number) => {
    const begin = [0, 0, 0, 0], size = [...x.shape];
    begin[axis] = start;
    size[axis] = len;
    return tf.slice(x, begin, size);
  };
  return tf.concat([take(n - p, p), x, take(0, p)], axis);
}

/**
 * The adjoint of {@linkcode wrapAxis}: from a gradient `g` of length `n + 2p` along `axis`,
 * the gradient of length `n` where the first `p` entries of `g` are added to the last `p`
 * of the centre and the last `p` entries of `g` to the first `p` of the centre.
 */
function foldAxis(g: Tensor, axis: 1 | 2, p: number): Tensor {
  return tf.tidy(() => {
    const n = (g.shape[axis] as number) - 2 * p;
    const take = (start: number, len: number) => {
      const begin = [0, 0, 0, 0], size = [...g.shape];
      begin[axis] = start;
      size[axis] = len;
      return tf.slice(g, begin, size);
    };
    const before = take(0, p), after = take(n + p, p);
    if (n < 2 * p) {
      // the wrapped bands overlap (tiny inputs): add them as zero-padded copies
      const padding: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0]];
      const low = padding.map((q) => [...q] as [number, number]);
      const high = padding.map((q) => [...q] as [number, number]);
      low[axis] = [0, n - p];
      high[axis] = [n - p, 0];
      return tf.addN([take(p, n), tf.pad(after, low), tf.pad(before, high)]);
    }
    // centre [p, p+n): its first p entries get `after`, its last p entries get `before`
    return tf.concat([
      tf.add(take(p, p), after),
      take(2 * p, n - 2 * p),
      tf.add(take(n, p), before),
    ], axis);
  });
}
