/**
 * The host's single copy of TensorFlow.js (core + the cpu backend, which is always present).
 * Every module of lipspline imports tf from here; plugins receive it through their context
 * and never import their own copy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";

/** The TensorFlow.js namespace type that plugins receive. */
export type TF = typeof tf;
export { tf };
