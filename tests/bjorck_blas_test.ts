/**
 * The OpenBLAS Björck route (core/ops/bjorck_blas.ts) against the composite differentiated by
 * TF.js's own autodiff (bjorckReference): values and gradients, tall, wide and batched.
 */
import assert from "node:assert/strict";
import { tf } from "../core/backend/tf.ts";
import { bjorckReference } from "../core/ops/bjorck.ts";
import { bjorckBlas, canBjorckBlas } from "../core/ops/bjorck_blas.ts";
import { useBackend } from "./helpers.ts";

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`bjorckBlas matches the reference on ${backend}`, async () => {
    await useBackend(backend as "cpu" | "wasm");
    if (!canBjorckBlas([4, 4], 1)) return; // no OpenBLAS on this machine: nothing to compare
    for (const shape of [[40, 24], [24, 40], [3, 20, 12], [2, 9, 17]]) {
      tf.tidy(() => {
        const w = tf.div(
          tf.randomNormal(shape, 0, 1, "float32", 3),
          Math.sqrt(shape.at(-1)! * shape.at(-2)!),
        );
        const d = tf.randomNormal(shape, 0, 1, "float32", 4);
        const y1 = bjorckBlas(w, 15), y2 = bjorckReference(w, 15);
        const g1 = tf.grad((v) => tf.sum(tf.mul(bjorckBlas(v, 15), d)))(w);
        const g2 = tf.grad((v) => tf.sum(tf.mul(bjorckReference(v, 15), d)))(w);
        const e = tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0];
        const ge = tf.max(tf.abs(tf.sub(g1, g2))).dataSync()[0];
        const gs = tf.max(tf.abs(g2)).dataSync()[0];
        assert(e < 1e-5, `${shape}: forward differs by ${e}`);
        assert(ge < 1e-4 * Math.max(1, gs), `${shape}: gradient differs by ${ge} (max ${gs})`);
      });
    }
  });
}
