/**
 * The files `lipspline plugins new activation NAME` writes: a working 1-Lipschitz activation
 * plugin with a learnable negative slope, and its test written with the conformance kit. The
 * plugin imports types only (it computes with the host's `ctx.tf` and `ctx.ops`), so it runs
 * wherever the host loads it; its test imports the kit, `testing.ts`, at `api` (a path or an
 * import-map specifier of the folder holding lipspline's `plugin.ts` and `testing.ts`).
 *
 * @module
 */

/** The source of an activation plugin named `name`, importing its types from `${api}plugin.ts`. */
export function activationPluginSource(name: string, api: string): string {
  return `/**
 * The \`${name}\` activation: \`f(x) = max(x, 0) + a_c min(x, 0)\` per channel \`c\`, with a learnable
 * negative slope \`a_c = tanh(θ_c)\` in (-1, 1), so its slope is 1 or \`a_c\` and it is
 * 1-Lipschitz for every parameter value.
 *
 * It imports types only and computes with the host's \`ctx.tf\` and \`ctx.ops\`, so it runs on the
 * host's engine from \`deno run\`, from a test, or from the single-file binary. Use it with
 * \`lipspline train --exp 1d --plugin ${name}.ts --set activation_fn_params.activation_type=${name}\`.
 *
 * @module
 */
import type { Activation, ActivationInstance, Tensor } from "${api}plugin.ts";

/** Initial negative slope \`a_c\`. */
const INITIAL_SLOPE = 0.25;

const plugin: Activation = {
  kind: "activation",
  name: "${name}",
  version: "0.1.0",
  description: "max(x, 0) + tanh(θ) min(x, 0), learnable per channel, 1-Lipschitz",
  // The keys of activation_fn_params it reads (zod types); none.
  options: {},
  create({ tf, ops, channels, ensemble, name }): ActivationInstance {
    const shape = ops.channelShape(channels, ensemble);
    const size = shape.reduce((a, b) => a * b, 1);
    const theta = ops.createParameter(
      tf,
      \`\${name}/theta\`,
      "weights",
      shape,
      new Float32Array(size).fill(Math.atanh(INITIAL_SLOPE)),
    );
    return {
      kind: "${name}",
      parameters: () => [theta],
      forward: (x: Tensor) =>
        tf.tidy(() => tf.add(tf.relu(x), tf.mul(tf.tanh(theta.variable), tf.minimum(x, 0)))),
      // The slope is 1 (x > 0) or tanh(θ) in (-1, 1) (x < 0).
      lipschitzBound: () => Promise.resolve({ value: 1, method: "slopes 1 and tanh(θ)" }),
    };
  },
};

export default plugin;
`;
}

/** The test of the plugin \`name\` (\`./${"${name}"}.ts\`), written with the conformance kit at `api`. */
export function activationTestSource(name: string, api: string): string {
  return `import assert from "node:assert/strict";
import { initBackend } from "${api}mod.ts";
import { checkActivation } from "${api}testing.ts";
import plugin from "./${name}.ts";

await initBackend("cpu");

Deno.test("${name} passes the conformance kit (fc, ensemble, conv)", async () => {
  for (
    const options of [
      { channels: 4 },
      { channels: 4, ensemble: 2 },
      { channels: 2, mode: "conv" as const },
    ]
  ) {
    const report = await checkActivation(plugin, options);
    assert.equal(report.bound, 1);
  }
});
`;
}
