/**
 * The host's operations, handed to every plugin in its context (`ctx.ops`) next to the host's
 * TensorFlow.js (`ctx.tf`). Each function here runs on the host's engine with the host's fused
 * kernels (core/kernels), so a plugin file loaded from outside the host — from disk next to a
 * compiled binary, or from a second copy of the package — computes on the same engine as the
 * host instead of a second TensorFlow.js without lipspline's kernels. A plugin should call these
 * through `ctx.ops` rather than import them.
 *
 * @module
 */
import { linearSpline } from "../ops/spline.ts";
import { groupSort } from "../ops/groupsort.ts";
import { householder } from "../ops/householder.ts";
import { bjorck, spectralNorm } from "../ops/bjorck.ts";
import {
  BCOP_BJORCK_ITERS,
  BCOP_POWER_ITERS,
  bcopKernel,
  bcopMatrixCount,
  circularConv2d,
  circularConvSpectralNorm,
  powerIterationSigma,
} from "../ops/bcop.ts";
import { circularPad } from "../ops/circular_pad.ts";
import {
  gridStep,
  initialCoefficients,
  knots,
  lsOldNormalize,
  maxSlope,
  projectCoefficients,
  projectWithTv2,
  tv2,
} from "../nn/spline_math.ts";
import { channelShape, createParameter, readValues, repeatValues } from "../nn/parameters.ts";
import { initBias, initWeight } from "../nn/weight_init.ts";
import { activationCurves, sampleActivation } from "../nn/activation_sample.ts";
import { buildFcNetwork } from "../nn/fc_network.ts";
import { sequentialNetwork } from "../nn/network.ts";
import { Adam } from "../train/adam.ts";
import { NativeFcEnsemble } from "../train/native_fc_ensemble.ts";
import { parametersToStored, restoreParameters } from "../io/parameter_store.ts";
import {
  circularConvSpectralNormUpperBound,
  EXACT_BOUND_METHOD,
  spectralNormUpperBound,
  weightSpectralNormUpperBounds,
} from "../certify/spectral_norm.ts";

/**
 * Everything a plugin computes with besides `tf` itself, bound to the host's engine:
 * the fused ops (docs/method.md §3–4), spline coefficient math, parameter and initialisation
 * helpers, activation sampling, network building, Adam and the float64 spectral-norm bounds.
 *
 * @example
 * ```ts
 * import { hostOps, tf } from "../../mod.ts";
 * const y = hostOps.groupSort(tf.tensor2d([[3, 1, 2, 0]]), 2); // [[1, 3, 0, 2]]
 * ```
 */
export const hostOps = {
  // Fused ops.
  linearSpline,
  groupSort,
  householder,
  bjorck,
  spectralNorm,
  bcopKernel,
  bcopMatrixCount,
  circularConv2d,
  circularConvSpectralNorm,
  powerIterationSigma,
  BCOP_BJORCK_ITERS,
  BCOP_POWER_ITERS,
  circularPad,
  // Spline coefficients (docs/method.md §3).
  gridStep,
  knots,
  initialCoefficients,
  projectCoefficients,
  projectWithTv2,
  tv2,
  maxSlope,
  lsOldNormalize,
  // Parameters and initialisation (docs/method.md §4).
  createParameter,
  channelShape,
  repeatValues,
  readValues,
  initWeight,
  initBias,
  // Sampling an activation on a grid (figures).
  sampleActivation,
  activationCurves,
  // Networks, training and checkpoints.
  buildFcNetwork,
  sequentialNetwork,
  Adam,
  NativeFcEnsemble,
  parametersToStored,
  restoreParameters,
  // Float64 upper bounds of spectral norms (certification).
  spectralNormUpperBound,
  weightSpectralNormUpperBounds,
  circularConvSpectralNormUpperBound,
  EXACT_BOUND_METHOD,
} as const;

/** The type of {@linkcode hostOps}: what `ctx.ops` holds in every plugin context. */
export type HostOps = typeof hostOps;
