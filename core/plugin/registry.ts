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
  Experiment,
  Plugin,
  PluginKind,
  PluginResolver,
  ResolvedActivation,
  ResolvedLayer,
  ResolvedProjection,
} from "./interfaces.ts";
import { hostOps } from "./host_ops.ts";
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
  /**
   * Register the plugin file at `path` (`--plugin PATH`): its `name` becomes usable in configs
   * like a built-in's. A name taken by a built-in or another file is a `UserError`.
   */
  register(path: string): Promise<Plugin>;
  /** The absolute file URLs registered so far, in order (recorded in `run.json`). */
  registered(): string[];
}

const KINDS: readonly PluginKind[] = ["activation", "layer", "projection", "experiment"];

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
  return withHostOps(o as Plugin);
}

/**
 * The plugin with a `create` that hands it the host's ops when the caller gave none, so every
 * activation, layer and projection computes on the host's engine and kernels.
 */
function withHostOps(p: Plugin): Plugin {
  if (p.kind === "experiment" || typeof p.create !== "function") return p;
  const create = p.create as (ctx: { ops?: unknown }, options?: unknown) => unknown;
  // The plugin itself stays the prototype: a class instance keeps its methods and getters.
  return Object.assign(Object.create(p), {
    create: (ctx: { ops?: unknown }, options?: unknown) =>
      create.call(p, { ...ctx, ops: ctx.ops ?? hostOps }, options),
  }) as Plugin;
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
  // Plugins registered from files, by kind and name, and the file each came from.
  const extra = new Map<string, { plugin: Plugin; url: string }>();

  const importPlugin = async (kind: string, name: string): Promise<unknown> => {
    const url = toUrl(name, cwd);
    let mod: { default?: unknown };
    try {
      mod = await import(url);
    } catch (e) {
      throw new UserError(
        `Cannot load the ${kind ? `${kind} ` : ""}plugin ${name}: ${
          (e as Error).message.split("\n")[0]
        }`,
      );
    }
    return mod.default;
  };

  const load = (kind: PluginKind, name: string): Promise<Plugin> => {
    const key = `${kind}:${name}`;
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        const builtin = manifest[kind][name];
        if (builtin) return checkPlugin((await builtin()).default, kind, name);
        const registered = extra.get(`${kind}:${name}`);
        if (registered) return registered.plugin;
        if (!looksLikePath(name)) {
          throw new UserError(
            `Cannot find the ${kind} '${name}': known ${kind}s are ${
              Object.keys(manifest[kind]).sort().join(", ")
            }, or give a module path such as ./my_plugin.ts`,
          );
        }
        return checkPlugin(await importPlugin(kind, name), kind, name);
      })();
      cache.set(key, p);
      p.catch(() => cache.delete(key));
    }
    return p;
  };

  const register = async (path: string): Promise<Plugin> => {
    const raw = await importPlugin("", path) as Partial<Plugin> | undefined;
    const kind = raw && typeof raw === "object" ? raw.kind : undefined;
    if (!KINDS.includes(kind as PluginKind)) {
      throw new UserError(
        `Cannot register the plugin ${path} as its default export's kind is ${
          JSON.stringify(kind)
        } (expected one of ${KINDS.join(", ")})`,
      );
    }
    const plugin = checkPlugin(raw, kind as PluginKind, path);
    const url = toUrl(path, cwd);
    if (manifest[plugin.kind][plugin.name]) {
      throw new UserError(
        `Cannot register the plugin ${path} as its name '${plugin.name}' is a built-in ${plugin.kind}; rename it`,
      );
    }
    const key = `${plugin.kind}:${plugin.name}`;
    const before = extra.get(key);
    if (before && before.url !== url) {
      throw new UserError(
        `Cannot register the plugin ${path} as the ${plugin.kind} name '${plugin.name}' is already registered from ${before.url}`,
      );
    }
    extra.set(key, { plugin, url });
    return plugin;
  };

  return {
    names: (kind) =>
      [
        ...Object.keys(manifest[kind]),
        ...[...extra.values()].filter((e) => e.plugin.kind === kind).map((e) => e.plugin.name),
      ].sort(),
    load,
    register,
    registered: () => [...new Set([...extra.values()].map((e) => e.url))],
    activation: (n) => load("activation", n) as Promise<ResolvedActivation>,
    layer: (n) => load("layer", n) as Promise<ResolvedLayer>,
    projection: (n) => load("projection", n) as Promise<ResolvedProjection>,
    experiment: (n) => load("experiment", n) as Promise<Experiment>,
  };
}
