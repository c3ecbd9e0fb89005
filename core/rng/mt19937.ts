/**
 * MT19937, the Mersenne Twister as used by NumPy's legacy `RandomState` (spec docs/method.md §7), so
 * that one `seed` yields exactly the numbers `np.random.seed(seed)` yields: raw words,
 * `rand()`, `randint(n)`, `randn()`, `shuffle` and `permutation`.
 *
 * @module
 */

import type { Rng, RngState } from "./rng.ts";
import { UserError } from "../errors.ts";

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
/** The `kind` tag stored in {@linkcode RngState}. */
const KIND = "mt19937";

/**
 * The MT19937 generator of Matsumoto & Nishimura (2002 reference, `init_genrand` seeding),
 * with NumPy legacy `RandomState` conversions on top.
 *
 * @example
 * ```ts
 * import { MT19937 } from "./mt19937.ts";
 * const rng = new MT19937(42);
 * rng.random(); // 0.3745401188473625, like np.random.seed(42); np.random.rand()
 * ```
 */
export class MT19937 implements Rng {
  #mt = new Uint32Array(N);
  #index = N;
  #spare: number | null = null;

  /** Seed with `init_genrand(seed)`; `seed` is taken modulo 2^32 (must be a finite integer). */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new UserError(`Cannot seed MT19937 as the seed must be an integer: seed is ${seed}`);
    }
    // docs/method.md §7: init_genrand of the 2002 reference implementation.
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, mod 2^32 (split the multiply to stay exact).
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.#index = N;
  }

  /** Rebuild a generator from a state returned by {@linkcode MT19937.getState}. */
  static fromState(state: RngState): MT19937 {
    const rng = new MT19937(0);
    rng.setState(state);
    return rng;
  }

  /** Regenerate the 624 words (the 2002 reference's `genrand_int32` refill). */
  #twist(): void {
    const mt = this.#mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ ((y & 1) ? MATRIX_A : 0);
    }
    this.#index = 0;
  }

  /** Next raw 32-bit output (tempered), an integer in [0, 2^32). */
  uint32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#mt[this.#index++];
    // Tempering, 2002 reference.
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits: NumPy `rand()` (docs/method.md §7 formula). */
  random(): number {
    const a = this.uint32() >>> 5;
    const b = this.uint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * A uniform integer in [0, n), NumPy legacy masked rejection sampling (`randint(n)`,
   * `random_interval(n - 1)`): draw 32-bit words, mask to the smallest all-ones cover of
   * `n - 1`, reject values above `n - 1`. `n` must be an integer in [1, 2^32].
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new UserError(`Cannot draw an integer as n must be an integer in [1, 2^32]: n is ${n}`);
    }
    const max = n - 1;
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do {
      value = (this.uint32() & mask) >>> 0;
    } while (value > max);
    return value;
  }

  /**
   * A standard normal draw, NumPy legacy `gauss` (`np.random.randn`): polar Box–Muller on
   * two `random()` draws, returning `f * x2` and caching `f * x1` for the next call.
   */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2.0 * this.random() - 1.0;
      x2 = 2.0 * this.random() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt(-2.0 * Math.log(r2) / r2);
    this.#spare = f * x1;
    return f * x2;
  }

  /** A copy of the full state: 624 words, the position, and the cached normal if any. */
  getState(): RngState {
    return {
      kind: KIND,
      words: Array.from(this.#mt),
      index: this.#index,
      spareNormal: this.#spare,
    };
  }

  /** Restore a state from {@linkcode MT19937.getState}; throws `UserError` if it is malformed. */
  setState(state: RngState): void {
    if (state.kind !== KIND) {
      throw new UserError(
        `Cannot restore the random state as its kind must be "${KIND}": kind is "${state.kind}"`,
      );
    }
    if (!Array.isArray(state.words) || state.words.length !== N) {
      throw new UserError(
        `Cannot restore the random state as it must hold ${N} words: it holds ${
          Array.isArray(state.words) ? state.words.length : "none"
        }`,
      );
    }
    if (!Number.isInteger(state.index) || state.index < 0 || state.index > N) {
      throw new UserError(
        `Cannot restore the random state as its index must be an integer in [0, ${N}]: ` +
          `index is ${state.index}`,
      );
    }
    for (const w of state.words) {
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new UserError(
          `Cannot restore the random state as its words must be 32-bit unsigned: found ${w}`,
        );
      }
    }
    const spare = state.spareNormal ?? null;
    if (spare !== null && !Number.isFinite(spare)) {
      throw new UserError(
        `Cannot restore the random state as its cached normal must be finite: it is ${spare}`,
      );
    }
    this.#mt.set(state.words);
    this.#index = state.index;
    this.#spare = spare;
  }

  /** `n` draws of {@linkcode MT19937.random}, in order (NumPy `rand(n)`). */
  randomArray(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.random();
    return out;
  }

  /**
   * Shuffle `arr` in place, NumPy legacy `shuffle`: Fisher–Yates from the end, swapping
   * element `i` with `int(i + 1)` for `i = len - 1 .. 1`. Returns `arr`.
   */
  shuffleInPlace<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }
}

/**
 * A random permutation of `0 .. n-1`, NumPy legacy `permutation(n)` (arange, then the legacy
 * shuffle) when `rng` is an {@linkcode MT19937}.
 */
export function permutation(rng: Rng, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
