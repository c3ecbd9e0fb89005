import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "./helpers.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { isUserError } from "../core/errors.ts";

const root = new URL("..", import.meta.url).pathname;

/** A third-party activation written against mod.ts, as a user would write it. */
function softsignPlugin(): string {
  return `import type { Activation } from "${join(root, "mod.ts")}";
const softsign: Activation = {
  kind: "activation",
  name: "softsign",
  version: "1.0.0",
  description: "x / (1 + |x|)",
  create: ({ tf }) => ({
    kind: "softsign",
    parameters: () => [],
    forward: (x) => tf.div(x, tf.add(1, tf.abs(x))),
    lipschitzBound: () => Promise.resolve({ value: 1, method: "slope at 0" }),
  }),
};
export default softsign;
`;
}

Deno.test("the registry resolves built-in names of every kind", async () => {
  const reg = createRegistry(builtinPlugins);
  for (const kind of ["activation", "layer", "projection", "experiment"] as const) {
    assert.ok(reg.names(kind).length > 0);
    for (const name of reg.names(kind)) {
      const p = await reg.load(kind, name);
      assert.equal(p.kind, kind);
      assert.equal(p.name, name);
      assert.match(p.version, /^\d+\.\d+\.\d+$/);
    }
  }
});

Deno.test("unknown names list the known ones; wrong kinds and bad modules are user errors", async () => {
  const dir = await Deno.makeTempDir();
  const reg = createRegistry(builtinPlugins, { cwd: dir });
  await assert.rejects(
    reg.activation("swish"),
    (e) => isUserError(e) && /known activations are .*linearspline.*relu/.test(e.message),
  );
  await Deno.writeTextFile(join(dir, "act.ts"), softsignPlugin());
  await assert.rejects(
    reg.projection("./act.ts"),
    (e) => isUserError(e) && /as a projection.*"activation"/.test(e.message),
  );
  await Deno.writeTextFile(join(dir, "empty.ts"), "export const x = 1;\n");
  await assert.rejects(
    reg.activation("./empty.ts"),
    (e) => isUserError(e) && /default export/.test(e.message),
  );
  await assert.rejects(
    reg.activation("./missing.ts"),
    (e) => isUserError(e) && /missing\.ts/.test(e.message),
  );
  const ok = await reg.activation("./act.ts");
  assert.equal(ok.name, "softsign");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a third-party activation file trains from the CLI and certifies", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "softsign.ts");
  await Deno.writeTextFile(file, softsignPlugin());
  const r = await runCli([
    "train",
    "--exp",
    "1d",
    "--set",
    `activation_fn_params.activation_type=${file}`,
    "--set",
    "training_options.epochs=1",
    "--set",
    "training_options.nbr_models=2",
    "--set",
    "dataset.training_dataset_size=30",
    "--set",
    `log_dir=${dir}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /median test MSE/);
  const c = await runCli(["certify", join(dir, "test"), "--json"]);
  assert.equal(c.code, 0, c.stderr);
  const out = JSON.parse(c.stdout);
  assert.ok(out.layers.some((l: { kind: string }) => l.kind === "softsign"));
  assert.ok(out.product <= 1.001 && out.empirical <= out.product);
  await Deno.remove(dir, { recursive: true });
});
