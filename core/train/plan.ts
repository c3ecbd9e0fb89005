/**
 * What an experiment hands the training engine: a {@linkcode TrainingPlan}. The experiment owns
 * its data, model, step and evaluation; the engine owns the loop around them (epochs and steps,
 * reading the loss, checkpoints and resume, RNG state, metrics, progress, Ctrl-C, the best
 * checkpoint and the non-finite guard). See `core/train/engine.ts` and docs/training.md.
 *
 * @module
 */
import type { Scalar } from "@tensorflow/tfjs-core";
import type { ExperimentResult, Metrics, Parameter } from "../plugin/interfaces.ts";
import type { StoredTensor } from "../io/checkpoint.ts";

/** Where a step stands: the epoch, the step within it, and the steps since the run started. */
export interface StepIndex {
  /** Epoch, from 0. */
  epoch: number;
  /** Step within the epoch, from 0. */
  step: number;
  /** Steps taken since the run started (resumed runs count the steps before the resume). */
  globalStep: number;
}

/**
 * What a step returns: the loss to report, as a scalar, or several named losses (the WGAN: the
 * discriminator's every step, the generator's every 5th). A name that a step leaves out is not
 * counted for that step; each reported loss is the mean over the steps that returned it.
 */
export type StepLoss = Scalar | Record<string, Scalar>;

/** The batches of one epoch, made when the epoch starts (they may draw from the run's RNG). */
export interface EpochBatches<Batch> {
  /** Number of steps of the epoch. */
  count: number;
  /** The batch of step `i` (called once per step, in order). */
  batch(i: number): Batch;
}

/**
 * A training optimiser whose state the engine checkpoints (the `Adam` of `core/train/adam.ts`).
 * Its tensor names must not collide with another optimiser's (they are keyed by parameter name).
 */
export interface PlanOptimizer {
  /** Steps taken. */
  step: number;
  getState(): Promise<{ step: number; tensors: Record<string, StoredTensor> }>;
  setState(state: { step: number; tensors: Record<string, StoredTensor> }): void;
}

/** How the engine should pick the best checkpoint (`best.h5`). */
export interface Monitor {
  /** Metric key of the rows `evaluate` returns, e.g. `val_psnr`. */
  metric: string;
  /** Whether smaller or larger is better. */
  mode: "min" | "max";
}

/** How a run ended, handed to {@linkcode TrainingPlan.finish}. */
export interface TrainingOutcome {
  /** True when every epoch ran (false after Ctrl-C). */
  completed: boolean;
  /** Last completed epoch (-1 when none). */
  lastEpoch: number;
  /** The last metrics row written (undefined when no epoch completed in this process). */
  lastRow?: Metrics;
  /** The best monitored value and its epoch, when a monitor is set. */
  best?: { value: number; epoch: number };
}

/**
 * Everything the engine needs from an experiment. `step` does the whole update (gradients,
 * optimiser steps, post-step hooks) and returns the loss; the engine never looks inside.
 */
export interface TrainingPlan<Batch = unknown> {
  /** The parameters to checkpoint (under `model/<name>`) and to check for non-finite values. */
  parameters: Parameter[];
  /** The optimisers, by name; their state is checkpointed and restored. */
  optimizers: Record<string, PlanOptimizer>;
  /** Number of epochs (passes over the data); epochs are numbered 0..epochs-1. */
  epochs: number;
  /** The batches of `epoch`. */
  epochBatches(epoch: number): EpochBatches<Batch>;
  /** One training step. */
  step(batch: Batch, index: StepIndex): StepLoss;
  /**
   * The reported `train_loss` is the sum of the step losses divided by `steps × lossDivisor`
   * (default 1): the 1d step returns the sum over its models, so it divides by their number.
   */
  lossDivisor?: number;
  /** Metrics after an epoch (validation): numbers added to the epoch's row. */
  evaluate?(epoch: number): Promise<Metrics>;
  /** Keep `best.h5` by this metric. */
  monitor?: Monitor;
  /** Extra state to checkpoint (e.g. batch-norm running statistics, the 1d test MSE). */
  saveState?(): Promise<{ tensors?: Record<string, StoredTensor>; meta?: Record<string, unknown> }>;
  /** Restore what `saveState` wrote, from a checkpoint's tensors and metadata. */
  loadState?(tensors: Record<string, StoredTensor>, meta: Record<string, unknown>): void;
  /** Values shown beside the progress bar after an epoch, from its metrics row. */
  progressPayload?(row: Metrics): Record<string, string>;
  /** What probably made a run diverge, for the error message (e.g. the learning rates). */
  divergenceHint?(): string;
  /** After the loop (also after Ctrl-C): figures, the summary lines. */
  finish(outcome: TrainingOutcome): Promise<ExperimentResult>;
  /** Free the model, optimisers and data tensors. */
  dispose(): void;
}
