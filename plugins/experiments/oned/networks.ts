/**
 * The 1d experiment's `loadNetworks` hook (`Experiment.loadNetworks`): rebuild the ensemble of
 * `nbr_models` fully connected networks from the run's config (`net_params`,
 * `activation_fn_params`) and restore their parameters (`model/<parameter name>`) from the
 * checkpoint. Used by `certify`.
 *
 * @module
 */
import {
  type ActivationParams,
  activationParamsSchema,
  type FcNetParams,
  fcNetSchema,
  type LoadNetworksContext,
  MT19937,
  type TrainedNetwork,
  UserError,
  validateWith,
} from "../../../plugin.ts";

/**
 * Rebuild the 1d ensemble network of a checkpoint: one {@linkcode TrainedNetwork} labelled
 * `model`, `ensemble` = the checkpoint's `nbr_models` (else the leading axis of the first
 * weight), inputs in `[-1, 1]` (the experiment's domain).
 *
 * @example
 * ```ts ignore
 * const [model] = await loadOnedNetworks({ tf, ops, registry, config, checkpoint, file, configFile });
 * ```
 */
export async function loadOnedNetworks(ctx: LoadNetworksContext): Promise<TrainedNetwork[]> {
  const { tf, ops, registry, config, checkpoint, file, configFile } = ctx;
  const netParams = config.net_params as Record<string, unknown> | undefined;
  if (!netParams || !Array.isArray(netParams.layer_sizes)) {
    throw new UserError(
      `Cannot rebuild the 1d network of ${file} as ${configFile} has no net_params.layer_sizes`,
    );
  }
  const net = validateWith(fcNetSchema, netParams, `${configFile} (net_params)`) as FcNetParams;
  const activation = validateWith(
    activationParamsSchema,
    config.activation_fn_params,
    `${configFile} (activation_fn_params)`,
  ) as ActivationParams;

  // Ensemble size: the checkpoint's nbr_models, else a leading [M] axis on the first weight.
  let ensemble: number | undefined;
  const nm = checkpoint.meta.nbr_models;
  if (typeof nm === "number" && Number.isInteger(nm) && nm > 0) ensemble = nm;
  else {
    const w = checkpoint.tensors["model/linear0/weight"];
    if (w && w.shape.length === 3) ensemble = w.shape[0];
  }

  const seed = typeof config.seed === "number" ? config.seed : 0;
  const network = await ops.buildFcNetwork({
    tf,
    ops,
    registry,
    rng: new MT19937(seed),
    net,
    activation,
    ensemble,
  });
  try {
    ops.restoreParameters(tf, network.parameters(), checkpoint.tensors, file);
  } catch (e) {
    network.dispose();
    throw e;
  }
  return [{
    label: "model",
    net: network,
    inputShape: [net.layer_sizes[0]],
    ...(ensemble ? { ensemble } : {}),
    box: [-1, 1],
  }];
}
