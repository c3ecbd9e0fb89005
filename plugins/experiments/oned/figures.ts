/**
 * Figures of a finished 1d run, in `figures/`: the target against the best, median and worst
 * models, each activation layer of the best model (all channels overlaid, spline range and knots
 * marked), and the training curves.
 *
 * @module
 */
import { join } from "node:path";
import type { Target1d } from "./targets.ts";
import {
  activationFigure,
  curvesFigure,
  type ExperimentContext,
  fitFigure,
  type Network,
  readMetrics,
  RUN_FILES,
  writeFigure,
} from "../../../plugin.ts";

/** Write the figures; `order` lists the models from best to worst test MSE. */
export async function writeOnedFigures(
  ctx: ExperimentContext,
  net: Network,
  data: { target: Target1d; xTest: Float32Array; yTest: Float32Array },
  order: number[],
): Promise<void> {
  const { tf } = ctx;
  const dir = join(ctx.runDir, RUN_FILES.figures);
  const M = order.length;
  const N = data.xTest.length;
  // Predictions of every model on the test grid, [M, N].
  const pred = tf.tidy(() =>
    tf.reshape(
      net.forward(tf.tile(tf.tensor(data.xTest, [1, N, 1]), [M, 1, 1]), { training: false }),
      [M, N],
    )
  );
  const p = await pred.data();
  pred.dispose();
  const row = (m: number) => p.slice(m * N, (m + 1) * N) as Float32Array;
  const best = order[0], med = order[Math.floor((M - 1) / 2)], worst = order[M - 1];
  await writeFigure(
    dir,
    "fit",
    await fitFigure({
      x: data.xTest,
      target: data.yTest,
      best: row(best),
      median: row(med),
      worst: row(worst),
    }),
  );

  // Activations of the best model, sampled on a grid wider than the spline range.
  const cfg = ctx.config.activation_fn_params as { spline_range?: number; spline_size?: number };
  const R = cfg.spline_range ?? 1;
  const grid = Float32Array.from({ length: 401 }, (_, i) => -1.5 * R + (3 * R * i) / 400);
  for (const m of net.modules) {
    if (m.type !== "activation") continue;
    // A plugin without `sample` is sampled by the host through its forward.
    const channels = await ctx.ops.activationCurves(tf, m.activation, grid, m.channels, M, best);
    const K = cfg.spline_size;
    const knots = m.activation.kind === "linearspline" && K
      ? Float32Array.from({ length: K }, (_, k) => -R + (2 * R * k) / (K - 1))
      : undefined;
    await writeFigure(
      dir,
      `activation_${m.name}`,
      await activationFigure({
        layer: `${m.name} (${m.activation.kind}), best model ${best}`,
        range: R,
        knots,
        x: grid,
        channels,
      }),
    );
  }

  const rows = await readMetrics(ctx.runDir);
  await writeFigure(
    dir,
    "curves",
    await curvesFigure(rows, ["train_loss", "median_test_mse", "min_test_mse"], true),
  );
}
