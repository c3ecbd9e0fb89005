/**
 * The training engine (core/train/engine.ts) on a toy plan: a linear model trained by one or two
 * Adam optimisers on shuffled batches with noise drawn from the run's RNG inside the step, so that
 * a resume that restores the wrong RNG state, optimiser state or loss sum shows in the numbers.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Scalar, Tensor } from "@tensorflow/tfjs-core";
import { hostOps, tf, useBackend } from "./helpers.ts";
import { MT19937, permutation } from "../core/rng/mt19937.ts";
import { silentProgress } from "../core/output/progress.ts";
import { createParameter } from "../core/nn/parameters.ts";
import { Adam } from "../core/train/adam.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";
import { train } from "../core/train/engine.ts";
import type { StepLoss, TrainingPlan } from "../core/train/plan.ts";
import type { ExperimentContext, Metrics } from "../core/plugin/interfaces.ts";
import { DivergedError } from "../core/errors.ts";

await useBackend("cpu");

const S = 12, B = 3, D = 4;
const X = Float32Array.from({ length: S * D }, (_, i) => Math.sin(1.7 * i + 0.3));
const W_TRUE = [0.5, -1, 2, 0.25];
const Y = Float32Array.from(
  { length: S },
  (_, s) => W_TRUE.reduce((a, w, d) => a + w * X[s * D + d], 0),
);

interface ToyOptions {
  epochs?: number;
  /** Two optimisers: "a" every step, "b" every 3rd global step (a WGAN-like schedule). */
  twoOptimizers?: boolean;
  /** Make the loss NaN at this (epoch, step). */
  nanAt?: [number, number];
  /** Abort (Ctrl-C) right after this global step. */
  abortAfter?: number;
  controller?: AbortController;
  /** Monitored metric per epoch (for best.h5). */
  monitorValues?: number[];
}

function toyPlan(ctx: ExperimentContext, o: ToyOptions): TrainingPlan<{ x: Tensor; y: Tensor }> {
  const wa = createParameter(tf, "toy/a", "weights", [D, 1], new Float32Array(D));
  const wb = createParameter(tf, "toy/b", "weights", [D, 1], new Float32Array(D).fill(0.1));
  const params = o.twoOptimizers ? [wa, wb] : [wa];
  const optA = new Adam(tf, [wa], { weights: 0.05, spline_coeffs: 0, spline_scaling: 0 });
  const optB = new Adam(tf, [wb], { weights: 0.05, spline_coeffs: 0, spline_scaling: 0 }, {
    beta1: 0.5,
  });
  const lossOf = (x: Tensor, y: Tensor, w: Tensor) =>
    tf.mean(tf.square(tf.sub(tf.matMul(x, w), y))) as Scalar;
  return {
    parameters: params,
    optimizers: o.twoOptimizers ? { a: optA, b: optB } : { a: optA },
    epochs: o.epochs ?? 4,
    epochBatches() {
      const perm = permutation(ctx.rng, S);
      return {
        count: S / B,
        batch: (i) => {
          const idx = Array.from(perm.subarray(i * B, (i + 1) * B));
          const xs = new Float32Array(B * D), ys = new Float32Array(B);
          idx.forEach((s, j) => {
            xs.set(X.subarray(s * D, (s + 1) * D), j * D);
            ys[j] = Y[s] + 0.1 * ctx.rng.normal(); // noise from the run's RNG, inside the step
          });
          return { x: tf.tensor2d(xs, [B, D]), y: tf.tensor2d(ys, [B, 1]) };
        },
      };
    },
    step({ x, y }, index): StepLoss {
      if (o.abortAfter !== undefined && index.globalStep === o.abortAfter) o.controller!.abort();
      const la = tf.variableGrads(() => lossOf(x, y, wa.variable), [wa.variable]);
      optA.apply(la.grads);
      let value: Scalar = la.value;
      if (o.nanAt && index.epoch === o.nanAt[0] && index.step === o.nanAt[1]) {
        value = tf.scalar(NaN);
      }
      if (!o.twoOptimizers) return value;
      const out: Record<string, Scalar> = { a: value };
      if (index.globalStep % 3 === 0) {
        const lb = tf.variableGrads(() => lossOf(x, y, wb.variable), [wb.variable]);
        optB.apply(lb.grads);
        out.b = lb.value;
      }
      return out;
    },
    evaluate(epoch) {
      const w = wa.variable.dataSync();
      const row: Metrics = { w0: w[0] };
      if (o.monitorValues) row.score = o.monitorValues[epoch];
      return Promise.resolve(row);
    },
    monitor: o.monitorValues ? { metric: "score", mode: "min" } : undefined,
    finish: (outcome) => Promise.resolve({ metrics: { epoch: outcome.lastEpoch }, summary: [] }),
    dispose() {
      optA.dispose();
      optB.dispose();
      wa.variable.dispose();
      wb.variable.dispose();
    },
  };
}

async function run(
  dir: string,
  o: ToyOptions,
  extra: { config?: Record<string, unknown>; resume?: boolean; rows?: Metrics[] } = {},
): Promise<
  { rows: Metrics[]; ckptEpochs: number[]; finalW: Float32Array; ctx: ExperimentContext }
> {
  const rows: Metrics[] = extra.rows ?? [];
  const ckptEpochs: number[] = [];
  let finalW = new Float32Array();
  const ctx: ExperimentContext = {
    tf,
    ops: hostOps,
    config: extra.config ?? {},
    runDir: dir,
    registry: undefined as never,
    rng: new MT19937(7),
    progress: silentProgress(),
    log: () => {},
    signal: o.controller?.signal,
    resume: extra.resume ? await readCheckpoint(join(dir, "checkpoint.h5")) : undefined,
    async logMetrics(m) {
      rows.push(m);
      // which epoch the checkpoint on disk holds when the next row is logged
      try {
        ckptEpochs.push(Number((await readCheckpoint(join(dir, "checkpoint.h5"))).meta.epoch));
      } catch {
        ckptEpochs.push(-2);
      }
    },
  };
  const plan = toyPlan(ctx, o);
  const dispose = plan.dispose;
  plan.dispose = () => {
    finalW = new Float32Array(plan.parameters[0].variable.dataSync());
    dispose();
  };
  await train(ctx, plan);
  return { rows, ckptEpochs, finalW, ctx };
}

Deno.test("a run stopped mid-epoch (Ctrl-C) and resumed ends exactly like an uninterrupted one", async () => {
  for (const twoOptimizers of [false, true]) {
    const a = await Deno.makeTempDir();
    const full = await run(a, { twoOptimizers });
    const b = await Deno.makeTempDir();
    const controller = new AbortController();
    // global step 5 is the 2nd step of epoch 1 (4 steps per epoch)
    const cut = await run(b, { twoOptimizers, abortAfter: 5, controller });
    const ck = await readCheckpoint(join(b, "checkpoint.h5"));
    assert.equal(ck.meta.epoch, 0);
    assert.equal(ck.meta.step_in_epoch, 2);
    assert.equal(ck.meta.completed, false);
    assert.equal(cut.rows.length, 1);
    const rest = await run(b, { twoOptimizers }, { resume: true });
    assert.deepEqual([...cut.rows, ...rest.rows], full.rows);
    assert.deepEqual(rest.finalW, full.finalW);
    const done = await readCheckpoint(join(b, "checkpoint.h5"));
    assert.equal(done.meta.completed, true);
    if (twoOptimizers) {
      // "b" steps on global steps 0, 3, 6, ...: 16 steps in all → 6 of them
      assert.deepEqual(done.meta.optimizer_steps, { a: 16, b: 6 });
      assert.ok(
        full.rows.every((r) => typeof r.train_a === "number" && typeof r.train_b === "number"),
      );
    }
  }
});

Deno.test("checkpoints fall on the same epochs whether or not the run was resumed", async () => {
  const config = { training_options: { checkpoint_every: 2 } };
  const a = await Deno.makeTempDir();
  const full = await run(a, { epochs: 6 }, { config });
  // the checkpoint on disk when each row is logged: none until epoch 1 ends, then 1, then 3
  assert.deepEqual(full.ckptEpochs, [-2, -2, 1, 1, 3, 3]);
  const b = await Deno.makeTempDir();
  const controller = new AbortController();
  // Ctrl-C in the last step of epoch 2: the epoch completes and is saved (epoch 2)
  const cut = await run(b, { epochs: 6, abortAfter: 11, controller }, { config });
  assert.equal(cut.rows.length, 3);
  assert.equal((await readCheckpoint(join(b, "checkpoint.h5"))).meta.epoch, 2);
  const rest = await run(b, { epochs: 6 }, { config, resume: true });
  // after the resume, checkpoints still come after epochs 3 and 5 (not 4, as a count from 2 would)
  assert.deepEqual(rest.ckptEpochs, [2, 3, 3]);
  assert.deepEqual([...cut.rows, ...rest.rows], full.rows);
});

Deno.test("checkpoint_every_steps writes mid-epoch checkpoints a run can resume from", async () => {
  const config = { training_options: { checkpoint_every: 0, checkpoint_every_steps: 3 } };
  const a = await Deno.makeTempDir();
  const full = await run(a, {}, { config });
  const b = await Deno.makeTempDir();
  const controller = new AbortController();
  await run(b, { abortAfter: 9, controller }, { config });
  // The abort after global step 9 (epoch 2, step 1) saved a mid-epoch checkpoint.
  const ck = await readCheckpoint(join(b, "checkpoint.h5"));
  assert.deepEqual([ck.meta.epoch, ck.meta.step_in_epoch], [1, 2]);
  const rest = await run(b, {}, { config, resume: true });
  assert.deepEqual(rest.finalW, full.finalW);
});

Deno.test("best.h5 holds the epoch with the best monitored metric", async () => {
  const dir = await Deno.makeTempDir();
  await run(dir, { epochs: 5, monitorValues: [3, 2, 0.5, 1, 4] });
  const best = await readCheckpoint(join(dir, "best.h5"));
  assert.equal(best.meta.epoch, 2);
  assert.deepEqual(best.meta.best, { value: 0.5, epoch: 2 });
  const last = await readCheckpoint(join(dir, "checkpoint.h5"));
  assert.equal(last.meta.epoch, 4);
});

Deno.test("a non-finite loss stops the run naming epoch and step; the last good checkpoint stays", async () => {
  const dir = await Deno.makeTempDir();
  const before = tf.memory().numTensors;
  const rows: Metrics[] = [];
  await assert.rejects(
    () => run(dir, { nanAt: [1, 2] }, { rows }),
    (e: unknown) => {
      assert.ok(e instanceof DivergedError);
      assert.deepEqual(e.at, { epoch: 1, step: 2 });
      assert.match(e.message, /^Training diverged at epoch 1, step 2: the loss is NaN\./);
      assert.match(e.message, /last good checkpoint was kept \(epoch 0\)/);
      return true;
    },
  );
  assert.deepEqual(rows.map((r) => r.epoch), [0], "no row of the diverged epoch");
  const ck = await readCheckpoint(join(dir, "checkpoint.h5"));
  assert.equal(ck.meta.epoch, 0);
  assert.ok(Array.from(ck.tensors["model/toy/a"].data).every(Number.isFinite));
  assert.equal(tf.memory().numTensors, before, "the engine freed everything after the stop");
});
