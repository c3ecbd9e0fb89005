/**
 * LipschitzLinear (docs/method.md §4): an unconstrained weight `W [out, in]` and a bias; each forward uses
 * `W' = P(W)` from the layer's projection, differentiated through `P`. With an ensemble of `M`
 * models, `W` is `[M, out, in]`, the bias `[M, 1, out]` and inputs `[M, N, in]`.
 *
 * @module
 */
import {
  type Layer,
  type Parameter,
  type Tensor,
  UserError,
  type WeightInit,
} from "../../plugin.ts";

/** Options of a LipschitzLinear layer. */
export interface LipschitzLinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  init: WeightInit;
}

const lipschitzLinear: Layer<LipschitzLinearOptions> = {
  kind: "layer",
  name: "lipschitz_linear",
  version: "1.0.0",
  description: "fully connected layer whose weight is projected in every forward pass",
  create(ctx, o) {
    const { tf, ops, ensemble, rng } = ctx;
    if (!ctx.projection) {
      throw new UserError(`Cannot build ${ctx.name} as a LipschitzLinear layer needs a projection`);
    }
    const projection = ctx.projection;
    const M = ensemble ?? 1;
    const n = o.outFeatures * o.inFeatures;
    const w = new Float32Array(M * n);
    const b = new Float32Array(M * o.outFeatures);
    for (let m = 0; m < M; m++) {
      w.set(ops.initWeight(rng, o.init, o.outFeatures, o.inFeatures), m * n);
      if (o.bias) b.set(ops.initBias(rng, o.init, o.outFeatures, o.inFeatures), m * o.outFeatures);
    }
    const weight = ops.createParameter(
      tf,
      `${ctx.name}/weight`,
      "weights",
      ensemble ? [M, o.outFeatures, o.inFeatures] : [o.outFeatures, o.inFeatures],
      w,
    );
    const params: Parameter[] = [weight];
    let bias: Parameter | undefined;
    if (o.bias) {
      bias = ops.createParameter(
        tf,
        `${ctx.name}/bias`,
        "weights",
        ensemble ? [M, 1, o.outFeatures] : [o.outFeatures],
        b,
      );
      params.push(bias);
    }
    // In evaluation the projected weight is computed once per weight value, not once per call:
    // `assign` gives the variable a new data id, which invalidates the cache. A projection may
    // return the variable itself (no_projection's identity): the cache then does not own it and
    // must never dispose it.
    let cache: { id: object; w: Tensor } | null = null;
    const dropCache = () => {
      if (cache && cache.w !== weight.variable) cache.w.dispose();
      cache = null;
    };
    const projected = (training: boolean): Tensor => {
      // The constraint, in one place: the projected weight W' = P(W) (docs/method.md §4).
      if (training) return projection.project(weight.variable);
      const id = weight.variable.dataId;
      if (cache && cache.id === id && !cache.w.isDisposed) return cache.w;
      dropCache();
      const w = projection.project(weight.variable);
      cache = { id, w: w === weight.variable ? w : tf.keep(w) };
      return cache.w;
    };
    return {
      kind: "lipschitz_linear",
      name: ctx.name,
      parameters: () => params,
      forward: (x: Tensor, opts?: { training?: boolean }) =>
        tf.tidy(() => {
          const y = tf.matMul(x, projected(opts?.training ?? true), false, true);
          return bias ? tf.add(y, bias.variable) : y;
        }),
      dispose: dropCache,
      lipschitzBound: () => projection.lipschitzBound(weight.variable),
      // The native ensemble trainer runs this layer when its projection has a native form.
      ...(projection.native
        ? { native: { kind: "linear" as const, weight, bias, projection: projection.native } }
        : {}),
    };
  },
};
export default lipschitzLinear;
