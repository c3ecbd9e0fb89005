/**
 * The host's single copy of TensorFlow.js (core + the cpu backend, which is always present).
 * Every module of lipspline imports tf from here; plugins receive it through their context
 * and never import their own copy. TF.js core registers no chained methods (`t.reshape()`):
 * always call the functional form, `tf.reshape(t, ...)`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// The umbrella package's node build registers every op's gradient (and the chained methods) on
// this same tfjs-core instance; tfjs-core alone registers neither.
import "@tensorflow/tfjs";

/** The TensorFlow.js namespace type that plugins receive. */
export type TF = typeof tf;
export { tf };

// The cpu backend prints an "install tfjs-node" banner on its first write when it believes it
// runs in Node (Deno looks like Node to TF.js); lipspline's output stays clean.
(tf.findBackend("cpu") as unknown as { firstUse?: boolean } | null)!.firstUse = false;
