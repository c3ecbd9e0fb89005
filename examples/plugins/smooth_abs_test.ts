/**
 * The example plugin's tests, written with the conformance kit as a plugin author would, plus
 * what is particular to it: at its initial parameters it is a smoothed |x|.
 */
import assert from "node:assert/strict";
import { initBackend, tf } from "../../mod.ts";
import { buildActivation, checkActivation } from "../../testing.ts";
import smoothAbs from "./smooth_abs.ts";

await initBackend("cpu");

Deno.test("smooth_abs passes the conformance kit (fc, ensemble, conv)", async () => {
  for (
    const options of [{ channels: 3 }, { channels: 3, ensemble: 2 }, {
      channels: 2,
      mode: "conv" as const,
    }]
  ) {
    const r = await checkActivation(smoothAbs, options);
    assert.equal(r.bound, 1);
    assert.ok(r.measuredSlope > 0.5 && r.measuredSlope <= 1);
  }
});

Deno.test("smooth_abs starts as sqrt(x² + ε²) - ε with ε = 0.1", async () => {
  const act = buildActivation(smoothAbs, { channels: 1 });
  const y = tf.tidy(() => act.forward(tf.tensor2d([[-2], [0], [0.3]])));
  const v = await y.data();
  y.dispose();
  act.parameters().forEach((p) => p.variable.dispose());
  const expect = [-2, 0, 0.3].map((x) => Math.sqrt(x * x + 0.01) - 0.1);
  v.forEach((got, i) => assert.ok(Math.abs(got - expect[i]) < 1e-5, `${got} vs ${expect[i]}`));
});
