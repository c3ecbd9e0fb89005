import { runExperiment } from "../core/train/run_experiment.ts";
import assert from "node:assert/strict";
import { testContext, tf, useBackend } from "./helpers.ts";
import { buildDenoiseStep } from "../bench/denoise_bench.ts";

await useBackend("cpu");

for (const activation of ["linearspline", "groupsort", "householder"]) {
  Deno.test(`memory stays flat over 1d epochs (${activation})`, async () => {
    const counts: number[] = [];
    const ctx = await testContext(
      [
        "training_options.epochs=6",
        "training_options.nbr_models=3",
        "dataset.training_dataset_size=50",
        "dataset.testing_dataset_size=100",
        `activation_fn_params.activation_type=${activation}`,
      ],
      () => counts.push(tf.memory().numTensors),
    );
    const before = tf.memory().numTensors;
    const exp = await ctx.registry.experiment("1d");
    await runExperiment(exp, ctx);
    assert.equal(counts.length, 7);
    // After the first epoch, the number of live tensors never grows.
    for (const c of counts.slice(1)) assert.equal(c, counts[1], `tensor counts ${counts}`);
    assert.equal(tf.memory().numTensors, before, "everything is freed at the end");
    await Deno.remove(ctx.runDir, { recursive: true });
  });
}

Deno.test({
  name: "memory stays flat over denoiser training steps on wasm (BCOP, spline, shared Identity)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await useBackend("wasm");
    const heap = () =>
      (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    const before = tf.memory().numTensors;
    // the paper's step (8 BCOP layers, linearspline) on a small batch of 16×16 patches
    const s = await buildDenoiseStep("linearspline", 4, 16, [1, 8, 8, 1]);
    const losses: number[] = [];
    const counts: number[] = [];
    let heapAfterWarmup = 0;
    for (let i = 0; i < 8; i++) {
      const loss = s.step();
      losses.push((await loss.data())[0]);
      loss.dispose();
      counts.push(tf.memory().numTensors);
      if (i === 1) heapAfterWarmup = heap();
    }
    for (const c of counts.slice(1)) assert.equal(c, counts[1], `tensor counts ${counts}`);
    assert.equal(heap(), heapAfterWarmup, "the wasm heap grew after the warm-up steps");
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses.at(-1)! < losses[0], `the loss went down: ${losses}`);
    s.dispose();
    assert.equal(tf.memory().numTensors, before, "everything is freed at the end");
  },
});
