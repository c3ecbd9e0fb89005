import { tf } from "../core/tf.ts";
import { initBackend } from "../core/backend.ts";
await initBackend("wasm");
for (const n of [64, 256, 1024]) {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
  for (const [tA, tB] of [[false, false], [true, false], [false, true]]) {
    for (let i = 0; i < 2; i++) { const c = tf.matMul(a, b, tA, tB); await c.data(); c.dispose(); }
    const reps = n === 1024 ? 3 : 20;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) { const c = tf.matMul(a, b, tA, tB); await c.data(); c.dispose(); }
    const ms = (performance.now() - t0) / reps;
    console.log(n, tA, tB, ms.toFixed(2), "ms", (2 * n ** 3 / ms / 1e6).toFixed(1), "GFLOP/s");
  }
}
