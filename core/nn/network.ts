/**
 * A sequential network: layer and activation modules applied in order. The fully connected
 * network of `fc_network.ts` is one; an experiment plugin builds its own (a convolutional
 * denoiser, a WGAN discriminator) from the same pieces with {@linkcode sequentialNetwork}, and
 * `certify` reads every module's bound from {@linkcode Network.modules}.
 *
 * @module
 */
import type { Scalar, Tensor } from "@tensorflow/tfjs-core";
import type {
  ActivationInstance,
  LayerInstance,
  LipschitzBound,
  Parameter,
} from "../plugin/interfaces.ts";
import type { TF } from "../backend/tf.ts";

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
 * The {@linkcode Network} that applies `modules` in order.
 *
 * @example
 * ```ts ignore
 * const net = sequentialNetwork(tf, [
 *   { type: "layer", name: "conv0", layer: conv0 },
 *   { type: "activation", name: "activation0", activation: act0, channels: 64 },
 *   { type: "layer", name: "conv1", layer: conv1 },
 * ]);
 * ```
 */
export function sequentialNetwork(tf: TF, modules: NetworkModule[]): Network {
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
