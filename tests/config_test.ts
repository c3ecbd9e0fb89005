import assert from "node:assert/strict";
import { join } from "node:path";
import {
  applyOverrides,
  authorsSchemas,
  loadConfigFile,
  validateWith,
} from "../core/config/config.ts";
import { isUserError } from "../core/errors.ts";
import oned from "../plugins/experiments/oned/mod.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";

const registry = createRegistry(builtinPlugins);

const root = new URL("..", import.meta.url).pathname;

/** SHA-256 of the authors' config files, as shipped in the spec (byte for byte). */
const AUTHORS_SHA256: Record<string, string> = {
  "1d": "899e6546ecc2095e4590da8b13cc7d18091a9372f8836c16c25d8f7eb1659e31",
  denoising: "cb518b581923394a4cc830d1407753a9097464d00de535a2c28685bfd6cb321c",
  wasserstein: "cf07e6f88e398a7832b9ddb33ab0f57de12a8a23ff3aaa7365e196a4bc43381a",
  wgan: "52b7872662d20db7d810d3c329a36e3d5c1ee5e5d06d29ba90c03bab261f5aec",
};

async function sha256(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("the four authors' configs ship unchanged, load and validate", async () => {
  for (const exp of ["1d", "wasserstein", "wgan", "denoising"] as const) {
    const file = join(root, "configs", `config_${exp}.json`);
    assert.equal(await sha256(file), AUTHORS_SHA256[exp], `${file} differs from the authors' file`);
    validateWith(authorsSchemas[exp], await loadConfigFile(file), file);
  }
  await oned.validate!(
    await loadConfigFile(join(root, "configs/config_1d.json")),
    "config_1d.json",
    registry,
  );
});

Deno.test("--set overrides parse JSON values, else strings, and create nested keys", () => {
  const base = { training_options: { epochs: 1000 }, exp_name: "a" };
  const c = applyOverrides(base, [
    "training_options.epochs=3",
    "exp_name=run-7",
    "net_params.layer_sizes=[1,4,1]",
    "activation_fn_params.lipschitz_constrained=false",
  ]);
  assert.deepEqual(c, {
    training_options: { epochs: 3 },
    exp_name: "run-7",
    net_params: { layer_sizes: [1, 4, 1] },
    activation_fn_params: { lipschitz_constrained: false },
  });
  assert.equal(base.training_options.epochs, 1000, "the input is not modified");
});

Deno.test("bad overrides are user errors naming the argument", () => {
  for (const bad of ["epochs", "=3", "a..b=1"]) {
    assert.throws(
      () => applyOverrides({}, [bad]),
      (e) => isUserError(e) && e.message.includes(bad),
    );
  }
  assert.throws(
    () => applyOverrides({ exp_name: "x" }, ["exp_name.sub=1"]),
    (e) => isUserError(e) && /exp_name/.test(e.message),
  );
});

Deno.test("validation errors name the file, the key, the expectation and the value", async () => {
  const cfg = await loadConfigFile(join(root, "configs/config_1d.json"));
  const bad = applyOverrides(cfg, ['net_params.layer_sizes=[1,"ten",1]']);
  await assert.rejects(async () => await oned.validate!(bad, "my.json", registry), (e) => {
    assert.ok(isUserError(e));
    assert.match(e.message, /my\.json/);
    assert.match(e.message, /net_params\.layer_sizes\.1/);
    assert.match(e.message, /number/);
    assert.match(e.message, /"ten"/);
    return true;
  });
  const missing = structuredClone(cfg);
  delete (missing.dataset as Record<string, unknown>).function_type;
  await assert.rejects(
    async () => await oned.validate!(missing, "c.json", registry),
    (e) => isUserError(e) && /dataset\.function_type/.test(e.message) && /missing/.test(e.message),
  );
  const f4 = applyOverrides(cfg, ["dataset.function_type=f4"]);
  await assert.rejects(
    async () => await oned.validate!(f4, "c.json", registry),
    (e) => isUserError(e) && /f4/.test(e.message),
  );
  const bigBatch = applyOverrides(cfg, ["training_options.batch_size=5000"]);
  await assert.rejects(
    async () => await oned.validate!(bigBatch, "c.json", registry),
    (e) => isUserError(e) && /batch_size/.test(e.message),
  );
});

Deno.test("unreadable and malformed config files are user errors", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    loadConfigFile(join(dir, "nope.json")),
    (e) => isUserError(e) && e.message.includes("nope.json"),
  );
  await Deno.writeTextFile(join(dir, "bad.json"), "{ not json");
  await assert.rejects(
    loadConfigFile(join(dir, "bad.json")),
    (e) => isUserError(e) && /not valid JSON/.test(e.message),
  );
  await Deno.writeTextFile(join(dir, "arr.json"), "[1,2]");
  await assert.rejects(
    loadConfigFile(join(dir, "arr.json")),
    (e) => isUserError(e) && /object/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});
