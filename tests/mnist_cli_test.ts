/**
 * Short CLI runs of the MNIST experiments on a slice of MNIST (docs/method.md §5.2–5.3): `wgan`
 * (two steps; the discriminator's linear layers unprojected to keep it fast, the downsample
 * layers Björck-projected), then `wasserstein` against that run's generator, `sample`, and the
 * one-line exit-2 errors for a missing or mismatched generator checkpoint; `certify` of the
 * discriminator (the downsample layers' true bounds in the product, exit 1 above `--max`) and
 * `report` of both runs. Independent commands run side by side to keep the test short.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./helpers.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";

const dir = await Deno.makeTempDir();
const slice = [
  "--set",
  "training_options.max_train_images=128",
  "--set",
  "training_options.max_val_images=64",
  "--set",
  "training_options.epochs=1",
  "--set",
  `log_dir=${dir}`,
  "--device",
  "cpu",
  "--quiet",
];

Deno.test({
  name: "wgan, wasserstein and sample run from the CLI on a slice of MNIST",
  sanitizeResources: false,
  async fn() {
    try {
      // A missing generator checkpoint: one line, exit 2 (run beside the wgan training).
      const missingRun = runCli([
        "train",
        "--exp",
        "wasserstein",
        "--config",
        "configs/config_wasserstein_cpu.json",
        ...slice,
        "--set",
        "exp_name=m",
        "--set",
        "training_options.generator_checkpoint=nope.h5",
      ]);
      const g = await runCli([
        "train",
        "--exp",
        "wgan",
        "--config",
        "configs/config_wgan_cpu.json",
        ...slice,
        "--set",
        "training_options.max_train_images=64",
        "--set",
        "exp_name=g",
        "--set",
        "discriminator_net_params.projection=no_projection",
      ]);
      assert.equal(g.code, 0, g.stderr + g.stdout);
      const missing = await missingRun;
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
      assert.match(missing.stderr, /generator_checkpoint.*nope\.h5/);
      const gdir = join(dir, "g");
      const ck = await readCheckpoint(join(gdir, "checkpoint.h5"));
      assert.ok(ck.tensors["model/generator/bn0/running_mean"]);
      assert.ok(ck.tensors["model/discriminator/downsample1/weight"]);
      await Deno.stat(join(gdir, "figures", "samples_0.png"));
      const rows = (await Deno.readTextFile(join(gdir, "metrics.jsonl"))).trim().split("\n");
      assert.ok(Number.isFinite(JSON.parse(rows[0]).w1_estimate));

      const out = join(dir, "s.h5");
      const [w, s, cert] = await Promise.all([
        runCli([
          "train",
          "--exp",
          "wasserstein",
          "--config",
          "configs/config_wasserstein_cpu.json",
          ...slice,
          "--set",
          "exp_name=w",
          "--set",
          "net_params.layer_sizes=[784,16,1]",
          "--set",
          "training_options.batch_size=64",
          "--set",
          "training_options.fake_pool_size=128",
          "--set",
          "training_options.val_fakes=64",
          "--set",
          `training_options.generator_checkpoint=${join(gdir, "checkpoint.h5")}`,
        ]),
        runCli(["sample", gdir, "--n", "5", "--out", out, "--device", "cpu"]),
        runCli([
          "certify",
          gdir,
          "--device",
          "cpu",
          "--random",
          "4",
          "--adversarial",
          "0",
          "--json",
        ]),
      ]);
      assert.equal(w.code, 0, w.stderr + w.stdout);
      // The linear layers are unprojected here: the product exceeds --max 1, exit 1; the
      // downsample layers report their true bound (not 1).
      assert.equal(cert.code, 1, cert.stderr + cert.stdout);
      const c = JSON.parse(cert.stdout.slice(cert.stdout.indexOf("{")));
      const down = c.layers.filter((l: { kind: string }) => l.kind === "lipschitz_downsample");
      assert.equal(down.length, 2, cert.stdout);
      for (const l of down) assert.ok(l.bound > 0 && l.bound !== 1, cert.stdout);
      assert.ok(c.product > 1);
      const wrow = JSON.parse((await Deno.readTextFile(join(dir, "w", "metrics.jsonl"))).trim());
      assert.ok(Number.isFinite(wrow.w1_estimate));
      const wck = await readCheckpoint(join(dir, "w", "checkpoint.h5"));
      assert.ok(wck.tensors["model/critic/linear0/weight"]);

      assert.equal(s.code, 0, s.stderr);
      const sk = await import("h5wasm/node");
      await sk.default.ready;
      const f = new sk.default.File(out, "r");
      const ds = f.get("images") as InstanceType<typeof sk.default.Dataset>;
      assert.deepEqual(ds.shape, [5, 28, 28]);
      const v = ds.value as Float32Array;
      assert.ok(v.every((x) => x >= 0 && x <= 1));
      f.close();

      // A checkpoint without a generator (the critic's): one line, exit 2; beside it, the
      // reports of both runs.
      const [wrong, rg, rw] = await Promise.all([
        runCli([
          "train",
          "--exp",
          "wasserstein",
          "--config",
          "configs/config_wasserstein_cpu.json",
          ...slice,
          "--set",
          "exp_name=x",
          "--set",
          "net_params.layer_sizes=[784,16,1]",
          "--set",
          "training_options.batch_size=64",
          "--set",
          `training_options.generator_checkpoint=${join(dir, "w", "checkpoint.h5")}`,
        ]),
        runCli(["report", gdir]),
        runCli(["report", join(dir, "w")]),
      ]);
      assert.equal(rg.code, 0, rg.stderr);
      assert.equal(rw.code, 0, rw.stderr);
      const hg = await Deno.readTextFile(join(gdir, "report.html"));
      assert.match(hg, /alt="samples_0\.png"/);
      assert.match(hg, /alt="activation_discriminator_activation0\.png"/);
      assert.match(hg, /Certification/);
      const hw = await Deno.readTextFile(join(dir, "w", "report.html"));
      assert.match(hw, /alt="activation_critic_activation0\.png"/);
      assert.match(hw, /alt="curves\.png"/);
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
      assert.match(wrong.stderr, /model\/generator/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
