/**
 * `step_wasserstein`: one critic step of the authors' `wasserstein` config (784-1024-1024-1,
 * Björck 25, batch 4096 real + 4096 fake, linearspline) through the experiment's own
 * {@linkcode criticStep} (plugins/experiments/wasserstein/critic.ts): one forward pass over
 * `[real; fake]`, so each weight is projected once per step, backward, Adam.
 *
 * @module
 */
import type { Tensor2D } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { validateWith } from "../core/config/config.ts";
import { Adam } from "../core/train/adam.ts";
import type { ActivationParams } from "../core/plugin/interfaces.ts";
import type { FcNetParams } from "../core/nn/fc_network.ts";
import { wassersteinSchema } from "../plugins/experiments/wasserstein/config.ts";
import { buildCritic, criticStep } from "../plugins/experiments/wasserstein/critic.ts";
import type { BenchCase } from "./harness.ts";

const configW = validateWith(
  wassersteinSchema,
  JSON.parse(
    await Deno.readTextFile(new URL("../configs/config_wasserstein.json", import.meta.url)),
  ),
  "configs/config_wasserstein.json",
);

function stepWasserstein(activation: string): BenchCase {
  const B = configW.training_options.batch_size;
  const sizes = configW.net_params.layer_sizes;
  return {
    bench: activation === "linearspline" ? "step_wasserstein" : `step_wasserstein_${activation}`,
    info: {
      batch: B,
      layers: sizes.join("-"),
      bjorck_iter: configW.net_params.bjorck_iter,
      activation,
    },
    minReps: 3,
    budgetMs: 1,
    async setup() {
      const act = { ...configW.activation_fn_params, activation_type: activation };
      const critic = await buildCritic(
        tf,
        createRegistry(builtinPlugins),
        new MT19937(5),
        configW.net_params as FcNetParams,
        act as ActivationParams,
      );
      const o = configW.optimizer;
      const adam = new Adam(tf, critic.parameters(), {
        weights: o.lr_weights,
        spline_coeffs: o.lr_spline_coeffs ?? o.lr_weights,
        spline_scaling: o.lr_spline_scaling_coeffs ?? o.lr_weights,
      });
      const real = tf.randomUniform([B, sizes[0]], 0, 1, "float32", 1) as Tensor2D;
      const fake = tf.randomUniform([B, sizes[0]], 0, 1, "float32", 2) as Tensor2D;
      const lmbda = configW.activation_fn_params.lmbda ?? 0;
      return {
        async run() {
          const v = criticStep(tf, critic, adam, real, fake, lmbda);
          await v.data();
          v.dispose();
        },
        dispose() {
          real.dispose();
          fake.dispose();
          adam.dispose();
          critic.dispose();
        },
      };
    },
  };
}

/** The wasserstein critic-step benchmarks. */
export const benches: BenchCase[] = [stepWasserstein("linearspline")];
