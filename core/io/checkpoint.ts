/**
 * Checkpoints as HDF5 files (docs/backends.md, "Pitfalls for contributors"), readable with h5py.
 *
 * Layout: each tensor is a float32 (`<f4`) dataset with its shape; a name with `/` (e.g.
 * `model/linear0/weight`) becomes nested groups. The root carries the attributes
 * `format` = `"lipspline-checkpoint"`, `format_version` = 1 and `lipspline_meta` (a JSON
 * string of {@linkcode Checkpoint.meta}). Writes are atomic: a temp file in the same
 * directory is written, closed, then renamed onto the target path.
 *
 * @module
 */

import h5wasm from "h5wasm/node";
import { rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { UserError } from "../errors.ts";
import { hdf5FileState } from "./hdf5_file.ts";

/** The value of the root `format` attribute. */
const CHECKPOINT_FORMAT = "lipspline-checkpoint";
/** The value of the root `format_version` attribute written by this version. */
const CHECKPOINT_FORMAT_VERSION = 1;
const META_ATTR = "lipspline_meta";

/** One stored tensor: its shape and float32 values in row-major order. */
export interface StoredTensor {
  /** Dimensions; `[]` for a scalar. */
  shape: number[];
  /** Row-major values; length is the product of `shape`. */
  data: Float32Array;
}

/** A checkpoint: named tensors (names may contain `/`) and JSON-serialisable metadata. */
export interface Checkpoint {
  /** Tensors by name, e.g. `model/linear0/weight`. */
  tensors: Record<string, StoredTensor>;
  /** Any JSON-serialisable metadata (config, epoch, RNG state, ...). */
  meta: Record<string, unknown>;
}

type H5Group = InstanceType<typeof h5wasm.Group>;

let readyPromise: Promise<unknown> | null = null;
/** Wait once for the h5wasm module. */
function h5ready(): Promise<unknown> {
  readyPromise ??= h5wasm.ready;
  return readyPromise;
}

/** Split and check a tensor name into its non-empty `/`-separated parts. */
function nameParts(name: string): string[] {
  const parts = name.split("/");
  if (name.length === 0 || parts.some((p) => p.length === 0 || p === "." || p === "..")) {
    throw new UserError(
      `Cannot write the checkpoint as tensor names must be non-empty parts separated by "/": ` +
        `name is "${name}"`,
    );
  }
  return parts;
}

/** Check names, shapes and sizes; also that no tensor name is a prefix group of another. */
function validate(ckpt: Checkpoint): void {
  const names = Object.keys(ckpt.tensors);
  const groups = new Set<string>();
  for (const name of names) {
    const parts = nameParts(name);
    for (let i = 1; i < parts.length; i++) groups.add(parts.slice(0, i).join("/"));
    const t = ckpt.tensors[name];
    if (!(t.data instanceof Float32Array)) {
      throw new UserError(
        `Cannot write the checkpoint as tensor data must be a Float32Array: "${name}" is not`,
      );
    }
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new UserError(
        `Cannot write the checkpoint as shapes must be non-negative integers: ` +
          `"${name}" has shape [${t.shape.join(", ")}]`,
      );
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new UserError(
        `Cannot write the checkpoint as the data length must match the shape: "${name}" has ` +
          `shape [${t.shape.join(", ")}] (size ${size}) and ${t.data.length} values`,
      );
    }
  }
  for (const name of names) {
    if (groups.has(name)) {
      throw new UserError(
        `Cannot write the checkpoint as a tensor name is also a group of another: "${name}"`,
      );
    }
  }
}

/**
 * Write `ckpt` to the HDF5 file `path` (absolute or relative to the cwd), atomically: a temp
 * file `<path>.tmp-<random>` is written and closed, then renamed onto `path`. On failure
 * the temp file is removed and `path` is left as it was.
 */
export async function writeCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  validate(ckpt);
  const metaJson = JSON.stringify(ckpt.meta ?? {});
  const dir = dirname(path);
  const dirOk = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!dirOk) {
    throw new UserError(
      `Cannot write the checkpoint as its directory does not exist: ${dir} (for ${path})`,
    );
  }
  await h5ready();
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  let file: InstanceType<typeof h5wasm.File> | null = null;
  try {
    file = new h5wasm.File(tmp, "w");
    if (file.file_id < 0n) {
      throw new UserError(
        `Cannot write the checkpoint as the file cannot be created: ${tmp} (for ${path})`,
      );
    }
    file.create_attribute("format", CHECKPOINT_FORMAT);
    file.create_attribute("format_version", CHECKPOINT_FORMAT_VERSION, null, "<i4");
    file.create_attribute(META_ATTR, metaJson);
    const groups = new Map<string, H5Group>([["", file]]);
    // Create every group level explicitly (create_group("a/b") does not, docs/backends.md, "Pitfalls for contributors").
    const groupFor = (parts: string[]): H5Group => {
      let key = "";
      let g = file as H5Group;
      for (const p of parts) {
        key = key === "" ? p : `${key}/${p}`;
        let next = groups.get(key);
        if (next === undefined) {
          next = g.create_group(p);
          groups.set(key, next);
        }
        g = next;
      }
      return g;
    };
    for (const name of Object.keys(ckpt.tensors).sort()) {
      const parts = nameParts(name);
      const t = ckpt.tensors[name];
      groupFor(parts.slice(0, -1)).create_dataset({
        name: parts[parts.length - 1],
        data: t.data,
        shape: t.shape,
        dtype: "<f4",
      });
    }
    file.close();
    file = null;
    try {
      await rename(tmp, path);
    } catch (e) {
      throw new UserError(
        `Cannot write the checkpoint as the temp file cannot be renamed onto the path: ` +
          `${path} (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`,
      );
    }
  } catch (e) {
    try {
      file?.close();
    } catch { /* already failing; keep the first error */ }
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Throw a one-line UserError for `path` unless it exists and starts like an HDF5 file. */
async function checkHdf5File(path: string): Promise<void> {
  const expected = `an HDF5 lipspline checkpoint (${CHECKPOINT_FORMAT})`;
  const state = await hdf5FileState(path);
  if (state === "missing") {
    throw new UserError(
      `Cannot read the checkpoint as the file does not exist: ${path} (expected ${expected})`,
    );
  }
  if (state === "not-hdf5") {
    throw new UserError(
      `Cannot read the checkpoint as the file is not an HDF5 file: ${path} (expected ${expected})`,
    );
  }
}

/**
 * Read a checkpoint written by {@linkcode writeCheckpoint}: every dataset under the root
 * becomes a tensor named by its path (without the leading `/`). Throws `UserError` naming
 * `path` when the file is missing, not HDF5, or not a lipspline checkpoint.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  await checkHdf5File(path);
  await h5ready();
  const file = new h5wasm.File(path, "r");
  if (file.file_id < 0n) {
    throw new UserError(`Cannot read the checkpoint as HDF5 cannot open the file: ${path}`);
  }
  try {
    const format = file.attrs["format"]?.value;
    if (format !== CHECKPOINT_FORMAT) {
      throw new UserError(
        `Cannot read the checkpoint as the file lacks the format attribute ` +
          `"${CHECKPOINT_FORMAT}": ${path} (format is ${
            format === undefined ? "missing" : JSON.stringify(format)
          })`,
      );
    }
    const version = file.attrs["format_version"]?.value;
    if (typeof version !== "number" || version > CHECKPOINT_FORMAT_VERSION) {
      throw new UserError(
        `Cannot read the checkpoint as its format_version must be at most ` +
          `${CHECKPOINT_FORMAT_VERSION}: ${path} (format_version is ${String(version)})`,
      );
    }
    const metaRaw = file.attrs[META_ATTR]?.value;
    let meta: Record<string, unknown> = {};
    if (metaRaw !== undefined) {
      try {
        meta = JSON.parse(String(metaRaw));
      } catch {
        throw new UserError(
          `Cannot read the checkpoint as its ${META_ATTR} attribute is not valid JSON: ${path}`,
        );
      }
    }
    const tensors: Record<string, StoredTensor> = {};
    const walk = (g: H5Group, prefix: string): void => {
      for (const key of g.keys()) {
        const name = prefix === "" ? key : `${prefix}/${key}`;
        const entity = g.get(key);
        if (entity instanceof h5wasm.Group) {
          walk(entity, name);
        } else if (entity instanceof h5wasm.Dataset) {
          const value = entity.value;
          let data: Float32Array;
          if (value instanceof Float32Array) data = value;
          else if (typeof value === "number") data = new Float32Array([value]);
          else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
            data = Float32Array.from(value as ArrayLike<number>, Number);
          } else {
            throw new UserError(
              `Cannot read the checkpoint as dataset "${name}" is not numeric: ${path}`,
            );
          }
          tensors[name] = { shape: [...(entity.shape ?? [])], data };
        }
      }
    };
    walk(file, "");
    return { tensors, meta };
  } finally {
    file.close();
  }
}
