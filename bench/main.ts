/**
 * `deno task bench [FILTER] [--backends cpu,wasm,webgpu]`: runs every benchmark case of the
 * `bench/*_bench.ts` modules whose name contains FILTER, on each backend, and prints one JSON
 * object per case and backend: `{"bench","backend","median_ms","min_ms","n",...info}`.
 * A case that throws prints `{"bench","backend","error"}` instead. Default backends: `cpu`,
 * `wasm`, plus `webgpu` when a real GPU adapter exists.
 *
 * @module
 */
import { hasRealGpu, initBackend } from "../core/backend/backend.ts";
import type { DeviceChoice } from "../core/backend/backend.ts";
import { type BenchCase, timeIteration } from "./harness.ts";
import { benches as bjorckBenches } from "./bjorck_bench.ts";
import { benches as denoiseBenches } from "./denoise_bench.ts";
import { benches as splineBenches } from "./spline_bench.ts";
import { benches as stepBenches } from "./step_bench.ts";
import { benches as wassersteinBenches } from "./wasserstein_bench.ts";

/** Every benchmark module's cases. */
export const ALL_BENCHES: BenchCase[] = [
  ...bjorckBenches,
  ...splineBenches,
  ...stepBenches,
  ...denoiseBenches,
  ...wassersteinBenches,
];

/** Parsed command line of `bench/main.ts`. */
export interface BenchArgs {
  /** Substring a case name must contain ("" = all). */
  filter: string;
  /** Backends to run on, in order. */
  backends: string[] | null;
}

/** Parse `[FILTER] [--backends a,b]` (also `--backends=a,b`). */
export function parseBenchArgs(args: string[]): BenchArgs {
  let filter = "";
  let backends: string[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--backends") backends = (args[++i] ?? "").split(",").filter((s) => s);
    else if (a.startsWith("--backends=")) {
      backends = a.slice("--backends=".length).split(",").filter((s) => s);
    } else if (a.startsWith("--")) {
      throw new Error(`Cannot run the benchmarks: unknown option ${a}`);
    } else filter = a;
  }
  return { filter, backends };
}

async function main(): Promise<void> {
  const { filter, backends: asked } = parseBenchArgs(Deno.args);
  const backends = asked ?? ["cpu", "wasm", ...((await hasRealGpu()) ? ["webgpu"] : [])];
  const cases = ALL_BENCHES.filter((c) => c.bench.includes(filter));
  for (const backend of backends) {
    const info = await initBackend(backend as DeviceChoice);
    for (const c of cases) {
      if (c.backends && !c.backends.includes(backend)) continue;
      let line: Record<string, unknown>;
      try {
        const it = await c.setup();
        try {
          const t = await timeIteration(it, c.minReps, c.budgetMs, c.warmups);
          line = { bench: c.bench, backend, ...t, ...c.info };
        } finally {
          it.dispose?.();
        }
      } catch (e) {
        line = { bench: c.bench, backend, error: String((e as Error).message ?? e).slice(0, 300) };
      }
      line.device = info.description;
      console.log(JSON.stringify(line));
    }
  }
}

if (import.meta.main) await main();
