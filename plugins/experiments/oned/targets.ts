/**
 * The 1d experiment's targets and data (docs/method.md §5.1 and §7): the random piecewise-linear
 * functions f1 (slopes ±1) and f2 (slopes in {-1, 0, 1}), both shifted to zero mean on
 * [-1, 1], the smooth f3 = cos(7πx)/(7π), the training inputs and the test grid. Drawn with
 * NumPy's legacy generator so that one `seed` gives the authors' exact targets.
 *
 * @module
 */

import { MT19937, UserError } from "../../../plugin.ts";

/** A 1d target function on [-1, 1]. */
export interface Target1d {
  /** Which family: f1 (slopes ±1), f2 (slopes in {-1, 0, 1}), f3 (cos(7πx)/(7π)). */
  type: "f1" | "f2" | "f3";
  /** The slope-change locations, increasing (empty for f3). */
  knots: number[];
  /** The target at `x`, in double precision. */
  evaluate(x: number): number;
}

const relu = (x: number): number => (x > 0 ? x : 0);

/** A piecewise-linear target: relu(x + 1) + Σ changes[i] relu(x - knots[i]) - shift. */
function piecewise(
  type: "f1" | "f2",
  knots: number[],
  changes: number[],
  shift: number,
): Target1d {
  return {
    type,
    knots,
    evaluate(x: number): number {
      let y = relu(x + 1);
      for (let i = 0; i < knots.length; i++) y += changes[i] * relu(x - knots[i]);
      return y - shift;
    },
  };
}

/**
 * Build target `type` from `seed` exactly as docs/method.md §7 describes (`numberKnots` slope changes;
 * ignored for f3). f1 and f2 have zero mean on [-1, 1]; f3 is not corrected.
 */
export function makeTarget(
  type: "f1" | "f2" | "f3",
  numberKnots: number,
  seed: number,
): Target1d {
  if (type === "f3") {
    // REFERENCE §5: f3 = cos(7πx) / (7π), no mean correction.
    const w = 7 * Math.PI;
    return { type, knots: [], evaluate: (x: number) => Math.cos(w * x) / w };
  }
  if (type !== "f1" && type !== "f2") {
    throw new UserError(
      `Cannot build the 1d target as its type must be f1, f2 or f3: type is ${type}`,
    );
  }
  if (!Number.isInteger(numberKnots) || numberKnots < 0) {
    throw new UserError(
      `Cannot build the 1d target as number_knots must be a non-negative integer: ` +
        `number_knots is ${numberKnots}`,
    );
  }
  const n = numberKnots;
  const rng = new MT19937(seed);
  if (type === "f1") {
    // docs/method.md §7 f1: knots = sort(2 rand(n) - 1); knot i adds 2 (-1)^(i+1) relu(x - knot);
    // subtract half of 2 + Σ (-1)^(i+1) (1 - knot_i)^2 (the integral over [-1, 1]).
    const r = rng.randomArray(n);
    const knots = Array.from(r, (v) => 2 * v - 1).sort((a, b) => a - b);
    const changes: number[] = [];
    let integral = 2;
    for (let i = 0; i < n; i++) {
      const sign = i % 2 === 0 ? -1 : 1; // (-1)^(i+1)
      changes.push(2 * sign);
      integral += sign * (1 - knots[i]) ** 2;
    }
    return piecewise("f1", knots, changes, integral / 2);
  }
  // docs/method.md §7 f2: draw 2n values, knots = sort(2 r[n..2n-1] - 1); then one randint(2) per knot
  // (after all 2n draws) picks the slope change; accumulator starts at 2, adds
  // change (0.5 - knot + 0.5 knot^2); subtract half of it.
  const r = rng.randomArray(2 * n);
  const knots = Array.from(r.subarray(n), (v) => 2 * v - 1).sort((a, b) => a - b);
  const changes: number[] = [];
  let slope = 1;
  let integral = 2;
  for (const knot of knots) {
    const b = rng.int(2);
    const change = slope === 1 ? -b - 1 : slope === 0 ? 2 * b - 1 : b + 1;
    slope += change;
    changes.push(change);
    integral += change * (0.5 - knot + 0.5 * knot * knot);
  }
  return piecewise("f2", knots, changes, integral / 2);
}

/**
 * The training inputs (docs/method.md §7): re-seed with `seed`, `X = 2 rand(size, nbrModels, 1) - 1`,
 * cast to float32. Row-major: element `[i, m]` (sample i of model m) is at `i * nbrModels + m`.
 */
export function trainingInputs(seed: number, size: number, nbrModels: number): Float32Array {
  const rng = new MT19937(seed);
  const out = new Float32Array(size * nbrModels);
  for (let k = 0; k < out.length; k++) out[k] = 2 * rng.random() - 1;
  return out;
}

/**
 * `numpy.linspace(-1, 1, n)` (REFERENCE §5 test grid): `-1 + i * (2 / (n - 1))` in float64 with
 * the last point set to exactly 1, then cast to float32.
 */
export function testGrid(n: number): Float32Array {
  const out = new Float32Array(n);
  if (n === 1) {
    out[0] = -1;
    return out;
  }
  const step = 2 / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + -1;
  if (n > 1) out[n - 1] = 1;
  return out;
}

/** Evaluate `t` at each of `xs` in double precision and store the results as float32. */
export function evaluateTargets(t: Target1d, xs: Float32Array): Float32Array {
  const out = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = t.evaluate(xs[i]);
  return out;
}
