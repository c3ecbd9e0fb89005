/**
 * Reading (and writing) the generator the `wasserstein` experiment compares MNIST against
 * (docs/method.md §5.2): a lipspline checkpoint holding `model/generator/...` tensors — a `wgan`
 * run's `checkpoint.h5`/`best.h5`, or a generator-only file written by {@linkcode writeGeneratorFile}
 * whose tensors may be stored as IEEE float16 bit patterns (uint16, metadata `float16_bits: true`)
 * to halve its size (the file shipped in `data/`).
 *
 * @module
 */
import {
  type ActivationParams,
  type Checkpoint,
  MT19937,
  type Network,
  type PluginResolver,
  readCheckpoint,
  restoreParameters,
  type StoredTensor,
  type TF,
  UserError,
} from "../../../plugin.ts";
import { buildGenerator } from "../wgan/networks.ts";
import h5wasm from "h5wasm/node";
import { stat } from "node:fs/promises";

/** float32 → IEEE half bits (round to nearest even). */
export function toHalfBits(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && mant ? 0x200 : 0);
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h; // a carry out of the mantissa correctly bumps the exponent
}

/** IEEE half bits → number. */
export function fromHalfBits(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Write the generator tensors of `ckpt` (`model/generator/...`) to `path` as a lipspline
 * checkpoint whose datasets are float16 bit patterns (uint16), plus its activation parameters.
 */
export async function writeGeneratorFile(path: string, ckpt: Checkpoint): Promise<number> {
  await h5wasm.ready;
  const names = Object.keys(ckpt.tensors).filter((n) =>
    n.startsWith("model/generator/") && !n.includes("adam_")
  );
  const f = new h5wasm.File(path, "w");
  let bytes = 0;
  try {
    f.create_attribute("format", "lipspline-checkpoint");
    f.create_attribute("format_version", 1, null, "<i4");
    f.create_attribute(
      "lipspline_meta",
      JSON.stringify({
        experiment: "wgan",
        float16_bits: true,
        generator_activation_fn_params: ckpt.meta.generator_activation_fn_params ??
          { activation_type: "relu" },
      }),
    );
    const groups = new Map<string, InstanceType<typeof h5wasm.Group>>();
    for (const name of names) {
      const parts = name.split("/");
      let g: InstanceType<typeof h5wasm.Group> = f;
      let key = "";
      for (const p of parts.slice(0, -1)) {
        key += "/" + p;
        let next = groups.get(key);
        if (!next) {
          next = g.create_group(p) as InstanceType<typeof h5wasm.Group>;
          groups.set(key, next);
        }
        g = next;
      }
      const t = ckpt.tensors[name];
      const data = Uint16Array.from(t.data, toHalfBits);
      bytes += data.byteLength;
      g.create_dataset({ name: parts[parts.length - 1], data, shape: t.shape, dtype: "<H" });
    }
  } finally {
    f.close();
  }
  return bytes;
}

/** The generator of `path`, rebuilt and restored, in evaluation mode for sampling. */
export async function loadGenerator(
  tf: TF,
  registry: PluginResolver,
  path: string,
  key: string,
): Promise<Network> {
  const ok = await stat(path).then((s) => s.isFile(), () => false);
  if (!ok) {
    throw new UserError(`Cannot load the generator as ${key} names no file: ${path}`);
  }
  const ckpt = await readCheckpoint(path);
  if (ckpt.meta.float16_bits === true) {
    for (const t of Object.values(ckpt.tensors) as StoredTensor[]) {
      t.data = Float32Array.from(t.data, fromHalfBits);
    }
  }
  const act =
    (ckpt.meta.generator_activation_fn_params ?? { activation_type: "relu" }) as ActivationParams;
  const gen = await buildGenerator(tf, registry, new MT19937(0), act);
  try {
    restoreParameters(tf, gen.parameters(), ckpt.tensors, `${path} (${key})`);
  } catch (e) {
    gen.dispose();
    throw e;
  }
  return gen;
}
