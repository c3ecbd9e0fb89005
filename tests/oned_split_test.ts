/**
 * The 1d ensemble split over workers (`training_options.workers`, plugins/experiments/oned/
 * parallel.ts) trains every model exactly as the unsplit run does: same parameters, Adam state
 * and test MSE bit for bit, with the native step and with the TF.js step; only `train_loss`
 * differs, by float32 summation order (bounded here).
 * A split run interrupted with SIGINT and resumed ends like an uninterrupted one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { interruptCli, runCli } from "./helpers.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";

function args(
  dir: string,
  name: string,
  workers: number,
  epochs = 4,
  extra: string[] = [],
): string[] {
  const sets = [
    ...extra,
    `training_options.epochs=${epochs}`,
    "training_options.nbr_models=5",
    "dataset.training_dataset_size=60",
    "dataset.testing_dataset_size=100",
    `training_options.workers=${workers}`,
    `log_dir=${dir}`,
    `exp_name=${name}`,
  ];
  return [
    "train",
    "--exp",
    "1d",
    "--device",
    "wasm",
    "--quiet",
    ...sets.flatMap((s) => ["--set", s]),
  ];
}

const rows = (p: string) =>
  Deno.readTextFileSync(p).trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);

async function assertSameModels(a: string, b: string): Promise<void> {
  const ca = await readCheckpoint(join(a, "checkpoint.h5"));
  const cb = await readCheckpoint(join(b, "checkpoint.h5"));
  assert.deepEqual(Object.keys(cb.tensors).sort(), Object.keys(ca.tensors).sort());
  for (const [name, t] of Object.entries(ca.tensors)) {
    assert.deepEqual(cb.tensors[name].shape, t.shape, `shape of ${name}`);
    assert.deepEqual(
      Array.from(cb.tensors[name].data),
      Array.from(t.data),
      `tensor ${name} differs`,
    );
  }
  assert.deepEqual(cb.meta.optimizer_steps, ca.meta.optimizer_steps);
}

Deno.test("a 1d run split over 2 workers trains every model bit for bit like the unsplit run", async () => {
  const dir = await Deno.makeTempDir();
  const one = await runCli(args(dir, "one", 1));
  assert.equal(one.code, 0, one.stderr);
  const two = await runCli(args(dir, "two", 2));
  assert.equal(two.code, 0, two.stderr);
  assert.match(one.stdout, /with the native step/);
  assert.match(two.stdout, /on 2 cores with the native step/);
  // The split of the TF.js step (docs/training.md): the same kernels on wasm, so the same models.
  const generic = await runCli(args(dir, "generic", 2, 4, ["training_options.native_step=false"]));
  assert.equal(generic.code, 0, generic.stderr);
  assert.match(generic.stdout, /on 2 cores\n/);
  // Parameters, Adam moments and the per-model test MSE (`test_mse`) of every model.
  await assertSameModels(join(dir, "one"), join(dir, "two"));
  await assertSameModels(join(dir, "one"), join(dir, "generic"));
  const ra = rows(join(dir, "one", "metrics.jsonl"));
  const rb = rows(join(dir, "two", "metrics.jsonl"));
  assert.equal(rb.length, ra.length);
  for (let i = 0; i < ra.length; i++) {
    for (const k of ["epoch", "median_test_mse", "min_test_mse", "spline_scaling_coeff_mean"]) {
      assert.equal(rb[i][k], ra[i][k], `epoch ${i}: ${k}`);
    }
    // train_loss: per step, the unsplit run sums the 5 models' losses in one float32 reduction,
    // the split run sums 2 and 3 and adds the slices' epoch sums: a few float32 roundings.
    const rel = Math.abs(rb[i].train_loss - ra[i].train_loss) / ra[i].train_loss;
    assert.ok(rel <= 1e-5, `epoch ${i}: train_loss ${rb[i].train_loss} vs ${ra[i].train_loss}`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a split 1d run interrupted with SIGINT and resumed ends like an uninterrupted one", async () => {
  const dir = await Deno.makeTempDir();
  const epochs = 40;
  const full = await runCli(args(dir, "full", 2, epochs));
  assert.equal(full.code, 0, full.stderr);
  const code = await interruptCli(args(dir, "cut", 2, epochs), join(dir, "cut", "metrics.jsonl"));
  assert.equal(code, 0);
  const cut = await readCheckpoint(join(dir, "cut", "checkpoint.h5"));
  assert.equal(cut.meta.completed, false, "the run was interrupted before its end");

  const resumed = await runCli(["train", "--resume", join(dir, "cut"), "--quiet"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  await assertSameModels(join(dir, "full"), join(dir, "cut"));
  const ra = rows(join(dir, "full", "metrics.jsonl"));
  const rb = rows(join(dir, "cut", "metrics.jsonl"));
  assert.deepEqual(rb.map((r) => r.epoch), ra.map((r) => r.epoch));
  assert.deepEqual(rb.map((r) => r.median_test_mse), ra.map((r) => r.median_test_mse));
  assert.deepEqual(rb.map((r) => r.train_loss), ra.map((r) => r.train_loss));
  await Deno.remove(dir, { recursive: true });
});
