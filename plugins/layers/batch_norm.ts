/**
 * Batch normalisation (docs/method.md §5.3, the WGAN generator), 1-D (`[N, C]`) and 2-D (NHWC
 * `[N, H, W, C]`), as PyTorch's `BatchNorm1d/2d` (momentum 0.1, eps 1e-5):
 *
 * ```text
 * training: y = gamma (x - mean_B) / sqrt(var_B + eps) + beta     (biased batch variance)
 *           running_mean <- (1 - m) running_mean + m mean_B
 *           running_var  <- (1 - m) running_var  + m var_B · n/(n-1)  (unbiased)
 * eval:     y = gamma (x - running_mean) / sqrt(running_var + eps) + beta
 * ```
 *
 * The running statistics are non-trainable parameters (`<name>/running_mean`,
 * `<name>/running_var`), so they are checkpointed and restored with the weights; optimisers
 * skip them. A training forward pass updates them (like PyTorch's `train()` mode).
 *
 * @module
 */
import { type Layer, type Parameter, UserError } from "../../plugin.ts";
import type { Tensor } from "@tensorflow/tfjs-core";

/** Options of a batch-norm layer. */
export interface BatchNormOptions {
  /** Number of channels `C` (last axis). */
  channels: number;
  /** Momentum of the running statistics (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Initial `gamma`: `ones` (default) or `gan` (normal, mean 1, std 0.02; docs/method.md §4). */
  init?: "ones" | "gan";
}

const batchNorm: Layer<BatchNormOptions> = {
  kind: "layer",
  name: "batch_norm",
  version: "1.0.0",
  description: "batch normalisation, 1-D [N, C] or 2-D NHWC, running statistics checkpointed",
  create(ctx, o) {
    const { tf, rng } = ctx;
    const { createParameter } = ctx.ops;
    const C = o.channels;
    if (!Number.isInteger(C) || C < 1) {
      throw new UserError(
        `Cannot build batch_norm '${ctx.name}' as channels must be a positive integer: channels is ${C}`,
      );
    }
    const momentum = o.momentum ?? 0.1;
    const eps = o.eps ?? 1e-5;
    const g = new Float32Array(C);
    for (let c = 0; c < C; c++) g[c] = o.init === "gan" ? 1 + 0.02 * rng.normal() : 1;
    const gamma = createParameter(tf, `${ctx.name}/gamma`, "weights", [C], g);
    const beta = createParameter(tf, `${ctx.name}/beta`, "weights", [C], new Float32Array(C));
    const runMean = createParameter(
      tf,
      `${ctx.name}/running_mean`,
      "weights",
      [C],
      new Float32Array(C),
      false,
    );
    const runVar = createParameter(
      tf,
      `${ctx.name}/running_var`,
      "weights",
      [C],
      new Float32Array(C).fill(1),
      false,
    );
    const params: Parameter[] = [gamma, beta, runMean, runVar];
    return {
      kind: "batch_norm",
      name: ctx.name,
      parameters: () => params,
      forward(x: Tensor, opts?: { training?: boolean }): Tensor {
        if (x.shape[x.rank - 1] !== C || (x.rank !== 2 && x.rank !== 4)) {
          throw new UserError(
            `Cannot apply batch_norm '${ctx.name}' as the input must be [N, ${C}] or [N, H, W, ${C}]: shape is [${x.shape}]`,
          );
        }
        const axes = x.rank === 2 ? [0] : [0, 1, 2];
        if (!(opts?.training ?? true)) {
          return tf.tidy(() =>
            tf.add(
              tf.mul(
                tf.div(tf.sub(x, runMean.variable), tf.sqrt(tf.add(runVar.variable, eps))),
                gamma.variable,
              ),
              beta.variable,
            )
          );
        }
        const n = x.size / C;
        return tf.tidy(() => {
          const { mean, variance } = tf.moments(x, axes);
          // Running statistics: the loss never reads them, so no gradient flows through here.
          tf.tidy(() => {
            const m = mean, v = variance;
            runMean.variable.assign(
              tf.add(tf.mul(runMean.variable, 1 - momentum), tf.mul(m, momentum)),
            );
            const unbiased = n > 1 ? tf.mul(v, n / (n - 1)) : v;
            runVar.variable.assign(
              tf.add(tf.mul(runVar.variable, 1 - momentum), tf.mul(unbiased, momentum)),
            );
          });
          const xhat = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
          return tf.add(tf.mul(xhat, gamma.variable), beta.variable);
        });
      },
      lipschitzBound: () =>
        Promise.resolve({
          value: null,
          method: "batch norm in training mode is not Lipschitz-bounded",
        }),
    };
  },
};
export default batchNorm;
