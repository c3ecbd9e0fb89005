import { tf, useBackend } from "./tests/helpers.ts";
import { createRegistry } from "./core/plugin/registry.ts";
import { builtinPlugins } from "./plugins/builtin.ts";
import { MT19937 } from "./core/rng/mt19937.ts";
import { buildDiscriminator, buildGenerator } from "./plugins/experiments/wgan/networks.ts";
await useBackend((Deno.args[0] ?? "wasm") as "wasm");
const reg = createRegistry(builtinPlugins);
const rng = new MT19937(1);
const gen = await buildGenerator(tf, reg, rng, { activation_type: "relu" });
const disc = await buildDiscriminator(tf, reg, rng, { activation_type: Deno.args[1] ?? "linearspline", spline_init: "absolute_value", spline_range: 0.1, spline_size: 21, lipschitz_constrained: true }, { projection: Deno.args[2] ?? "orthonormalize" });
const B = 64;
const z = tf.randomUniform([B, 62]);
const x = tf.randomUniform([B, 28, 28, 1]);
async function time(label: string, f: () => tf.Tensor) {
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now();
    const y = f(); await y.data(); y.dispose();
    if (r === 1) console.log(label, (performance.now() - t0).toFixed(0), "ms");
  }
}
await time("G fwd", () => gen.forward(z));
await time("D fwd", () => disc.forward(x));
await time("G fwd+bwd", () => tf.tidy(() => { const { value, grads } = tf.variableGrads(() => tf.mean(gen.forward(z)) as tf.Scalar, gen.parameters().filter(p=>p.variable.trainable).map(p=>p.variable)); return value; }));
await time("D fwd+bwd", () => tf.tidy(() => { const { value } = tf.variableGrads(() => tf.mean(disc.forward(x)) as tf.Scalar, disc.parameters().map(p=>p.variable)); return value; }));
for (const m of disc.modules) {
  if (m.type !== "layer") continue;
}
const h0 = tf.randomUniform([B, 14, 14, 64]);
const l = disc.modules[2]; 
if (l.type === "layer") await time("down1 fwd+bwd", () => tf.tidy(() => tf.variableGrads(() => tf.mean(l.layer.forward(h0)) as tf.Scalar, l.layer.parameters().map(p=>p.variable)).value));
const a = disc.modules[1];
if (a.type === "activation") await time("spline conv fwd+bwd 64", () => tf.tidy(() => { const xx = tf.randomUniform([B,14,14,64]); return tf.variableGrads(() => tf.mean(a.activation.forward(xx)) as tf.Scalar, a.activation.parameters().map(p=>p.variable)).value; }));
const lin = disc.modules[5];
if (lin.type === "layer") await time("linear6272 fwd+bwd", () => tf.tidy(() => { const xx = tf.randomUniform([B,6272]); return tf.variableGrads(() => tf.mean(lin.layer.forward(xx)) as tf.Scalar, lin.layer.parameters().map(p=>p.variable)).value; }));
