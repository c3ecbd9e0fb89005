/**
 * The learnable linear spline's coefficient math (docs/method.md §3): knot grid, initialisations, the
 * 1-Lipschitz projection of the coefficients, the TV(2) regulariser and the "LS old"
 * normalisation. Evaluation itself is the fused op in `ops/spline.ts`.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { TF } from "../backend/tf.ts";
import { UserError } from "../errors.ts";
import {
  hasFusedKernel,
  PROJECT_KERNEL,
  PROJECT_TV2_KERNEL,
  projectFused,
  projectTv2Fused,
  TV2_KERNEL,
  tv2Fused,
} from "../ops/spline_coefficients.ts";

/** The spline initialisations of docs/method.md §3. */
export type SplineInit = "identity" | "relu" | "absolute_value" | "maxmin" | "zero";

/** Grid step `T = 2R / (K - 1)` (docs/method.md §3). */
export function gridStep(range: number, size: number): number {
  return (2 * range) / (size - 1);
}

/** Knot positions `t_k = -R + k T`, k = 0..K-1 (docs/method.md §3). */
export function knots(range: number, size: number): Float32Array {
  const T = gridStep(range, size);
  return Float32Array.from({ length: size }, (_, k) => -range + k * T);
}

/**
 * Initial coefficients `[C, K]` (row-major) at the knots (docs/method.md §3): identity `t_k`, relu
 * `max(t_k, 0)`, absolute_value `|t_k|`, zero, maxmin (even channels `|t_k|`, odd `t_k`).
 *
 * @example
 * ```ts
 * import { initialCoefficients } from "./spline_math.ts";
 * const c = initialCoefficients("relu", 2, 5, 1); // 2 channels, 5 knots on [-1, 1]
 * ```
 */
export function initialCoefficients(
  init: SplineInit,
  channels: number,
  size: number,
  range: number,
): Float32Array {
  const t = knots(range, size);
  const out = new Float32Array(channels * size);
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < size; k++) {
      const x = t[k];
      let v: number;
      switch (init) {
        case "identity":
          v = x;
          break;
        case "relu":
          v = Math.max(x, 0);
          break;
        case "absolute_value":
          v = Math.abs(x);
          break;
        case "zero":
          v = 0;
          break;
        case "maxmin":
          v = c % 2 === 0 ? Math.abs(x) : x;
          break;
        default:
          throw new UserError(
            `Cannot initialise the spline as spline_init is unknown: '${init}', expected identity, relu, absolute_value, maxmin or zero`,
          );
      }
      out[c * size + k] = v;
    }
  }
  return out;
}

/**
 * Project raw coefficients `c` (`[..., K]`) to a 1-Lipschitz spline, differentiably (docs/method.md §3):
 * `d_k = clamp(c[k+1] - c[k], -T, T)`, `p_0 = 0`, `p_{k+1} = p_k + d_k`, then
 * `p <- p + mean(c - p)` so the projection keeps the mean of the raw coefficients.
 */
export function projectCoefficients(tf: TF, c: Tensor, T: number): Tensor {
  if (hasFusedKernel(PROJECT_KERNEL)) return projectFused(c, T);
  return projectCoefficientsComposite(tf, c, T);
}

/** {@linkcode projectCoefficients} from stock ops (backends without the fused kernel). */
export function projectCoefficientsComposite(tf: TF, c: Tensor, T: number): Tensor {
  return tf.tidy(() => {
    const K = c.shape[c.shape.length - 1];
    const lead = c.shape.slice(0, -1);
    const c2 = tf.reshape(c, [-1, K]);
    const d = tf.clipByValue(
      tf.sub(tf.slice(c2, [0, 1], [-1, K - 1]), tf.slice(c2, [0, 0], [-1, K - 1])),
      -T,
      T,
    );
    const p = tf.concat([tf.zeros([c2.shape[0], 1]), tf.cumsum(d, 1)], 1);
    const shift = tf.mean(tf.sub(c2, p), 1, true);
    return tf.reshape(tf.add(p, shift), [...lead, K]);
  });
}

/**
 * TV(2) per row of `p` (`[..., K]` → `[...]`), docs/method.md §3:
 * `a_k = (p[k+2] - 2 p[k+1] + p[k]) / T` and `||a||_1`.
 */
export function tv2(tf: TF, p: Tensor, T: number): Tensor {
  if (hasFusedKernel(TV2_KERNEL)) return tv2Fused(p, T);
  return tv2Composite(tf, p, T);
}

/** {@linkcode tv2} from stock ops (backends without the fused kernel). */
export function tv2Composite(tf: TF, p: Tensor, T: number): Tensor {
  return tf.tidy(() => {
    const K = p.shape[p.shape.length - 1];
    const lead = p.shape.slice(0, -1);
    const p2 = tf.reshape(p, [-1, K]);
    const a = tf.add(
      tf.sub(tf.slice(p2, [0, 2], [-1, K - 2]), tf.mul(2, tf.slice(p2, [0, 1], [-1, K - 2]))),
      tf.slice(p2, [0, 0], [-1, K - 2]),
    );
    return tf.reshape(tf.div(tf.sum(tf.abs(a), 1), T), lead);
  });
}

/**
 * "LS old" normalisation after an optimiser step (docs/method.md §3, `lipschitz_constrained: false`):
 * `c <- T c / max_k |c[k+1] - c[k]|` per row of `c` (`[..., K]`).
 */
export function lsOldNormalize(tf: TF, c: Tensor, T: number): Tensor {
  return tf.tidy(() => {
    const K = c.shape[c.shape.length - 1];
    const c2 = tf.reshape(c, [-1, K]);
    const d = tf.abs(tf.sub(tf.slice(c2, [0, 1], [-1, K - 1]), tf.slice(c2, [0, 0], [-1, K - 1])));
    const m = tf.maximum(tf.max(d, 1, true), 1e-12);
    return tf.reshape(tf.div(tf.mul(c2, T), m), c.shape);
  });
}

/**
 * The projected coefficients and their TV(2) per row, `[p, tv2]` (docs/method.md §3): one fused kernel
 * where the backend has it, else {@linkcode projectCoefficients} then {@linkcode tv2}.
 */
export function projectWithTv2(tf: TF, c: Tensor, T: number): [Tensor, Tensor] {
  if (hasFusedKernel(PROJECT_TV2_KERNEL)) return projectTv2Fused(c, T);
  const p = projectCoefficients(tf, c, T);
  return [p, tv2(tf, p, T)];
}

/** Largest |slope| of each row of `p` (`[..., K]` → `[...]`): the row's Lipschitz constant. */
export function maxSlope(tf: TF, p: Tensor, T: number): Tensor {
  return tf.tidy(() => {
    const K = p.shape[p.shape.length - 1];
    const p2 = tf.reshape(p, [-1, K]);
    const d = tf.abs(tf.sub(tf.slice(p2, [0, 1], [-1, K - 1]), tf.slice(p2, [0, 0], [-1, K - 1])));
    return tf.reshape(tf.div(tf.max(d, 1), T), p.shape.slice(0, -1));
  });
}
