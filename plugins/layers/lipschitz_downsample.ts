/**
 * LipschitzDownsample (docs/method.md §4, (4.12)–(4.13); the WGAN discriminator): a 4×4
 * convolution, stride 2, zero padding 1, whose weight `W [cout, cin·16]` (PyTorch's
 * `[cout, cin, 4, 4]` flattened) is projected in every forward pass by the layer's projection
 * (orthonormalize with 12 Björck iterations in the WGAN) and reshaped back.
 *
 * `lipschitzBound` reports the TRUE bound of the strided convolution, which can exceed 1
 * (overlapping patches), computed as a guaranteed upper bound (docs/method.md (4.16)): the
 * strided convolution equals a stride-1 convolution with 3×3 taps on the space-to-depth input
 * (`4·cin` channels, `⌈H/2⌉ × ⌈W/2⌉`), and zero padding makes it a restriction of the circular
 * convolution on `(⌈H/2⌉ + 1) × (⌈W/2⌉ + 1)`, whose norm is the largest singular value over the
 * DFT frequencies of the complex `4cin × cout` tap matrices (float64, rigorous).
 *
 * @module
 */
import {
  circularConvSpectralNormUpperBound,
  EXACT_BOUND_METHOD,
  type Layer,
  type Parameter,
  UserError,
} from "../../plugin.ts";
import type { Tensor, Tensor4D } from "@tensorflow/tfjs-core";

/** Options of a LipschitzDownsample layer. */
export interface LipschitzDownsampleOptions {
  inChannels: number;
  outChannels: number;
  bias: boolean;
  /** Input side length used by `lipschitzBound` when no input shape is given (default 28). */
  inputSize?: number;
  /** `gan` (default): weight normal(0, 0.02), bias 0 (docs/method.md §4). */
  init?: "gan";
}

/**
 * The 3×3 stride-1 kernel (HWIO `[3, 3, 4·cin, cout]`) on the space-to-depth input that equals the
 * 4×4 stride-2 padding-1 convolution with the matrix `w [cout, cin·16]`: tap `a` of the 4×4 kernel
 * reads input row `2i + a - 1 = 2(i + s) + r` with `a - 1 = 2s + r`, `r ∈ {0, 1}`, `s ∈ {-1, 0, 1}`;
 * space-to-depth channel `(2 r_h + r_w)·cin + c`.
 */
export function polyphaseKernel(w: ArrayLike<number>, cin: number, cout: number): Float64Array {
  const C = 4 * cin;
  const out = new Float64Array(9 * C * cout);
  for (let a = 0; a < 4; a++) {
    const sh = Math.floor((a - 1) / 2) + 1, rh = (a - 1) - 2 * (sh - 1);
    for (let b = 0; b < 4; b++) {
      const sw = Math.floor((b - 1) / 2) + 1, rw = (b - 1) - 2 * (sw - 1);
      for (let c = 0; c < cin; c++) {
        const ch = (2 * rh + rw) * cin + c;
        for (let o = 0; o < cout; o++) {
          out[((sh * 3 + sw) * C + ch) * cout + o] = w[o * cin * 16 + c * 16 + a * 4 + b];
        }
      }
    }
  }
  return out;
}

/**
 * A guaranteed upper bound on the Lipschitz constant of the 4×4, stride-2, padding-1 convolution
 * with matrix `w [cout, cin·16]` on `h × w` inputs (see the module documentation).
 */
export function downsampleLipschitzUpperBound(
  w: ArrayLike<number>,
  cin: number,
  cout: number,
  h: number,
  width = h,
): number {
  const k3 = polyphaseKernel(w, cin, cout);
  return circularConvSpectralNormUpperBound(
    k3,
    3,
    4 * cin,
    cout,
    Math.ceil(h / 2) + 1,
    Math.ceil(width / 2) + 1,
  );
}

const lipschitzDownsample: Layer<LipschitzDownsampleOptions> = {
  kind: "layer",
  name: "lipschitz_downsample",
  version: "1.0.0",
  description: "4x4 stride-2 convolution with a Björck-projected [cout, cin*16] weight; true bound",
  create(ctx, o) {
    const { tf, rng } = ctx;
    const { createParameter } = ctx.ops;
    if (!ctx.projection) {
      throw new UserError(
        `Cannot build ${ctx.name} as a LipschitzDownsample layer needs a projection`,
      );
    }
    if (ctx.ensemble !== undefined && ctx.ensemble > 1) {
      throw new UserError(
        `Cannot build lipschitz_downsample '${ctx.name}' as ensembles are not supported: ensemble is ${ctx.ensemble}`,
      );
    }
    const projection = ctx.projection;
    const { inChannels: cin, outChannels: cout } = o;
    for (const [key, v] of Object.entries({ inChannels: cin, outChannels: cout })) {
      if (!Number.isInteger(v) || v < 1) {
        throw new UserError(
          `Cannot build lipschitz_downsample '${ctx.name}' as ${key} must be a positive integer: ${key} is ${v}`,
        );
      }
    }
    const n = cout * cin * 16;
    const weight = createParameter(
      tf,
      `${ctx.name}/weight`,
      "weights",
      [cout, cin * 16],
      Float32Array.from({ length: n }, () => 0.02 * rng.normal()),
    );
    const params: Parameter[] = [weight];
    let bias: Parameter | undefined;
    if (o.bias) {
      bias = createParameter(tf, `${ctx.name}/bias`, "weights", [cout], new Float32Array(cout));
      params.push(bias);
    }
    // Projected matrix -> HWIO filter [4, 4, cin, cout].
    const filterOf = (wp: Tensor): Tensor4D =>
      tf.transpose(tf.reshape(wp, [cout, cin, 4, 4]), [2, 3, 1, 0]) as Tensor4D;
    let cache: { id: object; f: Tensor4D } | null = null;
    const filter = (training: boolean): Tensor4D => {
      if (training) return filterOf(projection.project(weight.variable));
      const id = weight.variable.dataId;
      if (cache && cache.id === id && !cache.f.isDisposed) return cache.f;
      cache?.f.dispose();
      cache = { id, f: tf.keep(tf.tidy(() => filterOf(projection.project(weight.variable)))) };
      return cache.f;
    };
    return {
      kind: "lipschitz_downsample",
      name: ctx.name,
      parameters: () => params,
      forward(x: Tensor, opts?: { training?: boolean }): Tensor {
        if (x.rank !== 4 || x.shape[3] !== cin) {
          throw new UserError(
            `Cannot apply lipschitz_downsample '${ctx.name}' as the input must be [N, H, W, ${cin}]: shape is [${x.shape}]`,
          );
        }
        return tf.tidy(() => {
          // (4.12): y = W_mat · im2col_{4x4, stride 2, pad 1}(x)
          const y = tf.conv2d(x as Tensor4D, filter(opts?.training ?? true), 2, 1);
          return bias ? tf.add(y, bias.variable) : y;
        });
      },
      dispose() {
        cache?.f.dispose();
        cache = null;
      },
      async lipschitzBound(opts?: { inputShape?: number[] }) {
        const s = opts?.inputShape;
        const h = s && s.length >= 3 ? s[s.length - 3] : o.inputSize ?? 28;
        const w = s && s.length >= 3 ? s[s.length - 2] : o.inputSize ?? 28;
        const wp = projection.project(weight.variable);
        const data = new Float32Array(await wp.data());
        wp.dispose();
        return {
          value: downsampleLipschitzUpperBound(data, cin, cout, h, w),
          method: `${EXACT_BOUND_METHOD}: 4x4 stride-2 convolution on a ${h}×${w} input as a ` +
            `3x3 convolution on the space-to-depth input, per DFT frequency (docs/method.md (4.16))`,
        };
      },
    };
  },
};
export default lipschitzDownsample;
