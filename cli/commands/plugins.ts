/**
 * `lipspline plugins list`: the built-in plugins by kind (and those registered with `--plugin`),
 * with versions and descriptions; `lipspline plugins new activation NAME`: a new plugin and its
 * test.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import type { Registry } from "../../core/plugin/registry.ts";
import type { PluginKind } from "../../core/plugin/interfaces.ts";
import { formatTable } from "../../core/output/progress.ts";
import { UserError } from "../../core/errors.ts";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { PROJECT_ROOT } from "../paths.ts";
import { activationPluginSource, activationTestSource } from "./plugin_template.ts";

/** Build the `plugins` command. */
export function pluginsCommand(registry: Registry) {
  const cmd = new Command("plugins").description("inspect plugins");
  cmd.command("list")
    .description("list built-in activations, layers, projections and experiments")
    .option(
      "-p, --plugin <path>",
      "also register and list a plugin file (repeatable)",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (opts) => {
      for (const path of opts.plugin) await registry.register(path);
      const rows = [];
      for (const kind of ["activation", "layer", "projection", "experiment"] as PluginKind[]) {
        for (const name of registry.names(kind)) {
          const p = await registry.load(kind, name);
          rows.push({ kind, name, version: p.version, description: p.description });
        }
      }
      console.log(formatTable(rows));
      console.log(
        "Any other name in a config is loaded as a module path (e.g. ./my_activation.ts).",
      );
    });
  cmd.command("new")
    .description("write a new plugin and its test (kinds: activation)")
    .argument("<kind>", "the plugin kind: activation")
    .argument("<name>", "the plugin's name, e.g. my_act (letters, digits, _)")
    .option("--dir <dir>", "folder to write NAME.ts and NAME_test.ts in", ".")
    .option(
      "--api <prefix>",
      "how the files import lipspline: a path or import-map prefix of the folder holding plugin.ts, testing.ts and mod.ts (default: the relative path to this lipspline)",
    )
    .option("-f, --force", "overwrite existing files", false)
    .action(async (kind: string, name: string, opts) => {
      const written = await writePluginTemplate(kind, name, opts);
      for (const f of written.files) console.log(`wrote ${f}`);
      console.log(
        `imports lipspline as "${written.api}"; test with: deno test -A ${written.files[1]}`,
      );
      console.log(
        `use with: lipspline train --exp 1d --plugin ${written.files[0]} ` +
          `--set activation_fn_params.activation_type=${name}`,
      );
    });
  return cmd;
}

/**
 * Write `NAME.ts` and `NAME_test.ts` of a new plugin in `opts.dir`. The import prefix is
 * `opts.api`, else the relative path from the folder to this lipspline's root (a source
 * checkout), else `lipspline/` (a compiled binary: map it in the folder's deno.json).
 *
 * @example
 * ```ts ignore
 * await writePluginTemplate("activation", "my_act", { dir: "plugins_local" });
 * ```
 */
export async function writePluginTemplate(
  kind: string,
  name: string,
  opts: { dir?: string; api?: string; force?: boolean },
): Promise<{ files: string[]; api: string }> {
  if (kind !== "activation") {
    throw new UserError(
      `Cannot write a new plugin of kind '${kind}': only 'activation' has a template`,
    );
  }
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new UserError(
      `Cannot write a new plugin named '${name}': use lower-case letters, digits and _ (e.g. my_act)`,
    );
  }
  const dir = opts.dir ?? ".";
  let api = opts.api;
  if (api === undefined) {
    if (existsSync(join(PROJECT_ROOT, "plugin.ts"))) {
      const rel = relative(resolve(dir), PROJECT_ROOT).split(sep).join("/");
      api = rel === "" ? "./" : rel.startsWith(".") ? `${rel}/` : `./${rel}/`;
    } else {
      api = "lipspline/";
    }
  } else if (!api.endsWith("/")) {
    api += "/";
  }
  const files = [join(dir, `${name}.ts`), join(dir, `${name}_test.ts`)];
  if (!opts.force) {
    const there = files.find((f) => existsSync(f));
    if (there) {
      throw new UserError(`Cannot write ${there} as it exists; give --force to overwrite it`);
    }
  }
  await mkdir(dir, { recursive: true });
  await writeFile(files[0], activationPluginSource(name, api));
  await writeFile(files[1], activationTestSource(name, api));
  return { files, api };
}
