import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./helpers.ts";
import { readCheckpoint } from "../core/io/checkpoint.ts";

const small = [
  "--set",
  "training_options.epochs=1",
  "--set",
  "training_options.nbr_models=3",
  "--set",
  "dataset.training_dataset_size=40",
  "--set",
  "dataset.testing_dataset_size=200",
  "--device",
  "cpu",
];

async function readJsonl(path: string) {
  return (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
}

for (
  const activation of [
    "relu",
    "absolute_value",
    "prelu",
    "groupsort",
    "householder",
    "linearspline",
  ]
) {
  Deno.test(`a short 1d run from the CLI works with ${activation}`, async () => {
    const dir = await Deno.makeTempDir();
    const r = await runCli([
      "train",
      "--exp",
      "1d",
      ...small,
      "--set",
      `activation_fn_params.activation_type=${activation}`,
      "--set",
      `log_dir=${dir}`,
      "--set",
      "exp_name=run",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split("\n")[0], /device cpu/);
    assert.doesNotMatch(r.stdout + r.stderr, /tfjs-node|Hi, looks like/);
    assert.match(r.stdout, /median test MSE/);
    assert.match(r.stdout, new RegExp(`run folder: ${join(dir, "run")}`));
    const rows = await readJsonl(join(dir, "run", "metrics.jsonl"));
    assert.deepEqual(rows.map((x) => x.epoch), [0, 1], "epochs run 0..E inclusive");
    for (const row of rows) {
      assert.ok(row.median_test_mse > 0 && row.min_test_mse <= row.median_test_mse);
    }
    const ck = await readCheckpoint(join(dir, "run", "checkpoint.h5"));
    assert.equal(ck.meta.completed, true);
    assert.deepEqual(ck.tensors.test_mse.shape, [3]);
    assert.ok(Math.abs(Math.min(...ck.tensors.test_mse.data) - rows[1].min_test_mse) < 1e-9);
    assert.deepEqual(ck.tensors["model/linear0/weight"].shape, [3, 10, 1]);
    // TensorBoard events with the authors' tags (the record format is tested in tensorboard_test).
    const tbDir = join(dir, "run", "tensorboard");
    const events = [...Deno.readDirSync(tbDir)].filter((e) =>
      e.name.startsWith("events.out.tfevents.")
    );
    assert.equal(events.length, 1);
    const text = new TextDecoder("latin1").decode(await Deno.readFile(join(tbDir, events[0].name)));
    assert.ok(text.includes("Validation/Median Loss") && text.includes("Train/Loss"));
    assert.equal(text.includes("train/spline_scaling_coeff_mean"), activation === "linearspline");
    for (const fig of ["fit.png", "curves.png", "activation_activation0.png"]) {
      assert.ok((await Deno.stat(join(dir, "run", "figures", fig))).size > 1000, fig);
    }
    const saved = JSON.parse(await Deno.readTextFile(join(dir, "run", "config.json")));
    assert.equal(saved.activation_fn_params.activation_type, activation);
    assert.equal(saved.training_options.epochs, 1);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("user mistakes exit with code 2 and one line on stderr, no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  const cases: Array<[string[], RegExp]> = [
    [["train", "--exp", "nope"], /known experiments are 1d/],
    [["train", "--exp", "1d", "--config", join(dir, "missing.json")], /missing\.json/],
    [["train", "--exp", "1d", "--set", "net_params.layer_sizes=oops"], /net_params\.layer_sizes/],
    [["train", "--exp", "1d", "--set", "epochs"], /key\.path=value/],
    [
      ["train", "--exp", "1d", "--set", "activation_fn_params.activation_type=swish"],
      /known activations are/,
    ],
    [[
      "train",
      "--exp",
      "1d",
      "--set",
      "activation_fn_params.activation_type=groupsort",
      "--set",
      "activation_fn_params.groupsort_groupsize=3",
    ], /group size is 3, width is 10/],
    [["train", "--exp", "1d", "--device", "tpu"], /tpu/],
    [["train", "--bogus"], /bogus/],
    [["train", "--resume", join(dir, "nothing")], /holds no run/],
    [["train"], /--exp/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli([...args, "--set", `log_dir=${dir}`]);
    assert.equal(r.code, 2, `${args.join(" ")}: code ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(" "));
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a folder that holds a run is refused unless --force", async () => {
  const dir = await Deno.makeTempDir();
  const args = [
    "train",
    "--exp",
    "1d",
    ...small,
    "--set",
    "training_options.epochs=0",
    "--set",
    `log_dir=${dir}`,
  ];
  assert.equal((await runCli(args)).code, 0);
  const again = await runCli(args);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a run.*--resume.*exp_name.*--force/);
  const forced = await runCli([...args, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--help works on every command and plugins list names the built-ins", async () => {
  for (
    const args of [["--help"], ["train", "--help"], ["plugins", "--help"], [
      "plugins",
      "list",
      "--help",
    ], ["report", "--help"]]
  ) {
    const r = await runCli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /Usage:/);
  }
  const list = await runCli(["plugins", "list"]);
  assert.equal(list.code, 0);
  for (
    const name of [
      "linearspline",
      "householder",
      "groupsort",
      "prelu",
      "orthonormalize",
      "spectral_norm",
      "lipschitz_linear",
      "1d",
    ]
  ) {
    assert.match(list.stdout, new RegExp(name));
  }
});

Deno.test("a tiny 1d run on webgpu (the software adapter here) matches the cpu run", async () => {
  const dir = await Deno.makeTempDir();
  const mse: Record<string, number> = {};
  for (const device of ["cpu", "webgpu"]) {
    const r = await runCli([
      "train",
      "--exp",
      "1d",
      "--device",
      device,
      "--set",
      "training_options.epochs=0",
      "--set",
      "training_options.nbr_models=2",
      "--set",
      "dataset.training_dataset_size=30",
      "--set",
      "dataset.testing_dataset_size=100",
      "--set",
      `log_dir=${dir}`,
      "--set",
      `exp_name=${device}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split("\n")[0], new RegExp(`device ${device}`));
    mse[device] = (await readJsonl(join(dir, device, "metrics.jsonl")))[0].median_test_mse;
  }
  // Three Adam steps from the same initialisation: the backends agree up to float32 rounding
  // (seen: 3e-4 relative); a wrong kernel would be off by far more.
  assert.ok(Math.abs(mse.webgpu - mse.cpu) <= 2e-3 * mse.cpu, JSON.stringify(mse));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resuming a run folder with a damaged run.json is a one-line user error", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(
    join(new URL("..", import.meta.url).pathname, "configs/config_1d.json"),
    join(dir, "config.json"),
  );
  await Deno.writeTextFile(join(dir, "run.json"), "{ half written");
  const r = await runCli(["train", "--resume", dir]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /run\.json is not a valid JSON object/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  await Deno.remove(dir, { recursive: true });
});
