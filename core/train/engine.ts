/**
 * The training engine: one loop for every experiment (docs/training.md). An experiment hands it
 * a {@linkcode TrainingPlan} (parameters, optimisers, the batches of an epoch, the step, the
 * evaluation, extra state); the engine runs epochs and steps and owns everything around them:
 *
 * - **reading the loss** once per epoch (and before a checkpoint), never per step;
 * - **checkpoints** every `training_options.checkpoint_every` epochs (default 1) and/or every
 *   `training_options.checkpoint_every_steps` steps, on the same epochs and steps whether or not
 *   the run was resumed; the file is written atomically;
 * - **resume** from a checkpoint read once by the caller, also in the middle of an epoch: the
 *   epoch's batches are made again from the RNG state the epoch started with, then the RNG state
 *   of the interruption is restored, so a resumed run ends with exactly the numbers of an
 *   uninterrupted one;
 * - **metrics** (`metrics.jsonl`, TensorBoard) through `ctx.logMetrics`, progress, **Ctrl-C**
 *   (`ctx.signal`: the current step finishes, a checkpoint is written, the loop stops);
 * - **`best.h5`**, the checkpoint of the best epoch by the plan's monitored metric;
 * - the **non-finite guard**: a non-finite loss, parameter or metric stops the run with a
 *   {@linkcode DivergedError} naming the epoch and step, before anything of that epoch is
 *   written (no `null` in the metrics, the last good checkpoint untouched).
 *
 * @module
 */
import type { Scalar, Tensor } from "@tensorflow/tfjs-core";
import { join } from "node:path";
import type {
  ExperimentContext,
  ExperimentResult,
  Metrics,
  Parameter,
} from "../plugin/interfaces.ts";
import { type Checkpoint, type StoredTensor, writeCheckpoint } from "../io/checkpoint.ts";
import { parametersToStored, restoreParameters } from "../io/parameter_store.ts";
import type { RngState } from "../rng/rng.ts";
import { DivergedError, UserError } from "../errors.ts";
import type { EpochBatches, StepLoss, TrainingOutcome, TrainingPlan } from "./plan.ts";

/** File names the engine writes in the run folder. */
export const CHECKPOINT_FILES = { last: "checkpoint.h5", best: "best.h5" } as const;

/** Epochs of at least this many steps show a nested progress bar of their steps. */
const STEP_BAR_MIN = 200;

/** Cadence read from `training_options`. */
function cadence(config: Record<string, unknown>): { epochs: number; steps: number } {
  const t = (config.training_options ?? {}) as Record<string, unknown>;
  const read = (key: string, fallback: number): number => {
    const v = t[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new UserError(
        `Invalid config: key 'training_options.${key}' must be a non-negative integer; current value is ${
          JSON.stringify(v)
        }`,
      );
    }
    return v;
  };
  return { epochs: read("checkpoint_every", 1), steps: read("checkpoint_every_steps", 0) };
}

/** Running sums of the named losses of an epoch (float32 tensors, summed as the steps go). */
class LossSums {
  sums = new Map<string, Scalar>();
  counts = new Map<string, number>();
  /** Step losses not yet checked for finiteness, with their step. */
  pending: Array<{ step: number; name: string; value: Scalar }> = [];

  constructor(private tf: ExperimentContext["tf"]) {}

  add(loss: StepLoss, step: number): void {
    const named: Record<string, Scalar> = isScalar(loss) ? { loss } : loss;
    for (const [name, value] of Object.entries(named)) {
      const prev = this.sums.get(name) ?? this.tf.scalar(0);
      this.sums.set(name, this.tf.tidy(() => this.tf.add(prev, value)) as Scalar);
      prev.dispose();
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
      this.pending.push({ step, name, value });
    }
  }

  /** The first pending loss that is not finite, or null; frees the pending losses. */
  async firstNonFinite(): Promise<{ step: number; name: string; value: number } | null> {
    if (this.pending.length === 0) return null;
    const stacked = this.tf.stack(this.pending.map((p) => p.value));
    const values = await stacked.data();
    stacked.dispose();
    let bad: { step: number; name: string; value: number } | null = null;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        bad = { ...this.pending[i], value: values[i] };
        break;
      }
    }
    for (const p of this.pending) p.value.dispose();
    this.pending = [];
    return bad;
  }

  async values(): Promise<Record<string, { sum: number; count: number }>> {
    const out: Record<string, { sum: number; count: number }> = {};
    for (const [name, t] of this.sums) {
      out[name] = { sum: (await t.data())[0], count: this.counts.get(name)! };
    }
    return out;
  }

  restore(saved: Record<string, { sum: number; count: number }>): void {
    for (const [name, v] of Object.entries(saved)) {
      this.sums.set(name, this.tf.scalar(v.sum));
      this.counts.set(name, v.count);
    }
  }

  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    for (const p of this.pending) p.value.dispose();
    this.sums.clear();
    this.counts.clear();
    this.pending = [];
  }
}

function isScalar(l: StepLoss): l is Scalar {
  return typeof (l as Tensor).dataId === "object" && (l as Tensor).rank === 0;
}

/** Names of parameters holding a non-finite value (one read for all of them). */
async function nonFiniteParameters(
  tf: ExperimentContext["tf"],
  params: Parameter[],
): Promise<string[]> {
  if (params.length === 0) return [];
  const flags = tf.tidy(() =>
    tf.stack(params.map((p) => tf.min(tf.cast(tf.isFinite(p.variable), "float32"))))
  );
  const v = await flags.data();
  flags.dispose();
  return params.filter((_, i) => v[i] !== 1).map((p) => p.name);
}

/** Where the loop resumes. */
interface Position {
  /** Epoch to run next. */
  epoch: number;
  /** Steps of that epoch already done. */
  step: number;
  globalStep: number;
}

/**
 * Run a plan to the end (or to Ctrl-C), resuming from `ctx.resume` when given.
 *
 * @example
 * ```ts ignore
 * const plan = await experiment.prepare!(ctx);
 * const result = await train(ctx, plan);
 * ```
 */
export async function train<B>(
  ctx: ExperimentContext,
  plan: TrainingPlan<B>,
): Promise<ExperimentResult> {
  const { tf } = ctx;
  const every = cadence(ctx.config);
  const ckptPath = join(ctx.runDir, CHECKPOINT_FILES.last);
  const bestPath = join(ctx.runDir, CHECKPOINT_FILES.best);
  const sums = new LossSums(tf);
  let pos: Position = { epoch: 0, step: 0, globalStep: 0 };
  let epochStartRng: RngState = ctx.rng.getState();
  let best: { value: number; epoch: number } | undefined;
  let lastRow: Metrics | undefined;
  let lastEpoch = -1;

  if (ctx.resume) {
    const { tensors, meta } = ctx.resume;
    const where = ctx.resumeFrom ?? ckptPath;
    restoreParameters(tf, plan.parameters, tensors, where);
    const steps = (meta.optimizer_steps ?? {}) as Record<string, number>;
    for (const [name, opt] of Object.entries(plan.optimizers)) {
      if (steps[name] === undefined) {
        throw new UserError(
          `Cannot resume from ${where} as it holds no state of the optimiser '${name}'`,
        );
      }
      opt.setState({ step: steps[name], tensors });
    }
    plan.loadState?.(tensors, meta);
    lastEpoch = Number(meta.epoch);
    pos = {
      epoch: lastEpoch + 1,
      step: Number(meta.step_in_epoch ?? 0),
      globalStep: Number(meta.global_step ?? 0),
    };
    if (meta.best) best = meta.best as { value: number; epoch: number };
    if (pos.step > 0) {
      epochStartRng = meta.rng_epoch_start as RngState;
      sums.restore(meta.loss_sums as Record<string, { sum: number; count: number }>);
    } else {
      epochStartRng = meta.rng as RngState;
    }
  }

  const checkpoint = async (extraMeta: Record<string, unknown>): Promise<Checkpoint> => {
    // The optimisers first: reading an optimiser's state may bring the parameters up to date
    // (the 1d experiment's native trainer writes them back then, core/train/native_fc_ensemble.ts).
    const optimizerTensors: Record<string, StoredTensor> = {};
    const optimizerSteps: Record<string, number> = {};
    for (const [name, opt] of Object.entries(plan.optimizers)) {
      const s = await opt.getState();
      Object.assign(optimizerTensors, s.tensors);
      optimizerSteps[name] = s.step;
    }
    const tensors: Record<string, StoredTensor> = await parametersToStored(plan.parameters);
    Object.assign(tensors, optimizerTensors);
    const extra = (await plan.saveState?.()) ?? {};
    Object.assign(tensors, extra.tensors ?? {});
    return {
      tensors,
      meta: {
        ...extra.meta,
        optimizer_steps: optimizerSteps,
        rng: ctx.rng.getState(),
        best,
        ...extraMeta,
      },
    };
  };

  // What the last checkpoint on disk holds, for the divergence message.
  const describe = (m: Record<string, unknown>) =>
    m.step_in_epoch
      ? `after step ${Number(m.step_in_epoch) - 1} of epoch ${Number(m.epoch) + 1}`
      : `epoch ${m.epoch}`;
  let saved = ctx.resume ? describe(ctx.resume.meta) : null;
  const write = async (path: string, ck: Checkpoint) => {
    await writeCheckpoint(path, ck);
    if (path === ckptPath) saved = describe(ck.meta);
  };
  const diverged = (epoch: number, step: number, what: string) =>
    new DivergedError(
      `Training diverged at epoch ${epoch}, step ${step}: ${what}. Likely cause: ${
        plan.divergenceHint?.() ?? "a learning rate too high for this model"
      }. The last good checkpoint was kept (${saved ?? "none was written yet"}).`,
      { epoch, step },
    );

  // Check the losses since the last check and the parameters; throw before anything is written.
  const guard = async (epoch: number, lastStep: number): Promise<void> => {
    const bad = await sums.firstNonFinite();
    const badParams = bad ? [] : await nonFiniteParameters(tf, plan.parameters);
    if (bad) {
      const name = bad.name === "loss" ? "loss" : `loss '${bad.name}'`;
      throw diverged(epoch, bad.step, `the ${name} is ${bad.value}`);
    }
    if (badParams.length > 0) {
      throw diverged(epoch, lastStep, `parameter ${badParams[0]} holds non-finite values`);
    }
  };

  let completed = false;
  // Long epochs get a nested bar of their steps.
  let bars = 0;
  const startBar = (total: number, label: string, value: number) => {
    ctx.progress.start(total, label);
    ctx.progress.update(value);
    bars++;
  };
  const stopBar = () => {
    if (bars > 0) ctx.progress.stop();
    bars = Math.max(0, bars - 1);
  };
  startBar(plan.epochs, "epochs", pos.epoch);
  try {
    for (let epoch = pos.epoch; epoch < plan.epochs; epoch++) {
      // The batches draw from the RNG state the epoch started with; a run resumed mid-epoch
      // makes them again from that state, then continues from the state it was stopped at.
      const resuming = epoch === pos.epoch && pos.step > 0;
      if (epoch === pos.epoch) ctx.rng.setState(epochStartRng);
      epochStartRng = ctx.rng.getState();
      const batches: EpochBatches<B> = plan.epochBatches(epoch);
      if (resuming) ctx.rng.setState(ctx.resume!.meta.rng as RngState);
      const firstStep = epoch === pos.epoch ? pos.step : 0;
      const stepBar = batches.count >= STEP_BAR_MIN;
      if (stepBar) startBar(batches.count, `epoch ${epoch}`, firstStep);
      let lastUpdate = Date.now();
      for (let s = firstStep; s < batches.count; s++) {
        const index = { epoch, step: s, globalStep: pos.globalStep };
        const loss = tf.tidy(() => plan.step(batches.batch(s), index));
        sums.add(loss, s);
        pos.globalStep++;
        const stopping = ctx.signal?.aborted && s < batches.count - 1;
        if ((every.steps > 0 && pos.globalStep % every.steps === 0) || stopping) {
          if (s < batches.count - 1) {
            await guard(epoch, s);
            const ck = await checkpoint({
              epoch: epoch - 1,
              step_in_epoch: s + 1,
              global_step: pos.globalStep,
              rng_epoch_start: epochStartRng,
              loss_sums: await sums.values(),
              completed: false,
            });
            await write(ckptPath, ck);
          }
        }
        if (stopping) {
          while (bars > 0) stopBar();
          return await plan.finish({ completed: false, lastEpoch, lastRow, best });
        }
        if (stepBar && Date.now() - lastUpdate > 500) {
          ctx.progress.update(s + 1);
          lastUpdate = Date.now();
        }
      }
      if (stepBar) stopBar();
      await guard(epoch, batches.count - 1);
      const row: Metrics = { epoch };
      const divisor = plan.lossDivisor ?? 1;
      for (const [name, v] of Object.entries(await sums.values())) {
        row[name === "loss" ? "train_loss" : `train_${name}`] = v.sum / (v.count * divisor);
      }
      sums.dispose();
      Object.assign(row, (await plan.evaluate?.(epoch)) ?? {});
      const badMetric = Object.entries(row).find(([, v]) =>
        typeof v === "number" && !Number.isFinite(v)
      );
      if (badMetric) {
        throw diverged(epoch, batches.count - 1, `the metric '${badMetric[0]}' is ${badMetric[1]}`);
      }
      await ctx.logMetrics(row);
      lastRow = row;
      lastEpoch = epoch;
      const done = epoch === plan.epochs - 1;
      let improved = false;
      if (plan.monitor) {
        const v = Number(row[plan.monitor.metric]);
        const better = best === undefined ||
          (plan.monitor.mode === "min" ? v < best.value : v > best.value);
        if (better) {
          best = { value: v, epoch };
          improved = true;
        }
      }
      const atCadence = every.epochs > 0 && (epoch + 1) % every.epochs === 0;
      if (done || atCadence || improved || ctx.signal?.aborted) {
        const ck = await checkpoint({
          epoch,
          step_in_epoch: 0,
          global_step: pos.globalStep,
          completed: done,
        });
        if (done || atCadence || ctx.signal?.aborted) await write(ckptPath, ck);
        if (improved) await write(bestPath, ck);
      }
      ctx.progress.update(epoch + 1, plan.progressPayload?.(row));
      if (ctx.signal?.aborted && !done) break;
      completed = done;
    }
    while (bars > 0) stopBar();
    return await plan.finish({ completed, lastEpoch, lastRow, best });
  } finally {
    while (bars > 0) stopBar();
    sums.dispose();
    plan.dispose();
  }
}

/** The metadata keys the engine writes in every checkpoint. */
export type EngineMeta = {
  epoch: number;
  step_in_epoch: number;
  global_step: number;
  completed: boolean;
  optimizer_steps: Record<string, number>;
  rng: RngState;
  best?: { value: number; epoch: number };
};

export type { TrainingOutcome };
