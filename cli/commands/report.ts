/**
 * `lipspline report RUN_DIR`: write `RUN_DIR/report.html`, one self-contained page with the
 * config, final metrics, certification result and figures of a run.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { writeReport } from "../../core/output/report.ts";

/**
 * Build the `report` command.
 *
 * @example
 * ```ts ignore
 * import { reportCommand } from "./report.ts";
 * await reportCommand().parseAsync(["runs/1d_exps/linearspline"], { from: "user" });
 * ```
 */
export function reportCommand() {
  return new Command("report")
    .description("write RUN_DIR/report.html: config, final metrics, certify result and figures")
    .argument("<RUN_DIR>", "run folder (log_dir/exp_name) of a finished or running run")
    .addHelpText(
      "after",
      "\nThe page is self-contained (figures inlined, no external files) and opens in any browser.",
    )
    .action(async (runDir: string) => {
      const path = await writeReport(runDir);
      console.log(path);
    });
}
