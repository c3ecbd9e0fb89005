/**
 * The random-number interface used for every initialisation, shuffle and noise draw, so that
 * one `seed` reproduces a run and a checkpoint can store and restore the exact state.
 *
 * @module
 */

/** Serializable generator state (MT19937: 624 words and a position). */
export interface RngState {
  kind: string;
  words: number[];
  index: number;
  /** A cached second Box–Muller normal, if any. */
  spareNormal?: number | null;
}

/**
 * A seeded generator. The implementation is MT19937 (NumPy's legacy `RandomState`), so that
 * `random()` matches `numpy.random.rand()` for the same seed.
 */
export interface Rng {
  /** Next raw 32-bit output (unsigned). */
  uint32(): number;
  /** A double in [0, 1), NumPy's `rand()` (53-bit). */
  random(): number;
  /** A standard normal draw (Box–Muller on `random()`). */
  normal(): number;
  /** An integer in [0, n): uniform. */
  int(n: number): number;
  /** Copy of the full state, for checkpoints. */
  getState(): RngState;
  /** Restore a state from {@linkcode getState}. */
  setState(state: RngState): void;
}
