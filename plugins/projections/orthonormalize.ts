/**
 * Björck orthonormalisation (docs/method.md §4): `w = W / sqrt(out * in)`, then `bjorck_iter` (default 15)
 * iterations of `w <- (1 + beta) w - beta w (wᵀ w)` with beta = 0.5, differentiated through.
 *
 * @module
 */
import { fcNetSchema, type Projection, type Tensor } from "../../plugin.ts";

const orthonormalize: Projection = {
  kind: "projection",
  name: "orthonormalize",
  version: "1.0.0",
  description: "Björck orthonormalisation (order 1, beta 0.5, bjorck_iter iterations)",
  options: { bjorck_iter: fcNetSchema.shape.bjorck_iter },
  create({ tf, ops }, options) {
    const iters = options.bjorckIter ?? 15;
    const project = (w: Tensor) =>
      tf.tidy(() => {
        const [out, inp] = w.shape.slice(-2);
        return ops.bjorck(tf.div(w, Math.sqrt(out * inp)), iters, 0.5);
      });
    return {
      project,
      // The same projection for the native ensemble trainer (docs/training.md).
      native: { kind: "bjorck", iters, beta: 0.5 },
      async lipschitzBound(w) {
        const p = project(w);
        let s: number[];
        try {
          s = await ops.weightSpectralNormUpperBounds(p);
        } finally {
          p.dispose();
        }
        return {
          value: Math.max(...s),
          perModel: s,
          method: `${ops.EXACT_BOUND_METHOD} of the Björck-projected weight (${iters} iterations)`,
        };
      },
    };
  },
};
export default orthonormalize;
