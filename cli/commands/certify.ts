/**
 * `lipspline certify RUN_DIR|CHECKPOINT`: prove and measure that the trained networks of a run
 * (every network the experiment's `loadNetworks` rebuilds) are 1-Lipschitz. Prints each module's
 * bound (the worst model's, for an ensemble), their product,
 * an empirical lower bound (largest Jacobian norm over random and adversarially searched inputs)
 * and a verdict per network; writes `RUN_DIR/certify.json` (shown by `report`; a `networks`
 * section per network when there are several). Exit code 1 when a network's product exceeds `--max` (+ `--tolerance`), when a module is unbounded, or when the empirical bound
 * exceeds the product (a wrong bound); 2 for user mistakes.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { setExitCode } from "../runtime.ts";
import { join } from "node:path";
import { DEVICE_CHOICES, type DeviceChoice, initBackend } from "../../core/backend/backend.ts";
import { certifyNetwork, type CertifyResult } from "../../core/certify/certify.ts";
import { loadTrainedNetworks } from "../../core/certify/load_trained.ts";
import { UserError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../core/io/atomic_write.ts";
import { formatNumber, formatTable } from "../../core/output/progress.ts";
import { MT19937 } from "../../core/rng/mt19937.ts";
import type { PluginResolver, TrainedNetwork } from "../../core/plugin/interfaces.ts";
import { VERSION } from "../version.ts";

/** Options of {@linkcode runCertify} (the command's flags, as given). */
export interface CertifyCliOptions {
  inputShape?: string;
  /** `LO,HI`; default: each network's own input range (from the experiment). */
  box?: string;
  max: string;
  tolerance: string;
  random: string;
  adversarial: string;
  steps: string;
  seed: string;
  json: boolean;
  device: DeviceChoice;
}

/** What {@linkcode runCertify} returns: the exit code and what it printed. */
export interface CertifyOutcome {
  /**
   * 0: certified; 1: not certified (some network's product > max + tolerance, unbounded, or
   * unsound).
   */
  code: number;
  /** The first network's result (the only one for 1d). */
  result: CertifyResult;
  /** Every network's certificate, in the experiment's order. */
  networks: NetworkCertificate[];
  /** The lines printed on stdout. */
  lines: string[];
}

function parseNumber(flag: string, v: string, check: (n: number) => boolean, what: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || !check(n)) {
    throw new UserError(`Cannot certify as ${flag} must be ${what}: it is '${v}'`);
  }
  return n;
}

function parseCount(flag: string, v: string, min: number): number {
  return parseNumber(flag, v, (n) => Number.isInteger(n) && n >= min, `an integer >= ${min}`);
}

/** Parse `1`, `[1]`, `3,32,32` or `3x32x32` into positive integers. */
function parseShape(v: string): number[] {
  const parts = v.replace(/^\[|\]$/g, "").split(/[,x×\s]+/).filter((s) => s !== "");
  const dims = parts.map(Number);
  if (dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UserError(
      `Cannot certify as --input-shape must be positive integers like 1 or 3,32,32: it is '${v}'`,
    );
  }
  return dims;
}

function parseBox(v: string): [number, number] {
  const parts = v.replace(/^\[|\]$/g, "").split(",").map((s) => s.trim());
  const [lo, hi] = parts.map(Number);
  if (parts.length !== 2 || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) {
    throw new UserError(
      `Cannot certify as --box must be two numbers LO,HI with LO < HI: it is '${v}'`,
    );
  }
  return [lo, hi];
}

const fmt = (v: number | null): string => v === null ? "unbounded" : formatNumber(v, 6);

/** One network's certificate within a run. */
export interface NetworkCertificate {
  /** The network's label from the experiment (`model`, `discriminator`, ...). */
  label: string;
  result: CertifyResult;
  /** 0 when this network is certified, else 1. */
  code: number;
  verdict: string;
  inputShape: number[];
  ensemble?: number;
}

/** Certify one rebuilt network and say whether it passes. */
async function certifyOne(
  tn: TrainedNetwork,
  o: {
    shape?: number[];
    box?: [number, number];
    random: number;
    adversarial: number;
    steps: number;
    seed: number;
    max: number;
    tolerance: number;
    source: string;
  },
): Promise<NetworkCertificate> {
  const inputShape = o.shape ?? tn.inputShape;
  const features = inputShape.reduce((a, b) => a * b, 1);
  const inputDim = tn.inputShape.reduce((a, b) => a * b, 1);
  if (features !== inputDim) {
    throw new UserError(
      `Cannot certify ${o.source} as --input-shape [${inputShape}] has ${features} ` +
        `features and the network ${tn.label} takes ${inputDim}`,
    );
  }
  const result = await certifyNetwork(tn.net, {
    inputDim,
    inputShape,
    ensemble: tn.ensemble,
    random: o.random,
    adversarial: o.adversarial,
    steps: o.steps,
    box: o.box ?? tn.box,
    rng: new MT19937(o.seed),
  });
  const unbounded = result.layers.filter((l) => l.bound === null).map((l) => l.name);
  const unsound = result.product !== null &&
    result.empirical > result.product * (1 + 1e-4) + 1e-6;
  const exceeds = result.product === null || result.product > o.max + o.tolerance;
  const code = exceeds || unsound ? 1 : 0;
  const verdict = unbounded.length
    ? `NOT CERTIFIED: unbounded module(s) ${unbounded.join(", ")} (no bound is assumed)`
    : unsound
    ? `NOT CERTIFIED: the empirical bound ${fmt(result.empirical)} exceeds the product ` +
      `${fmt(result.product)}, so a module's bound is wrong`
    : exceeds
    ? `NOT CERTIFIED: product ${fmt(result.product)} > max ${o.max} (+ tolerance ${o.tolerance})`
    : `CERTIFIED: product ${fmt(result.product)} <= max ${o.max} (+ tolerance ${o.tolerance})`;
  return { label: tn.label, result, code, verdict, inputShape, ensemble: tn.ensemble };
}

/** The `certify.json` fields of one network's certificate. */
function certificateJson(c: NetworkCertificate): Record<string, unknown> {
  const { result, ensemble: M } = c;
  const w = result.worstModel;
  return {
    layers: result.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      bound: l.bound,
      ...(w !== undefined && l.perModel ? { worst_model_bound: l.perModel[w] } : {}),
      method: l.method,
    })),
    product: result.product,
    empirical: result.empirical,
    certified: c.code === 0,
    verdict: c.verdict,
    ...(M ? { nbr_models: M, worst_model: w, per_model: result.perModel } : {}),
  };
}

/** The printed lines of one network's certificate (table, product, empirical, verdict). */
function certificateLines(c: NetworkCertificate): string[] {
  const { result, ensemble: M } = c;
  const w = result.worstModel;
  const features = c.inputShape.reduce((a, b) => a * b, 1);
  const lines: string[] = [];
  lines.push(formatTable(result.layers.map((l) => {
    const row: Record<string, string> = { layer: l.name, kind: l.kind };
    if (M && w !== undefined) {
      row[`bound (model ${w})`] = fmt(l.perModel ? l.perModel[w] : l.bound);
      row["max over models"] = fmt(l.bound);
    } else row.bound = fmt(l.bound);
    return row;
  })));
  lines.push(
    `product bound    ${fmt(result.product)}` + (M ? ` (worst of ${M} models: model ${w})` : ""),
  );
  const s = result.search;
  lines.push(
    `empirical bound  ${fmt(result.empirical)} (largest ‖J(x)‖ over ${s.random} random + ` +
      `${s.adversarial} searched inputs${M ? " per model" : ""} in [${s.box}]^${features}; ` +
      `ascent: ${s.secondOrder})`,
  );
  lines.push(c.verdict);
  return lines;
}

/**
 * Load, certify and report one run (the command's body, callable in-process): every network
 * the experiment's `loadNetworks` rebuilds is certified. Writes `certify.json` into the run
 * folder and returns the exit code (1 unless every network is certified) instead of exiting.
 */
export async function runCertify(
  target: string,
  opts: CertifyCliOptions,
  registry: PluginResolver,
  print: (line: string) => void = console.log,
): Promise<CertifyOutcome> {
  const max = parseNumber("--max", opts.max, (n) => n > 0, "a positive number");
  const tolerance = parseNumber("--tolerance", opts.tolerance, (n) => n >= 0, "a number >= 0");
  const random = parseCount("--random", opts.random, 1);
  const adversarial = parseCount("--adversarial", opts.adversarial, 0);
  const steps = parseCount("--steps", opts.steps, 0);
  const seed = parseCount("--seed", opts.seed, 0);
  const box = opts.box === undefined ? undefined : parseBox(opts.box);
  const shape = opts.inputShape === undefined ? undefined : parseShape(opts.inputShape);

  await initBackend(opts.device);
  const started = performance.now();
  const loaded = await loadTrainedNetworks(target, registry);
  const certificates: NetworkCertificate[] = [];
  try {
    for (const tn of loaded.networks) {
      certificates.push(
        await certifyOne(tn, {
          shape,
          box,
          random,
          adversarial,
          steps,
          seed,
          max,
          tolerance,
          source: loaded.source,
        }),
      );
    }
  } finally {
    for (const tn of loaded.networks) tn.net.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const code = certificates.some((c) => c.code !== 0) ? 1 : 0;
  const single = certificates.length === 1 ? certificates[0] : undefined;
  const products = certificates.map((c) => c.result.product);
  const product = products.some((p) => p === null) ? null : Math.max(...(products as number[]));
  const empirical = Math.max(...certificates.map((c) => c.result.empirical));
  const failed = certificates.filter((c) => c.code !== 0).map((c) => c.label);
  const verdict = single
    ? single.verdict
    : failed.length
    ? `NOT CERTIFIED: network(s) ${failed.join(", ")} (of ${certificates.length})`
    : `CERTIFIED: all ${certificates.length} networks, every product <= max ${max} ` +
      `(+ tolerance ${tolerance})`;

  const common = {
    max,
    tolerance,
    experiment: loaded.experiment,
    checkpoint: loaded.source,
    epoch: loaded.meta.epoch,
  };
  const trailer = { seed, seconds, lipspline: VERSION, date: new Date().toISOString() };
  const saved = single
    ? {
      ...certificateJson(single),
      ...common,
      network: single.label,
      input_shape: single.inputShape,
      search: single.result.search,
      ...trailer,
    }
    : {
      product,
      empirical,
      certified: code === 0,
      verdict,
      ...common,
      networks: certificates.map((c) => ({
        network: c.label,
        ...certificateJson(c),
        input_shape: c.inputShape,
        search: c.result.search,
      })),
      ...trailer,
    };
  await writeFileAtomic(
    join(loaded.runDir, "certify.json"),
    JSON.stringify(saved, null, 2) + "\n",
  );

  const lines: string[] = [];
  const brief = (r: CertifyResult) => ({
    layers: r.layers.map((l) => ({ name: l.name, kind: l.kind, bound: l.bound })),
    product: r.product,
    empirical: r.empirical,
  });
  if (opts.json) {
    lines.push(JSON.stringify(
      single ? brief(single.result) : {
        networks: certificates.map((c) => ({ network: c.label, ...brief(c.result) })),
        product,
        empirical,
      },
    ));
  } else if (single) {
    const M = single.ensemble;
    lines.push(
      `certify ${loaded.source} · experiment ${loaded.experiment}` +
        (M ? ` · ${M} models` : "") + ` · input [${single.inputShape}]`,
    );
    lines.push(...certificateLines(single));
    lines.push(`wrote ${join(loaded.runDir, "certify.json")} in ${seconds.toFixed(1)} s`);
  } else {
    lines.push(
      `certify ${loaded.source} · experiment ${loaded.experiment} · ` +
        `${certificates.length} networks`,
    );
    for (const c of certificates) {
      lines.push(
        `network ${c.label}` + (c.ensemble ? ` · ${c.ensemble} models` : "") +
          ` · input [${c.inputShape}]`,
      );
      lines.push(...certificateLines(c));
    }
    lines.push(verdict);
    lines.push(`wrote ${join(loaded.runDir, "certify.json")} in ${seconds.toFixed(1)} s`);
  }
  for (const l of lines) print(l);
  return { code, result: certificates[0].result, networks: certificates, lines };
}

/**
 * Build the `certify` command.
 *
 * @example
 * ```ts ignore
 * program.addCommand(certifyCommand(registry));
 * ```
 */
export function certifyCommand(registry: PluginResolver) {
  return new Command("certify")
    .description(
      "prove and measure that a trained network is 1-Lipschitz: per-layer bounds, their product, " +
        "an empirical lower bound",
    )
    .argument("<RUN_DIR|CHECKPOINT>", "run folder (log_dir/exp_name) or its checkpoint.h5")
    .option(
      "--input-shape <dims>",
      "per-sample input shape, e.g. 1 or 3,32,32 (default: from the config)",
    )
    .option(
      "--box <lo,hi>",
      "random inputs have every coordinate in [lo, hi] (default: the experiment's input range)",
    )
    .option("--max <number>", "certify that the product bound is at most this", "1")
    .option("--tolerance <number>", "allowed excess of the product over --max", "1e-3")
    .option("--random <n>", "random inputs per model for the empirical bound", "1000")
    .option("--adversarial <m>", "inputs per model searched by ascent on the Jacobian norm", "16")
    .option("--steps <k>", "ascent steps per searched input", "30")
    .option("--seed <n>", "seed of the random inputs and the search", "0")
    .option(
      "--json",
      "print one JSON object {layers: [{name, kind, bound}], product, empirical}",
      false,
    )
    .addOption(
      new Option(
        "-d, --device <device>",
        "where to compute: auto picks WebGPU on a real GPU, else the fastest CPU route",
      )
        .choices(DEVICE_CHOICES)
        .default("auto" as DeviceChoice),
    )
    .addHelpText(
      "after",
      "\nBounds come from each module's current parameters; a module without one is reported as\n" +
        "unbounded (never assumed 1). Every network the experiment trains is certified (exit 1\n" +
        "unless all are; --json then prints {networks: [...], product, empirical}). For an\n" +
        "ensemble (1d: nbr_models) every model is certified:\n" +
        "'bound' in --json is the worst over the models per layer, 'product' the worst model's\n" +
        "product, 'empirical' the largest over all models. Exit code 1 when the product exceeds\n" +
        "--max + --tolerance (or is unbounded, or lies below the empirical bound); 2 for bad input.\n" +
        "Also writes RUN_DIR/certify.json, which `report` shows.",
    )
    .action(async (target: string, opts) => {
      const { code } = await runCertify(target, opts as CertifyCliOptions, registry);
      // The CLI's entry point exits with this code (main.ts: pendingExitCode()).
      if (code !== 0) setExitCode(code);
    });
}
