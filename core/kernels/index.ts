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
  import("./blas_kernels.ts").then((m) => ({
    register: () => m.registerBlasKernels(name, name === "cpu" ? cpuIO : wasmIO),
  }));

const loaders: Record<string, Array<() => Promise<KernelModule>>> = {
  cpu: [
    () => import("./spline_cpu.ts"),
    () => import("./bjorck_cpu.ts"),
    () => import("./missing_cpu.ts"),
    () => import("./fused_cpu.ts"),
    blasFor("cpu"),
  ],
  wasm: [
    () => import("./spline_wasm.ts"),
    () => import("./bjorck_wasm.ts"),
    () => import("./missing_wasm.ts"),
    () => import("./fused_wasm.ts"),
    blasFor("wasm"),
  ],
  webgpu: [
    () => import("./spline_webgpu.ts"),
  ],
};

const done = new Set<string>();

/** Register every kernel family for backend `name` (idempotent). */
export async function registerKernelsFor(name: string): Promise<void> {
  if (done.has(name)) return;
  done.add(name);
  for (const load of loaders[name] ?? []) (await load()).register();
}
