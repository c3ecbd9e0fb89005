/**
 * The learnable 1-Lipschitz linear-spline activation of the paper (docs/method.md §3).
 *
 * Per channel: `K` coefficients on the knots `t_k = -R + kT` and a positive scaling `alpha_c`.
 * When `lipschitz_constrained`, the raw coefficients are projected in every forward pass
 * (slopes clipped to [-1, 1], mean kept) and the projection is differentiated through; otherwise
 * ("LS old") they are renormalised after each optimiser step. Evaluation is the fused op
 * `linearSpline` (one kernel per backend, two coefficients touched per input).
 *
 * @module
 */
import {
  type Activation,
  type ActivationParams,
  activationParamsSchema,
  type Parameter,
  type Scalar,
  type SplineInit,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  UserError,
} from "../../plugin.ts";

/** The types of the keys of `activation_fn_params` the spline reads. */
const keys = activationParamsSchema.shape;

/** The spline initialisations (docs/method.md §3). */
const INITS: readonly SplineInit[] = ["identity", "relu", "absolute_value", "maxmin", "zero"];

interface SplineSettings {
  size: number;
  range: number;
  init: SplineInit;
  constrained: boolean;
  trainScaling: boolean;
}

function settings(params: ActivationParams): SplineSettings {
  const size = params.spline_size;
  const range = params.spline_range;
  if (typeof size !== "number" || !Number.isInteger(size) || size < 3) {
    throw new UserError(
      `Cannot build linearspline as spline_size must be an integer >= 3: spline_size is ${
        JSON.stringify(size)
      }`,
    );
  }
  if (typeof range !== "number" || !(range > 0)) {
    throw new UserError(
      `Cannot build linearspline as spline_range must be a positive number: spline_range is ${
        JSON.stringify(range)
      }`,
    );
  }
  const init = params.spline_init ?? "relu";
  if (!INITS.includes(init)) {
    throw new UserError(
      `Cannot initialise the spline as spline_init is unknown: '${init}', expected ${
        INITS.join(", ")
      }`,
    );
  }
  return {
    size,
    range,
    init,
    constrained: params.lipschitz_constrained ?? true,
    // 1d config only: elsewhere the scaling coefficients are always trained (docs/method.md §1).
    trainScaling: params.spline_scaling_coeff ?? true,
  };
}

const linearspline: Activation = {
  kind: "activation",
  name: "linearspline",
  version: "1.0.0",
  description: "learnable 1-Lipschitz linear spline per channel (the paper's LLS)",
  options: {
    spline_init: keys.spline_init,
    spline_range: keys.spline_range,
    spline_size: keys.spline_size,
    spline_scaling_coeff: keys.spline_scaling_coeff,
    lipschitz_constrained: keys.lipschitz_constrained,
    // Read by the experiments (the TV(2) weight of the loss), declared here with the spline.
    lmbda: keys.lmbda,
  },
  validate(params, channels) {
    settings(params);
    if (channels < 1) throw new UserError(`Cannot build linearspline with ${channels} channels`);
  },
  create(ctx) {
    const { tf, ops, channels, ensemble } = ctx;
    const s = settings(ctx.params);
    const M = ensemble ?? 1;
    const K = s.size;
    const T = ops.gridStep(s.range, K);
    const lead = ensemble ? [M, channels] : [channels];
    const coef = ops.createParameter(
      tf,
      `${ctx.name}/spline_coefficients`,
      "spline_coeffs",
      [...lead, K],
      ops.repeatValues(ops.initialCoefficients(s.init, channels, K, s.range), M),
    );
    const alpha = ops.createParameter(
      tf,
      `${ctx.name}/spline_scaling_coefficients`,
      "spline_scaling",
      lead,
      new Float32Array(M * channels).fill(1),
      s.trainScaling,
    );
    const params: Parameter[] = s.trainScaling ? [coef, alpha] : [coef];

    /** The coefficients used in the forward pass: projected when constrained (docs/method.md §3). */
    const projected = (): Tensor =>
      s.constrained ? ops.projectCoefficients(tf, coef.variable, T) : coef.variable;

    /** `t` as `shape`, without a reshape op (and its gradient) when it already has it. */
    const as = (t: Tensor, shape: number[]): Tensor =>
      t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])
        ? t
        : tf.reshape(t, shape);

    /** The spline applied to `x` with coefficients `p`. */
    const evaluate = (x: Tensor, p: Tensor): Tensor => {
      const G = ensemble ? M : 1;
      const x3 = as(x, [G, x.size / (G * channels), channels]) as Tensor3D;
      const y = ops.linearSpline(
        x3,
        as(p, [M * channels, K]) as Tensor2D,
        as(alpha.variable, [M * channels]) as Tensor1D,
        { size: K, range: s.range },
      );
      return as(y, x.shape);
    };
    const forward = (x: Tensor): Tensor => tf.tidy(() => evaluate(x, projected()));

    const self = {
      kind: "linearspline",
      parameters: () => params,
      forward,
      // TV(2) summed over channels (and models), docs/method.md §3.
      regularization: (): Scalar => tf.tidy(() => tf.sum(ops.tv2(tf, projected(), T)) as Scalar),
      forwardWithRegularization: (x: Tensor) =>
        tf.tidy(() => {
          if (!s.constrained) {
            const c = coef.variable;
            return { y: evaluate(x, c), regularization: tf.sum(ops.tv2(tf, c, T)) as Scalar };
          }
          const [p, tv] = ops.projectWithTv2(tf, coef.variable, T);
          return { y: evaluate(x, p), regularization: tf.sum(tv) as Scalar };
        }),
      afterStep() {
        // "LS old" mode (docs/method.md §3): rescale raw coefficients after every optimiser step.
        if (!s.constrained) {
          const next = ops.lsOldNormalize(tf, coef.variable, T);
          coef.variable.assign(next);
          next.dispose();
        }
      },
      async lipschitzBound() {
        // The spline's Lipschitz constant is its largest |slope|; alpha cancels in s(ax)/a.
        const m = tf.tidy(() => {
          const sl = ops.maxSlope(tf, projected(), T);
          return ensemble ? tf.max(sl, 1) : tf.reshape(tf.max(sl), [1]);
        });
        const perModel = Array.from(await m.data());
        m.dispose();
        return {
          value: Math.max(...perModel),
          perModel: ensemble ? perModel : undefined,
          method: "largest |slope| of the (projected) spline coefficients",
        };
      },
      sample: (x: Float32Array, model?: number) =>
        ops.sampleActivation(tf, self, x, channels, ensemble, model),
      /** Knot positions in input units for model 0 (`t_k / alpha_c`), for figures. */
      grid: { size: K, range: s.range, step: T },
      // The constrained spline is what the native ensemble trainer runs (docs/training.md);
      // "LS old" renormalises after each step and keeps the generic step.
      ...(s.constrained
        ? {
          native: {
            kind: "spline" as const,
            coefficients: coef,
            scaling: alpha,
            size: K,
            range: s.range,
          },
        }
        : {}),
    };
    return self;
  },
};
export default linearspline;
