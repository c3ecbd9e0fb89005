/**
 * Transposed 2-D convolution (docs/method.md §5.3, the WGAN generator), as PyTorch's
 * `ConvTranspose2d`: weight `[cin, cout, k, k]`, stride `s`, padding `p`, input NHWC
 * `[N, H, W, cin]`, output `[N, (H-1)s - 2p + k, (W-1)s - 2p + k, cout]`:
 *
 * ```text
 * y[n, i, j, o] = b[o] + Σ_{c, a, b', q, r: q s + a - p = i, r s + b' - p = j} x[n, q, r, c] W[c, o, a, b']
 * ```
 *
 * Computed as TF.js's `conv2dTranspose` with 'valid' padding (full output `(H-1)s + k`), then
 * cropped by `p` on each side. Unconstrained (not a Lipschitz layer): its bound is not computed.
 *
 * @module
 */
import { type Layer, type Parameter, UserError } from "../../plugin.ts";
import type { Tensor, Tensor4D } from "@tensorflow/tfjs-core";

/** Options of a transposed convolution. */
export interface ConvTransposeOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride: number;
  padding: number;
  bias: boolean;
  /** `gan`: weight normal(0, 0.02), bias 0 (docs/method.md §4). `torch_default`: uniform ±1/sqrt(cout·k²). */
  init?: "gan" | "torch_default";
}

const convTranspose: Layer<ConvTransposeOptions> = {
  kind: "layer",
  name: "conv_transpose",
  version: "1.0.0",
  description: "transposed 2-D convolution (PyTorch ConvTranspose2d layout), NHWC",
  create(ctx, o) {
    const { tf, rng } = ctx;
    const { createParameter } = ctx.ops;
    const { inChannels: cin, outChannels: cout, kernelSize: k, stride: s, padding: p } = o;
    for (const [key, v] of Object.entries({ cin, cout, k, s })) {
      if (!Number.isInteger(v) || v < 1) {
        throw new UserError(
          `Cannot build conv_transpose '${ctx.name}' as ${key} must be a positive integer: ${key} is ${v}`,
        );
      }
    }
    if (!Number.isInteger(p) || p < 0 || 2 * p >= k) {
      throw new UserError(
        `Cannot build conv_transpose '${ctx.name}' as padding must be an integer in [0, k/2): padding is ${p}`,
      );
    }
    const n = cin * cout * k * k;
    const gan = (o.init ?? "gan") === "gan";
    const bound = 1 / Math.sqrt(cout * k * k);
    const w = Float32Array.from(
      { length: n },
      () => gan ? 0.02 * rng.normal() : (2 * rng.random() - 1) * bound,
    );
    const weight = createParameter(tf, `${ctx.name}/weight`, "weights", [cin, cout, k, k], w);
    const params: Parameter[] = [weight];
    let bias: Parameter | undefined;
    if (o.bias) {
      const b = Float32Array.from({ length: cout }, () => gan ? 0 : (2 * rng.random() - 1) * bound);
      bias = createParameter(tf, `${ctx.name}/bias`, "weights", [cout], b);
      params.push(bias);
    }
    return {
      kind: "conv_transpose",
      name: ctx.name,
      parameters: () => params,
      forward(x: Tensor): Tensor {
        if (x.rank !== 4 || x.shape[3] !== cin) {
          throw new UserError(
            `Cannot apply conv_transpose '${ctx.name}' as the input must be [N, H, W, ${cin}]: shape is [${x.shape}]`,
          );
        }
        const [N, H, W] = x.shape as number[];
        const hv = (H - 1) * s + k, wv = (W - 1) * s + k;
        return tf.tidy(() => {
          // [cin, cout, k, k] -> [k, k, cout, cin]: TF.js's filter of the transposed convolution.
          const f = tf.transpose(weight.variable, [2, 3, 1, 0]) as Tensor4D;
          let y: Tensor = tf.conv2dTranspose(x as Tensor4D, f, [N, hv, wv, cout], s, "valid");
          if (p > 0) y = tf.slice(y, [0, p, p, 0], [N, hv - 2 * p, wv - 2 * p, cout]);
          return bias ? tf.add(y, bias.variable) : y;
        });
      },
      lipschitzBound: () =>
        Promise.resolve({
          value: null,
          method: "unconstrained transposed convolution (not bounded)",
        }),
    };
  },
};
export default convTranspose;
