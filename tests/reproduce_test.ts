/**
 * `reproduce`: the cells and their shards, what a re-run does with each cell folder, and an
 * array job end to end (every shard from the Slurm / Kubernetes variables, then the merge).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildCells,
  PAPER_ACTIVATIONS,
  resolveShard,
  shardCells,
} from "../core/reproduce/cells.ts";
import { planJobs, trainArgs } from "../core/reproduce/run_cells.ts";
import { csvTable, markdownTable, type MergeRow } from "../core/reproduce/merge.ts";
import { readCheckpoint, writeCheckpoint } from "../core/io/checkpoint.ts";
import { applyOverrides, loadConfigFile } from "../core/config/config.ts";
import { isUserError } from "../core/errors.ts";
import { runMerge } from "../cli/commands/reproduce.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { useBackend } from "./helpers.ts";

const CONFIG = new URL("../configs/config_1d.json", import.meta.url).pathname;
const TINY = [
  "training_options.epochs=1",
  "training_options.nbr_models=3",
  "dataset.training_dataset_size=40",
  "dataset.testing_dataset_size=200",
];

Deno.test("the default cells are the paper's table: 7 activations x 3 targets, LS-old included", () => {
  const cells = buildCells({
    functions: ["f1", "f2", "f3"],
    activations: [...PAPER_ACTIVATIONS],
    seeds: [5],
  });
  assert.equal(cells.length, 21);
  assert.equal(new Set(cells.map((c) => c.name)).size, 21);
  const old = cells.find((c) => c.name === "f2_LS-old_seed5")!;
  assert.deepEqual(old.sets, [
    "activation_fn_params.activation_type=linearspline",
    "activation_fn_params.lipschitz_constrained=false",
    "dataset.function_type=f2",
    "seed=5",
  ]);
  assert.throws(
    () => buildCells({ functions: ["f1"], activations: ["relu", "relu"], seeds: [5] }),
    /twice/,
  );
});

Deno.test("shards are disjoint, cover every cell, and come from --shard, Slurm or Kubernetes", () => {
  const cells = buildCells({
    functions: ["f1", "f2", "f3"],
    activations: [...PAPER_ACTIVATIONS],
    seeds: [1, 2],
  });
  for (const n of [1, 2, 5, 42, 50]) {
    const seen = cells.flatMap((_, i) =>
      i < n ? shardCells(cells, { index: i, count: n, source: "" }) : []
    );
    assert.equal(seen.length, cells.length);
    assert.deepEqual([...seen].map((c) => c.name).sort(), cells.map((c) => c.name).sort());
  }
  assert.deepEqual(resolveShard("1/4", { SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "9" }), {
    index: 1,
    count: 4,
    source: "--shard",
  });
  // Slurm arrays numbered from SLURM_ARRAY_TASK_MIN (e.g. --array=1-4).
  assert.deepEqual(
    resolveShard(undefined, {
      SLURM_ARRAY_TASK_ID: "4",
      SLURM_ARRAY_TASK_MIN: "1",
      SLURM_ARRAY_TASK_COUNT: "4",
    }),
    { index: 3, count: 4, source: "SLURM_ARRAY_TASK_ID" },
  );
  assert.deepEqual(
    resolveShard(undefined, { JOB_COMPLETION_INDEX: "2", LIPSPLINE_SHARD_COUNT: "3" }),
    { index: 2, count: 3, source: "JOB_COMPLETION_INDEX" },
  );
  assert.deepEqual(resolveShard(undefined, {}), { index: 0, count: 1, source: "none" });
  for (
    const [flag, env, re] of [
      ["4/4", {}, /index below the count/],
      ["1:4", {}, /I\/N/],
      [undefined, { JOB_COMPLETION_INDEX: "0" }, /LIPSPLINE_SHARD_COUNT/],
      [undefined, { SLURM_ARRAY_TASK_ID: "0" }, /SLURM_ARRAY_TASK_COUNT/],
    ] as const
  ) {
    assert.throws(() => resolveShard(flag, env), (e) => isUserError(e) && re.test(e.message));
  }
});

Deno.test("the markdown and CSV tables mark missing, unfinished and diverged cells", () => {
  const row = (o: Partial<MergeRow>): MergeRow => {
    const r: MergeRow = {
      name: "",
      fn: "f1",
      activation: "relu",
      seed: 5,
      state: "done",
      epoch: 3,
      lastEpoch: 3,
      dir: "out/x",
      ...o,
    };
    return { ...r, name: `${r.fn}_${r.activation}_seed5` };
  };
  const rows = [
    row({
      activation: "relu",
      medianTestMse: 1.5e-3,
      minTestMse: 2e-4,
      certificate: { product: 0.99999, empirical: 0.9, certified: true },
    }),
    row({
      activation: "linearspline",
      state: "partial",
      epoch: 1,
      medianTestMse: 3e-3,
      minTestMse: 1e-3,
    }),
    row({ fn: "f2", activation: "relu", state: "missing", epoch: -1 }),
    row({ fn: "f2", activation: "linearspline", state: "diverged", epoch: 0, medianTestMse: 0.5 }),
  ];
  const md = markdownTable(rows);
  const lines = md.split("\n");
  assert.equal(
    lines[0],
    "| activation | f1 median | f1 min | f1 bound | f2 median | f2 min | f2 bound |",
  );
  // The paper's order: linearspline before relu.
  assert.equal(lines[2], "| linearspline | 3.00e-3† | 1.00e-3† | — | 5.00e-1‡ | ‡ | — |");
  assert.equal(lines[3], "| relu | 1.50e-3 | 2.00e-4 | 1.0000 | — | — | — |");
  assert.match(md, /missing \(no checkpoint yet\): f2_relu_seed5/);
  assert.match(md, /unfinished.*f1_linearspline_seed5 \(epoch 1 of 3\)/);
  assert.match(md, /diverged.*f2_linearspline_seed5/);
  const csv = csvTable(rows).trim().split("\n");
  assert.equal(csv.length, 5);
  assert.equal(csv[1], "f1,relu,5,done,3,3,0.0015,0.0002,0.99999,0.9,true,out/x");
});

/** Run the CLI with extra environment variables. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      new URL("../cli/main.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "an array job: every shard from Slurm/Kubernetes variables, a re-run skips, then merge",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir();
    const common = [
      "reproduce",
      "1d",
      "--functions",
      "f1,f2",
      "--activations",
      "relu",
      "--out",
      out,
      "--device",
      "cpu",
      ...TINY.flatMap((s) => ["--set", s]),
    ];
    // Two array tasks at once, as a scheduler runs them: a Slurm one and a Kubernetes one.
    const [a, b] = await Promise.all([
      cli(common, { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "2" }),
      cli(common, { JOB_COMPLETION_INDEX: "1", LIPSPLINE_SHARD_COUNT: "2" }),
    ]);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(a.stdout, /shard 0\/2 \(SLURM_ARRAY_TASK_ID\): 1/);
    assert.match(a.stdout, /f1_relu_seed5: done/);
    assert.match(b.stdout, /shard 1\/2 \(JOB_COMPLETION_INDEX\): 1/);
    assert.match(b.stdout, /f2_relu_seed5: done/);
    for (const cell of ["f1_relu_seed5", "f2_relu_seed5"]) {
      const ck = await readCheckpoint(join(out, cell, "checkpoint.h5"));
      assert.equal(ck.meta.completed, true, cell);
      const cfg = JSON.parse(await Deno.readTextFile(join(out, cell, "config.json")));
      assert.equal(cfg.dataset.function_type, cell.slice(0, 2));
      assert.equal(cfg.training_options.epochs, 1);
    }

    // A re-run of a shard skips its finished cell and starts nothing.
    const again = await cli([...common, "--shard", "0/2"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /0 to train, 1 finished/);
    assert.match(again.stdout, /f1_relu_seed5: skipped \(finished\)/);

    // The merge, in-process (the same function as `reproduce merge OUT`).
    await useBackend("cpu");
    const { rows } = await runMerge(out, createRegistry(builtinPlugins), {
      certify: true,
      device: "cpu",
    }, () => {});
    assert.deepEqual(rows.map((r) => [r.name, r.state]), [
      ["f1_relu_seed5", "done"],
      ["f2_relu_seed5", "done"],
    ]);
    const md = await Deno.readTextFile(join(out, "table.md"));
    const relu = md.split("\n").find((l) => l.startsWith("| relu |"))!;
    const [, , f1Median, f1Min, f1Bound, f2Median] = relu.split("|").map((s) => s.trim());
    const ck = await readCheckpoint(join(out, "f1_relu_seed5", "checkpoint.h5"));
    const mse = [...ck.tensors.test_mse.data].sort((x, y) => x - y);
    assert.equal(f1Median, mse[1].toExponential(2));
    assert.equal(f1Min, mse[0].toExponential(2));
    assert.ok(Number(f1Bound) <= 1.001 && Number(f1Bound) > 0.5, f1Bound);
    assert.match(f2Median, /^\d\.\d\de-\d$/);
    assert.match(md, /2 of 2 cells finished/);
    const certified = JSON.parse(
      await Deno.readTextFile(join(out, "f2_relu_seed5", "certify.json")),
    );
    assert.equal(certified.certified, true);
    assert.ok((await Deno.stat(join(out, "table.png"))).size > 2000);
    assert.match(
      await Deno.readTextFile(join(out, "table.csv")),
      /^function,activation,seed,state/,
    );
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test("a re-run resumes an interrupted cell and refuses a folder of another config", async () => {
  const out = await Deno.makeTempDir();
  const base = await loadConfigFile(CONFIG);
  const cells = buildCells({ functions: ["f1"], activations: ["relu", "LS-old"], seeds: [5] });
  const dir = join(out, cells[0].name);
  await Deno.mkdir(dir, { recursive: true });
  const config = applyOverrides(base, [
    ...TINY,
    ...cells[0].sets,
    `log_dir=${out}`,
    `exp_name=${cells[0].name}`,
  ]);
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(config));
  const ckpt = (completed: boolean) =>
    writeCheckpoint(join(dir, "checkpoint.h5"), {
      tensors: { test_mse: { shape: [1], data: new Float32Array([1]) } },
      meta: { epoch: 0, completed },
    });
  await ckpt(false);
  const plan = () => planJobs({ out, base, sets: TINY, cells, validate: () => Promise.resolve() });
  let jobs = await plan();
  assert.deepEqual(jobs.map((j) => j.action), ["resume", "start"]);
  assert.deepEqual(
    trainArgs(jobs[0], { experiment: "1d", configFile: CONFIG, out, sets: TINY }),
    ["train", "--resume", dir],
  );
  const fresh = trainArgs(jobs[1], { experiment: "1d", configFile: CONFIG, out, sets: TINY });
  assert.deepEqual(fresh.slice(0, 5), ["train", "--exp", "1d", "--config", CONFIG]);
  assert.ok(
    fresh.includes("activation_fn_params.lipschitz_constrained=false") && fresh.includes("--force"),
  );
  await ckpt(true);
  jobs = await plan();
  assert.deepEqual(jobs.map((j) => j.action), ["skip", "start"]);
  // Another epochs count for the same folder: refused before anything runs.
  await assert.rejects(
    planJobs({
      out,
      base,
      sets: [...TINY, "training_options.epochs=7"],
      cells,
      validate: () => Promise.resolve(),
    }),
    (e) => isUserError(e) && /key 'training_options.epochs' is 1 there and 7 now/.test(e.message),
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("the cluster examples give lipspline as many shards as the scheduler starts tasks", async () => {
  const dir = new URL("../examples/cluster/", import.meta.url).pathname;
  const slurm = await Deno.readTextFile(join(dir, "slurm_reproduce_1d.sh"));
  const [, lo, hi] = /#SBATCH --array=(\d+)-(\d+)/.exec(slurm)!;
  const srun = slurm.split("\n").find((l) => l.startsWith("srun "))!;
  assert.match(srun, /reproduce 1d --out/);
  assert.doesNotMatch(srun, /--shard/, "the slice comes from the array variables");
  const tasks = Number(hi) - Number(lo) + 1;
  const k8s = await Deno.readTextFile(join(dir, "k8s_reproduce_1d.yaml"));
  const completions = Number(/completions: (\d+)/.exec(k8s)![1]);
  const count = Number(/name: LIPSPLINE_SHARD_COUNT\s+value: "(\d+)"/.exec(k8s)![1]);
  assert.match(k8s, /completionMode: Indexed/);
  assert.equal(count, completions);
  // Both split the default 21 cells into slices of 3.
  const cells = buildCells({
    functions: ["f1", "f2", "f3"],
    activations: [...PAPER_ACTIVATIONS],
    seeds: [5],
  });
  for (const n of [tasks, count]) {
    for (let i = 0; i < n; i++) {
      assert.equal(shardCells(cells, resolveShard(`${i}/${n}`, {})).length, 3);
    }
  }
});
