/**
 * The cells of a `reproduce` table: one training run per (function × activation × seed), each a
 * normal run folder `OUT/<cell name>`, and the deterministic slices (shards) of that list that a
 * cluster's array job runs, one slice per task.
 *
 * @module
 */
import { UserError } from "../errors.ts";

/** One activation column of the paper's table: a label and the config keys it sets. */
export interface ActivationVariant {
  /** Label in the table and in the run folder's name, e.g. `LS-old`. */
  label: string;
  /** `--set` overrides (key=value) that select it. */
  sets: string[];
}

/**
 * The paper's activations, in the order of its 1d table: the learnable linear spline, the same
 * spline with the older normalisation (`lipschitz_constrained: false`, docs/method.md (3.9)),
 * then the fixed and parametric baselines.
 */
export const PAPER_ACTIVATIONS: readonly string[] = [
  "linearspline",
  "LS-old",
  "relu",
  "absolute_value",
  "prelu",
  "groupsort",
  "householder",
];

/** The paper's three 1d targets. */
export const PAPER_FUNCTIONS: readonly string[] = ["f1", "f2", "f3"];

/**
 * The variant of a name in `--activations`: `LS-old` (any case) is linearspline with
 * `lipschitz_constrained: false`; any other name is an `activation_type` (a built-in or a plugin).
 */
export function activationVariant(name: string): ActivationVariant {
  const trimmed = name.trim();
  if (trimmed.toLowerCase() === "ls-old") {
    return {
      label: "LS-old",
      sets: [
        "activation_fn_params.activation_type=linearspline",
        "activation_fn_params.lipschitz_constrained=false",
      ],
    };
  }
  return { label: trimmed, sets: [`activation_fn_params.activation_type=${trimmed}`] };
}

/** One training run of the table. */
export interface Cell {
  /** Folder name under `--out`: `<function>_<label>_seed<seed>` (label made file-safe). */
  name: string;
  /** Target function (`dataset.function_type`). */
  fn: string;
  /** Activation label (column of the table). */
  activation: string;
  seed: number;
  /** The overrides that make this cell's config from the base config. */
  sets: string[];
}

/** A label as a folder-name part: letters, digits, `-` and `_` kept, anything else `-`. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "x";
}

/**
 * Every cell, in a fixed order: by function, then activation, then seed (the order of the
 * lists given). Names are unique; a repeated entry in a list is an error.
 *
 * @example
 * ```ts
 * import { buildCells } from "./cells.ts";
 * const cells = buildCells({ functions: ["f1"], activations: ["relu", "LS-old"], seeds: [5] });
 * // cells.map((c) => c.name) = ["f1_relu_seed5", "f1_LS-old_seed5"]
 * ```
 */
export function buildCells(
  o: { functions: string[]; activations: string[]; seeds: number[] },
): Cell[] {
  const cells: Cell[] = [];
  const seen = new Set<string>();
  for (const fn of o.functions) {
    for (const a of o.activations) {
      const v = activationVariant(a);
      for (const seed of o.seeds) {
        const name = `${safeName(fn)}_${safeName(v.label)}_seed${seed}`;
        if (seen.has(name)) {
          throw new UserError(
            `Cannot reproduce as the cell ${name} appears twice: --functions, --activations ` +
              `and --seeds must not repeat an entry (function ${fn}, activation ${a}, seed ${seed})`,
          );
        }
        seen.add(name);
        cells.push({
          name,
          fn,
          activation: v.label,
          seed,
          sets: [...v.sets, `dataset.function_type=${fn}`, `seed=${seed}`],
        });
      }
    }
  }
  return cells;
}

/** A slice of the cells: the `index`-th of `count` (0-based), and where it was read from. */
export interface Shard {
  index: number;
  count: number;
  /** `--shard`, `SLURM_ARRAY_TASK_ID`, `JOB_COMPLETION_INDEX`, or `none`. */
  source: string;
}

/**
 * The environment variable that gives the number of shards of a Kubernetes Indexed Job (the
 * Job's `completions`; Kubernetes sets only `JOB_COMPLETION_INDEX` itself).
 */
export const K8S_COUNT_VAR = "LIPSPLINE_SHARD_COUNT";

function parseIndex(what: string, v: string, min: number): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UserError(`Cannot reproduce as ${what} must be an integer >= ${min}: it is '${v}'`);
  }
  return n;
}

function checkShard(s: Shard, what: string): Shard {
  if (s.index >= s.count) {
    throw new UserError(
      `Cannot reproduce as ${what} must give an index below the count (0-based): ` +
        `index ${s.index}, count ${s.count}`,
    );
  }
  return s;
}

/**
 * The shard to run: `--shard I/N` (0-based `I`) when given; else a Slurm array task
 * (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`); else a
 * Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of `LIPSPLINE_SHARD_COUNT`); else all cells.
 *
 * @example
 * ```ts
 * import { resolveShard } from "./cells.ts";
 * resolveShard(undefined, { SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "3" });
 * // { index: 2, count: 3, source: "SLURM_ARRAY_TASK_ID" }
 * ```
 */
export function resolveShard(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): Shard {
  if (flag !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(flag);
    if (!m) {
      throw new UserError(
        `Cannot reproduce as --shard must be I/N with 0 <= I < N (0-based), e.g. 0/4: it is '${flag}'`,
      );
    }
    return checkShard(
      { index: Number(m[1]), count: parseIndex("--shard's N", m[2], 1), source: "--shard" },
      "--shard",
    );
  }
  const slurmId = env.SLURM_ARRAY_TASK_ID;
  if (slurmId !== undefined && slurmId !== "") {
    const id = parseIndex("SLURM_ARRAY_TASK_ID", slurmId, 0);
    const min = env.SLURM_ARRAY_TASK_MIN
      ? parseIndex("SLURM_ARRAY_TASK_MIN", env.SLURM_ARRAY_TASK_MIN, 0)
      : 0;
    const countVar = env.SLURM_ARRAY_TASK_COUNT;
    if (countVar === undefined || countVar === "") {
      throw new UserError(
        "Cannot reproduce as SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: " +
          "give --shard I/N",
      );
    }
    const count = parseIndex("SLURM_ARRAY_TASK_COUNT", countVar, 1);
    return checkShard(
      { index: id - min, count, source: "SLURM_ARRAY_TASK_ID" },
      "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN",
    );
  }
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s !== undefined && k8s !== "") {
    const index = parseIndex("JOB_COMPLETION_INDEX", k8s, 0);
    const countVar = env[K8S_COUNT_VAR];
    if (countVar === undefined || countVar === "") {
      throw new UserError(
        `Cannot reproduce as JOB_COMPLETION_INDEX is set but ${K8S_COUNT_VAR} is not: set it ` +
          "to the Job's completions (see examples/cluster/), or give --shard I/N",
      );
    }
    const count = parseIndex(K8S_COUNT_VAR, countVar, 1);
    return checkShard({ index, count, source: "JOB_COMPLETION_INDEX" }, "JOB_COMPLETION_INDEX");
  }
  return { index: 0, count: 1, source: "none" };
}

/**
 * The cells of one shard: every `count`-th cell starting at `index` (round robin, so that the
 * slow spline cells spread over the shards). The shards of a list are disjoint and cover it.
 */
export function shardCells<T>(cells: readonly T[], shard: Shard): T[] {
  return cells.filter((_, i) => i % shard.count === shard.index);
}
