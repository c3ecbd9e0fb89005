/**
 * A diverging run as a new user meets it: `train --exp 1d --set optimizer.lr_weights=1e30` stops at
 * the first non-finite loss with one line naming epoch and step, exit code 3, no `null` metrics.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./helpers.ts";

Deno.test("a diverging 1d run stops with exit code 3 and one line naming epoch and step", async () => {
  const dir = await Deno.makeTempDir();
  const r = await runCli([
    "train",
    "--exp",
    "1d",
    "--device",
    "cpu",
    "--set",
    "optimizer.lr_weights=1e30",
    "--set",
    "training_options.nbr_models=2",
    "--set",
    "training_options.epochs=3",
    "--set",
    `log_dir=${dir}`,
    "--set",
    "exp_name=div",
  ]);
  assert.equal(r.code, 3, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^error: Training diverged at epoch 0, step \d+: the loss is (NaN|-?Infinity)\. Likely cause: learning rates too high \(optimizer\.lr_weights 1e\+30/,
  );
  const metrics = await Deno.readTextFile(join(dir, "div", "metrics.jsonl")).catch(() => "");
  assert.ok(!metrics.includes("null"), metrics);
  await Deno.remove(dir, { recursive: true });
});
