/**
 * Load the trained networks of a run folder (`config.json`, `run.json`, `checkpoint.h5`) or of a
 * checkpoint file whose folder holds `config.json`: read the files, resolve the run's experiment
 * through the registry and let its `loadNetworks` hook rebuild the networks and restore their
 * parameters. Used by `certify`.
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { tf } from "../backend/tf.ts";
import { hostOps } from "../plugin/host_ops.ts";
import { UserError } from "../errors.ts";
import { readCheckpoint } from "../io/checkpoint.ts";
import type { PluginResolver, TrainedNetwork } from "../plugin/interfaces.ts";
import { RUN_FILES } from "../io/run_dir.ts";

/** The trained networks of a run, with where they come from. */
export interface LoadedRun {
  /** The networks the experiment's `loadNetworks` rebuilt, parameters restored. */
  networks: TrainedNetwork[];
  /** The run's resolved config. */
  config: Record<string, unknown>;
  /** Experiment name (from `run.json`, else the checkpoint's metadata). */
  experiment: string;
  /** The checkpoint file read. */
  source: string;
  /** The run folder (the checkpoint's folder). */
  runDir: string;
  /** Checkpoint metadata (epoch, completed, ...). */
  meta: Record<string, unknown>;
}

async function kindOf(path: string): Promise<"file" | "dir" | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? "dir" : s.isFile() ? "file" : null;
  } catch {
    return null;
  }
}

async function readJsonFile(path: string, what: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    if (!required) return undefined;
    throw new UserError(`Cannot load the trained network as ${what} does not exist: ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`Cannot load the trained network as ${what} is not valid JSON: ${path}`);
  }
}

/**
 * Rebuild the trained networks of a run folder or a checkpoint file. Missing or unreadable
 * files, an unknown experiment, and an experiment without `loadNetworks` are a one-line
 * `UserError`. The caller disposes the networks (`net.dispose()`).
 *
 * @example
 * ```ts ignore
 * const { networks } = await loadTrainedNetworks("runs/1d_exps/test", registry);
 * ```
 */
export async function loadTrainedNetworks(
  pathOrRunDir: string,
  registry: PluginResolver,
): Promise<LoadedRun> {
  const kind = await kindOf(pathOrRunDir);
  if (kind === null) {
    throw new UserError(
      `Cannot load the trained network as the path does not exist: ${pathOrRunDir} ` +
        `(expected a run folder or a checkpoint file)`,
    );
  }
  const runDir = kind === "dir" ? pathOrRunDir : dirname(pathOrRunDir);
  const source = kind === "dir" ? join(pathOrRunDir, RUN_FILES.checkpoint) : pathOrRunDir;
  const configPath = join(runDir, RUN_FILES.config);
  const config = await readJsonFile(configPath, "the run's config", true);
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new UserError(
      `Cannot load the trained network as the config is not an object: ${configPath}`,
    );
  }
  const cfg = config as Record<string, unknown>;
  if ((await kindOf(source)) !== "file") {
    throw new UserError(
      `Cannot load the trained network as the checkpoint does not exist: ${source}` +
        (kind === "dir" ? " (train the run first, or give the checkpoint path)" : ""),
    );
  }
  const run = await readJsonFile(join(runDir, RUN_FILES.info), RUN_FILES.info, false) as
    | { experiment?: unknown; plugins?: unknown }
    | undefined;
  // Plugin files the run was trained with (`train --plugin`): their names are in the config.
  if (Array.isArray(run?.plugins) && "register" in registry) {
    const reg = registry as PluginResolver & { register(path: string): Promise<unknown> };
    for (const url of run.plugins) if (typeof url === "string") await reg.register(url);
  }
  const checkpoint = await readCheckpoint(source);
  const experiment = typeof run?.experiment === "string"
    ? run.experiment
    : typeof checkpoint.meta.experiment === "string"
    ? checkpoint.meta.experiment
    : undefined;
  if (experiment === undefined) {
    throw new UserError(
      `Cannot certify ${pathOrRunDir} as its experiment is unknown: neither ` +
        `${join(runDir, RUN_FILES.info)} nor the checkpoint names it`,
    );
  }
  const plugin = await registry.experiment(experiment);
  if (typeof plugin.loadNetworks !== "function") {
    throw new UserError(
      `Cannot certify ${pathOrRunDir} as the experiment ${experiment} does not say how to ` +
        `rebuild its networks (its plugin has no loadNetworks)`,
    );
  }
  const networks = await plugin.loadNetworks({
    tf,
    ops: hostOps,
    registry,
    config: cfg,
    checkpoint,
    file: source,
    configFile: configPath,
  });
  if (!Array.isArray(networks) || networks.length === 0) {
    for (const n of Array.isArray(networks) ? networks : []) n.net.dispose();
    throw new UserError(
      `Cannot certify ${pathOrRunDir} as the experiment ${experiment} rebuilt no network`,
    );
  }
  return { networks, config: cfg, experiment, source, runDir, meta: checkpoint.meta };
}
