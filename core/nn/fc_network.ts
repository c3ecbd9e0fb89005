/**
 * A fully connected 1-Lipschitz network (spec §4–5): LipschitzLinear layers of `layer_sizes`
 * with an activation between consecutive layers (none after the last). Layers, activations and
 * the projection are resolved by name through the registry. With `ensemble = M`, `M` independent
 * networks are stored and run as one batched computation (inputs `[M, N, in]`).
 *
 * @module
 */
import type { Scalar, Tensor } from "@tensorflow/tfjs-core";
import type {
  ActivationInstance,
  ActivationParams,
  LayerInstance,
  LipschitzBound,
  Parameter,
  PluginResolver,
} from "../plugin/interfaces.ts";
import type { TF } from "../backend/tf.ts";
import type { Rng } from "../rng/rng.ts";
import type { WeightInit } from "./weight_init.ts";

/** `net_params` of a fully connected network (spec §1). */
export interface FcNetParams {
  layer_sizes: number[];
  projection: string;
  bjorck_iter?: number;
  weight_initialization: WeightInit;
  bias: boolean;
}

/** One entry of a network: a layer or an activation. */
export type NetworkModule =
  | { type: "layer"; name: string; layer: LayerInstance }
  | { type: "activation"; name: string; activation: ActivationInstance; channels: number };

/** A built network. */
export interface Network {
  modules: NetworkModule[];
  parameters(): Parameter[];
  /** Forward pass; `training: false` lets layers reuse projected weights between calls. */
  forward(x: Tensor, opts?: { training?: boolean }): Tensor;
  /** Free the parameters and every cache. */
  dispose(): void;
  /** Sum of the activations' regularisers (TV2), or 0. */
  regularization(): Scalar;
  /** The output and the regulariser of one forward pass (what a training loss needs). */
  forwardWithRegularization(x: Tensor): { y: Tensor; regularization: Scalar };
  afterStep(): void;
  /** Each module's bound. */
  bounds(): Promise<Array<{ name: string; kind: string; bound: LipschitzBound }>>;
}

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
}): Promise<Network> {
  const { tf, registry, rng, net, activation, ensemble } = opts;
  const projectionPlugin = await registry.projection(net.projection);
  const projection = projectionPlugin.create({ tf }, { bjorckIter: net.bjorck_iter ?? 15 });
  const linear = await registry.layer("lipschitz_linear");
  const act = await registry.activation(activation.activation_type);
  const sizes = net.layer_sizes;
  for (let i = 1; i < sizes.length - 1; i++) act.validate?.(activation, sizes[i]);
  const modules: NetworkModule[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const name = `linear${i}`;
    modules.push({
      type: "layer",
      name,
      layer: linear.create({ tf, name, ensemble, rng, projection }, {
        inFeatures: sizes[i],
        outFeatures: sizes[i + 1],
        bias: net.bias,
        init: net.weight_initialization,
      }),
    });
    if (i < sizes.length - 2) {
      const aname = `activation${i}`;
      modules.push({
        type: "activation",
        name: aname,
        channels: sizes[i + 1],
        activation: act.create({
          tf,
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
  const acts = modules.flatMap((m) => m.type === "activation" ? [m.activation] : []);
  return {
    modules,
    parameters: () =>
      modules.flatMap((m) => m.type === "layer" ? m.layer.parameters() : m.activation.parameters()),
    forward: (x, opts) =>
      tf.tidy(() => {
        let h = x;
        for (const m of modules) {
          h = m.type === "layer" ? m.layer.forward(h, opts) : m.activation.forward(h);
        }
        return h;
      }),
    dispose: () => {
      for (const m of modules) {
        if (m.type === "layer") m.layer.dispose?.();
        const params = m.type === "layer" ? m.layer.parameters() : m.activation.parameters();
        for (const p of params) p.variable.dispose();
      }
    },
    regularization: () =>
      tf.tidy(() =>
        acts.reduce(
          (s: Scalar, a) => a.regularization ? tf.add(s, a.regularization()) as Scalar : s,
          tf.scalar(0),
        )
      ),
    forwardWithRegularization: (x) => {
      let h = x;
      let reg: Scalar = tf.scalar(0);
      for (const m of modules) {
        if (m.type === "layer") h = m.layer.forward(h);
        else if (m.activation.forwardWithRegularization) {
          const r = m.activation.forwardWithRegularization(h);
          h = r.y;
          reg = tf.add(reg, r.regularization);
        } else {
          h = m.activation.forward(h);
          if (m.activation.regularization) reg = tf.add(reg, m.activation.regularization());
        }
      }
      return { y: h, regularization: reg };
    },
    afterStep: () => acts.forEach((a) => a.afterStep?.()),
    bounds: async () => {
      const out = [];
      for (const m of modules) {
        const bound = m.type === "layer"
          ? await m.layer.lipschitzBound()
          : await m.activation.lipschitzBound();
        out.push({
          name: m.name,
          kind: m.type === "layer" ? m.layer.kind : m.activation.kind,
          bound,
        });
      }
      return out;
    },
  };
}
