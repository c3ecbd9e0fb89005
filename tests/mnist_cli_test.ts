/**
 * Short CLI runs of the MNIST experiments on a slice of MNIST (docs/method.md §5.2–5.3): `wgan`
 * (two steps; the discriminator's linear layers unprojected to keep it fast, the downsample
 * layers Björck-projected), then `wasserstein` against that run's generator, `sample`, and the
 * one-line exit-2 errors for a missing or mismatched generator checkpoint.
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
      const g = await runCli([
        "train",
        "--exp",
        "wgan",
        "--config",
        "configs/config_wgan_cpu.json",
        ...slice,
        "--set",
        "exp_name=g",
        "--set",
        "discriminator_net_params.projection=no_projection",
      ]);
      assert.equal(g.code, 0, g.stderr + g.stdout);
      const gdir = join(dir, "g");
      const ck = await readCheckpoint(join(gdir, "checkpoint.h5"));
      assert.ok(ck.tensors["model/generator/bn0/running_mean"]);
      assert.ok(ck.tensors["model/discriminator/downsample1/weight"]);
      await Deno.stat(join(gdir, "figures", "samples_0.png"));
      const rows = (await Deno.readTextFile(join(gdir, "metrics.jsonl"))).trim().split("\n");
      assert.ok(Number.isFinite(JSON.parse(rows[0]).w1_estimate));

      const w = await runCli([
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
      ]);
      assert.equal(w.code, 0, w.stderr + w.stdout);
      const wrow = JSON.parse((await Deno.readTextFile(join(dir, "w", "metrics.jsonl"))).trim());
      assert.ok(Number.isFinite(wrow.w1_estimate));
      const wck = await readCheckpoint(join(dir, "w", "checkpoint.h5"));
      assert.ok(wck.tensors["model/critic/linear0/weight"]);

      const out = join(dir, "s.h5");
      const s = await runCli(["sample", gdir, "--n", "5", "--out", out, "--device", "cpu"]);
      assert.equal(s.code, 0, s.stderr);
      const sk = await import("h5wasm/node");
      await sk.default.ready;
      const f = new sk.default.File(out, "r");
      const ds = f.get("images") as InstanceType<typeof sk.default.Dataset>;
      assert.deepEqual(ds.shape, [5, 28, 28]);
      const v = ds.value as Float32Array;
      assert.ok(v.every((x) => x >= 0 && x <= 1));
      f.close();

      // A missing generator checkpoint: one line, exit 2.
      const missing = await runCli([
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
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
      assert.match(missing.stderr, /generator_checkpoint.*nope\.h5/);
      // A checkpoint without a generator (the critic's): one line, exit 2.
      const wrong = await runCli([
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
      ]);
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
      assert.match(wrong.stderr, /model\/generator/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
