/**
 * The 1d numbers pinned: a small config trained in-process on cpu and wasm must give exactly the
 * metrics rows (every epoch, every digit) that the code gave before the training engine existed
 * (commit 4d48bdc, `train --exp 1d` with the overrides below), with the configured
 * `weight_initialization` applied literally (`net_params.apply_weight_initialization: true`, as
 * the code did then); and, for the default (the authors' effective init, nn.Linear's default,
 * docs/method.md (4.14)), the rows the code gave when that default was introduced. Any change to
 * the data, the initialisation, the step, the optimiser or the engine's loop that alters a single
 * bit fails here.
 *
 * @module
 */
import assert from "node:assert/strict";
import { hostOps, tf, useBackend } from "./helpers.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { applyOverrides, loadConfigFile } from "../core/config/config.ts";
import { silentProgress } from "../core/output/progress.ts";
import type { ExperimentContext, Metrics } from "../core/plugin/interfaces.ts";
import { runExperiment } from "../core/train/run_experiment.ts";

/** Overrides of configs/config_1d.json that the pins were made with. */
export const PIN_OVERRIDES = [
  "training_options.epochs=3",
  "training_options.nbr_models=3",
  "dataset.training_dataset_size=40",
  "dataset.testing_dataset_size=200",
];

/** Rows with `net_params.apply_weight_initialization: true` (He_uniform applied). */
const PINS_LITERAL: Record<string, Metrics[]> = {
  "cpu/linearspline": [
    {
      "epoch": 0,
      "train_loss": 0.07270686328411102,
      "median_test_mse": 0.0633803978562355,
      "min_test_mse": 0.014199113473296165,
      "spline_scaling_coeff_mean": 1.0006882237063515,
    },
    {
      "epoch": 1,
      "train_loss": 0.05153268575668335,
      "median_test_mse": 0.040628958493471146,
      "min_test_mse": 0.014697518199682236,
      "spline_scaling_coeff_mean": 1.0013514982329474,
    },
    {
      "epoch": 2,
      "train_loss": 0.04058661560217539,
      "median_test_mse": 0.026716232299804688,
      "min_test_mse": 0.013870466500520706,
      "spline_scaling_coeff_mean": 1.0018487168682946,
    },
    {
      "epoch": 3,
      "train_loss": 0.03453874339660009,
      "median_test_mse": 0.019868651404976845,
      "min_test_mse": 0.013399051502346992,
      "spline_scaling_coeff_mean": 1.0022572212749057,
    },
  ],
  "cpu/relu": [
    {
      "epoch": 0,
      "train_loss": 0.07424454887708028,
      "median_test_mse": 0.07030659914016724,
      "min_test_mse": 0.014355387538671494,
    },
    {
      "epoch": 1,
      "train_loss": 0.05606012046337128,
      "median_test_mse": 0.049335479736328125,
      "min_test_mse": 0.014664117246866226,
    },
    {
      "epoch": 2,
      "train_loss": 0.04466658333937327,
      "median_test_mse": 0.03443196415901184,
      "min_test_mse": 0.014299125410616398,
    },
    {
      "epoch": 3,
      "train_loss": 0.03766852617263794,
      "median_test_mse": 0.025499673560261726,
      "min_test_mse": 0.013901387341320515,
    },
  ],
  "wasm/linearspline": [
    {
      "epoch": 0,
      "train_loss": 0.07270666460196178,
      "median_test_mse": 0.06336908042430878,
      "min_test_mse": 0.014197933487594128,
      "spline_scaling_coeff_mean": 1.0006981352965036,
    },
    {
      "epoch": 1,
      "train_loss": 0.05153176188468933,
      "median_test_mse": 0.04063893482089043,
      "min_test_mse": 0.014698229730129242,
      "spline_scaling_coeff_mean": 1.001367559697893,
    },
    {
      "epoch": 2,
      "train_loss": 0.040589168667793274,
      "median_test_mse": 0.026750361546874046,
      "min_test_mse": 0.013871234841644764,
      "spline_scaling_coeff_mean": 1.0018706606494057,
    },
    {
      "epoch": 3,
      "train_loss": 0.03453262150287628,
      "median_test_mse": 0.019881360232830048,
      "min_test_mse": 0.013399985618889332,
      "spline_scaling_coeff_mean": 1.0022790239916908,
    },
  ],
  "wasm/relu": [
    {
      "epoch": 0,
      "train_loss": 0.07424454887708028,
      "median_test_mse": 0.07030664384365082,
      "min_test_mse": 0.014355390332639217,
    },
    {
      "epoch": 1,
      "train_loss": 0.05606012543042501,
      "median_test_mse": 0.049335502088069916,
      "min_test_mse": 0.014664117246866226,
    },
    {
      "epoch": 2,
      "train_loss": 0.04466658333937327,
      "median_test_mse": 0.03443194553256035,
      "min_test_mse": 0.01429911982268095,
    },
    {
      "epoch": 3,
      "train_loss": 0.0376685286561648,
      "median_test_mse": 0.025499656796455383,
      "min_test_mse": 0.01390138827264309,
    },
  ],
};

/** Rows of the default config (nn.Linear's default init, docs/method.md (4.14)). */
const PINS_DEFAULT: Record<string, Metrics[]> = {
  "cpu/linearspline": [
    {
      "epoch": 0,
      "train_loss": 0.06751314798990886,
      "median_test_mse": 0.04788697883486748,
      "min_test_mse": 0.015479760244488716,
      "spline_scaling_coeff_mean": 1.0005281454986996,
    },
    {
      "epoch": 1,
      "train_loss": 0.0423176238934199,
      "median_test_mse": 0.025469321757555008,
      "min_test_mse": 0.014282498508691788,
      "spline_scaling_coeff_mean": 1.0009893874327342,
    },
    {
      "epoch": 2,
      "train_loss": 0.034415289759635925,
      "median_test_mse": 0.01780390553176403,
      "min_test_mse": 0.013791510835289955,
      "spline_scaling_coeff_mean": 1.0013310902648502,
    },
    {
      "epoch": 3,
      "train_loss": 0.030180906256039936,
      "median_test_mse": 0.016203781589865685,
      "min_test_mse": 0.013065122067928314,
      "spline_scaling_coeff_mean": 1.0016089763906266,
    },
  ],
  "cpu/relu": [
    {
      "epoch": 0,
      "train_loss": 0.06858179966608684,
      "median_test_mse": 0.05246305465698242,
      "min_test_mse": 0.015494023449718952,
    },
    {
      "epoch": 1,
      "train_loss": 0.044413616259892784,
      "median_test_mse": 0.029274968430399895,
      "min_test_mse": 0.014406652189791203,
    },
    {
      "epoch": 2,
      "train_loss": 0.036178516844908394,
      "median_test_mse": 0.01875707320868969,
      "min_test_mse": 0.013907384127378464,
    },
    {
      "epoch": 3,
      "train_loss": 0.031416679422060646,
      "median_test_mse": 0.016322094947099686,
      "min_test_mse": 0.013388178311288357,
    },
  ],
  "wasm/linearspline": [
    {
      "epoch": 0,
      "train_loss": 0.06751511991024017,
      "median_test_mse": 0.047895170748233795,
      "min_test_mse": 0.015480238944292068,
      "spline_scaling_coeff_mean": 1.000518924660153,
    },
    {
      "epoch": 1,
      "train_loss": 0.04232286413510641,
      "median_test_mse": 0.025488195940852165,
      "min_test_mse": 0.014281502924859524,
      "spline_scaling_coeff_mean": 1.0009886370764838,
    },
    {
      "epoch": 2,
      "train_loss": 0.03442168732484182,
      "median_test_mse": 0.01780896820127964,
      "min_test_mse": 0.013789278455078602,
      "spline_scaling_coeff_mean": 1.0013354619344075,
    },
    {
      "epoch": 3,
      "train_loss": 0.030187892417112987,
      "median_test_mse": 0.01620982587337494,
      "min_test_mse": 0.01306463684886694,
      "spline_scaling_coeff_mean": 1.0016076246897379,
    },
  ],
  "wasm/relu": [
    {
      "epoch": 0,
      "train_loss": 0.06858180463314056,
      "median_test_mse": 0.052463069558143616,
      "min_test_mse": 0.015494026243686676,
    },
    {
      "epoch": 1,
      "train_loss": 0.044413616259892784,
      "median_test_mse": 0.02927495539188385,
      "min_test_mse": 0.014406654052436352,
    },
    {
      "epoch": 2,
      "train_loss": 0.03617851436138153,
      "median_test_mse": 0.018757067620754242,
      "min_test_mse": 0.013907395303249359,
    },
    {
      "epoch": 3,
      "train_loss": 0.031416679422060646,
      "median_test_mse": 0.016322094947099686,
      "min_test_mse": 0.013388178311288357,
    },
  ],
};

const CASES: Array<[string, Metrics[], string[]]> = [
  ...Object.entries(PINS_LITERAL).map(([k, v]): [string, Metrics[], string[]] => [
    `${k}, literal He_uniform`,
    v,
    ["net_params.apply_weight_initialization=true"],
  ]),
  ...Object.entries(PINS_DEFAULT).map(([k, v]): [string, Metrics[], string[]] => [
    `${k}, default init`,
    v,
    [],
  ]),
];

for (const [key, expected, extra] of CASES) {
  const [device, activation] = key.split(",")[0].split("/");
  Deno.test({
    name: `1d metrics are pinned bit for bit (${key})`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await useBackend(device as "cpu" | "wasm");
      const registry = createRegistry(builtinPlugins);
      const config = applyOverrides(
        await loadConfigFile(new URL("../configs/config_1d.json", import.meta.url).pathname),
        [...PIN_OVERRIDES, `activation_fn_params.activation_type=${activation}`, ...extra],
      );
      const dir = await Deno.makeTempDir();
      const rows: Metrics[] = [];
      const ctx: ExperimentContext = {
        tf,
        ops: hostOps,
        config,
        runDir: dir,
        registry,
        rng: new MT19937(Number(config.seed)),
        progress: silentProgress(),
        log: () => {},
        logMetrics: (m) => {
          rows.push(JSON.parse(JSON.stringify(m)));
          return Promise.resolve();
        },
      };
      await runExperiment(await registry.experiment("1d"), ctx);
      assert.deepEqual(rows, expected);
      await Deno.remove(dir, { recursive: true });
    },
  });
}
