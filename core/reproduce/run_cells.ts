/**
 * Running the cells of a `reproduce` table: each cell is one `train` process of the same CLI
 * (a normal run folder `OUT/<cell>`), at most `jobs` at a time. A finished cell is skipped, an
 * interrupted one resumed (`train --resume`, which ends with exactly the numbers of an
 * uninterrupted run), one without a checkpoint started again; so the command can be re-run after
 * any failure. A cell whose folder holds a run of another config is refused before anything
 * runs.
 *
 * @module
 */
import { mkdir, open, readFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import process from "node:process";
import { join } from "node:path";
import { applyOverrides, type Config } from "../config/config.ts";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import type { Cell } from "./cells.ts";
import { type CellStatus, cellStatus, LOG_FILE, writeAttempt } from "./status.ts";

/** The list of cells `reproduce` writes to `OUT/reproduce_plan.json`, read by `merge`. */
export const PLAN_FILE = "reproduce_plan.json";

/** What `OUT/reproduce_plan.json` holds. */
export interface ReproducePlanFile {
  experiment: string;
  functions: string[];
  activations: string[];
  seeds: number[];
  /** The user's `--set` overrides (the cells add theirs). */
  sets: string[];
  cells: Array<Pick<Cell, "name" | "fn" | "activation" | "seed">>;
}

/** One cell with its config and what to do with it. */
export interface CellJob {
  cell: Cell;
  dir: string;
  config: Config;
  /** skip: finished (or diverged); start: a fresh run (`--force`); resume: `--resume`. */
  action: "skip" | "start" | "resume";
  status: CellStatus;
}

/** Sorted-key JSON, to compare configs whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/** The first key (dotted path) where two configs differ, or undefined. */
export function firstDifference(a: unknown, b: unknown, path = ""): string | undefined {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return canonical(a) === canonical(b) ? undefined : path || "(top level)";
}

/**
 * The config keys that name the folder or the cores, not the run's numbers: ignored when comparing
 * configs (`training_options.workers` splits the 1d ensemble without changing any model).
 */
const PLACE_KEYS = ["log_dir", "exp_name", "training_options.workers"];

function withoutPlace(c: Config): Config {
  const o: Config = structuredClone(c);
  for (const k of PLACE_KEYS) {
    const path = k.split(".");
    let at: Record<string, unknown> | undefined = o;
    for (const p of path.slice(0, -1)) at = at?.[p] as Record<string, unknown> | undefined;
    if (at && typeof at === "object") delete at[path[path.length - 1]];
  }
  return o;
}

/**
 * The cells of one shard with their configs (base config + the user's `--set` + the cell's own
 * keys + `log_dir`/`exp_name`) and what to do with each. `validate` checks a config before
 * anything runs (the same checks as `train`). Throws a `UserError` when a cell's folder holds a
 * run of another config.
 */
export async function planJobs(o: {
  out: string;
  base: Config;
  sets: string[];
  cells: Cell[];
  validate: (config: Config, cell: Cell) => Promise<void>;
}): Promise<CellJob[]> {
  const jobs: CellJob[] = [];
  for (const cell of o.cells) {
    const config = applyOverrides(o.base, [
      ...o.sets,
      ...cell.sets,
      `log_dir=${o.out}`,
      `exp_name=${cell.name}`,
    ]);
    await o.validate(config, cell);
    const dir = join(o.out, cell.name);
    const status = await cellStatus(dir);
    if (status.config && status.state !== "started") {
      const diff = firstDifference(withoutPlace(status.config), withoutPlace(config));
      if (diff !== undefined) {
        const show = (c: Config) => {
          let v: unknown = c;
          for (const p of diff.split(".")) v = (v as Record<string, unknown> | undefined)?.[p];
          return v === undefined ? "absent" : JSON.stringify(v);
        };
        throw new UserError(
          `Cannot reproduce as ${dir} holds a run of another config (key '${diff}' is ` +
            `${show(status.config)} there and ${show(config)} now): use another --out, ` +
            `the same --set overrides, or remove that folder`,
        );
      }
    }
    const action = status.state === "done" || status.state === "diverged"
      ? "skip"
      : status.state === "partial"
      ? "resume"
      : "start";
    jobs.push({ cell, dir, config, action, status });
  }
  return jobs;
}

/** How to start the CLI itself: the program and the arguments before the command's. */
export interface SelfCommand {
  cmd: string;
  prefix: string[];
  env?: Record<string, string>;
}

/** The `train` arguments of a job (after the CLI prefix). */
export function trainArgs(
  job: CellJob,
  o: {
    experiment: string;
    configFile: string;
    out: string;
    sets: string[];
    device?: string;
    /** `training_options.workers` of a new cell (several cells at once: 1 core each). */
    workers?: number;
  },
): string[] {
  if (job.action === "resume") {
    // A resumed run keeps its device (same numbers as an uninterrupted run) unless one is given.
    return ["train", "--resume", job.dir, ...(o.device ? ["--device", o.device] : [])];
  }
  return [
    "train",
    "--exp",
    o.experiment,
    "--config",
    o.configFile,
    ...[
      ...o.sets,
      ...job.cell.sets,
      ...(o.workers ? [`training_options.workers=${o.workers}`] : []),
      `log_dir=${o.out}`,
      `exp_name=${job.cell.name}`,
    ].flatMap((s) => ["--set", s]),
    "--force",
    ...(o.device ? ["--device", o.device] : []),
  ];
}

/** What happened to a job. */
export interface JobResult {
  job: CellJob;
  /** skipped, done, interrupted (stopped before the end), diverged, failed (another exit code). */
  outcome: "skipped" | "done" | "interrupted" | "diverged" | "failed";
  exitCode?: number;
  seconds: number;
  status: CellStatus;
  /** The last lines of the cell's log, for a failure. */
  tail?: string;
}

async function tailOf(file: string, lines = 4): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Run one job as a child process, its output appended to `OUT/<cell>/train.log`. */
async function runJob(job: CellJob, args: string[], self: SelfCommand): Promise<JobResult> {
  await mkdir(job.dir, { recursive: true });
  const logPath = join(job.dir, LOG_FILE);
  const log = await open(logPath, "a");
  const started = performance.now();
  let code: number;
  try {
    await log.write(`\n# ${new Date().toISOString()} lipspline ${args.join(" ")}\n`);
    // node:child_process runs under Deno and Bun alike.
    const child = spawn(self.cmd, [...self.prefix, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...self.env },
    });
    const pump = async (s: AsyncIterable<Uint8Array>) => {
      for await (const chunk of s) await log.write(chunk);
    };
    const exited = new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c, signal) => resolve(c ?? (signal ? 130 : 1)));
    });
    await Promise.all([pump(child.stdout!), pump(child.stderr!)]);
    code = await exited;
  } finally {
    await log.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const status = await cellStatus(job.dir);
  await writeAttempt(job.dir, {
    exit_code: code,
    checkpoint_epoch: status.epoch,
    seconds,
    finished: new Date().toISOString(),
  });
  const outcome = code === 3
    ? "diverged"
    : code !== 0
    ? "failed"
    : status.state === "done"
    ? "done"
    : "interrupted";
  return {
    job,
    outcome,
    exitCode: code,
    seconds,
    status: outcome === "diverged" ? { ...status, state: "diverged" } : status,
    tail: outcome === "failed" ? await tailOf(logPath) : undefined,
  };
}

/**
 * Run the jobs, `parallel` at a time, in order. Skipped jobs are reported at once. After
 * `signal` aborts, no new job starts (running ones finish or checkpoint on their own Ctrl-C).
 */
export async function runJobs(
  jobs: CellJob[],
  o: {
    parallel: number;
    self: SelfCommand;
    args: (job: CellJob) => string[];
    signal?: AbortSignal;
    onStart?: (job: CellJob, index: number) => void;
    onEnd?: (r: JobResult, index: number) => void;
  },
): Promise<JobResult[]> {
  const results: JobResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !o.signal?.aborted) {
      const i = next++;
      const job = jobs[i];
      if (job.action === "skip") {
        results[i] = { job, outcome: "skipped", seconds: 0, status: job.status };
      } else {
        o.onStart?.(job, i);
        results[i] = await runJob(job, o.args(job), o.self);
      }
      o.onEnd?.(results[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel) }, worker));
  return results.filter((r) => r !== undefined);
}

/** Write the plan file (the same content from every shard, written atomically). */
export async function writePlanFile(out: string, plan: ReproducePlanFile): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, PLAN_FILE), JSON.stringify(plan, null, 2) + "\n");
}

/** Read the plan file, or undefined when absent. */
export async function readPlanFile(out: string): Promise<ReproducePlanFile | undefined> {
  try {
    return JSON.parse(await readFile(join(out, PLAN_FILE), "utf8"));
  } catch {
    return undefined;
  }
}
