/**
 * Telling an HDF5 file from anything else before handing it to h5wasm (which fails on other
 * files with messages no user can act on).
 *
 * @module
 */
import { open, stat } from "node:fs/promises";

/** What {@linkcode hdf5FileState} found at a path. */
export type Hdf5FileState = "missing" | "not-hdf5" | "hdf5";

/**
 * Whether `path` is a regular file carrying the HDF5 superblock signature, which sits at offset
 * 0, 512, 1024, 2048, ... (after an optional user block).
 *
 * @example
 * ```ts ignore
 * if (await hdf5FileState(path) !== "hdf5") throw new UserError(`... ${path}`);
 * ```
 */
export async function hdf5FileState(path: string): Promise<Hdf5FileState> {
  const isFile = await stat(path).then((s) => s.isFile(), () => false);
  if (!isFile) return "missing";
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const buf = new Uint8Array(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      const { bytesRead } = await fh.read(buf, 0, 8, off);
      if (bytesRead === 8 && sig.every((b, i) => buf[i] === b)) return "hdf5";
    }
  } finally {
    await fh.close();
  }
  return "not-hdf5";
}
