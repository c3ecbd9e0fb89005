/**
 * The activation contract `train` checks before a run folder exists (core/plugin/contract.ts):
 * each broken plugin is one line naming the plugin, the config key and the problem; from the CLI
 * that is exit 2 and no run folder.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, tf, useBackend } from "./helpers.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { activationUses, checkActivationContracts } from "../core/plugin/contract.ts";
import { isUserError } from "../core/errors.ts";

await useBackend("cpu");

/** A plugin file whose instance has the given forward and extra members. */
function brokenPlugin(name: string, forward: string, bound = true): string {
  return `export default {
  kind: "activation", name: "${name}", version: "1.0.0", description: "broken on purpose",
  create: ({ tf }) => ({
    kind: "${name}",
    parameters: () => [],
    forward: (x) => ${forward},
    ${bound ? 'lipschitzBound: () => Promise.resolve({ value: 1, method: "claimed" }),' : ""}
  }),
};
`;
}

const BROKEN: Array<[string, string, boolean, RegExp]> = [
  [
    "shape",
    "tf.slice(x, [0, 0, 0], [-1, 1, -1])",
    true,
    /changed the shape \[3, 2, 4\] to \[3, 1, 4\]/,
  ],
  ["nonfinite", "tf.log(x)", true, /returned NaN on an input of shape \[3, 2, 4\]/],
  ["nobound", "tf.relu(x)", false, /has no lipschitzBound\(\)/],
  ["throws", "(() => { throw new Error('boom'); })()", true, /forward threw .*: boom$/],
];

const config = (type: string) => ({
  activation_fn_params: { activation_type: type },
  net_params: { layer_sizes: [1, 4, 4, 1] },
  training_options: { nbr_models: 3 },
});

Deno.test("the host derives activation shapes from net_params, or asks the experiment", async () => {
  assert.deepEqual(activationUses(config("relu")), [
    { section: "activation_fn_params", channels: [4], mode: "fc" },
  ]);
  assert.deepEqual(
    activationUses({
      activation_fn_params: { activation_type: "relu" },
      net_params: { num_channels: [1, 8, 8, 1] },
    }),
    [{ section: "activation_fn_params", channels: [8], mode: "conv" }],
  );
  const registry = createRegistry(builtinPlugins);
  const oned = await registry.experiment("1d");
  assert.deepEqual(activationUses(config("relu"), oned)[0].ensemble, 3);
});

Deno.test("each broken activation is one line naming the file, the key and the problem", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lipspline-contract-"));
  try {
    const registry = createRegistry(builtinPlugins);
    const oned = await registry.experiment("1d");
    for (const [name, forward, bound, expected] of BROKEN) {
      const file = join(dir, `${name}.ts`);
      await writeFile(file, brokenPlugin(name, forward, bound));
      const before = tf.memory().numTensors;
      await assert.rejects(
        () => checkActivationContracts(tf, registry, config(file), "cfg.json", oned),
        (e: unknown) => {
          assert.ok(isUserError(e), String(e));
          const msg = (e as Error).message;
          assert.ok(!msg.includes("\n"), msg);
          assert.ok(
            msg.includes(file) && msg.includes("activation_fn_params.activation_type"),
            msg,
          );
          assert.match(msg, expected);
          return true;
        },
      );
      assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
    }
    // Every built-in passes on the 1d shapes.
    for (const name of ["relu", "linearspline", "prelu", "absolute_value", "householder"]) {
      const cfg = config(name);
      Object.assign(cfg.activation_fn_params, {
        spline_size: 11,
        spline_range: 1,
        spline_init: "relu",
        prelu_init: 0.5,
      });
      await checkActivationContracts(tf, registry, cfg, "cfg.json", oned);
    }
  } finally {
    await rm(dir, { recursive: true });
  }
});

Deno.test("train with a broken plugin: one line, exit 2, no run folder", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lipspline-contract-cli-"));
  try {
    const file = join(dir, "shape.ts");
    await writeFile(file, brokenPlugin("shape", "tf.slice(x, [0, 0, 0], [-1, 1, -1])"));
    const r = await runCli([
      "train",
      "--exp",
      "1d",
      "-d",
      "cpu",
      "--plugin",
      file,
      "--set",
      "activation_fn_params.activation_type=shape",
      "--set",
      `log_dir=${dir}/runs`,
    ]);
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: Cannot use the activation shape .*changed the shape/);
    assert.ok(!existsSync(join(dir, "runs")), "a run folder was written");
  } finally {
    await rm(dir, { recursive: true });
  }
});
