/**
 * The denoiser (docs/method.md §5.4): BCOP convolutions of `num_channels` (kernel
 * `kernel_size`, circular padding, bias) with the configured activation between consecutive
 * layers (none after the last), its Adam with the paper's three parameter groups, the loss and
 * the training step. Parameter names: `conv<l>/matrices`, `conv<l>/bias`, `activation<l>/…`.
 *
 * @module
 */
import {
  type ActivationParams,
  type Network,
  type NetworkModule,
  type PluginResolver,
  type Rng,
  sequentialNetwork,
  type TF,
} from "../../../plugin.ts";
import { Adam } from "../../../mod.ts";
import type { Scalar, Tensor4D } from "@tensorflow/tfjs-core";
import type { DenoisingConfig } from "./config.ts";

/** `net_params` of the denoiser. */
export type DenoiserNetParams = DenoisingConfig["net_params"];

/**
 * Build the denoiser network: layer `l` is `bcop_conv` `num_channels[l] → num_channels[l+1]`,
 * followed by activation `l` except after the last layer.
 *
 * @example
 * ```ts ignore
 * const net = await buildDenoiser(tf, registry, new MT19937(42), cfg.net_params, cfg.activation_fn_params);
 * ```
 */
export async function buildDenoiser(
  tf: TF,
  registry: PluginResolver,
  rng: Rng,
  net: DenoiserNetParams,
  activation: ActivationParams,
): Promise<Network> {
  const bcop = await registry.layer("bcop_conv");
  const act = await registry.activation(activation.activation_type);
  const ch = net.num_channels;
  for (let l = 1; l < ch.length - 1; l++) act.validate?.(activation, ch[l]);
  const modules: NetworkModule[] = [];
  for (let l = 0; l + 1 < ch.length; l++) {
    const name = `conv${l}`;
    modules.push({
      type: "layer",
      name,
      layer: bcop.create({ tf, name, rng }, {
        inChannels: ch[l],
        outChannels: ch[l + 1],
        kernelSize: net.kernel_size,
        bias: net.bias,
        ...(net.bjorck_iter ? { bjorckIters: net.bjorck_iter } : {}),
      }),
    });
    if (l + 2 < ch.length) {
      const aname = `activation${l}`;
      modules.push({
        type: "activation",
        name: aname,
        channels: ch[l + 1],
        activation: act.create({
          tf,
          channels: ch[l + 1],
          mode: "conv",
          params: activation,
          name: aname,
          rng,
        }),
      });
    }
  }
  return sequentialNetwork(tf, modules);
}

/** The network, its optimiser and what the loss needs. */
export interface DenoiserModel {
  tf: TF;
  net: Network;
  adam: Adam;
  /** TV(2) weight (0 when absent). */
  lmbda: number;
}

/** Build the denoiser and its Adam from a validated config. */
export async function createDenoiserModel(
  tf: TF,
  registry: PluginResolver,
  rng: Rng,
  cfg: Pick<DenoisingConfig, "net_params" | "activation_fn_params" | "optimizer">,
): Promise<DenoiserModel> {
  const net = await buildDenoiser(tf, registry, rng, cfg.net_params, cfg.activation_fn_params);
  const adam = new Adam(tf, net.parameters(), {
    weights: cfg.optimizer.lr_weights,
    spline_coeffs: cfg.optimizer.lr_spline_coeffs,
    spline_scaling: cfg.optimizer.lr_spline_scaling_coeffs,
  });
  return { tf, net, adam, lmbda: cfg.activation_fn_params.lmbda ?? 0 };
}

/**
 * The loss of one batch (docs/method.md (5.6)): the sum of squared errors between the
 * denoised and the clean patches divided by the batch size, plus `lmbda · TV2`.
 * `noisy`, `clean`: `[B, p, p, 1]`.
 */
export function denoiserLoss(model: DenoiserModel, noisy: Tensor4D, clean: Tensor4D): Scalar {
  const { tf, net, lmbda } = model;
  const B = clean.shape[0];
  return tf.tidy(() => {
    if (lmbda === 0) return tf.div(tf.sum(tf.square(tf.sub(net.forward(noisy), clean))), B);
    const { y, regularization } = net.forwardWithRegularization(noisy);
    return tf.add(tf.div(tf.sum(tf.square(tf.sub(y, clean))), B), tf.mul(regularization, lmbda));
  }) as Scalar;
}

/**
 * One training step: gradients of {@linkcode denoiserLoss}, one Adam update, then the
 * activations' post-step hook. Returns the loss before the update.
 */
export function denoiserStep(model: DenoiserModel, noisy: Tensor4D, clean: Tensor4D): Scalar {
  const { tf, adam, net } = model;
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => denoiserLoss(model, noisy, clean),
      adam.variables(),
    );
    adam.apply(grads);
    return value;
  });
  net.afterStep();
  return value;
}

/**
 * Denoise one `h×w` image (values in [0, 1]) with cached weights (`training: false`), one image
 * per forward pass so that whole images fit in memory; the output is clamped to [0, 1]
 * (docs/method.md §5.4).
 */
export async function denoiseImage(
  tf: TF,
  net: Network,
  noisy: Float32Array,
  h: number,
  w: number,
): Promise<Float32Array> {
  const out = tf.tidy(() =>
    tf.clipByValue(net.forward(tf.tensor4d(noisy, [1, h, w, 1]), { training: false }), 0, 1)
  );
  const data = new Float32Array(await out.data());
  out.dispose();
  return data;
}

/** Free the network and the optimiser state. */
export function disposeDenoiserModel(model: DenoiserModel): void {
  model.adam.dispose();
  model.net.dispose();
}
