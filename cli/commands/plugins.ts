/**
 * `lipspline plugins list`: the built-in plugins by kind, with versions and descriptions.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import type { Registry } from "../../core/plugin/registry.ts";
import type { PluginKind } from "../../core/plugin/interfaces.ts";
import { formatTable } from "../../core/output/progress.ts";

/** Build the `plugins` command. */
export function pluginsCommand(registry: Registry) {
  const cmd = new Command("plugins").description("inspect plugins");
  cmd.command("list")
    .description("list built-in activations, layers, projections and experiments")
    .action(async () => {
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
  return cmd;
}
