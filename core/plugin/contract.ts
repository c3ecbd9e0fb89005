/**
 * The activation contract, checked by `train` before any run folder exists: every activation a
 * config names is built and run once on a tiny input of the shape it will get (fully connected
 * `[2, C]`, `[M, 2, C]` for an ensemble, NHWC `[2, 3, 3, C]` for a convolution). A forward that
 * throws, changes the shape or returns a non-finite value, and an instance without
 * `lipschitzBound()` or whose bound is not a number or `null`, are one-line `UserError`s naming
 * the plugin and the config key that names it.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type {
  ActivationInstance,
  ActivationParams,
  ActivationUse,
  Experiment,
  PluginResolver,
} from "./interfaces.ts";
import type { TF } from "../backend/tf.ts";
import { isUserError, UserError } from "../errors.ts";
import { MT19937 } from "../rng/mt19937.ts";
import { hostOps } from "./host_ops.ts";

const SECTION = /(^|_)activation_fn_params$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hidden(sizes: unknown): number[] {
  if (!Array.isArray(sizes) || sizes.length < 3) return [];
  const inner = sizes.slice(1, -1).filter((n): n is number => Number.isInteger(n) && n > 0);
  return [...new Set(inner)];
}

/**
 * Where `config` uses activations: the experiment's own answer (`activationUses`) when it has
 * one, else every top-level `*activation_fn_params` section whose sibling `*net_params` gives
 * `layer_sizes` (fully connected, hidden widths) or `num_channels` (convolutional). A section
 * whose shapes cannot be told is skipped.
 *
 * @example
 * ```ts
 * import { activationUses } from "./contract.ts";
 * const uses = activationUses({
 *   activation_fn_params: { activation_type: "relu" },
 *   net_params: { layer_sizes: [1, 10, 10, 1] },
 * });
 * // [{ section: "activation_fn_params", channels: [10], mode: "fc" }]
 * ```
 */
export function activationUses(
  config: Record<string, unknown>,
  experiment?: Pick<Experiment, "activationUses">,
): ActivationUse[] {
  if (experiment?.activationUses) return experiment.activationUses(config);
  const uses: ActivationUse[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!SECTION.test(key) || !isObject(value)) continue;
    const net = config[key.replace(/activation_fn_params$/, "net_params")];
    if (!isObject(net)) continue;
    const fc = hidden(net.layer_sizes);
    const conv = hidden(net.num_channels);
    if (fc.length) uses.push({ section: key, channels: fc, mode: "fc" });
    else if (conv.length) uses.push({ section: key, channels: conv, mode: "conv" });
  }
  return uses;
}

function shapeOf(use: ActivationUse, channels: number): number[] {
  const base = use.mode === "conv" ? [2, 3, 3, channels] : [2, channels];
  return use.ensemble ? [use.ensemble, ...base] : base;
}

/** A deterministic input spanning `[-2, 2]`, so that kinks at 0 and saturation are exercised. */
function probe(tf: TF, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, (_, i) => n === 1 ? 0.5 : -2 + (4 * i) / (n - 1));
  return tf.tensor(v, shape);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split("\n")[0] || (e instanceof Error ? e.name : "error")).trim();
}

/**
 * Check the contract of one activation instance on an input of `shape`: the forward keeps the
 * shape and is finite, and `lipschitzBound()` exists and gives a number or `null`. Returns the
 * problem in words, or `null` when it holds. Frees what it allocates (not the instance).
 *
 * @example
 * ```ts ignore
 * const problem = await activationProblem(tf, instance, [2, 10]); // null when fine
 * ```
 */
export async function activationProblem(
  tf: TF,
  inst: ActivationInstance,
  shape: number[],
): Promise<string | null> {
  if (!inst || typeof inst.forward !== "function") return "its create() returned no forward()";
  if (typeof inst.parameters !== "function") return "its instance has no parameters()";
  const x = probe(tf, shape);
  let y: unknown;
  try {
    y = inst.forward(x);
  } catch (e) {
    x.dispose();
    return `its forward threw on an input of shape ${fmt(shape)}: ${firstLine(e)}`;
  }
  x.dispose();
  if (!(y instanceof Object) || !Array.isArray((y as Tensor).shape)) {
    return `its forward returned no tensor on an input of shape ${fmt(shape)}`;
  }
  const out = y as Tensor;
  try {
    if (out.shape.join() !== shape.join()) {
      return `its forward changed the shape ${fmt(shape)} to ${fmt(out.shape)}`;
    }
    const values = await out.data();
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      return `its forward returned ${values[bad]} on an input of shape ${
        fmt(shape)
      } (values in [-2, 2])`;
    }
  } finally {
    out.dispose();
  }
  if (typeof inst.lipschitzBound !== "function") {
    return "its instance has no lipschitzBound(), so no run with it can be certified";
  }
  let bound: unknown;
  try {
    bound = await inst.lipschitzBound();
  } catch (e) {
    return `its lipschitzBound() threw: ${firstLine(e)}`;
  }
  const value = isObject(bound) ? bound.value : undefined;
  if (!(value === null || (typeof value === "number" && Number.isFinite(value) && value >= 0))) {
    return `its lipschitzBound() gave ${
      JSON.stringify(bound)
    } (expected { value: a number ≥ 0 or null, method })`;
  }
  return null;
}

/**
 * Build every activation `config` names (`uses`, see {@linkcode activationUses}) and check its
 * contract on a tiny input; throws a one-line `UserError` naming the plugin, the config file and
 * key, and the problem. The instances' parameters are freed.
 *
 * @example
 * ```ts ignore
 * await checkActivationContracts(tf, registry, config, "configs/config_1d.json", experiment);
 * ```
 */
export async function checkActivationContracts(
  tf: TF,
  registry: PluginResolver,
  config: Record<string, unknown>,
  file: string,
  experiment?: Pick<Experiment, "activationUses">,
): Promise<void> {
  for (const use of activationUses(config, experiment)) {
    const params = config[use.section] as ActivationParams | undefined;
    const name = params?.activation_type;
    if (typeof name !== "string" || name === "") continue;
    const plugin = await registry.activation(name);
    const where = `the activation ${name} (${file}: ${use.section}.activation_type)`;
    for (const channels of use.channels) {
      plugin.validate?.(params!, channels);
      const shape = shapeOf(use, channels);
      let inst: ActivationInstance | undefined;
      let problem: string | null;
      try {
        inst = plugin.create({
          tf,
          ops: hostOps,
          channels,
          mode: use.mode,
          ensemble: use.ensemble,
          params: params!,
          name: "contract_check",
          rng: new MT19937(0),
        });
        problem = await activationProblem(tf, inst, shape);
      } catch (e) {
        if (isUserError(e)) throw e;
        problem = `its create() threw: ${firstLine(e)}`;
      } finally {
        try {
          for (const p of inst?.parameters?.() ?? []) p.variable.dispose();
        } catch {
          // a broken parameters() is reported above
        }
      }
      if (problem) throw new UserError(`Cannot use ${where} as ${problem}`);
    }
  }
}
