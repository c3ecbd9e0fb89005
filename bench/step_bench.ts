/**
 * Training-step benchmarks: `step_1d` is one batched step (25 models, batch 10, forward,
 * backward, Adam) of the paper's 1d config with the linearspline activation; `step_1d_relu`
 * the same with ReLU (both the generic TF.js step); `step_1d_native` the linearspline step as a
 * 1d run on cpu or wasm takes it, in WebAssembly (docs/training.md "The native ensemble step").
 * The full paper run is 100,100 such steps plus one test pass per epoch (`eval_1d`: 25 models on
 * the 10 000-point test grid).
 *
 * @module
 */
import type { Tensor3D } from "@tensorflow/tfjs-core";
import { tf } from "../core/backend/tf.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { hostOps } from "../core/plugin/host_ops.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { validateWith } from "../core/config/config.ts";
import { onedSchema } from "../plugins/experiments/oned/config.ts";
import {
  createOnedModel,
  disposeOnedModel,
  nativeOnedStep,
  onedStep,
} from "../plugins/experiments/oned/model.ts";
import type { BenchCase } from "./harness.ts";

const config1d = validateWith(
  onedSchema,
  JSON.parse(await Deno.readTextFile(new URL("../configs/config_1d.json", import.meta.url))),
  "configs/config_1d.json",
);

/** The paper's 1d model (seed 5) with `activation` between its layers. */
function paperModel(activation = "linearspline") {
  return createOnedModel({ tf, ops: hostOps }, createRegistry(builtinPlugins), new MT19937(5), {
    ...config1d,
    activation_fn_params: { ...config1d.activation_fn_params, activation_type: activation },
  });
}

function step1d(activation: string): BenchCase {
  const M = config1d.training_options.nbr_models, B = config1d.training_options.batch_size;
  return {
    bench: activation === "linearspline" ? "step_1d" : `step_1d_${activation}`,
    info: { models: M, batch: B, layers: "1-10-10-10-1", bjorck_iter: 15, activation },
    async setup() {
      // The experiment's own model and step (plugins/experiments/oned/model.ts).
      const model = await paperModel(activation);
      const x = tf.randomUniform([M, B, 1], -1, 1, "float32", 1) as Tensor3D;
      const y = tf.abs(x) as Tensor3D;
      return {
        async run() {
          const v = onedStep(model, x, y);
          await v.data();
          v.dispose();
        },
        dispose() {
          disposeOnedModel(model);
          x.dispose();
          y.dispose();
        },
      };
    },
  };
}

/**
 * The same 1d step (linearspline, 25 models, batch 10) through the native ensemble trainer
 * (core/train/native_fc_ensemble.ts): what a 1d run on cpu or wasm steps with.
 */
function step1dNative(): BenchCase {
  const M = config1d.training_options.nbr_models, B = config1d.training_options.batch_size;
  return {
    bench: "step_1d_native",
    info: {
      models: M,
      batch: B,
      layers: "1-10-10-10-1",
      bjorck_iter: 15,
      activation: "linearspline",
    },
    async setup() {
      const model = await paperModel();
      const native = nativeOnedStep(hostOps, model, config1d);
      if (!native) throw new Error("the paper's 1d network has no native step");
      const rng = new MT19937(1);
      const x = new Float32Array(M * B).map(() => 2 * rng.random() - 1);
      const y = x.map(Math.abs);
      return {
        run() {
          native.step(x, y);
          return Promise.resolve();
        },
        dispose() {
          disposeOnedModel(model);
        },
      };
    },
  };
}

/** The 1d test pass of one epoch: every model on the 10 000-point test grid (cached weights). */
function eval1d(): BenchCase {
  const M = config1d.training_options.nbr_models;
  const N = config1d.dataset.testing_dataset_size;
  return {
    bench: "eval_1d",
    info: { models: M, points: N, layers: "1-10-10-10-1", activation: "linearspline" },
    async setup() {
      const model = await paperModel();
      const x = tf.tile(tf.reshape(tf.linspace(-1, 1, N), [1, N, 1]), [M, 1, 1]) as Tensor3D;
      return {
        async run() {
          const v = tf.tidy(() => tf.sum(model.net.forward(x, { training: false })));
          await v.data();
          v.dispose();
        },
        dispose() {
          disposeOnedModel(model);
          x.dispose();
        },
      };
    },
  };
}

/** The step benchmarks. */
export const benches: BenchCase[] = [
  eval1d(),
  step1d("linearspline"),
  step1dNative(),
  step1d("relu"),
  step1d("groupsort"),
  step1d("householder"),
];
