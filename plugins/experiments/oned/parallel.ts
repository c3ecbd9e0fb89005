/**
 * The 1d ensemble split over several cores (`training_options.workers`, docs/training.md "The 1d
 * ensemble on several cores"). The models of the ensemble are independent (docs/method.md §5.1),
 * so the parent process trains models `[0, m0)` inside the training engine and each Web Worker
 * (`split_worker.ts`) a further contiguous slice, in lock step: every engine step posts the same
 * step to the workers, which never run ahead of the parent.
 *
 * Same numbers as the unsplit run: the parent builds the whole ensemble from the run's RNG (so
 * the initialisation draws are the unsplit run's) and draws every model's shuffle each epoch, then
 * sends each worker its models' share; the batched kernels compute each model from its own slice
 * only, so every model's parameters, Adam state and test MSE are those of the unsplit run. Only
 * `train_loss` differs in the last float32 bits: the unsplit run sums all models' losses in one
 * float32 reduction per step, the split run sums each slice's and adds the slices' epoch sums.
 *
 * The engine sees the whole ensemble: `parameters` are the full model's (refreshed from the
 * workers at every checkpoint, so checkpoints, `best.h5`, resume, `certify` and `report` are those
 * of an unsplit run), and the one optimiser it checkpoints gathers every slice's Adam state.
 *
 * @module
 */
import {
  type ExperimentContext,
  type Metrics,
  MT19937,
  type Parameter,
  type TrainingPlan,
} from "../../../plugin.ts";
import type { OnedConfig } from "./config.ts";
import {
  createOnedModel,
  disposeOnedModel,
  nativeOnedStep,
  type OnedBatch,
  onedBatchStep,
  type OnedModel,
  testMse,
} from "./model.ts";
import { median, type OnedData, onedReporting, shuffleEpoch } from "./mod.ts";
import {
  type FromWorker,
  putModels,
  sliceModels,
  slices,
  type Stored,
  type ToWorker,
} from "./split_protocol.ts";

/** Backends whose kernels run in a worker (WebGPU's device is the main thread's). */
const SPLIT_BACKENDS = new Set(["cpu", "wasm"]);

/**
 * How many processes-worth of cores the 1d run uses: `training_options.workers` (a number, or
 * `"auto"`: min(2, cores, nbr_models) on the cpu and wasm backends). Absent: `"auto"` when the
 * step is native (`nativeStep`: each core then computes its half of the models, measured
 * faster), else 1 (the TF.js step's per-kernel overhead does not shrink with fewer models).
 */
export function splitWorkers(
  cfg: OnedConfig,
  backend: string,
  cores: number,
  nativeStep = false,
): number {
  const w = cfg.training_options.workers ?? (nativeStep ? "auto" : undefined);
  const M = cfg.training_options.nbr_models;
  if (w === undefined) return 1;
  if (w === "auto") return SPLIT_BACKENDS.has(backend) ? Math.max(1, Math.min(2, cores, M)) : 1;
  return Math.max(1, Math.min(w, M));
}

/** A worker and its replies, in order. */
class SplitWorker {
  #worker: Worker;
  #pending: Array<{ resolve: (m: FromWorker) => void; reject: (e: Error) => void }> = [];
  failure: Error | undefined;

  constructor(readonly first: number, readonly count: number, readonly index: number) {
    this.#worker = new Worker(new URL("./split_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.t === "error") return this.#fail(e.data.message);
      this.#pending.shift()?.resolve(e.data);
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(e.message);
    };
  }

  #fail(message: string): void {
    this.failure ??= new Error(
      `1d worker ${this.index} (models ${this.first}..${
        this.first + this.count - 1
      }) failed: ${message}`,
    );
    for (const p of this.#pending.splice(0)) p.reject(this.failure);
  }

  post(m: ToWorker, transfer: Transferable[] = []): void {
    if (this.failure) throw this.failure;
    this.#worker.postMessage(m, transfer);
  }

  ask<T extends FromWorker["t"]>(m: ToWorker, t: T): Promise<Extract<FromWorker, { t: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve: resolve as (m: FromWorker) => void, reject });
      this.#worker.postMessage(m);
    }).then((r) => {
      if ((r as FromWorker).t !== t) {
        throw new Error(`1d worker: expected ${t}, got ${(r as FromWorker).t}`);
      }
      return r as Extract<FromWorker, { t: T }>;
    });
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

async function readStored(p: Parameter): Promise<Stored> {
  return { shape: p.variable.shape.slice(), data: new Float32Array(await p.variable.data()) };
}

/**
 * The training plan of a 1d run split over `W` processes-worth of cores (the parent and `W - 1`
 * workers); `data`, the validated `cfg` and `full`, the whole ensemble drawn from the run's RNG,
 * as `mod.ts` makes them (the plan owns `full` from here).
 */
export async function prepareSplit(
  ctx: ExperimentContext,
  cfg: OnedConfig,
  data: OnedData,
  W: number,
  full: OnedModel,
): Promise<TrainingPlan<OnedBatch>> {
  const { tf } = ctx;
  const M = cfg.training_options.nbr_models;
  const E = cfg.training_options.epochs;
  const B = cfg.training_options.batch_size;
  const S = cfg.dataset.training_dataset_size;
  const fullParams = full.net.parameters();
  for (const p of fullParams) {
    if (p.variable.shape[0] !== M) {
      full.adam.dispose();
      full.net.dispose();
      throw new Error(`Cannot split the 1d ensemble: parameter ${p.name} has no model axis`);
    }
  }
  const parts = slices(M, W);
  const own = parts[0];
  const fullValues = async () => {
    const out: Record<string, Stored> = {};
    for (const p of fullParams) out[p.name] = await readStored(p);
    return out;
  };
  const sliceAll = (values: Record<string, Stored>, first: number, count: number) =>
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, sliceModels(v, first, count)]),
    );

  // The parent's slice: its own model, started from the full model's values.
  const local: OnedModel = await createOnedModel(ctx, ctx.registry, new MT19937(0), {
    ...cfg,
    training_options: { ...cfg.training_options, nbr_models: own.count },
  });
  const initial = await fullValues();
  const assign = (model: OnedModel, values: Record<string, Stored>) => {
    for (const p of model.net.parameters()) {
      const s = values[p.name];
      tf.tidy(() => p.variable.assign(tf.tensor(s.data, s.shape)));
    }
  };
  assign(local, sliceAll(initial, own.first, own.count));
  // The parent's slice steps natively where the network allows it, as the workers do.
  const native = nativeOnedStep(ctx.ops, local, cfg);

  const workers = parts.slice(1).map((p, i) => new SplitWorker(p.first, p.count, i + 1));
  const dispose = () => {
    for (const w of workers) w.terminate();
    disposeOnedModel(local);
    full.adam.dispose();
    full.net.dispose();
    testX.dispose();
    testY.dispose();
  };
  const N = data.xTest.length;
  const testX = tf.tidy(() => tf.tile(tf.tensor(data.xTest, [1, N, 1]), [own.count, 1, 1]));
  const testY = tf.tensor(data.yTest, [1, N, 1]);
  // The parent slice's loss sum of the epoch, summed in float32 as the engine sums a step's loss.
  let ownSum = 0;
  try {
    await Promise.all(workers.map((w) =>
      w.ask({
        t: "init",
        backend: tf.getBackend(),
        config: cfg,
        first: w.first,
        count: w.count,
        xTest: data.xTest,
        yTest: data.yTest,
        params: sliceAll(initial, w.first, w.count),
      }, "ready")
    ));
  } catch (e) {
    dispose();
    throw e;
  }

  let mse: Float32Array = new Float32Array(M).fill(NaN);
  let steps = 0;
  let resumeState: { step: number; tensors: Record<string, Stored> } | undefined;
  const check = () => {
    for (const w of workers) if (w.failure) throw w.failure;
  };

  // Gather every slice's parameters and Adam moments into whole-ensemble tensors, and write
  // the parameters into the full model (what the engine checkpoints and `finish` draws).
  const gather = async () => {
    const states = await Promise.all(workers.map((w) => w.ask({ t: "state" }, "state")));
    native?.push();
    const params = await fullValues();
    const adam = await local.adam.getState();
    const adamFull: Record<string, Stored> = {};
    for (const p of fullParams) {
      for (const key of [`${p.name}/adam_m`, `${p.name}/adam_v`]) {
        if (!adam.tensors[key]) continue;
        adamFull[key] = {
          shape: p.variable.shape.slice(),
          data: new Float32Array(p.variable.size),
        };
        putModels(adamFull[key].data, adam.tensors[key], own.first);
      }
    }
    const ownParams = Object.fromEntries(
      await Promise.all(local.net.parameters().map(async (p) => [p.name, await readStored(p)])),
    ) as Record<string, Stored>;
    for (const p of fullParams) putModels(params[p.name].data, ownParams[p.name], own.first);
    states.forEach((s, i) => {
      const first = workers[i].first;
      for (const [k, v] of Object.entries(s.params)) putModels(params[k].data, v, first);
      for (const [k, v] of Object.entries(s.adam.tensors)) putModels(adamFull[k].data, v, first);
    });
    assign(full, params);
    const model: Record<string, Stored> = {};
    for (const [k, v] of Object.entries(params)) model[`model/${k}`] = v;
    return {
      step: adam.step,
      tensors: { ...adamFull, ...model },
      lossSums: states.map((s) => s.lossSum),
    };
  };
  let lastLossSums: number[] = workers.map(() => 0);

  const plan: TrainingPlan<OnedBatch> = {
    parameters: fullParams,
    optimizers: {
      adam: {
        get step() {
          return local.adam.step;
        },
        async getState() {
          const g = await gather();
          lastLossSums = g.lossSums;
          return { step: g.step, tensors: g.tensors };
        },
        setState(state) {
          resumeState = state;
          native?.invalidate();
        },
      },
    },
    epochs: E + 1,
    lossDivisor: M,
    epochBatches() {
      const { xs, ys, steps: count } = shuffleEpoch(ctx, data, M, S, B);
      steps = count;
      const take = (src: Float32Array, first: number, n: number) => {
        const out = new Float32Array(count * n * B);
        for (let s = 0; s < count; s++) {
          out.set(src.subarray((s * M + first) * B, (s * M + first + n) * B), s * n * B);
        }
        return out;
      };
      for (const w of workers) {
        const wx = take(xs, w.first, w.count), wy = take(ys, w.first, w.count);
        w.post({ t: "epoch", xs: wx, ys: wy, steps: count }, [wx.buffer, wy.buffer]);
      }
      const ox = take(xs, own.first, own.count), oy = take(ys, own.first, own.count);
      const n = own.count;
      return {
        count,
        batch: (s) => ({
          x: ox.subarray(s * n * B, (s + 1) * n * B),
          y: oy.subarray(s * n * B, (s + 1) * n * B),
          last: s === count - 1,
        }),
      };
    },
    step: (batch, index) => {
      check();
      for (const w of workers) w.post({ t: "step", s: index.step });
      const value = onedBatchStep(local, native, batch);
      ownSum = Math.fround(ownSum + value.dataSync()[0]);
      return value;
    },
    async evaluate() {
      const replies = await Promise.all(workers.map((w) => w.ask({ t: "evaluate" }, "evaluated")));
      const t = testMse(tf, local.net, testX, testY);
      const ownMse = new Float32Array(await t.data());
      t.dispose();
      mse = new Float32Array(M);
      mse.set(ownMse, own.first);
      replies.forEach((r, i) => mse.set(r.mse, workers[i].first));
      // train_loss: the slices' epoch sums (the engine's value covers the parent's slice only).
      let sum = ownSum;
      for (const r of replies) sum += r.lossSum;
      ownSum = 0;
      const row: Metrics = {
        train_loss: sum / (steps * M),
        median_test_mse: median(mse),
        min_test_mse: Math.min(...mse),
      };
      // Mean of the scaling coefficients, summed in the unsplit run's order (by parameter, then
      // model), so the value is the unsplit run's.
      const alphas = local.net.parameters().filter((p) => p.group === "spline_scaling");
      if (alphas.length > 0) {
        let total = 0, count = 0;
        for (const p of alphas) {
          const all = new Float32Array(p.variable.size / own.count * M);
          putModels(all, await readStored(p), own.first);
          replies.forEach((r, i) =>
            putModels(all, { shape: [workers[i].count], data: r.scaling[p.name] }, workers[i].first)
          );
          for (const v of all) total += v;
          count += all.length;
        }
        row.spline_scaling_coeff_mean = total / count;
      }
      return row;
    },
    saveState: () =>
      Promise.resolve({
        tensors: { test_mse: { shape: [M], data: mse.slice() } },
        meta: {
          experiment: "1d",
          nbr_models: M,
          median_test_mse: median(mse),
          min_test_mse: Math.min(...mse),
          // The workers' loss sums of the epoch so far (a checkpoint in the middle of an epoch).
          split_loss_sums: lastLossSums,
        },
      }),
    loadState(tensors, meta) {
      if (tensors.test_mse) mse = tensors.test_mse.data.slice();
      const state = resumeState!;
      const params: Record<string, Stored> = {};
      const adam: Record<string, Stored> = {};
      for (const p of fullParams) {
        params[p.name] = tensors[`model/${p.name}`];
        for (const key of [`${p.name}/adam_m`, `${p.name}/adam_v`]) {
          if (state.tensors[key]) adam[key] = state.tensors[key];
        }
      }
      assign(local, sliceAll(params, own.first, own.count));
      local.adam.setState({ step: state.step, tensors: sliceAll(adam, own.first, own.count) });
      // In the middle of an epoch, the slices' sums of the steps already done.
      const mid = Number(meta.step_in_epoch ?? 0) > 0;
      const sums = mid ? (meta.split_loss_sums as number[] | undefined) : undefined;
      const loss = meta.loss_sums as Record<string, { sum: number }> | undefined;
      ownSum = mid ? loss?.loss?.sum ?? 0 : 0;
      workers.forEach((w, i) =>
        w.post({
          t: "load",
          params: sliceAll(params, w.first, w.count),
          adam: { step: state.step, tensors: sliceAll(adam, w.first, w.count) },
          lossSum: sums?.[i] ?? 0,
        })
      );
    },
    ...onedReporting(
      ctx,
      cfg,
      data,
      full.net,
      () => mse,
      ` on ${W} cores${native ? " with the native step" : ""}`,
    ),
    dispose,
  };
  return plan;
}
