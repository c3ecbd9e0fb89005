/**
 * Spectral normalisation: `W / sigma_max(W)`, with `sigma_max` from power iteration whose
 * vectors are held constant in the gradient (as in Miyato et al. 2018).
 *
 * @module
 */
import type { Projection, Tensor } from "../../plugin.ts";

const spectralNormProjection: Projection = {
  kind: "projection",
  name: "spectral_norm",
  version: "1.0.0",
  description: "W / sigma_max(W), sigma_max by power iteration",
  options: {},
  create({ tf, ops }, options) {
    const iters = (options.powerIter as number | undefined) ?? 30;
    // Identity forward, zero gradient: the power-iteration vectors are constants in backprop.
    const stopGradient = tf.customGrad(
      ((x: Tensor) => ({
        value: tf.clone(x),
        gradFunc: (dy: Tensor) => tf.zerosLike(dy),
      })) as never,
    );
    const project = (w: Tensor): Tensor =>
      tf.tidy(() => {
        const batched = w.rank === 3 ? w : tf.expandDims(w, 0);
        const wd = stopGradient(batched) as Tensor;
        const [B, rows, cols] = batched.shape as number[];
        let v: Tensor = tf.ones([B, cols, 1]);
        let u: Tensor = tf.ones([B, rows, 1]);
        for (let i = 0; i < iters; i++) {
          u = tf.matMul(wd, v);
          u = tf.div(u, tf.add(tf.norm(u, "euclidean", [1, 2], true), 1e-12));
          v = tf.matMul(wd, u, true, false);
          v = tf.div(v, tf.add(tf.norm(v, "euclidean", [1, 2], true), 1e-12));
        }
        // sigma = uᵀ W v, differentiable in W with u and v held constant.
        const sigma = tf.sum(tf.mul(u, tf.matMul(batched, v)), [1, 2], true);
        const out = tf.div(batched, sigma);
        return w.rank === 3 ? out : tf.squeeze(out, [0]);
      });
    return {
      project,
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
          method: `${ops.EXACT_BOUND_METHOD} of W / sigma (sigma by ${iters} power iterations)`,
        };
      },
    };
  },
};
export default spectralNormProjection;
