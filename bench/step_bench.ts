/**
 * Training-step benchmarks: `step_1d` is one batched step (25 models, batch 10, forward,
 * backward, Adam) of the paper's 1d config with the linearspline activation; `step_1d_relu`
 * the same with ReLU. The full paper run is 100,100 such steps plus one test pass per epoch.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { buildFcNetwork, type FcNetParams } from "../core/nn/fc_network.ts";
import { Adam } from "../core/train/adam.ts";
import type { ActivationParams } from "../core/plugin/interfaces.ts";
import type { BenchCase } from "./harness.ts";

const config1d = JSON.parse(
  await Deno.readTextFile(new URL("../configs/config_1d.json", import.meta.url)),
) as {
  activation_fn_params: ActivationParams;
  net_params: FcNetParams;
  optimizer: { lr_weights: number; lr_spline_coeffs: number; lr_spline_scaling_coeffs: number };
};

function step1d(activation: string): BenchCase {
  const M = 25, B = 10;
  return {
    bench: activation === "linearspline" ? "step_1d" : `step_1d_${activation}`,
    info: { models: M, batch: B, layers: "1-10-10-10-1", bjorck_iter: 15, activation },
    async setup() {
      const net = await buildFcNetwork({
        tf,
        registry: createRegistry(builtinPlugins),
        rng: new MT19937(5),
        net: config1d.net_params,
        activation: { ...config1d.activation_fn_params, activation_type: activation },
        ensemble: M,
      });
      const o = config1d.optimizer;
      const adam = new Adam(tf, net.parameters(), {
        weights: o.lr_weights,
        spline_coeffs: o.lr_spline_coeffs,
        spline_scaling: o.lr_spline_scaling_coeffs,
      });
      const x = tf.randomUniform([M, B, 1], -1, 1, "float32", 1);
      const y = tf.abs(x);
      const lmbda = config1d.activation_fn_params.lmbda ?? 0;
      const loss = () => {
        const r = net.forwardWithRegularization(x);
        return tf.add(
          tf.div(tf.sum(tf.square(tf.sub(r.y, y))), B),
          tf.mul(r.regularization, lmbda),
        ) as ReturnType<typeof tf.scalar>;
      };
      return {
        async run() {
          const v = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(loss, adam.variables());
            adam.apply(grads);
            return value;
          }) as Tensor;
          net.afterStep();
          await v.data();
          v.dispose();
        },
        dispose() {
          adam.dispose();
          for (const p of net.parameters()) p.variable.dispose();
          x.dispose();
          y.dispose();
        },
      };
    },
  };
}

/** The step benchmarks. */
export const benches: BenchCase[] = [
  step1d("linearspline"),
  step1d("relu"),
  step1d("groupsort"),
  step1d("householder"),
];
