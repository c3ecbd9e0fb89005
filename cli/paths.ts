/**
 * Where the CLI finds its own files (the shipped configs), both from source and inside a
 * `deno compile` binary (which embeds `configs/` with `--include`).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (parent of `cli/`). */
export const PROJECT_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The shipped `configs/` folder. */
export const CONFIG_DIR: string = join(PROJECT_ROOT, "configs");
