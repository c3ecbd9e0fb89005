/**
 * The run folder `log_dir/exp_name/`: the resolved `config.json`, `metrics.jsonl` (one JSON object
 * per epoch), `checkpoint.h5` (latest state, written atomically), `tensorboard/` and `figures/`.
 * A folder that already holds a run is never overwritten by accident.
 *
 * @module
 */
import { appendFile, mkdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import type { Metrics } from "../plugin/interfaces.ts";

/** File names inside a run folder. */
export const RUN_FILES = {
  config: "config.json",
  info: "run.json",
  metrics: "metrics.jsonl",
  checkpoint: "checkpoint.h5",
  tensorboard: "tensorboard",
  figures: "figures",
} as const;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The run folder of a config: `log_dir/exp_name`. */
export function runDirOf(config: Record<string, unknown>): string {
  return join(String(config.log_dir), String(config.exp_name));
}

/** Whether `dir` already holds a run (a config, metrics or a checkpoint). */
export async function holdsRun(dir: string): Promise<boolean> {
  for (const f of [RUN_FILES.config, RUN_FILES.metrics, RUN_FILES.checkpoint]) {
    if (await exists(join(dir, f))) return true;
  }
  return false;
}

/**
 * Create (or, with `force`, clear) the run folder for a fresh run and write `config.json`.
 * Refuses a folder that holds a run unless `force`.
 *
 * @example
 * ```ts ignore
 * const dir = await startRunDir(config, { force: false });
 * ```
 */
export async function startRunDir(
  config: Record<string, unknown>,
  opts: { force: boolean },
): Promise<string> {
  const dir = runDirOf(config);
  if (await holdsRun(dir)) {
    if (!opts.force) {
      throw new UserError(
        `Cannot start the run as ${dir} already holds a run: continue it with --resume ${dir}, ` +
          `choose another name with --set exp_name=NAME, or overwrite it with --force`,
      );
    }
    for (const f of Object.values(RUN_FILES)) {
      await rm(join(dir, f), { recursive: true, force: true });
    }
  }
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, RUN_FILES.config), JSON.stringify(config, null, 2) + "\n");
  return dir;
}

/** Read the config of an existing run folder (for `--resume`). */
export async function readRunConfig(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, RUN_FILES.config);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UserError(`Cannot resume as ${dir} holds no run: ${file} does not exist`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`Cannot resume as ${file} is not valid JSON`);
  }
}

/** What `run.json` records beside the config: the experiment and device of a run. */
export interface RunInfo {
  experiment: string;
  device: string;
  lipspline: string;
  started: string;
  /** Plugin files registered with `--plugin` (file URLs); `certify` and `--resume` load them. */
  plugins?: string[];
}

/** Write `run.json` atomically. */
export async function writeRunInfo(dir: string, info: RunInfo): Promise<void> {
  await writeFileAtomic(join(dir, RUN_FILES.info), JSON.stringify(info, null, 2) + "\n");
}

/** Read `run.json`: empty when absent (older runs), a `UserError` when it is not valid JSON. */
export async function readRunInfo(dir: string): Promise<Partial<RunInfo>> {
  const file = join(dir, RUN_FILES.info);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return {};
  }
  try {
    const info = JSON.parse(text);
    if (typeof info === "object" && info !== null && !Array.isArray(info)) return info;
  } catch {
    // reported below
  }
  throw new UserError(`Cannot resume as ${file} is not a valid JSON object`);
}

/** Append one row to `metrics.jsonl`. */
export async function appendMetrics(dir: string, row: Metrics): Promise<void> {
  await appendFile(join(dir, RUN_FILES.metrics), JSON.stringify(row) + "\n");
}

/** Read every row of `metrics.jsonl` (empty when absent). */
export async function readMetrics(dir: string): Promise<Metrics[]> {
  let text: string;
  try {
    text = await readFile(join(dir, RUN_FILES.metrics), "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/**
 * Keep only the metrics rows with `epoch <= lastEpoch` (after a crash between logging an epoch
 * and checkpointing it, resuming recomputes that epoch).
 */
export async function truncateMetrics(dir: string, lastEpoch: number): Promise<void> {
  const rows = (await readMetrics(dir)).filter((r) => Number(r.epoch) <= lastEpoch);
  await writeFileAtomic(
    join(dir, RUN_FILES.metrics),
    rows.map((r) => JSON.stringify(r) + "\n").join(""),
  );
}
