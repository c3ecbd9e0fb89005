/**
 * The fused HouseHolder activation of order 1 (docs/method.md §2) and its gradient. Channels split into the
 * first half `a` and the second half `b`; per pair an angle `theta`;
 * `s = a sin(theta/2) - b cos(theta/2)`; `s <= 0` keeps `(a, b)`, else the reflection
 * `(a cos theta + b sin theta, a sin theta - b cos theta)`. Backends without the kernel (WebGPU)
 * use {@linkcode householderComposite}.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import { registerKernelGradient } from "./kernel_gradient.ts";

/** Kernel name: inputs `x` `[G, N, C]`, `theta` `[G * C/2]`; output `y` like `x`. */
export const HOUSEHOLDER_KERNEL = "LipsplineHouseholder";
/** Gradient kernel: inputs `x`, `theta`, `dy`; outputs `[dx, dtheta]`. */
export const HOUSEHOLDER_GRAD_KERNEL = "LipsplineHouseholderGrad";

/** Forward loop over `x` viewed as `[G, N, C]` (docs/method.md §2). */
export function householderLoop(
  x: Float32Array,
  theta: Float32Array,
  G: number,
  N: number,
  C: number,
  y: Float32Array,
): void {
  const H = C / 2;
  for (let g = 0; g < G; g++) {
    for (let h = 0; h < H; h++) {
      const t = theta[g * H + h];
      const s2 = Math.sin(t / 2), c2 = Math.cos(t / 2), s1 = Math.sin(t), c1 = Math.cos(t);
      for (let n = 0; n < N; n++) {
        const i = (g * N + n) * C + h;
        const a = x[i], b = x[i + H];
        if (a * s2 - b * c2 <= 0) {
          y[i] = a;
          y[i + H] = b;
        } else {
          y[i] = a * c1 + b * s1;
          y[i + H] = a * s1 - b * c1;
        }
      }
    }
  }
}

/**
 * Gradient loop: kept pairs pass `dy` through; reflected ones get `Rᵀ dy` (R is symmetric) and
 * add `dy_a (-a sin t + b cos t) + dy_b (a cos t + b sin t)` to their angle's gradient.
 */
export function householderGradLoop(
  x: Float32Array,
  theta: Float32Array,
  dy: Float32Array,
  G: number,
  N: number,
  C: number,
  dx: Float32Array,
  dtheta: Float32Array,
): void {
  const H = C / 2;
  for (let g = 0; g < G; g++) {
    for (let h = 0; h < H; h++) {
      const t = theta[g * H + h];
      const s2 = Math.sin(t / 2), c2 = Math.cos(t / 2), s1 = Math.sin(t), c1 = Math.cos(t);
      let dt = 0;
      for (let n = 0; n < N; n++) {
        const i = (g * N + n) * C + h;
        const a = x[i], b = x[i + H], da = dy[i], db = dy[i + H];
        if (a * s2 - b * c2 <= 0) {
          dx[i] = da;
          dx[i + H] = db;
        } else {
          dx[i] = c1 * da + s1 * db;
          dx[i + H] = s1 * da - c1 * db;
          dt += da * (-a * s1 + b * c1) + db * (a * c1 + b * s1);
        }
      }
      dtheta[g * H + h] = dt;
    }
  }
}

/** Register the op's gradient (backend-independent; idempotent). */
export function registerHouseholderGradient(): void {
  registerKernelGradient({
    kernel: HOUSEHOLDER_KERNEL,
    gradKernel: HOUSEHOLDER_GRAD_KERNEL,
    saved: ["x", "theta"],
    dys: ["dy"],
    grads: ["x", "theta"],
  });
}

/**
 * HouseHolder on `x` (`[..., C]`) with angles `theta` (`[C/2]`, or `[M, 1, C/2]` for an ensemble
 * whose `x` is `[M, N, C]`): the fused kernel where the backend has it, else stock ops.
 *
 * @example
 * ```ts
 * import { tf } from "../backend/tf.ts";
 * import { householder } from "./householder.ts";
 * const y = householder(tf.tensor2d([[2, 1]]), tf.tensor1d([Math.PI / 2])); // [[1, 2]]
 * ```
 */
export function householder(x: Tensor, theta: Tensor): Tensor {
  if (tf.getKernel(HOUSEHOLDER_KERNEL, tf.getBackend()) == null) {
    return householderComposite(x, theta);
  }
  return tf.tidy(() => {
    const C = x.shape[x.shape.length - 1];
    const G = theta.rank === 3 ? theta.shape[0] : 1;
    const y = tf.engine().runKernel(
      HOUSEHOLDER_KERNEL,
      { x: tf.reshape(x, [G, -1, C]), theta: tf.reshape(theta, [-1]) },
      {},
    ) as Tensor;
    return tf.reshape(y, x.shape);
  });
}

/** {@linkcode householder} from stock ops; the mask enters through `tf.step` (zero gradient). */
export function householderComposite(x: Tensor, theta: Tensor): Tensor {
  return tf.tidy(() => {
    const [a, b] = tf.split(x, 2, x.rank - 1);
    const s = tf.sub(tf.mul(a, tf.sin(tf.div(theta, 2))), tf.mul(b, tf.cos(tf.div(theta, 2))));
    const keep = tf.sub(1, tf.step(s)); // [s <= 0]
    const flip = tf.sub(1, keep);
    const ra = tf.add(tf.mul(a, tf.cos(theta)), tf.mul(b, tf.sin(theta)));
    const rb = tf.sub(tf.mul(a, tf.sin(theta)), tf.mul(b, tf.cos(theta)));
    return tf.concat(
      [tf.add(tf.mul(keep, a), tf.mul(flip, ra)), tf.add(tf.mul(keep, b), tf.mul(flip, rb))],
      x.rank - 1,
    );
  });
}
