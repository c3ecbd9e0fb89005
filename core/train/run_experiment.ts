/**
 * Run an experiment plugin: through the training engine when it gives a plan (`prepare`), else
 * its own `run` (the escape hatch).
 *
 * @module
 */
import type { Experiment, ExperimentContext, ExperimentResult } from "../plugin/interfaces.ts";
import { UserError } from "../errors.ts";
import { train } from "./engine.ts";

/**
 * Train `experiment` in `ctx`.
 *
 * @example
 * ```ts ignore
 * const result = await runExperiment(await registry.experiment("1d"), ctx);
 * ```
 */
export async function runExperiment(
  experiment: Experiment,
  ctx: ExperimentContext,
): Promise<ExperimentResult> {
  if (experiment.prepare) return await train(ctx, await experiment.prepare(ctx));
  if (experiment.run) return await experiment.run(ctx);
  throw new UserError(
    `Cannot train the experiment ${experiment.name} as its plugin has neither prepare() nor run()`,
  );
}
