/**
 * Choosing and starting the TensorFlow.js backend (`--device auto|cpu|wasm|webgpu`).
 *
 * `auto` picks WebGPU when a real (non-fallback) GPU adapter exists, else the fastest CPU route.
 * TF.js's start-up banners ("install tfjs-node") never reach the user.
 *
 * @module
 */
import { tf } from "./tf.ts";
import { UserError } from "./errors.ts";

/** What the user may ask for with `--device`. */
export type DeviceChoice = "auto" | "cpu" | "wasm" | "webgpu";
/** The device choices, for help texts and validation. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ["auto", "cpu", "wasm", "webgpu"];

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
    if (/tfjs-node|TensorFlow\.js in Node|=====|Platform .* has already been set/.test(s)) return;
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

async function startBackend(name: string): Promise<boolean> {
  if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
  if (name === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
  const ok = await quietly(() => tf.setBackend(name));
  if (ok) await tf.ready();
  silenceCpuBanner();
  return ok && tf.getBackend() === name;
}

/** Whether a real (not software-fallback) WebGPU adapter is present. */
export async function hasRealGpu(): Promise<boolean> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } })
    ?.gpu;
  if (!gpu) return false;
  try {
    const a = await gpu.requestAdapter() as { isFallbackAdapter?: boolean; info?: unknown } | null;
    if (!a) return false;
    const info = (a.info ?? {}) as { description?: string; device?: string; isFallbackAdapter?: boolean };
    const text = `${info.description ?? ""} ${info.device ?? ""}`.toLowerCase();
    if (a.isFallbackAdapter || info.isFallbackAdapter) return false;
    return !/llvmpipe|swiftshader|lavapipe|software/.test(text);
  } catch {
    return false;
  }
}

/**
 * Start the backend for `choice` and return what was started.
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
  if (choice === "auto") name = (await hasRealGpu()) ? "webgpu" : "cpu";
  if (!(await startBackend(name))) {
    if (choice !== "auto") {
      throw new UserError(`Cannot start the '${name}' backend on this machine`);
    }
    name = "cpu";
    await startBackend(name);
  }
  const description = name === "webgpu"
    ? "webgpu (GPU)"
    : name === "wasm"
    ? "wasm (CPU, SIMD, 1 thread)"
    : "cpu (CPU, fused JS kernels)";
  return { name, description };
}
