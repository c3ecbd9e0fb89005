/**
 * Messages between the 1d experiment's split run (`parallel.ts`) and its workers
 * (`split_worker.ts`), and the slicing of ensemble tensors along their leading model axis. Every
 * ensemble parameter, and its Adam moments, has the shape `[M, ...]` (docs/training.md, "The 1d
 * ensemble on several cores").
 *
 * @module
 */
import type { OnedConfig } from "./config.ts";

/** Values and shape of one tensor. */
export interface Stored {
  shape: number[];
  data: Float32Array;
}

/** Parent → worker. A worker handles its messages in order; `init`, `evaluate`, `state` reply. */
export type ToWorker =
  | {
    t: "init";
    /** TF.js backend the parent runs (`cpu` or `wasm`). */
    backend: string;
    config: OnedConfig;
    /** First model and number of models of this worker. */
    first: number;
    count: number;
    /** Test inputs and targets (`[N]`). */
    xTest: Float32Array;
    yTest: Float32Array;
    /** Parameter values of this worker's models, by parameter name. */
    params: Record<string, Stored>;
  }
  | {
    t: "load";
    params: Record<string, Stored>;
    adam: { step: number; tensors: Record<string, Stored> };
    /** Loss summed over the steps of the current epoch done before the resume. */
    lossSum: number;
  }
  | { t: "epoch"; xs: Float32Array; ys: Float32Array; steps: number }
  | { t: "step"; s: number }
  | { t: "evaluate" }
  | { t: "state" };

/** Worker → parent. */
export type FromWorker =
  | { t: "ready" }
  | {
    t: "evaluated";
    /** Test MSE of each of the worker's models. */
    mse: Float32Array;
    /** The epoch's loss, summed over steps (float32, as the engine sums it), then reset. */
    lossSum: number;
    /** Values of the `spline_scaling` parameters, by name (the mean over all models). */
    scaling: Record<string, Float32Array>;
  }
  | {
    t: "state";
    params: Record<string, Stored>;
    adam: { step: number; tensors: Record<string, Stored> };
    lossSum: number;
  }
  | { t: "error"; message: string };

/**
 * Split `M` models into `W` contiguous slices, as even as possible (the later slices take the
 * extra models: the parent runs slice 0 and also drives the engine).
 */
export function slices(M: number, W: number): Array<{ first: number; count: number }> {
  const base = Math.floor(M / W), extra = M % W;
  const out: Array<{ first: number; count: number }> = [];
  let first = 0;
  for (let w = 0; w < W; w++) {
    const count = base + (w >= W - extra ? 1 : 0);
    out.push({ first, count });
    first += count;
  }
  return out;
}

/** Models `[first, first + count)` of a `[M, ...]` tensor's values. */
export function sliceModels(s: Stored, first: number, count: number): Stored {
  const per = s.data.length / s.shape[0];
  return {
    shape: [count, ...s.shape.slice(1)],
    data: s.data.slice(first * per, (first + count) * per),
  };
}

/** Write a slice's values into the full `[M, ...]` array at model `first`. */
export function putModels(full: Float32Array, part: Stored, first: number): void {
  const per = part.data.length / part.shape[0];
  full.set(part.data, first * per);
}
