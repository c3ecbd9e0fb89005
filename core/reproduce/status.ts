/**
 * Where a cell of a `reproduce` table stands, read from its run folder: not started, started but
 * without a checkpoint, interrupted (a checkpoint with `completed: false`), finished, or
 * diverged (its last attempt exited with code 3, recorded in `reproduce.json`).
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { readCheckpoint } from "../io/checkpoint.ts";
import type { Metrics } from "../plugin/interfaces.ts";
import { readMetrics, RUN_FILES } from "../io/run_dir.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";

/** The record `reproduce` keeps of a cell's last attempt (`OUT/<cell>/reproduce.json`). */
export const ATTEMPT_FILE = "reproduce.json";
/** The log of a cell's training process(es) (`OUT/<cell>/train.log`, appended per attempt). */
export const LOG_FILE = "train.log";

/** A cell's last attempt. */
export interface Attempt {
  /** Exit code of `train` (0 also after Ctrl-C: then the checkpoint says not completed). */
  exit_code: number;
  /** Epoch of the checkpoint after the attempt (-1 when none). */
  checkpoint_epoch: number;
  /** Wall-clock seconds of the attempt. */
  seconds: number;
  finished: string;
}

/** The state of one cell. */
export type CellState =
  | "missing" // no run folder or no config
  | "started" // a config but no checkpoint yet
  | "partial" // a checkpoint of an unfinished run
  | "done" // a checkpoint with meta.completed
  | "diverged"; // the last attempt stopped on a non-finite value (exit code 3)

/** What a cell's folder says. */
export interface CellStatus {
  state: CellState;
  /** Last epoch in the checkpoint (-1 when none). */
  epoch: number;
  /** Checkpoint metadata (empty when none). */
  meta: Record<string, unknown>;
  /** Per-model test MSE from the checkpoint, when present. */
  testMse?: Float32Array;
  /** The last metrics row (for runs without a checkpoint result). */
  lastRow?: Metrics;
  /** The config the folder was run with, when present. */
  config?: Record<string, unknown>;
  attempt?: Attempt;
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readJson(p: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v = JSON.parse(await readFile(p, "utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Read a cell's folder. A diverged cell stays diverged until its folder is removed (resuming it
 * would diverge again at the same step).
 */
export async function cellStatus(dir: string): Promise<CellStatus> {
  const config = await readJson(join(dir, RUN_FILES.config));
  if (!config) return { state: "missing", epoch: -1, meta: {} };
  const attempt = (await readJson(join(dir, ATTEMPT_FILE))) as Attempt | undefined;
  const rows = await readMetrics(dir).catch(() => []);
  const lastRow = rows.at(-1);
  const ck = join(dir, RUN_FILES.checkpoint);
  if (!(await exists(ck))) {
    return {
      state: attempt?.exit_code === 3 ? "diverged" : "started",
      epoch: -1,
      meta: {},
      config,
      attempt,
      lastRow,
    };
  }
  const { tensors, meta } = await readCheckpoint(ck);
  const epoch = Number(meta.epoch ?? -1);
  const state = meta.completed === true
    ? "done"
    : attempt?.exit_code === 3 && attempt.checkpoint_epoch === epoch
    ? "diverged"
    : "partial";
  return {
    state,
    epoch,
    meta,
    testMse: tensors.test_mse?.data,
    lastRow,
    config,
    attempt,
  };
}

/** Record a cell's attempt. */
export async function writeAttempt(dir: string, a: Attempt): Promise<void> {
  await writeFileAtomic(join(dir, ATTEMPT_FILE), JSON.stringify(a, null, 2) + "\n");
}
