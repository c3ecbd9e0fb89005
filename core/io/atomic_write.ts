/**
 * Atomic file writes: write a temporary file in the same folder, then rename it over the target,
 * so a crash or kill never leaves a half-written file behind.
 *
 * @module
 */
import { rename, rm, writeFile } from "node:fs/promises";

/**
 * Write `data` to `path` atomically.
 *
 * @example
 * ```ts ignore
 * await writeFileAtomic("runs/x/config.json", JSON.stringify(cfg));
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
