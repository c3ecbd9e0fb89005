/**
 * Figures of a critic (the wasserstein critic, the WGAN discriminator), in `figures/`: the learned
 * activations of each activation layer (the first 32 channels, spline range and knots marked) and
 * the training curves (W1 estimates, losses).
 *
 * @module
 */
import {
  activationFigure,
  type ActivationParams,
  curvesFigure,
  type ExperimentContext,
  type Network,
  readMetrics,
  RUN_FILES,
  writeFigure,
} from "../../../plugin.ts";
import { join } from "node:path";

/** Channels drawn per activation layer. */
const MAX_CHANNELS = 32;

/** Write `activation_<layer>` for each sampled activation layer and `curves` of `keys`. */
export async function writeCriticFigures(
  ctx: ExperimentContext,
  net: Network,
  act: ActivationParams,
  keys: string[],
): Promise<void> {
  const dir = join(ctx.runDir, RUN_FILES.figures);
  const R = act.spline_range ?? 1;
  const K = act.spline_size;
  const grid = Float32Array.from({ length: 201 }, (_, i) => -1.5 * R + (3 * R * i) / 200);
  for (const m of net.modules) {
    if (m.type !== "activation" || !m.activation.sample) continue;
    const channels = (await m.activation.sample(grid)).slice(0, MAX_CHANNELS);
    const knots = m.activation.kind === "linearspline" && K
      ? Float32Array.from({ length: K }, (_, k) => -R + (2 * R * k) / (K - 1))
      : undefined;
    const name = m.name.replace(/[^\w.-]/g, "_");
    await writeFigure(
      dir,
      `activation_${name}`,
      await activationFigure({
        layer: `${m.name} (${m.activation.kind}), first ${channels.length} channels`,
        range: R,
        knots,
        x: grid,
        channels,
      }),
    );
  }
  const rows = await readMetrics(ctx.runDir);
  const present = keys.filter((k) => rows.some((r) => typeof r[k] === "number"));
  if (present.length) await writeFigure(dir, "curves", await curvesFigure(rows, present, false));
}
