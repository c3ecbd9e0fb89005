import { tf, useBackend } from "../tests/helpers.ts";
import { MT19937 } from "../core/rng/mt19937.ts";
import { createRegistry } from "../core/plugin/registry.ts";
import { builtinPlugins } from "../plugins/builtin.ts";
import { createDenoiserModel, denoiserLoss } from "../plugins/experiments/denoising/model.ts";
const CFG: any = {
  net_params: { bias: true, kernel_size: 3, num_channels: [1, 4, 4, 1] },
  activation_fn_params: { activation_type: Deno.args[0] ?? "linearspline", lipschitz_constrained: Deno.args[2] !== "free", lmbda: Number(Deno.args[1] ?? 1e-4), spline_init: "relu", spline_range: 0.5, spline_size: 11 },
  optimizer: { lr_weights: 1e-3, lr_spline_coeffs: 1e-3, lr_spline_scaling_coeffs: 1e-3 },
};
const res: Record<string, Record<string, Float32Array>> = {};
for (const be of ["cpu", "webgpu"]) {
  await useBackend(be as "cpu");
  const model = await createDenoiserModel(tf, createRegistry(builtinPlugins), new MT19937(5), CFG);
  const clean = Float32Array.from({ length: 3 * 64 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
  const rng = new MT19937(11);
  const noisy = clean.map((v) => v + 0.1 * (rng.random() - 0.5));
  const x = tf.tensor4d(noisy, [3, 8, 8, 1]), y = tf.tensor4d(clean, [3, 8, 8, 1]);
  const { grads } = tf.variableGrads(() => denoiserLoss(model, x as any, y as any), model.adam.variables());
  res[be] = {};
  let j = 0; for (const v of model.adam.variables()) res[be][`${j++} ${v.name}`] = new Float32Array(await grads[v.name].data());
}
for (const k of Object.keys(res.cpu)) {
  const a = res.cpu[k], b = Object.values(res.webgpu)[Object.keys(res.cpu).indexOf(k)]; let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(a[i])); }
  console.log(k, a.length, "maxdiff", d.toExponential(2), "scale", m.toExponential(2));
}
