/**
 * Third-party plugins from the CLI: a plugin file outside the repository, importing only the
 * public API's types, registered with `--plugin`, trains, certifies (its bound reported) and gets
 * its activation figure; `plugins list --plugin` lists it; `plugins new activation NAME` writes a
 * plugin and test that pass fmt, lint, check and test as generated.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers.ts";

const root = new URL("..", import.meta.url).pathname;

Deno.test("an outside plugin trains with --plugin, certifies and gets its figure", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lipspline-plugin-"));
  try {
    const file = join(dir, "smooth_abs.ts");
    await copyFile(join(root, "examples/plugins/smooth_abs.ts"), file);
    const listed = await runCli(["plugins", "list", "--plugin", file]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /activation\s+smooth_abs\s+1\.0\.0/);
    const run = join(dir, "runs", "sa");
    const r = await runCli([
      "train",
      "--exp",
      "1d",
      "-q",
      "-d",
      "cpu",
      "--plugin",
      file,
      ...[
        "activation_fn_params.activation_type=smooth_abs",
        "training_options.epochs=1",
        "training_options.nbr_models=2",
        "dataset.training_dataset_size=50",
        "dataset.testing_dataset_size=50",
        `log_dir=${dir}/runs`,
        "exp_name=sa",
      ].flatMap((s) => ["--set", s]),
    ], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(run, "figures", "activation_activation0.svg")), "no figure");
    const info = JSON.parse(await readFile(join(run, "run.json"), "utf8"));
    assert.deepEqual(info.plugins, [`file://${file}`]);
    // certify finds the plugin through run.json, without --plugin.
    const c = await runCli(["certify", run], dir);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /activation0\s+smooth_abs\s+1\s/);
    assert.match(c.stdout, /CERTIFIED: product 1 <= max 1/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

Deno.test("plugins new activation writes a plugin and a test that pass as generated", async () => {
  const dir = await Deno.makeTempDir({ dir: root, prefix: ".plugin_new_" });
  try {
    const r = await runCli(["plugins", "new", "activation", "neg_slope", "--dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imports lipspline as "\.\.\/"/);
    for (const args of [["fmt", "--check"], ["lint"], ["test", "-A"]]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [...args, dir],
        cwd: root,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `deno ${args.join(" ")}: ${text}`);
    }
    const again = await runCli(["plugins", "new", "activation", "neg_slope", "--dir", dir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; give --force/);
    const bad = await runCli(["plugins", "new", "layer", "x", "--dir", dir]);
    assert.equal(bad.code, 2);
  } finally {
    await rm(dir, { recursive: true });
  }
});
