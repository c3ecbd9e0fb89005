/**
 * A fully connected 1-Lipschitz network (docs/method.md §4–5): LipschitzLinear layers of `layer_sizes`
 * with an activation between consecutive layers (none after the last). Layers, activations and
 * the projection are resolved by name through the registry. With `ensemble = M`, `M` independent
 * networks are stored and run as one batched computation (inputs `[M, N, in]`).
 *
 * @module
 */
import type { ActivationParams, PluginResolver } from "../plugin/interfaces.ts";
import { type Network, type NetworkModule, sequentialNetwork } from "./network.ts";
import type { TF } from "../backend/tf.ts";
import type { Rng } from "../rng/rng.ts";
import type { WeightInit } from "./weight_init.ts";
import { type HostOps, hostOps } from "../plugin/host_ops.ts";

/** `net_params` of a fully connected network (docs/method.md §1). */
export interface FcNetParams {
  layer_sizes: number[];
  projection: string;
  bjorck_iter?: number;
  weight_initialization: WeightInit;
  bias: boolean;
}

// The generic sequential network lives in network.ts; re-exported for existing importers.
export type { Network, NetworkModule } from "./network.ts";

/**
 * Build a fully connected network from the config's `net_params` and activation parameters.
 *
 * @example
 * ```ts ignore
 * const net = await buildFcNetwork({ tf, registry, rng, net: cfg.net_params, activation: cfg.activation_fn_params });
 * ```
 */
export async function buildFcNetwork(opts: {
  tf: TF;
  registry: PluginResolver;
  rng: Rng;
  net: FcNetParams;
  activation: ActivationParams;
  ensemble?: number;
  /**
   * Initialisation used instead of `net.weight_initialization`, e.g. `torch_linear_default`
   * for the authors' effective fully connected init (docs/method.md (4.14)).
   */
  init?: WeightInit;
  /** Prefix of every parameter name (e.g. `critic/`), so that networks can share a checkpoint. */
  namePrefix?: string;
  /** The ops handed to the plugins (default: the host's own). */
  ops?: HostOps;
}): Promise<Network> {
  const { tf, registry, rng, net, activation, ensemble } = opts;
  const prefix = opts.namePrefix ?? "";
  const ops = opts.ops ?? hostOps;
  const projectionPlugin = await registry.projection(net.projection);
  const projection = projectionPlugin.create({ tf, ops }, { bjorckIter: net.bjorck_iter ?? 15 });
  const linear = await registry.layer("lipschitz_linear");
  const act = await registry.activation(activation.activation_type);
  const sizes = net.layer_sizes;
  for (let i = 1; i < sizes.length - 1; i++) act.validate?.(activation, sizes[i]);
  const modules: NetworkModule[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const name = `${prefix}linear${i}`;
    modules.push({
      type: "layer",
      name,
      layer: linear.create({ tf, ops, name, ensemble, rng, projection }, {
        inFeatures: sizes[i],
        outFeatures: sizes[i + 1],
        bias: net.bias,
        init: opts.init ?? net.weight_initialization,
      }),
    });
    if (i < sizes.length - 2) {
      const aname = `${prefix}activation${i}`;
      modules.push({
        type: "activation",
        name: aname,
        channels: sizes[i + 1],
        activation: act.create({
          tf,
          ops,
          channels: sizes[i + 1],
          mode: "fc",
          ensemble,
          params: activation,
          name: aname,
          rng,
        }),
      });
    }
  }
  return sequentialNetwork(tf, modules);
}
