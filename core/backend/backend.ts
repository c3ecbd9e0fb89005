/**
 * Choosing and starting the TensorFlow.js backend (`--device auto|cpu|wasm|webgpu`).
 *
 * After a backend starts, lipspline's own kernels for it are registered
 * (`core/kernels/index.ts`: fused spline and Björck kernels, kernels missing from the stock
 * backends). WebGPU is started from an adapter and device requested here, not by TF.js's own
 * factory, which asks for feature names Deno rejects and reads `adapter.info` after creating the
 * device (both fail on real GPUs under Deno): only features the adapter lists are requested and
 * the adapter's info is copied first. `auto` picks WebGPU when a real (non-fallback) GPU
 * adapter exists, else {@linkcode AUTO_CPU_BACKEND}. TF.js's start-up banners never reach stdout.
 *
 * @module
 */
import { tf } from "./tf.ts";
import { UserError } from "../errors.ts";
import { registerKernelsFor } from "../kernels/index.ts";
import { blasRoute } from "../kernels/blas/blas_kernels.ts";

/** What the user may ask for with `--device`. */
export type DeviceChoice = "auto" | "cpu" | "wasm" | "webgpu";
/** The device choices, for help texts and validation. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ["auto", "cpu", "wasm", "webgpu"];

/**
 * The CPU backend `auto` starts when no real GPU is present. Measured (bench `bjorck_1d`,
 * `step_1d`): `wasm` runs the 25-model 1-10-10-10-1 training step faster than `cpu` (its
 * batched matMul and element-wise kernels are native SIMD; both have the fused kernels).
 */
export const AUTO_CPU_BACKEND = "wasm";

/** The backend that was started, and why. */
export interface BackendInfo {
  /** TF.js backend name (`cpu`, `wasm`, `webgpu`). */
  name: string;
  /** One line for the user, e.g. `wasm (CPU, SIMD, 1 thread)`. */
  description: string;
}

/** Run `fn` with console.log/warn/info filtered of TF.js's banners. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const c = console as unknown as Record<string, (...a: unknown[]) => void>;
  const saved = { log: c.log, warn: c.warn, info: c.info };
  const filter = (orig: (...a: unknown[]) => void) => (...a: unknown[]) => {
    const s = a.map(String).join(" ");
    if (
      /tfjs-node|TensorFlow\.js in Node|=====|Platform .* has already been set|already registered/
        .test(s)
    ) return;
    orig(...a);
  };
  c.log = filter(saved.log);
  c.warn = filter(saved.warn);
  c.info = filter(saved.info);
  try {
    return await fn();
  } finally {
    Object.assign(c, saved);
  }
}

/** Silence the cpu backend's one-time "install tfjs-node" notice on first write. */
function silenceCpuBanner(): void {
  const be = tf.findBackend("cpu") as unknown as { firstUse?: boolean } | null;
  if (be) be.firstUse = false;
}

/** The subset of the WebGPU API used here (Deno's `navigator.gpu`). */
interface GpuAdapterLike {
  features: ReadonlySet<string>;
  limits: Record<string, number>;
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
  requestDevice(desc: {
    requiredFeatures: string[];
    requiredLimits: Record<string, number>;
  }): Promise<unknown>;
}

/** What we copy from `adapter.info` before creating the device. */
interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  fallback: boolean;
}

function navigatorGpu(): { requestAdapter(o?: unknown): Promise<GpuAdapterLike | null> } | null {
  const nav = globalThis.navigator as unknown as { gpu?: unknown } | undefined;
  return (nav?.gpu ?? null) as ReturnType<typeof navigatorGpu>;
}

function summarize(a: GpuAdapterLike): AdapterSummary {
  const info = (a.info ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof info[k] === "string" ? info[k] as string : "");
  const text = `${str("description")} ${str("device")}`.toLowerCase();
  const fallback = a.isFallbackAdapter === true || info.isFallbackAdapter === true ||
    /llvmpipe|swiftshader|lavapipe|software/.test(text);
  return {
    vendor: str("vendor"),
    architecture: str("architecture"),
    device: str("device"),
    description: str("description"),
    fallback,
  };
}

async function requestAdapter(): Promise<GpuAdapterLike | null> {
  const gpu = navigatorGpu();
  if (!gpu) return null;
  try {
    return await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
}

/** Whether a real (not software-fallback) WebGPU adapter is present. */
export async function hasRealGpu(): Promise<boolean> {
  const a = await requestAdapter();
  return a !== null && !summarize(a).fallback;
}

/** Limits TF.js's WebGPU backend raises to the adapter's maximum (as its own factory does). */
const RAISED_LIMITS = [
  "maxComputeWorkgroupStorageSize",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupSizeX",
  "maxComputeInvocationsPerWorkgroup",
];
/** Optional features TF.js's WebGPU backend can use; requested only when the adapter lists them. */
const WANTED_FEATURES = ["timestamp-query"];

let webgpuAdapter: AdapterSummary | null = null;

/** Request adapter and device ourselves and register TF.js's WebGPUBackend on them. */
async function registerWebGpu(): Promise<boolean> {
  if (webgpuAdapter && tf.findBackendFactory("webgpu")) return true; // ours, already registered
  const adapter = await requestAdapter();
  if (!adapter) return false;
  const summary = summarize(adapter); // read adapter.info before requestDevice
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = adapter.limits[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  let device: unknown;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch {
    return false;
  }
  const { WebGPUBackend } = await import("@tensorflow/tfjs-backend-webgpu");
  type WebGpuArgs = ConstructorParameters<typeof WebGPUBackend>;
  // a plain copy: the adapter (and its info) may be invalidated by the device creation
  const info = { ...summary, isFallbackAdapter: summary.fallback } as unknown as WebGpuArgs[1];
  // The import registered TF.js's own factory; replace it with one using our device.
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  tf.registerBackend(
    "webgpu",
    () => new WebGPUBackend(device as WebGpuArgs[0], info),
  );
  webgpuAdapter = summary;
  return true;
}

async function startBackend(name: string): Promise<boolean> {
  try {
    if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
    if (name === "webgpu" && !(await quietly(registerWebGpu))) return false;
    const ok = await quietly(() => tf.setBackend(name));
    if (ok) await quietly(() => tf.ready());
    silenceCpuBanner();
    if (!ok || tf.getBackend() !== name) return false;
  } catch {
    return false;
  }
  await registerKernelsFor(name);
  return true;
}

function describe(name: string): string {
  if (name === "webgpu") {
    const a = webgpuAdapter;
    // Deno reports numeric vendor/device ids; the description names the adapter
    const what = a ? a.description || [a.vendor, a.device].filter((s) => s).join(" ") : "";
    return `webgpu (GPU${what ? `: ${what}` : ""}${
      a?.fallback ? ", software fallback adapter" : ""
    })`;
  }
  const blas = blasRoute(name);
  const route = blas
    ? `, OpenBLAS matMul and conv2d with ${blas.threads} threads (${blas.core} kernels)`
    : "";
  if (name === "wasm") return `wasm (CPU, SIMD, 1 thread${route}, fused spline and Björck kernels)`;
  return `cpu (CPU, plain JS${route}, fused spline and Björck kernels)`;
}

/**
 * Start the backend for `choice` and return what was started. Throws a {@linkcode UserError}
 * for an unknown choice or when an explicitly chosen backend cannot start.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * const info = await initBackend("cpu");
 * console.log(info.description);
 * ```
 */
export async function initBackend(choice: DeviceChoice): Promise<BackendInfo> {
  if (!DEVICE_CHOICES.includes(choice)) {
    throw new UserError(
      `Cannot select the device as it is unknown: --device is '${choice}', expected one of ${
        DEVICE_CHOICES.join(", ")
      }`,
    );
  }
  let name: string = choice;
  let why = "";
  if (choice === "auto") {
    const real = await hasRealGpu();
    name = real ? "webgpu" : AUTO_CPU_BACKEND;
    why = real ? "auto: real GPU adapter" : "auto: no real GPU adapter, fastest CPU backend";
  }
  if (!(await startBackend(name))) {
    if (choice !== "auto") {
      throw new UserError(`Cannot start the '${name}' backend on this machine`);
    }
    why = `auto: ${name} failed to start`;
    name = "cpu";
    if (!(await startBackend(name))) {
      throw new UserError("Cannot start any TensorFlow.js backend on this machine");
    }
  }
  const description = describe(name) + (why ? ` [${why}]` : "");
  return { name, description };
}
