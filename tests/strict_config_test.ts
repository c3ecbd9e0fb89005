import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./helpers.ts";
import { authorsSchemas, type Config, loadConfigFile } from "../core/config/config.ts";
import {
  checkKnownKeys,
  editDistance,
  knownTreeFromSchema,
  suggestKey,
} from "../core/config/strict_keys.ts";
import { knownTreeForConfig, validateRunConfig } from "../core/config/validate_run_config.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { isUserError } from "../core/errors.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { z } from "zod";

const root = new URL("..", import.meta.url).pathname;

/** A third-party activation that declares its own key, `softsign_scale`. */
function softsignPlugin(): string {
  return `import { z } from "zod";
import type { Activation } from "${join(root, "mod.ts")}";
const softsign: Activation = {
  kind: "activation",
  name: "softsign",
  version: "1.0.0",
  description: "x / (scale + |x|)",
  options: { softsign_scale: z.number().positive().optional() },
  create: ({ tf, params }) => ({
    kind: "softsign",
    parameters: () => [],
    forward: (x) => tf.div(x, tf.add(Number(params.softsign_scale ?? 1), tf.abs(x))),
    lipschitzBound: () => Promise.resolve({ value: 1, method: "slope at 0" }),
  }),
};
export default softsign;
`;
}

async function oned() {
  return await createRegistry(builtinPlugins).experiment("1d");
}

Deno.test("a typo in a config key exits with code 2, names file, key and suggestion, makes no run folder", async () => {
  const dir = await Deno.makeTempDir();
  const cases: Array<[string, string]> = [
    [
      "activation_fn_params.spline_sise=11",
      "error: Invalid config configs/config_1d.json: unknown key 'activation_fn_params.spline_sise'; did you mean 'spline_size'?",
    ],
    [
      "trainig_options.epochs=3",
      "error: Invalid config configs/config_1d.json: unknown key 'trainig_options'; did you mean 'training_options'?",
    ],
  ];
  for (const [set, line] of cases) {
    const r = await runCli([
      "train",
      "--exp",
      "1d",
      "--device",
      "cpu",
      "--set",
      set,
      "--set",
      `log_dir=${dir}`,
      "--set",
      "exp_name=run",
    ]);
    assert.equal(r.code, 2, `${set}: code ${r.code}\n${r.stderr}`);
    assert.equal(r.stderr.trim(), line);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line on stderr");
    assert.equal(r.stdout, "", "nothing ran");
    assert.ok(!existsSync(join(dir, "run")), "no run folder");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the authors' four configs pass the key check unchanged", async () => {
  const registry = createRegistry(builtinPlugins);
  for (const exp of ["1d", "wasserstein", "wgan", "denoising"] as const) {
    const file = join(root, "configs", `config_${exp}.json`);
    const config = await loadConfigFile(file);
    const tree = await knownTreeForConfig(authorsSchemas[exp], config, registry);
    checkKnownKeys(config, tree, file);
  }
  // And the 1d one against the 1d plugin's own schema, the way train checks it.
  const config = await loadConfigFile(join(root, "configs", "config_1d.json"));
  config.training_options = { ...config.training_options as Config, checkpoint_every: 2 };
  await validateRunConfig(config, "config_1d.json", await oned(), registry);
});

Deno.test("keys of any built-in activation are known beside the one in use", async () => {
  const registry = createRegistry(builtinPlugins);
  const config = await loadConfigFile(join(root, "configs", "config_1d.json"));
  const act = config.activation_fn_params as Config;
  assert.equal(act.activation_type, "linearspline");
  act.groupsort_groupsize = 2;
  act.prelu_init = "maxmin";
  await validateRunConfig(config, "c.json", await oned(), registry);
  // ...and a projection's key in net_params, whatever the projection.
  (config.net_params as Config).projection = "spectral_norm";
  (config.net_params as Config).bjorck_iter = 20;
  await validateRunConfig(config, "c.json", await oned(), registry);
  (config.net_params as Config).bjorck_itre = 20;
  await assert.rejects(
    validateRunConfig(config, "c.json", await oned(), registry),
    (e) =>
      isUserError(e) &&
      e.message ===
        "Invalid config c.json: unknown key 'net_params.bjorck_itre'; did you mean 'bjorck_iter'?",
  );
});

Deno.test("a third-party activation's declared key is known; a typo of it is not", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "softsign.ts");
  await Deno.writeTextFile(file, softsignPlugin());
  const registry = createRegistry(builtinPlugins, { cwd: dir });
  const config = await loadConfigFile(join(root, "configs", "config_1d.json"));
  const act = config.activation_fn_params as Config;
  act.activation_type = file;
  act.softsign_scale = 2;
  await validateRunConfig(config, "c.json", await oned(), registry);
  // Its declared type is checked too.
  act.softsign_scale = -2;
  await assert.rejects(
    validateRunConfig(config, "c.json", await oned(), registry),
    (e) => isUserError(e) && /key 'activation_fn_params\.softsign_scale'/.test(e.message),
  );
  // With a built-in activation, the plugin's key is unknown.
  act.activation_type = "linearspline";
  act.softsign_scale = 2;
  await assert.rejects(
    validateRunConfig(config, "c.json", await oned(), registry),
    (e) => isUserError(e) && /unknown key 'activation_fn_params\.softsign_scale'/.test(e.message),
  );

  // From the CLI: the typo is refused before anything runs.
  const r = await runCli([
    "train",
    "--exp",
    "1d",
    "--device",
    "cpu",
    "--set",
    `activation_fn_params.activation_type=${file}`,
    "--set",
    "activation_fn_params.softsign_scal=2",
    "--set",
    `log_dir=${dir}`,
    "--set",
    "exp_name=run",
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr.trim(),
    "error: Invalid config configs/config_1d.json: unknown key 'activation_fn_params.softsign_scal'; did you mean 'softsign_scale'?",
  );
  assert.ok(!existsSync(join(dir, "run")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("suggestions only when close; far keys list the known ones", () => {
  assert.equal(editDistance("spline_sise", "spline_size"), 1);
  assert.equal(editDistance("trainig_options", "training_options"), 1);
  assert.equal(editDistance("bais", "bias"), 1, "a swap of neighbours is one edit");
  assert.equal(suggestKey("Spline_Size", ["spline_range", "spline_size"]), "spline_size");
  assert.equal(suggestKey("colour", ["seed", "log_dir", "exp_name"]), undefined);
  const tree = knownTreeFromSchema(
    z.object({ seed: z.number(), sub: z.object({ a: z.number() }).optional() }),
  );
  assert.deepEqual(tree, { seed: true, sub: { a: true } });
  assert.throws(
    () => checkKnownKeys({ seed: 1, colour: "red" }, tree, "f.json"),
    (e) =>
      isUserError(e) &&
      e.message === "Invalid config f.json: unknown key 'colour'; known keys there are seed, sub",
  );
  assert.throws(
    () => checkKnownKeys({ sub: { seeed: 1, b: 1 } }, { sub: { seed: true } }, "f.json"),
    (e) => isUserError(e) && /unknown key 'sub\.seeed'; did you mean 'seed'\?/.test(e.message),
  );
  // A plain record of key → zod type declares the same keys as an object schema.
  assert.deepEqual(knownTreeFromSchema({ a: z.number(), b: z.string().optional() }), {
    a: true,
    b: true,
  });
});
