/**
 * Shared test helpers: start a backend with lipspline's kernels, compare arrays, run the CLI.
 *
 * @module
 */
import { tf } from "../core/backend/tf.ts";
import { type DeviceChoice, initBackend } from "../core/backend/backend.ts";
import { registerKernelsFor } from "../core/kernels/index.ts";

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

export { tf };
/** The host's ops, as the host hands them to plugins in their contexts. */
export { hostOps } from "../core/plugin/host_ops.ts";
