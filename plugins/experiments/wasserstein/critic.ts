/**
 * The wasserstein critic (docs/method.md §5.2): a fully connected 1-Lipschitz network
 * (784-1024-1024-1 in the authors' config), parameters named `critic/...`, initialised as the
 * authors' code effectively does (PyTorch's nn.Linear default, (4.14)) unless
 * `net_params.apply_weight_initialization` is true. Also the critic's loss/step and the
 * experiment's `loadNetworks` hook.
 *
 * @module
 */
import {
  type ActivationParams,
  type Adam,
  type FcNetParams,
  type LoadNetworksContext,
  MT19937,
  type Network,
  type PluginResolver,
  restoreParameters,
  type Rng,
  type TF,
  type TrainedNetwork,
  validateWith,
} from "../../../plugin.ts";
import { buildFcNetwork } from "../../../mod.ts";
import type { Scalar, Tensor2D } from "@tensorflow/tfjs-core";
import { wassersteinSchema } from "./config.ts";

/** Build the critic from `net_params` and `activation_fn_params`. */
export function buildCritic(
  tf: TF,
  registry: PluginResolver,
  rng: Rng,
  net: FcNetParams & { apply_weight_initialization?: boolean },
  activation: ActivationParams,
): Promise<Network> {
  return buildFcNetwork({
    tf,
    registry,
    rng,
    net,
    activation,
    namePrefix: "critic/",
    ...(net.apply_weight_initialization ? {} : { init: "torch_linear_default" as const }),
  });
}

/**
 * The critic's loss on one batch, (5.3): `-(mean f(real) - mean f(fake)) + lmbda TV2`, with ONE
 * forward pass over `[real; fake]`, so each weight is projected once per step.
 */
export function criticLoss(
  tf: TF,
  critic: Network,
  real: Tensor2D,
  fake: Tensor2D,
  lmbda: number,
): Scalar {
  return tf.tidy(() => {
    const n = real.shape[0];
    const { y, regularization } = critic.forwardWithRegularization(tf.concat([real, fake], 0));
    const w1 = tf.sub(tf.mean(tf.slice(y, 0, n)), tf.mean(tf.slice(y, n)));
    const loss = tf.neg(w1);
    return (lmbda ? tf.add(loss, tf.mul(regularization, lmbda)) : loss) as Scalar;
  });
}

/** One critic step: gradients of {@linkcode criticLoss}, one Adam update, post-step hooks. */
export function criticStep(
  tf: TF,
  critic: Network,
  adam: Adam,
  real: Tensor2D,
  fake: Tensor2D,
  lmbda: number,
): Scalar {
  const value = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => criticLoss(tf, critic, real, fake, lmbda),
      adam.variables(),
    );
    adam.apply(grads);
    return value;
  });
  critic.afterStep();
  return value;
}

/** `Experiment.loadNetworks` of `wasserstein`: the critic (inputs in [0, 1]^784), for `certify`. */
export async function loadCriticNetworks(ctx: LoadNetworksContext): Promise<TrainedNetwork[]> {
  const { tf, registry, config, checkpoint, file, configFile } = ctx;
  const cfg = validateWith(wassersteinSchema, config, configFile);
  const net = await buildCritic(
    tf,
    registry,
    new MT19937(cfg.seed),
    cfg.net_params as FcNetParams,
    cfg.activation_fn_params as ActivationParams,
  );
  try {
    restoreParameters(tf, net.parameters(), checkpoint.tensors, file);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return [{ label: "critic", net, inputShape: [cfg.net_params.layer_sizes[0]], box: [0, 1] }];
}
