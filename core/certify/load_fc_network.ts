/**
 * Load a trained network from a run folder (`config.json`, `run.json`, `checkpoint.h5`) or from a
 * checkpoint file whose folder holds `config.json`: rebuild it from the config with
 * {@linkcode buildFcNetwork} (an ensemble of `nbr_models` for the 1d experiment) and restore its
 * parameters (`model/<parameter name>` tensors). Used by `certify`.
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { tf } from "../backend/tf.ts";
import { UserError } from "../errors.ts";
import { readCheckpoint } from "../io/checkpoint.ts";
import { restoreParameters } from "../io/parameter_store.ts";
import { buildFcNetwork, type FcNetParams, type Network } from "../nn/fc_network.ts";
import { activationParamsSchema, fcNetSchema, validateWith } from "../config/config.ts";
import type { ActivationParams, PluginResolver } from "../plugin/interfaces.ts";
import { RUN_FILES } from "../io/run_dir.ts";
import { MT19937 } from "../rng/mt19937.ts";

/** A network rebuilt from a run, with what it was trained for. */
export interface LoadedNetwork {
  /** The network, parameters restored. */
  net: Network;
  /** The run's resolved config. */
  config: Record<string, unknown>;
  /** Experiment name (from `run.json`, else the checkpoint's metadata). */
  experiment: string;
  /** Number of models of an ensemble checkpoint (1d: `meta.nbr_models`). */
  ensemble?: number;
  /** Number of input features (`net_params.layer_sizes[0]`). */
  inputDim: number;
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
 * Rebuild the network of a run folder or a checkpoint file and restore its parameters.
 * Missing or unreadable files are a `UserError` naming the path.
 *
 * @example
 * ```ts ignore
 * const { net, inputDim, ensemble } = await loadTrainedNetwork("runs/1d_exps/test", registry);
 * ```
 */
export async function loadTrainedNetwork(
  pathOrRunDir: string,
  registry: PluginResolver,
): Promise<LoadedNetwork> {
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
    | { experiment?: unknown }
    | undefined;
  const ck = await readCheckpoint(source);
  const experiment = typeof run?.experiment === "string"
    ? run.experiment
    : typeof ck.meta.experiment === "string"
    ? ck.meta.experiment
    : "unknown";

  const netParams = cfg.net_params as Record<string, unknown> | undefined;
  if (!netParams || !Array.isArray(netParams.layer_sizes)) {
    throw new UserError(
      `Cannot load the trained network as only fully connected networks are supported: ` +
        `${configPath} has no net_params.layer_sizes (experiment ${experiment})`,
    );
  }
  const net = validateWith(fcNetSchema, netParams, `${configPath} (net_params)`) as FcNetParams;
  const activation = validateWith(
    activationParamsSchema,
    cfg.activation_fn_params,
    `${configPath} (activation_fn_params)`,
  ) as ActivationParams;

  // Ensemble size: the checkpoint's nbr_models, else a leading [M] axis on the first weight.
  let ensemble: number | undefined;
  const nm = ck.meta.nbr_models;
  if (typeof nm === "number" && Number.isInteger(nm) && nm > 0) ensemble = nm;
  else {
    const w = ck.tensors["model/linear0/weight"];
    if (w && w.shape.length === 3) ensemble = w.shape[0];
  }

  const seed = typeof cfg.seed === "number" ? cfg.seed : 0;
  const network = await buildFcNetwork({
    tf,
    registry,
    rng: new MT19937(seed),
    net,
    activation,
    ensemble,
  });
  restoreParameters(tf, network.parameters(), ck.tensors, source);
  return {
    net: network,
    config: cfg,
    experiment,
    ensemble,
    inputDim: net.layer_sizes[0],
    source,
    runDir,
    meta: ck.meta,
  };
}
