/**
 * Shared test helpers: start a backend with lipspline's kernels, compare arrays, run the CLI.
 *
 * @module
 */
import { tf } from "../core/backend/tf.ts";
import { type DeviceChoice, initBackend } from "../core/backend/backend.ts";
import { registerKernelsFor } from "../core/kernels/index.ts";
import { applyOverrides, loadConfigFile } from "../core/config/config.ts";
import { createRegistry, type Registry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { silentProgress } from "../core/output/progress.ts";
import type { ExperimentContext, Metrics } from "../core/plugin/interfaces.ts";
import { hostOps } from "../core/plugin/host_ops.ts";

/** Start `name` (default cpu) with lipspline's kernels registered. */
export async function useBackend(name: DeviceChoice = "cpu"): Promise<string> {
  const info = await initBackend(name);
  await registerKernelsFor(info.name);
  return info.name;
}

/** Largest absolute difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Result of a CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `deno run -A cli/main.ts ...args` in `cwd` (default: the project root). */
export async function runCli(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const main = new URL("../cli/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      main,
      ...args,
    ],
    cwd: cwd ?? new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Start `deno run -A cli/main.ts ...args` in the project root and press Ctrl-C (SIGINT) once
 * `metricsFile` holds more than `lines` lines (waits up to 30 s); returns the exit code.
 */
export async function interruptCli(
  args: string[],
  metricsFile: string,
  lines = 4,
): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli/main.ts", import.meta.url).pathname, ...args],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const text = await Deno.readTextFile(metricsFile).catch(() => "");
    if (text.split("\n").length > lines) break;
  }
  child.kill("SIGINT");
  return (await child.status).code;
}

export { tf };
/** The host's ops, as the host hands them to plugins in their contexts. */
export { hostOps };

/**
 * An in-process experiment context for tests: `configs/config_<exp>.json` with `--set`-style
 * overrides, a fresh temporary run folder, silent progress, seed-5 RNG, and `logMetrics`
 * forwarded to `onMetrics`.
 */
export async function testContext(
  overrides: string[],
  onMetrics: (m: Metrics) => void = () => {},
  exp = "1d",
): Promise<ExperimentContext & { registry: Registry }> {
  const config = applyOverrides(
    await loadConfigFile(new URL(`../configs/config_${exp}.json`, import.meta.url).pathname),
    overrides,
  );
  return {
    tf,
    ops: hostOps,
    config,
    runDir: await Deno.makeTempDir(),
    registry: createRegistry(builtinPlugins),
    rng: new MT19937(5),
    progress: silentProgress(),
    log: () => {},
    logMetrics: (m) => {
      onMetrics(m);
      return Promise.resolve();
    },
  };
}
