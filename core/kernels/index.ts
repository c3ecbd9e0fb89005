/**
 * Registers lipspline's own TF.js kernels (fused spline, batched Björck, kernels missing from
 * stock backends) for one backend. Called by `initBackend` after the backend starts. Each
 * kernel family lives in its own module with one `register()` per backend; the modules are
 * imported lazily so that CPU-only runtimes never load the WebGPU backend.
 *
 * @module
 */

import { cpuIO, wasmIO } from "./backend_io.ts";

/** A backend-specific kernel module. */
interface KernelModule {
  register(): void;
}

/** The BLAS routes of `blas_kernels.ts` for one CPU backend (registered last: see there). */
const blasFor = (name: "cpu" | "wasm") => () =>
  import("./blas/blas_kernels.ts").then((m) => ({
    register: () => m.registerBlasKernels(name, name === "cpu" ? cpuIO : wasmIO),
  }));

const loaders: Record<string, Array<() => Promise<KernelModule>>> = {
  cpu: [
    () => import("./cpu/spline.ts"),
    () => import("./cpu/bjorck.ts"),
    () => import("./cpu/missing.ts"),
    () => import("./cpu/fused.ts"),
    blasFor("cpu"),
  ],
  wasm: [
    () => import("./wasm/spline.ts"),
    () => import("./wasm/bjorck.ts"),
    () => import("./wasm/missing.ts"),
    () => import("./wasm/fused.ts"),
    blasFor("wasm"),
  ],
  webgpu: [
    () => import("./webgpu/spline.ts"),
  ],
};

const done = new Set<string>();

/** Register every kernel family for backend `name` (idempotent). */
export async function registerKernelsFor(name: string): Promise<void> {
  if (done.has(name)) return;
  done.add(name);
  for (const load of loaders[name] ?? []) (await load()).register();
}
