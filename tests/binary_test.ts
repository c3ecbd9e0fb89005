/**
 * The Bun single binary (`deno task binary` → dist/lipspline-bun), alone in an empty folder with
 * the example plugin next to it: trains a short 1d run on cpu and on wasm with the plugin named
 * by path and writes its activation figure; the cpu run is certified. Skipped when the binary has not been
 * built (CI builds it first, .ci/run).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const binary = join(root, "dist", "lipspline-bun");

async function run(cwd: string, args: string[]) {
  const out = await new Deno.Command(join(cwd, "lipspline-bun"), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "the Bun binary alone trains with a plugin file by path, draws it and certifies it",
  ignore: !existsSync(binary),
  async fn() {
    const dir = await mkdtemp(join(tmpdir(), "lipspline-bin-"));
    try {
      await copyFile(binary, join(dir, "lipspline-bun"));
      await Deno.chmod(join(dir, "lipspline-bun"), 0o755);
      await copyFile(join(root, "examples/plugins/smooth_abs.ts"), join(dir, "smooth_abs.ts"));
      for (const device of ["cpu", "wasm"]) {
        const r = await run(dir, [
          "train",
          "--exp",
          "1d",
          "-q",
          "-d",
          device,
          ...[
            "activation_fn_params.activation_type=./smooth_abs.ts",
            "training_options.epochs=1",
            "training_options.nbr_models=2",
            "dataset.training_dataset_size=50",
            "dataset.testing_dataset_size=50",
            "log_dir=runs",
            `exp_name=${device}`,
          ].flatMap((s) => ["--set", s]),
        ]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`device ${device}`));
        const run_ = join(dir, "runs", device);
        assert.ok(existsSync(join(run_, "figures", "activation_activation0.png")), r.stdout);
        if (device !== "cpu") continue;
        const c = await run(dir, ["certify", run_]);
        assert.equal(c.code, 0, c.stdout + c.stderr);
        assert.match(c.stdout, /activation0\s+smooth_abs\s+1\s/);
        assert.match(c.stdout, /CERTIFIED/);
      }
      // A broken plugin: one line, exit 2, no run folder (same contract check as deno run).
      const bad = await run(dir, [
        "train",
        "--exp",
        "1d",
        "--set",
        "activation_fn_params.activation_type=./missing.ts",
        "--set",
        "log_dir=bad_runs",
      ]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
      assert.ok(!existsSync(join(dir, "bad_runs")));
    } finally {
      await rm(dir, { recursive: true });
    }
  },
});
