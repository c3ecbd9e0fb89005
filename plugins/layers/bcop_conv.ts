/**
 * The BCOP convolution layer (docs/method.md §4, "BCOP convolution"): an orthogonal `k×k` convolution
 * (stride 1, odd `k`, circular padding `k//2`) whose weight is rebuilt from `2(k-1)+1`
 * unconstrained `M×M` matrices (`M = max(cin, cout)`) in every forward pass by
 * `core/ops/bcop.ts`, differentiated through the construction. It preserves norms when
 * `cin ≤ cout` and is non-expansive when `cin > cout`. Inputs are NHWC `[N, H, W, cin]`.
 *
 * @module
 */
import {
  type Layer,
  type LayerInstance,
  type Parameter,
  type Tensor,
  UserError,
} from "../../plugin.ts";

/** Options of a BCOP convolution layer. */
export interface BcopConvOptions {
  /** Input channels `cin`. */
  inChannels: number;
  /** Output channels `cout`. */
  outChannels: number;
  /** Kernel size `k` (odd). */
  kernelSize: number;
  /** Whether the layer adds a bias `[cout]`. */
  bias: boolean;
  /** Björck iterations per forward pass (default 25). */
  bjorckIters?: number;
  /** Power iterations of the Björck prescaling (default 10). */
  powerIters?: number;
}

/** A built BCOP layer: a {@linkcode LayerInstance} that also shows its constructed weight. */
export interface BcopConvInstance extends LayerInstance {
  /**
   * The constructed conv weight `[k, k, cin, cout]`. With `training: false` it is the cached
   * weight (owned by the layer: do not dispose it), rebuilt only when the matrices change;
   * otherwise a new tensor, recorded on the gradient tape, that the caller disposes.
   */
  kernel(opts?: { training?: boolean }): Tensor;
}

/** Input side length used by `lipschitzBound` when no input shape is given. */
export const DEFAULT_BOUND_SIZE = 32;

function checkOptions(name: string, o: BcopConvOptions, ensemble: number | undefined): void {
  const fail = (why: string) => {
    throw new UserError(`Cannot build bcop_conv '${name}' as ${why}`);
  };
  if (o === null || typeof o !== "object") fail(`its options must be an object: options are ${o}`);
  const positive = (key: keyof BcopConvOptions) => {
    const v = o[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      fail(`${key} must be a positive integer: ${key} is ${JSON.stringify(v)}`);
    }
  };
  positive("inChannels");
  positive("outChannels");
  positive("kernelSize");
  if (o.kernelSize % 2 !== 1) {
    fail(`the kernel size (kernelSize) must be odd: kernel size is ${o.kernelSize}`);
  }
  if (typeof o.bias !== "boolean") {
    fail(`bias must be true or false: bias is ${JSON.stringify(o.bias)}`);
  }
  if (o.bjorckIters !== undefined) {
    const v = o.bjorckIters;
    if (!Number.isInteger(v) || v < 1) {
      fail(`bjorckIters must be a positive integer: bjorckIters is ${JSON.stringify(v)}`);
    }
  }
  if (o.powerIters !== undefined) {
    const v = o.powerIters;
    if (!Number.isInteger(v) || v < 1) {
      fail(`powerIters must be a positive integer: powerIters is ${JSON.stringify(v)}`);
    }
  }
  if (ensemble !== undefined && ensemble > 1) {
    fail(`ensembles are not supported: ensemble is ${ensemble}`);
  }
}

/** Input side lengths `[H, W]` from a per-sample `[H, W, C]` or batched `[N, H, W, C]` shape. */
function spatialSize(shape: number[] | undefined): [number, number] {
  if (!shape) return [DEFAULT_BOUND_SIZE, DEFAULT_BOUND_SIZE];
  if (shape.length === 2) return [shape[0], shape[1]];
  if (shape.length === 3 || shape.length === 4) {
    return [shape[shape.length - 3], shape[shape.length - 2]];
  }
  throw new UserError(
    `Cannot bound bcop_conv as the input shape must be [H, W, C] or [N, H, W, C]: shape is [${shape}]`,
  );
}

const bcopConv: Layer<BcopConvOptions> = {
  kind: "layer",
  name: "bcop_conv",
  version: "1.0.0",
  description: "orthogonal convolution (BCOP), stride 1, circular padding",
  create(ctx, o): BcopConvInstance {
    const { tf, ops, rng } = ctx;
    checkOptions(ctx.name, o, ctx.ensemble);
    const { inChannels: cin, outChannels: cout, kernelSize: k } = o;
    const M = Math.max(cin, cout);
    const count = ops.bcopMatrixCount(k);
    const bjorckIters = o.bjorckIters ?? ops.BCOP_BJORCK_ITERS;
    const powerIters = o.powerIters ?? ops.BCOP_POWER_ITERS;

    // Each matrix orthogonal (QR of a Gaussian, sign-corrected) times the gain 1/sqrt(M).
    const values = new Float32Array(count * M * M);
    const gain = 1 / Math.sqrt(M);
    for (let j = 0; j < count; j++) {
      const q = ops.initWeight(rng, "orthonormal", M, M);
      for (let i = 0; i < q.length; i++) values[j * M * M + i] = q[i] * gain;
    }
    const matrices = ops.createParameter(
      tf,
      `${ctx.name}/matrices`,
      "weights",
      [count, M, M],
      values,
    );
    const params: Parameter[] = [matrices];
    let bias: Parameter | undefined;
    if (o.bias) {
      const bound = 1 / Math.sqrt(cout);
      const b = Float32Array.from({ length: cout }, () => (2 * rng.random() - 1) * bound);
      bias = ops.createParameter(tf, `${ctx.name}/bias`, "weights", [cout], b);
      params.push(bias);
    }

    // The constraint, in one place: the orthogonal conv weight built from the matrices.
    const construct = (): Tensor =>
      ops.bcopKernel(matrices.variable, k, cin, cout, { bjorckIters, powerIters });

    // In evaluation the weight is built once per value of the matrices: `assign` gives the
    // variable a new data id, which invalidates the cache.
    let cache: { id: object; w: Tensor } | null = null;
    const kernel = (opts?: { training?: boolean }): Tensor => {
      if (opts?.training ?? true) return construct();
      const id = matrices.variable.dataId;
      if (cache && cache.id === id && !cache.w.isDisposed) return cache.w;
      cache?.w.dispose();
      cache = { id, w: tf.keep(tf.tidy(construct)) };
      return cache.w;
    };

    return {
      kind: "bcop_conv",
      name: ctx.name,
      parameters: () => params,
      kernel,
      forward: (x: Tensor, opts?: { training?: boolean }) => {
        if (x.rank !== 4 || x.shape[3] !== cin) {
          throw new UserError(
            `Cannot apply bcop_conv '${ctx.name}' as the input must be [N, H, W, ${cin}]: shape is [${x.shape}]`,
          );
        }
        const p = Math.floor(k / 2);
        const [, h, w] = x.shape as number[];
        if (h < p || w < p) {
          throw new UserError(
            `Cannot apply bcop_conv '${ctx.name}' as the input is smaller than its padding ${p}: shape is [${x.shape}]`,
          );
        }
        return tf.tidy(() => {
          const y = ops.circularConv2d(x, kernel(opts));
          return bias ? tf.add(y, bias.variable) : y;
        });
      },
      dispose() {
        cache?.w.dispose();
        cache = null;
      },
      async lipschitzBound(opts?: { inputShape?: number[] }) {
        const [h, w] = spatialSize(opts?.inputShape);
        const weight = tf.tidy(construct);
        const data = new Float32Array(await weight.data());
        weight.dispose();
        return {
          value: ops.circularConvSpectralNormUpperBound(data, k, cin, cout, h, w),
          method: `${ops.EXACT_BOUND_METHOD}: largest singular value of the circular convolution ` +
            `on a ${h}×${w} input, one complex ${cin}×${cout} SVD per frequency of the 2-D DFT ` +
            "of the constructed kernel (Sedghi et al. 2019)",
        };
      },
    };
  },
};
export default bcopConv;
