/**
 * The lipspline command line: `train`, `plugins list`, `report`, `certify`.
 * User mistakes print one line on stderr and exit with code 2; a diverging run (a non-finite
 * loss or parameter) exits with code 3; other failures exit with 1.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { createRegistry } from "../core/plugin/registry.ts";
import { DivergedError, isUserError } from "../core/errors.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { trainCommand } from "./commands/train.ts";
import { pluginsCommand } from "./commands/plugins.ts";
import { reportCommand } from "./commands/report.ts";
import { certifyCommand } from "./commands/certify.ts";
import { dataCommand } from "./commands/data.ts";
import { denoiseCommand } from "./commands/denoise.ts";
import { reproduceCommand } from "./commands/reproduce.ts";
import { sampleCommand } from "./commands/sample.ts";
import { VERSION } from "./version.ts";
import { cliArgs, exit, pendingExitCode } from "./runtime.ts";
import { useEmbeddedAssets } from "./embedded_assets.ts";

const registry = createRegistry(builtinPlugins);

const program = new Command()
  .name("lipspline")
  .description(
    "Train 1-Lipschitz neural networks with learnable linear-spline activations\n" +
      "(Ducotterd et al., JMLR 2024) and the baselines they are compared against.",
  )
  .version(VERSION)
  .exitOverride()
  .showHelpAfterError("(run with --help for usage)");

for (
  const cmd of [
    trainCommand(registry),
    pluginsCommand(registry),
    reportCommand(),
    certifyCommand(registry),
    reproduceCommand(registry),
    dataCommand(),
    denoiseCommand(registry),
    sampleCommand(registry),
  ]
) {
  program.addCommand(cmd as unknown as Command);
}
// Route every (sub)command's usage errors through the catch below (exit code 2).
const overrideAll = (c: Command): void => {
  c.exitOverride();
  c.commands.forEach((sub) => overrideAll(sub as unknown as Command));
};
overrideAll(program as unknown as Command);

try {
  await useEmbeddedAssets();
  await program.parseAsync(cliArgs(), { from: "user" });
  // A command that completed but failed its check (certify: not certified) set the exit code.
  exit(pendingExitCode());
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here with code 0; usage mistakes were already printed.
    exit(e.exitCode === 0 ? 0 : 2);
  }
  if (isUserError(e)) {
    console.error(`error: ${e.message}`);
    exit(2);
  }
  if (e instanceof DivergedError) {
    console.error(`error: ${e.message}`);
    exit(3);
  }
  console.error(e);
  exit(1);
}
