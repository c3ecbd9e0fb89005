/**
 * The strict-key step of `train`'s validation, run before any run folder is made: every key of
 * the config must be declared by the experiment's schema or, inside an activation or network
 * section, by a plugin (`PluginBase.options`). See {@linkcode validateRunConfig}.
 *
 * @module
 */
import { z, type ZodType } from "zod";
import { authorsSchemas, type Config, validateWith } from "./config.ts";
import {
  checkKnownKeys,
  type KnownTree,
  knownTreeFromSchema,
  mergeKnownTrees,
} from "./strict_keys.ts";
import type { Experiment, OptionsSchema, Plugin, PluginKind } from "../plugin/interfaces.ts";
import type { Registry } from "../plugin/registry.ts";

/** Keys holding activation parameters: `activation_fn_params` and the WGAN's two variants. */
export const ACTIVATION_SECTION: RegExp = /(^|_)activation_fn_params$/;
/** Keys holding network parameters, whose projection plugin adds keys: `net_params`. */
export const NET_SECTION: RegExp = /(^|_)net_params$/;

/** The section kinds whose known keys come from plugins: kind and the key naming the plugin. */
const SECTIONS: ReadonlyArray<{ pattern: RegExp; kind: PluginKind; nameKey: string }> = [
  { pattern: ACTIVATION_SECTION, kind: "activation", nameKey: "activation_type" },
  { pattern: NET_SECTION, kind: "projection", nameKey: "projection" },
];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The config schema of `experiment`: the one it declares in `options`, else the authors' schema
 * of its name (wasserstein, wgan, denoising until they become plugins), else `undefined`.
 */
export function experimentSchema(experiment: Experiment): OptionsSchema | ZodType | undefined {
  if (experiment.options) return experiment.options;
  return (authorsSchemas as Record<string, ZodType | undefined>)[experiment.name];
}

async function builtinKeys(registry: Registry, kind: PluginKind): Promise<KnownTree> {
  const plugins = await Promise.all(registry.names(kind).map((n) => registry.load(kind, n)));
  return mergeKnownTrees(...plugins.map((p) => knownTreeFromSchema(p.options)));
}

/** The plugin a section names (`activation_type`, `projection`), or `undefined`. */
async function namedPlugin(
  registry: Registry,
  kind: PluginKind,
  section: unknown,
  nameKey: string,
): Promise<Plugin | undefined> {
  const name = isPlainObject(section) ? section[nameKey] : undefined;
  return typeof name === "string" && name !== "" ? await registry.load(kind, name) : undefined;
}

/**
 * The keys known in `config`: those of `schema` (the experiment's), plus, in every activation
 * section, `activation_type` and the keys declared by every built-in activation and by the
 * activation the section names (a module path brings its own), and in every `net_params`, the
 * keys declared by every built-in projection and by the named one.
 *
 * @example
 * ```ts ignore
 * const tree = await knownTreeForConfig(authorsSchemas.wgan, config, registry);
 * checkKnownKeys(config, tree, "configs/config_wgan.json");
 * ```
 */
export async function knownTreeForConfig(
  schema: OptionsSchema | ZodType,
  config: Config,
  registry: Registry,
): Promise<KnownTree> {
  const builtins = new Map<PluginKind, KnownTree>();
  const walk = async (tree: KnownTree, node: unknown): Promise<KnownTree> => {
    const out: KnownTree = { ...tree };
    for (const [key, sub] of Object.entries(tree)) {
      if (sub === true) continue;
      const value = isPlainObject(node) ? node[key] : undefined;
      const section = SECTIONS.find((s) => s.pattern.test(key));
      let merged = sub;
      if (section) {
        if (!builtins.has(section.kind)) {
          builtins.set(section.kind, await builtinKeys(registry, section.kind));
        }
        const named = await namedPlugin(registry, section.kind, value, section.nameKey);
        merged = mergeKnownTrees(
          sub,
          { [section.nameKey]: true },
          builtins.get(section.kind)!,
          knownTreeFromSchema(named?.options),
        );
      }
      out[key] = await walk(merged, value);
    }
    return out;
  };
  return await walk(knownTreeFromSchema(schema), config);
}

/**
 * Check the keys of `config` (loaded from `file`) for `experiment`: throw a one-line `UserError`
 * for a key nothing declares, with the nearest known key, then validate each section against the
 * schema of the plugin it names. Does nothing when the experiment has no schema. `train` calls it
 * right after `experiment.validate`, before the run folder exists.
 *
 * @example
 * ```ts ignore
 * await validateRunConfig(config, "configs/config_1d.json", experiment, registry);
 * ```
 */
export async function validateRunConfig(
  config: Config,
  file: string,
  experiment: Experiment,
  registry: Registry,
): Promise<void> {
  const schema = experimentSchema(experiment);
  if (!schema) return;
  checkKnownKeys(config, await knownTreeForConfig(schema, config, registry), file);
  // The values of the named plugins' own keys, e.g. a third-party activation's.
  for (const [key, value] of Object.entries(config)) {
    const section = SECTIONS.find((s) => s.pattern.test(key));
    if (!section || !isPlainObject(value)) continue;
    const plugin = await namedPlugin(registry, section.kind, value, section.nameKey);
    const options = plugin?.options;
    if (!options) continue;
    const shape = "_zod" in options ? (options as z.ZodObject).shape : options;
    validateWith(z.looseObject({ [key]: z.looseObject(shape as z.ZodRawShape) }), config, file);
  }
}
