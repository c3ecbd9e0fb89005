/**
 * What the CLI needs from its runtime, through `node:` built-ins so that the same source runs
 * under Deno (`deno run`, `deno compile`) and Bun (`bun build --compile`): arguments, exit codes,
 * the terminal, and Ctrl-C.
 *
 * @module
 */
import process from "node:process";

/** The command-line arguments after the program (and script) name. */
export function cliArgs(): string[] {
  return process.argv.slice(2);
}

/**
 * The exit code a command asked for (`setExitCode`), or 0. Also reads `Deno.exitCode`, which
 * `process.exitCode` does not reflect under Deno when set directly.
 */
export function pendingExitCode(): number {
  const deno = (globalThis as { Deno?: { exitCode?: number } }).Deno;
  return Number(process.exitCode ?? deno?.exitCode ?? 0);
}

/** Ask for `code` as the exit code when the CLI ends (a command that ran but failed its check). */
export function setExitCode(code: number): void {
  process.exitCode = code;
}

/** End the process now with `code`. */
export function exit(code: number): never {
  process.exit(code);
}

/** Whether standard output is a terminal (progress bars are drawn only then). */
export function stdoutIsTerminal(): boolean {
  return process.stdout.isTTY === true;
}

/** Write `text` to standard output as it is (no newline added). */
export function writeStdout(text: string): void {
  process.stdout.write(text);
}

/** Call `handler` on Ctrl-C (SIGINT) instead of ending the process; returns the remover. */
export function onInterrupt(handler: () => void): () => void {
  process.on("SIGINT", handler);
  return () => {
    process.off("SIGINT", handler);
  };
}

/**
 * How to start this CLI again as a child process (`reproduce` runs each cell so): a compiled
 * binary (`deno compile`, `bun build --compile`) runs itself; `deno run` runs `deno run` with the
 * permissions this process holds and `extraDenoArgs` before the main module; `bun` runs the same
 * script.
 */
export function selfInvocation(extraDenoArgs: string[] = []): { cmd: string; prefix: string[] } {
  const exec = process.execPath;
  const name = exec.split(/[\\/]/).pop() ?? "";
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno && /^deno(\.exe)?$/.test(name)) {
    const perms: string[] = [];
    for (const p of ["read", "write", "env", "sys", "ffi", "net"] as const) {
      if (deno.permissions.querySync({ name: p }).state === "granted") perms.push(`--allow-${p}`);
    }
    return {
      cmd: exec,
      prefix: ["run", ...perms, ...extraDenoArgs, new URL(deno.mainModule).pathname],
    };
  }
  if (/^bun(\.exe)?$/.test(name)) return { cmd: exec, prefix: [process.argv[1]] };
  return { cmd: exec, prefix: [] };
}
