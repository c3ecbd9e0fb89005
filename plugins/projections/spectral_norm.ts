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
    // Power iteration (docs/method.md (4.5)) on a weight outside any gradient tape: it runs inside
    // the custom gradient's forward, so backprop never walks its 2·iters matrix-vector products.
    // Its vectors are kept per weight value (keyed by the tensor's data id, which a variable's
    // `assign` replaces): a WGAN step projects the discriminator's new weight in the generator
    // step and again in the next discriminator step, and the second call reuses the vectors
    // (the same values the iteration would give, so runs stay reproducible).
    const vectors = new WeakMap<object, { u: Float32Array; v: Float32Array }>();
    let currentId: object | undefined;
    const powerVectors = (w: Tensor): [Tensor, Tensor] => {
      const [B, rows, cols] = w.shape as number[];
      const hit = currentId ? vectors.get(currentId) : undefined;
      if (hit && hit.u.length === B * rows && hit.v.length === B * cols) {
        return [tf.tensor3d(hit.u, [B, rows, 1]), tf.tensor3d(hit.v, [B, cols, 1])];
      }
      let v: Tensor = tf.ones([B, cols, 1]);
      let u: Tensor = tf.ones([B, rows, 1]);
      for (let i = 0; i < iters; i++) {
        u = tf.matMul(w, v);
        u = tf.div(u, tf.add(tf.norm(u, "euclidean", [1, 2], true), 1e-12));
        v = tf.matMul(w, u, true, false);
        v = tf.div(v, tf.add(tf.norm(v, "euclidean", [1, 2], true), 1e-12));
      }
      if (currentId) {
        vectors.set(currentId, {
          u: u.dataSync() as Float32Array,
          v: v.dataSync() as Float32Array,
        });
      }
      return [u, v];
    };
    // W / sigma with sigma = uᵀ W v and u, v held constant: the gradient is
    // dW = dY / sigma - (Σ dY ∘ W) / sigma² · u vᵀ (one outer product per matrix).
    const normalize = tf.customGrad(
      ((w: Tensor, save: (t: Tensor[]) => void) => {
        const [u, v] = powerVectors(w);
        const sigma = tf.sum(tf.mul(u, tf.matMul(w, v)), [1, 2], true);
        save([w, u, v, sigma]);
        return {
          value: tf.div(w, sigma),
          gradFunc: (dy: Tensor, saved: Tensor[]) => {
            const [ws, us, vs, s] = saved;
            const c = tf.div(tf.sum(tf.mul(dy, ws), [1, 2], true), tf.square(s));
            return tf.sub(tf.div(dy, s), tf.mul(c, tf.matMul(us, vs, false, true)));
          },
        };
      }) as never,
    );
    const project = (w: Tensor): Tensor =>
      tf.tidy(() => {
        currentId = (w as unknown as { dataId?: object }).dataId;
        try {
          const out = normalize(w.rank === 3 ? w : tf.expandDims(w, 0)) as Tensor;
          return w.rank === 3 ? out : tf.squeeze(out, [0]);
        } finally {
          currentId = undefined;
        }
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
