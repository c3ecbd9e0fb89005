/**
 * The one plugin registry: resolves activation, layer, projection and experiment names to
 * plugin objects. Built-in names come from a manifest of lazy `import()`s (so `deno compile`
 * bundles them); any other name that looks like a path or URL is imported at run time.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type {
  Activation,
  Experiment,
  Layer,
  Plugin,
  PluginKind,
  PluginResolver,
  Projection,
} from "./interfaces.ts";
import { UserError } from "../errors.ts";
import process from "node:process";

/** Lazy loaders of built-in plugins, by kind and name. */
export type PluginManifest = {
  [K in PluginKind]: Record<string, () => Promise<{ default: Plugin }>>;
};

/** A registry with listing, for `plugins list`. */
export interface Registry extends PluginResolver {
  /** Built-in names of one kind, sorted. */
  names(kind: PluginKind): string[];
  /** Load any plugin by kind and name or path. */
  load(kind: PluginKind, name: string): Promise<Plugin>;
}

function looksLikePath(name: string): boolean {
  return /^(\.{0,2}\/|file:|https?:)/.test(name) || /\.(ts|js|mjs|mts)$/.test(name);
}

function toUrl(name: string, cwd: string): string {
  if (/^(file:|https?:)/.test(name)) return name;
  return pathToFileURL(isAbsolute(name) ? name : resolve(cwd, name)).href;
}

function checkPlugin(p: unknown, kind: PluginKind, source: string): Plugin {
  const o = p as Partial<Plugin> | undefined;
  if (!o || typeof o !== "object") {
    throw new UserError(`Cannot load plugin ${source} as its module has no default export object`);
  }
  for (const key of ["name", "version"] as const) {
    if (typeof o[key] !== "string") {
      throw new UserError(
        `Cannot load plugin ${source} as its default export has no string '${key}'`,
      );
    }
  }
  if (o.kind !== kind) {
    throw new UserError(
      `Cannot use plugin ${source} as a ${kind}: its kind is ${JSON.stringify(o.kind)}`,
    );
  }
  return o as Plugin;
}

/**
 * Build a registry from a manifest of built-ins.
 *
 * @example
 * ```ts
 * import { createRegistry } from "./registry.ts";
 * import { builtinPlugins } from "../../plugins/builtin.ts";
 * const reg = createRegistry(builtinPlugins);
 * const relu = await reg.activation("relu");
 * ```
 */
export function createRegistry(
  manifest: PluginManifest,
  opts: { cwd?: string } = {},
): Registry {
  const cache = new Map<string, Promise<Plugin>>();
  const cwd = opts.cwd ?? process.cwd();

  const load = (kind: PluginKind, name: string): Promise<Plugin> => {
    const key = `${kind}:${name}`;
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        const builtin = manifest[kind][name];
        if (builtin) return checkPlugin((await builtin()).default, kind, name);
        if (!looksLikePath(name)) {
          throw new UserError(
            `Cannot find the ${kind} '${name}': known ${kind}s are ${
              Object.keys(manifest[kind]).sort().join(", ")
            }, or give a module path such as ./my_plugin.ts`,
          );
        }
        const url = toUrl(name, cwd);
        let mod: { default?: unknown };
        try {
          mod = await import(url);
        } catch (e) {
          throw new UserError(
            `Cannot load the ${kind} plugin ${name}: ${(e as Error).message.split("\n")[0]}`,
          );
        }
        return checkPlugin(mod.default, kind, name);
      })();
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  };

  return {
    names: (kind) => Object.keys(manifest[kind]).sort(),
    load,
    activation: (n) => load("activation", n) as Promise<Activation>,
    layer: (n) => load("layer", n) as Promise<Layer>,
    projection: (n) => load("projection", n) as Promise<Projection>,
    experiment: (n) => load("experiment", n) as Promise<Experiment>,
  };
}
