// SCRATCH (not committed): minimal stock gradients for the composite's ops, for measurements.
import type { Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../core/tf.ts";
const sumTo = (g: Tensor, shape: number[]) => {
  if (g.shape.join() === shape.join()) return g;
  return tf.reshape(tf.sum(g), shape);
};
tf.registerGradient({ kernelName: "BatchMatMul", inputsToSave: ["a", "b"], gradFunc: (dy, [a, b], attrs) => {
  const { transposeA: tA, transposeB: tB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const d = dy as Tensor;
  if (!tA && !tB) return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
  if (!tA && tB) return { a: () => tf.matMul(d, b), b: () => tf.matMul(d, a, true, false) };
  if (tA && !tB) return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d) };
  return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
} });
tf.registerGradient({ kernelName: "Multiply", inputsToSave: ["a", "b"], gradFunc: (dy, [a, b]) => ({
  a: () => sumTo(tf.mul(dy as Tensor, b), a.shape), b: () => sumTo(tf.mul(dy as Tensor, a), b.shape) }) });
tf.registerGradient({ kernelName: "Sub", inputsToSave: ["a", "b"], gradFunc: (dy, [a, b]) => ({
  a: () => sumTo(dy as Tensor, a.shape), b: () => tf.neg(sumTo(dy as Tensor, b.shape)) }) });
tf.registerGradient({ kernelName: "Identity", gradFunc: (dy) => ({ x: () => tf.clone(dy as Tensor) }) });
