/**
 * The benchmark harness: each `*_bench.ts` module exports `benches: BenchCase[]`; `bench/main.ts`
 * runs those whose name contains the FILTER on each requested backend and prints one JSON object
 * per line: `{"bench", "backend", "median_ms", "min_ms", "n", ...extra}`.
 *
 * @module
 */

/** One benchmark. `setup` runs once per backend and returns the function to time. */
export interface BenchCase {
  /** Name, e.g. `spline_fwd_bwd_fc`. */
  bench: string;
  /** Backends it runs on (default: all requested). */
  backends?: string[];
  /** Prepare inputs on the current backend; return one timed iteration (must await its data). */
  setup(): Promise<BenchIteration>;
  /** Extra fields for the JSON line (shapes, sizes). */
  info?: Record<string, unknown>;
  /** Minimum number of timed iterations (default 5) and time budget in ms (default 1500). */
  minReps?: number;
  budgetMs?: number;
  /** Untimed runs first (default 2). */
  warmups?: number;
}

/** One timed iteration plus an optional cleanup. */
export interface BenchIteration {
  run(): Promise<void>;
  dispose?(): void;
}

/** Median, minimum and count of iteration times in milliseconds. */
export interface BenchTiming {
  median_ms: number;
  min_ms: number;
  n: number;
}

/**
 * Time `it.run()` after `warmups` untimed runs (default 2): at least `minReps` runs or until
 * `budgetMs`.
 */
export async function timeIteration(
  it: BenchIteration,
  minReps = 5,
  budgetMs = 1500,
  warmups = 2,
): Promise<BenchTiming> {
  for (let i = 0; i < warmups; i++) await it.run();
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < minReps || (performance.now() - t0 < budgetMs && times.length < 1000)) {
    const s = performance.now();
    await it.run();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return { median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], n: times.length };
}
