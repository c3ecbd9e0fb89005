/**
 * Registering a kernel for a backend, replacing the one already registered under that name.
 *
 * @module
 */
import type { KernelFunc } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";

/**
 * Register `kernelFunc` as `kernelName` on `backendName`, replacing a stock or earlier kernel.
 *
 * @example
 * ```ts ignore
 * replaceKernel("UnsortedSegmentSum", "cpu", segmentSumCpu);
 * ```
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  kernelFunc: KernelFunc,
): void {
  if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}
