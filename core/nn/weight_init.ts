/**
 * Weight and bias initialisations (docs/method.md §4), drawn from the run's seeded generator so that a
 * seed reproduces a run. Weights are `[out, in]` row-major.
 *
 * @module
 */
import type { Rng } from "../rng/rng.ts";
import { UserError } from "../errors.ts";

/** The `weight_initialization` values of the authors' configs. */
export type WeightInit =
  | "He_uniform"
  | "He_normal"
  | "Xavier_normal"
  | "Xavier_uniform"
  | "orthonormal"
  | "gan"
  | "identity"
  | "torch_linear_default";

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rng.random() - 1) * bound);
}

function normal(rng: Rng, n: number, std: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}

/**
 * Orthonormal init (docs/method.md §4): QR of a Gaussian matrix with the signs of R's diagonal folded into
 * Q — which is what modified Gram–Schmidt on the columns of the tall orientation gives.
 */
function orthonormal(rng: Rng, rows: number, cols: number): Float32Array {
  const tall = rows >= cols;
  const m = tall ? rows : cols; // long side
  const n = tall ? cols : rows; // short side
  // a[j] = column j (length m) of the tall m x n matrix, in float64.
  const g = Float64Array.from({ length: rows * cols }, () => rng.normal());
  const a: Float64Array[] = Array.from(
    { length: n },
    (_, j) => Float64Array.from({ length: m }, (_, i) => tall ? g[i * cols + j] : g[j * cols + i]),
  );
  for (let j = 0; j < n; j++) {
    const v = a[j];
    for (let k = 0; k < j; k++) {
      const q = a[k];
      let d = 0;
      for (let i = 0; i < m; i++) d += q[i] * v[i];
      for (let i = 0; i < m; i++) v[i] -= d * q[i];
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < m; i++) v[i] /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (tall) out[i * cols + j] = a[j][i];
      else out[j * cols + i] = a[j][i];
    }
  }
  return out;
}

/**
 * Initial weight `[out, in]` (docs/method.md §4). **Quirk** kept from the authors: He_normal is the same
 * uniform draw as He_uniform, with bound `sqrt(6 / fan_out)`.
 *
 * @example
 * ```ts
 * import { MT19937 } from "../rng/mt19937.ts";
 * import { initWeight } from "./weight_init.ts";
 * const w = initWeight(new MT19937(5), "He_uniform", 10, 10);
 * ```
 */
export function initWeight(rng: Rng, kind: WeightInit, out: number, inp: number): Float32Array {
  const n = out * inp;
  switch (kind) {
    case "He_uniform":
    case "He_normal":
      return uniform(rng, n, Math.sqrt(6 / out));
    case "Xavier_normal":
      return normal(rng, n, Math.sqrt(2 / (inp + out)));
    case "Xavier_uniform":
      return uniform(rng, n, Math.sqrt(6 / (inp + out)));
    case "orthonormal":
      return orthonormal(rng, out, inp);
    case "gan":
      return normal(rng, n, 0.02);
    case "identity":
      return Float32Array.from({ length: n }, (_, i) => (Math.floor(i / inp) === i % inp ? 1 : 0));
    case "torch_linear_default":
      // PyTorch's nn.Linear default, docs/method.md (4.14): uniform ±1/sqrt(fan_in).
      return uniform(rng, n, 1 / Math.sqrt(inp));
    default:
      throw new UserError(
        `Cannot initialise weights as weight_initialization is unknown: '${kind}'`,
      );
  }
}

/**
 * Initial bias `[out]`: zero for "gan", else uniform ±1/sqrt(fan_in) (docs/method.md §4; for
 * "torch_linear_default" this is nn.Linear's default bias, (4.14)).
 */
export function initBias(rng: Rng, kind: WeightInit, out: number, inp: number): Float32Array {
  if (kind === "gan") return new Float32Array(out);
  return uniform(rng, out, 1 / Math.sqrt(inp));
}
