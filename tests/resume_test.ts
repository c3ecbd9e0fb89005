import assert from "node:assert/strict";
import { join } from "node:path";
import { interruptCli, runCli } from "./helpers.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";

function args(dir: string, name: string): string[] {
  return [
    "train",
    "--exp",
    "1d",
    "--device",
    "cpu",
    "--set",
    "training_options.epochs=40",
    "--set",
    "training_options.nbr_models=2",
    "--set",
    "dataset.training_dataset_size=60",
    "--set",
    "dataset.testing_dataset_size=100",
    "--set",
    `log_dir=${dir}`,
    "--set",
    `exp_name=${name}`,
  ];
}

Deno.test("a run interrupted with SIGINT and resumed ends exactly like an uninterrupted one", async () => {
  const dir = await Deno.makeTempDir();
  const full = await runCli(args(dir, "full"));
  assert.equal(full.code, 0, full.stderr);

  // Start the same run, interrupt it after a few epochs, like a user pressing Ctrl-C.
  const code = await interruptCli(args(dir, "cut"), join(dir, "cut", "metrics.jsonl"));
  const cut = await readCheckpoint(join(dir, "cut", "checkpoint.h5"));
  assert.equal(code, 0);
  assert.equal(cut.meta.completed, false, "the run was interrupted before its end");
  assert.ok(Number(cut.meta.epoch) < 40);

  const resumed = await runCli(["train", "--resume", join(dir, "cut")]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming/);

  const a = await readCheckpoint(join(dir, "full", "checkpoint.h5"));
  const b = await readCheckpoint(join(dir, "cut", "checkpoint.h5"));
  assert.equal(b.meta.completed, true);
  assert.deepEqual(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
  for (const [name, t] of Object.entries(a.tensors)) {
    assert.deepEqual(
      Array.from(b.tensors[name].data),
      Array.from(t.data),
      `tensor ${name} differs`,
    );
  }
  // The metrics file has every epoch exactly once, equal to the uninterrupted run's.
  const rows = (p: string) => Deno.readTextFileSync(p).trim().split("\n").map((l) => JSON.parse(l));
  const ra = rows(join(dir, "full", "metrics.jsonl"));
  const rb = rows(join(dir, "cut", "metrics.jsonl"));
  assert.deepEqual(rb.map((r) => r.epoch), ra.map((r) => r.epoch));
  assert.deepEqual(rb.map((r) => r.median_test_mse), ra.map((r) => r.median_test_mse));

  // A finished run cannot be resumed again.
  const again = await runCli(["train", "--resume", join(dir, "cut")]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /complete/);
  await Deno.remove(dir, { recursive: true });
});
