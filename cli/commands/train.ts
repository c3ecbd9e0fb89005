/**
 * `lipspline train --exp NAME`: load and validate the config, start the backend, prepare the run
 * folder and run the experiment plugin with progress bars, metrics, TensorBoard and checkpoints.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tf } from "../../core/backend/tf.ts";
import { hostOps } from "../../core/plugin/host_ops.ts";
import { checkActivationContracts } from "../../core/plugin/contract.ts";
import { DEVICE_CHOICES, type DeviceChoice, initBackend } from "../../core/backend/backend.ts";
import {
  applyOverrides,
  commonSchema,
  loadConfigFile,
  validateWith,
} from "../../core/config/config.ts";
import { UserError } from "../../core/errors.ts";
import type { ExperimentContext, Metrics } from "../../core/plugin/interfaces.ts";
import { MT19937 } from "../../core/rng/mt19937.ts";
import {
  appendMetrics,
  readRunConfig,
  readRunInfo,
  RUN_FILES,
  type RunInfo,
  startRunDir,
  truncateMetrics,
  writeRunInfo,
} from "../../core/io/run_dir.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { type Checkpoint, readCheckpoint } from "../../core/io/checkpoint.ts";
import { runExperiment } from "../../core/train/run_experiment.ts";
import { validateRunConfig } from "../../core/config/validate_run_config.ts";
import { createProgress, formatTable } from "../../core/output/progress.ts";
import { TensorBoardWriter } from "../../core/metrics/tensorboard.ts";
import type { Registry } from "../../core/plugin/registry.ts";
import { CONFIG_DIR } from "../paths.ts";
import { embeddedConfig } from "../embedded_configs.ts";
import { VERSION } from "../version.ts";
import { exit, onInterrupt, stdoutIsTerminal, writeStdout } from "../runtime.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function resolveConfigPath(given: string | undefined, fallback: string): string {
  if (given) return given;
  const local = join("configs", fallback);
  return existsSync(local) ? local : join(CONFIG_DIR, fallback);
}

/** Build the `train` command. */
export function trainCommand(registry: Registry) {
  return new Command("train")
    .description(
      "train a model of one experiment from a config (the authors' JSON files load unchanged)",
    )
    .option("-e, --exp <name>", "experiment: 1d, or a plugin name or module path")
    .option("-c, --config <file>", "config file (default: configs/config_<exp>.json)")
    .addOption(
      new Option(
        "-d, --device <device>",
        "where to compute: auto (default; a resumed run keeps its device) picks WebGPU on a real GPU, else the fastest CPU route",
      ).choices(DEVICE_CHOICES),
    )
    .option(
      "-s, --set <key=value>",
      "override a config key, e.g. training_options.epochs=10 (repeatable)",
      collect,
      [] as string[],
    )
    .option(
      "-p, --plugin <path>",
      "register a plugin file: its name becomes usable in the config (repeatable)",
      collect,
      [] as string[],
    )
    .option("-r, --resume <run_dir>", "continue an interrupted run from its folder")
    .option("-f, --force", "overwrite a run folder that already holds a run", false)
    .option("-q, --quiet", "no progress bars", false)
    .action(async (opts) => {
      let config: Record<string, unknown>;
      let file: string;
      let expName = opts.exp;
      let resumeFrom: string | undefined;
      let device: DeviceChoice = opts.device ?? "auto";
      for (const path of opts.plugin) await registry.register(path);
      if (opts.resume) {
        file = join(opts.resume, RUN_FILES.config);
        config = await readRunConfig(opts.resume);
        const info = await readRunInfo(opts.resume);
        // The plugin files the run was started with (`--plugin`).
        for (const url of info.plugins ?? []) await registry.register(url);
        if (expName && info.experiment && expName !== info.experiment) {
          throw new UserError(
            `Cannot resume ${opts.resume} as --exp ${expName}: it is a ${info.experiment} run`,
          );
        }
        expName ??= info.experiment;
        // Same numbers as an uninterrupted run need the same backend.
        if (!opts.device && info.device) device = info.device as DeviceChoice;
        resumeFrom = join(opts.resume, RUN_FILES.checkpoint);
        if (!existsSync(resumeFrom)) {
          throw new UserError(
            `Cannot resume ${opts.resume} as it has no checkpoint yet: ${resumeFrom} does not exist; start it again with --force`,
          );
        }
      } else {
        if (!expName) {
          throw new UserError(
            "Cannot train without an experiment: give --exp NAME (e.g. --exp 1d)",
          );
        }
        const experiment = await registry.experiment(expName);
        file = resolveConfigPath(opts.config, experiment.defaultConfig);
        // A single-file binary carries the shipped configs as modules.
        const shipped = !opts.config && !existsSync(file)
          ? embeddedConfig(experiment.defaultConfig)
          : undefined;
        config = shipped ?? await loadConfigFile(file);
      }
      if (!expName) {
        throw new UserError(
          `Cannot resume ${opts.resume} as its run.json does not name the experiment: give --exp`,
        );
      }
      const experiment = await registry.experiment(expName);
      config = applyOverrides(config, opts.set);
      validateWith(commonSchema, config, file);
      await experiment.validate?.(config, file, registry);
      // Unknown keys are errors naming the nearest known key (before any run folder exists).
      await validateRunConfig(config, file, experiment, registry);

      const backend = await initBackend(device);
      // Each named activation runs once on a tiny input of its real shape: a broken plugin is
      // one line here, before any run folder exists.
      await checkActivationContracts(tf, registry, config, file, experiment);
      console.log(
        `lipspline ${VERSION} · experiment ${experiment.name} · device ${backend.description}`,
      );

      let runDir: string;
      let resume: Checkpoint | undefined;
      if (opts.resume) {
        runDir = opts.resume;
        // The checkpoint is read once, here; the training engine restores from this object.
        const ck = resume = await readCheckpoint(resumeFrom!);
        if (ck.meta.completed) {
          throw new UserError(
            `Cannot resume ${runDir} as its run is complete (epoch ${ck.meta.epoch}); start a new one with another exp_name`,
          );
        }
        await truncateMetrics(runDir, Number(ck.meta.epoch));
        await writeFileAtomic(
          join(runDir, RUN_FILES.config),
          JSON.stringify(config, null, 2) + "\n",
        );
        const mid = Number(ck.meta.step_in_epoch ?? 0);
        console.log(
          mid > 0
            ? `resuming ${runDir} at epoch ${Number(ck.meta.epoch) + 1}, step ${mid}`
            : `resuming ${runDir} after epoch ${ck.meta.epoch}`,
        );
      } else {
        runDir = await startRunDir(config, { force: opts.force });
      }
      const info: RunInfo = {
        experiment: experiment.name,
        device: backend.name,
        lipspline: VERSION,
        started: new Date().toISOString(),
        ...(registry.registered().length ? { plugins: registry.registered() } : {}),
      };
      await writeRunInfo(runDir, info);

      const tty = stdoutIsTerminal() && !opts.quiet;
      const progress = createProgress({
        tty,
        write: writeStdout,
      });
      const tb = new TensorBoardWriter(join(runDir, RUN_FILES.tensorboard));
      const tags = experiment.tensorboardTags ?? {};
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) exit(130);
        console.error(
          "\ninterrupt: finishing the current step and saving a checkpoint (Ctrl-C again to quit now)",
        );
        controller.abort();
      };
      const removeInterrupt = onInterrupt(onSigint);
      const ctx: ExperimentContext = {
        tf,
        ops: hostOps,
        config,
        runDir,
        registry,
        rng: new MT19937(Number(config.seed)),
        progress,
        log: (m) => progress.log(m),
        resumeFrom,
        resume,
        signal: controller.signal,
        async logMetrics(m: Metrics) {
          await appendMetrics(runDir, m);
          const step = Number(m.epoch ?? m.step ?? 0);
          for (const [k, v] of Object.entries(m)) {
            if (typeof v === "number" && k !== "epoch") tb.scalar(tags[k] ?? k, v, step);
          }
          await tb.flush();
        },
      };
      try {
        const result = await runExperiment(experiment, ctx);
        console.log(formatTable(
          Object.entries(result.metrics).map(([metric, value]) => ({
            metric,
            value: typeof value === "number" && !Number.isInteger(value)
              ? value.toExponential(4)
              : value,
          })),
        ));
        for (const line of result.summary) console.log(line);
        console.log(`run folder: ${runDir}`);
      } finally {
        removeInterrupt();
        await tb.close();
      }
    });
}
