/**
 * The denoising experiment's `loadNetworks` hook (`Experiment.loadNetworks`): rebuild the
 * denoiser from a run's config (`net_params`, `activation_fn_params`) and restore its
 * parameters (`model/<parameter name>`) from the checkpoint. Used by `certify`, `report` and
 * `denoise`.
 *
 * @module
 */
import {
  type ActivationParams,
  activationParamsSchema,
  type LoadNetworksContext,
  MT19937,
  restoreParameters,
  type TrainedNetwork,
  UserError,
  validateWith,
} from "../../../plugin.ts";
import { denoisingSchema } from "./config.ts";
import { buildDenoiser, type DenoiserNetParams } from "./model.ts";

/** Side of the input on which `certify` bounds the circular convolutions (and searches). */
export const CERTIFY_SIZE = 40;

/**
 * Rebuild the denoiser of a checkpoint: one {@linkcode TrainedNetwork} labelled `model`,
 * per-sample input `[40, 40, 1]` (the training patch size), inputs in `[0, 1]`.
 *
 * @example
 * ```ts ignore
 * const [model] = await loadDenoisingNetworks({ tf, registry, config, checkpoint, file, configFile });
 * ```
 */
export async function loadDenoisingNetworks(ctx: LoadNetworksContext): Promise<TrainedNetwork[]> {
  const { tf, registry, config, checkpoint, file, configFile } = ctx;
  const netSchema = denoisingSchema.shape.net_params;
  if (!config.net_params || typeof config.net_params !== "object") {
    throw new UserError(
      `Cannot rebuild the denoiser of ${file} as ${configFile} has no net_params`,
    );
  }
  const net = validateWith(
    netSchema,
    config.net_params,
    `${configFile} (net_params)`,
  ) as DenoiserNetParams;
  const activation = validateWith(
    activationParamsSchema,
    config.activation_fn_params,
    `${configFile} (activation_fn_params)`,
  ) as ActivationParams;
  const seed = typeof config.seed === "number" ? config.seed : 0;
  const network = await buildDenoiser(tf, registry, new MT19937(seed), net, activation);
  try {
    restoreParameters(tf, network.parameters(), checkpoint.tensors, file);
  } catch (e) {
    network.dispose();
    throw e;
  }
  const p = (config.training_options as Record<string, unknown> | undefined)?.patch_size;
  const size = typeof p === "number" ? p : CERTIFY_SIZE;
  return [{
    label: "model",
    net: network,
    inputShape: [size, size, net.num_channels[0]],
    box: [0, 1],
  }];
}
