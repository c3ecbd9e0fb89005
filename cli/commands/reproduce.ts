/**
 * `lipspline reproduce 1d` and `lipspline reproduce merge OUT`: the paper's 1d comparison table
 * in one command. Every (target × activation × seed) cell is a normal run folder under `--out`,
 * trained by a `train` process of this same CLI (`--jobs N` at a time); finished cells are
 * skipped and interrupted ones resumed, so the command can be re-run after any failure. On a
 * cluster each array task runs one deterministic slice (`--shard I/N`, or Slurm's / Kubernetes'
 * array variables); `reproduce merge` then builds the table from whatever cells exist.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { DEVICE_CHOICES, type DeviceChoice } from "../../core/backend/backend.ts";
import { commonSchema, loadConfigFile, validateWith } from "../../core/config/config.ts";
import { validateRunConfig } from "../../core/config/validate_run_config.ts";
import { UserError } from "../../core/errors.ts";
import type { Registry } from "../../core/plugin/registry.ts";
import {
  buildCells,
  K8S_COUNT_VAR,
  PAPER_ACTIVATIONS,
  PAPER_FUNCTIONS,
  resolveShard,
  shardCells,
} from "../../core/reproduce/cells.ts";
import {
  type CellJob,
  planJobs,
  runJobs,
  type SelfCommand,
  trainArgs,
  writePlanFile,
} from "../../core/reproduce/run_cells.ts";
import {
  cachedCertificate,
  type CellCertificate,
  collectRows,
  markdownTable,
  median,
  type MergeRow,
  writeMerge,
} from "../../core/reproduce/merge.ts";
import { CONFIG_DIR, PROJECT_ROOT } from "../paths.ts";
import { exit, onInterrupt, selfInvocation, setExitCode } from "../runtime.ts";
import { runCertify } from "./certify.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function list(flag: string, v: string | undefined, fallback: readonly string[]): string[] {
  if (v === undefined) return [...fallback];
  const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) {
    throw new UserError(`Cannot reproduce as ${flag} must list at least one name: it is '${v}'`);
  }
  return items;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 1) {
    throw new UserError(`Cannot reproduce as ${flag} must be an integer >= 1: it is '${v}'`);
  }
  return n;
}

/**
 * How to start this CLI again as a child process: the `deno` executable with `run`, the
 * permissions this process holds and the main module; or, inside a `deno compile` binary
 * (whose executable is not named `deno`), the binary itself.
 */
export function selfCommand(jobs: number): SelfCommand {
  // Several cells at once: one BLAS thread each, unless the user chose otherwise.
  const env: Record<string, string> = jobs > 1 && !process.env.OPENBLAS_NUM_THREADS
    ? { OPENBLAS_NUM_THREADS: "1" }
    : {};
  const config = join(PROJECT_ROOT, "deno.json");
  return { ...selfInvocation(existsSync(config) ? ["--config", config] : []), env };
}

/** Certify a finished cell (or reuse its `certify.json` when newer than the checkpoint). */
function certifier(
  registry: Registry,
  device: DeviceChoice,
): (dir: string) => Promise<CellCertificate | undefined> {
  return async (dir) => {
    const cached = await cachedCertificate(dir);
    if (cached) return cached;
    const o = await runCertify(
      dir,
      {
        max: "1",
        tolerance: "1e-3",
        random: "1000",
        adversarial: "16",
        steps: "30",
        seed: "0",
        json: false,
        device,
      },
      registry,
      () => {},
    );
    return {
      product: o.result.product,
      empirical: o.result.empirical,
      certified: o.code === 0,
    };
  };
}

/**
 * `reproduce merge` in-process: collect the cells of `out` (certifying finished ones unless
 * `certify` is false), write the table files and print the Markdown table and where they went.
 */
export async function runMerge(
  out: string,
  registry: Registry,
  opts: { certify: boolean; device: DeviceChoice },
  print: (line: string) => void = console.log,
): Promise<{ rows: MergeRow[]; files: Awaited<ReturnType<typeof writeMerge>> }> {
  const rows = await collectRows(out, opts.certify ? certifier(registry, opts.device) : undefined);
  const files = await writeMerge(out, rows);
  print(markdownTable(rows));
  print(`wrote ${files.markdown}, ${files.csv}, ${files.png}, ${files.svg}`);
  return { rows, files };
}

function describeJob(job: CellJob): string {
  if (job.action === "resume") {
    return `resuming after epoch ${job.status.epoch}`;
  }
  return "starting";
}

function oneDCommand(registry: Registry) {
  return new Command("1d")
    .description(
      "train every (target × activation × seed) cell of the paper's 1d table, then merge it",
    )
    .option(
      "--functions <list>",
      `targets, comma-separated (default ${PAPER_FUNCTIONS.join(",")})`,
    )
    .option(
      "--activations <list>",
      `activations, comma-separated; LS-old is linearspline with lipschitz_constrained false ` +
        `(default ${PAPER_ACTIVATIONS.join(",")})`,
    )
    .option("--seeds <list>", "seeds, comma-separated (default: the config's seed)")
    .option("-c, --config <file>", "base config (default: configs/config_1d.json)")
    .option(
      "-s, --set <key=value>",
      "override a config key in every cell, e.g. training_options.epochs=10 (repeatable)",
      collect,
      [] as string[],
    )
    .option("-j, --jobs <n>", "cells trained at the same time on this machine", "1")
    .option(
      "--shard <i/n>",
      "run only the i-th (0-based) of n slices of the cells (default: from SLURM_ARRAY_TASK_ID " +
        `or JOB_COMPLETION_INDEX with ${K8S_COUNT_VAR})`,
    )
    .option("-o, --out <dir>", "folder of the cells and the table", "1d_exps/reproduce")
    .addOption(
      new Option(
        "-d, --device <device>",
        "where each cell computes (default auto; a resumed cell keeps its device)",
      ).choices(DEVICE_CHOICES),
    )
    .option("--no-certify", "leave the certified bound out of the merged table")
    .addHelpText(
      "after",
      "\nEach cell is OUT/<function>_<activation>_seed<seed>, a normal run folder (train.log\n" +
        "holds its output). Re-running skips finished cells and resumes interrupted ones; a\n" +
        "folder holding a run of another config is refused. Without a shard, the table is\n" +
        "merged at the end (OUT/table.md, table.csv, table.png); with one, run\n" +
        "`reproduce merge OUT` when every shard is done. Ctrl-C: running cells save a\n" +
        "checkpoint and stop, no new cell starts. Exit code 1 when a cell failed or was\n" +
        "interrupted. Cells are not locked: never run two reproduce processes on the same\n" +
        "cells at once (the shards of one N are disjoint). Cluster examples: examples/cluster/.",
    )
    .action(async (opts) => {
      const functions = list("--functions", opts.functions, PAPER_FUNCTIONS);
      const activations = list("--activations", opts.activations, PAPER_ACTIVATIONS);
      const jobs = positiveInt("--jobs", opts.jobs);
      const shard = resolveShard(opts.shard, process.env as Record<string, string>);
      const experiment = await registry.experiment("1d");
      const configFile = opts.config ??
        (existsSync(join("configs", experiment.defaultConfig))
          ? join("configs", experiment.defaultConfig)
          : join(CONFIG_DIR, experiment.defaultConfig));
      const base = await loadConfigFile(configFile);
      const seeds = opts.seeds === undefined
        ? [Number(base.seed)]
        : list("--seeds", opts.seeds, []).map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) {
            throw new UserError(
              `Cannot reproduce as --seeds must list integers in [0, 2^32 - 1]: '${s}' is not one`,
            );
          }
          return n;
        });
      const all = buildCells({ functions, activations, seeds });
      const mine = shardCells(all, shard);
      const out = opts.out;
      const planned = await planJobs({
        out,
        base,
        sets: opts.set,
        cells: mine,
        validate: async (config, cell) => {
          const where = `${configFile} (cell ${cell.name})`;
          validateWith(commonSchema, config, where);
          await experiment.validate?.(config, where, registry);
          await validateRunConfig(config, where, experiment, registry);
        },
      });
      await writePlanFile(out, {
        experiment: "1d",
        functions,
        activations,
        seeds,
        sets: opts.set,
        cells: all.map(({ name, fn, activation, seed }) => ({ name, fn, activation, seed })),
      });
      const toRun = planned.filter((j) => j.action !== "skip").length;
      console.log(
        `reproduce 1d · ${all.length} cells` +
          (shard.count > 1
            ? ` · shard ${shard.index}/${shard.count} (${shard.source}): ${mine.length}`
            : "") +
          ` · ${toRun} to train, ${mine.length - toRun} finished · ${jobs} at a time · ${out}`,
      );

      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) exit(130);
        console.error(
          "\ninterrupt: no new cell starts; running cells save a checkpoint and stop " +
            "(Ctrl-C again to quit now)",
        );
        controller.abort();
      };
      const removeInterrupt = onInterrupt(onSigint);
      const started = performance.now();
      let results;
      try {
        let n = 0;
        const width = String(planned.length).length;
        const tag = () => `[${String(++n).padStart(width)}/${planned.length}]`;
        results = await runJobs(planned, {
          parallel: jobs,
          self: selfCommand(jobs),
          args: (job) =>
            trainArgs(job, {
              experiment: "1d",
              configFile,
              out,
              sets: opts.set,
              device: opts.device,
              // Several cells at once: each on one core (a 1d run otherwise splits its
              // ensemble over two), unless the user chose.
              workers: jobs > 1 && !opts.set.some((s) => s.startsWith("training_options.workers="))
                ? 1
                : undefined,
            }),
          signal: controller.signal,
          onStart: (job) => console.log(`  ${job.cell.name}: ${describeJob(job)}`),
          onEnd: (r) => {
            const s = r.status;
            const mse = s.testMse && s.testMse.length
              ? ` · median test MSE ${median(s.testMse).toExponential(3)}`
              : "";
            const what = r.outcome === "skipped"
              ? `skipped (${s.state === "diverged" ? "diverged before" : "finished"})`
              : r.outcome === "done"
              ? `done in ${r.seconds.toFixed(0)} s${mse}`
              : r.outcome === "interrupted"
              ? `interrupted after epoch ${s.epoch}; re-run to resume`
              : r.outcome === "diverged"
              ? `diverged (exit 3); see ${join(r.job.dir, "train.log")}`
              : `FAILED (exit ${r.exitCode}) after ${r.seconds.toFixed(0)} s; see ` +
                `${join(r.job.dir, "train.log")}:\n${r.tail ?? ""}`;
            console.log(`${tag()} ${r.job.cell.name}: ${what}`);
          },
        });
      } finally {
        removeInterrupt();
      }
      const seconds = (performance.now() - started) / 1000;
      const bad = results.filter((r) => r.outcome === "failed" || r.outcome === "interrupted");
      const notRun = planned.length - results.length;
      console.log(
        `trained ${results.filter((r) => r.outcome === "done").length} cell(s) in ` +
          `${seconds.toFixed(0)} s` +
          (bad.length ? `; ${bad.length} failed or interrupted` : "") +
          (notRun ? `; ${notRun} not started` : ""),
      );
      if (shard.count === 1) {
        await runMerge(out, registry, {
          certify: opts.certify,
          device: opts.device ?? "auto",
        });
      } else {
        console.log(
          `shard ${shard.index}/${shard.count} done; when all are: reproduce merge ${out}`,
        );
      }
      if (bad.length || notRun) setExitCode(1);
    });
}

function mergeCommand(registry: Registry) {
  return new Command("merge")
    .description(
      "build the table (Markdown, CSV, bar chart) of a reproduce folder from the cells it holds",
    )
    .argument("<DIR>", "the folder given to reproduce --out")
    .option("--no-certify", "leave the certified bound out (certify takes a few seconds per cell)")
    .addOption(
      new Option("-d, --device <device>", "where certify computes")
        .choices(DEVICE_CHOICES)
        .default("auto" as DeviceChoice),
    )
    .addHelpText(
      "after",
      "\nWrites DIR/table.md, table.csv, table.png and table.svg. Missing cells read '—',\n" +
        "unfinished ones are marked † (values of their last evaluated epoch), diverged ones ‡.\n" +
        "Each finished cell is certified once (its certify.json is reused while newer than\n" +
        "its checkpoint).",
    )
    .action(async (dir: string, opts) => {
      await runMerge(dir, registry, { certify: opts.certify, device: opts.device });
    });
}

/**
 * Build the `reproduce` command (`reproduce 1d`, `reproduce merge`).
 *
 * @example
 * ```ts ignore
 * program.addCommand(reproduceCommand(registry));
 * ```
 */
export function reproduceCommand(registry: Registry) {
  return new Command("reproduce")
    .description(
      "the paper's comparison table in one command: train every cell (locally or as a " +
        "cluster array job), then merge",
    )
    .addCommand(oneDCommand(registry))
    .addCommand(mergeCommand(registry));
}
