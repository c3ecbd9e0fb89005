/**
 * Adam with the paper's three parameter groups (docs/method.md §3): spline coefficients use
 * `lr_spline_coeffs`, scaling coefficients `lr_spline_scaling_coeffs`, everything else
 * `lr_weights`. Same update as PyTorch's `torch.optim.Adam` (eps 1e-8):
 * `m <- b1 m + (1-b1) g`, `v <- b2 v + (1-b2) g²`,
 * `w <- w - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)`.
 * Adam is elementwise, so for an ensemble the batched update equals separate optimisers.
 *
 * @module
 */
import type { NamedTensorMap, Tensor, Variable } from "@tensorflow/tfjs-core";
import type { Parameter, ParamGroup } from "../plugin/interfaces.ts";
import type { TF } from "../backend/tf.ts";
import type { StoredTensor } from "../io/checkpoint.ts";
import { adamFused, hasFusedAdam } from "../ops/adam_update.ts";

/** Learning rate of each parameter group. */
export type LearningRates = Record<ParamGroup, number>;

/** Adam's serializable state. */
export interface AdamState {
  step: number;
  tensors: Record<string, StoredTensor>;
}

/**
 * Adam over named parameters with per-group learning rates.
 *
 * @example
 * ```ts ignore
 * const opt = new Adam(tf, params, { weights: 2e-3, spline_coeffs: 5e-5, spline_scaling: 5e-4 });
 * const { value, grads } = tf.variableGrads(lossFn, params.map((p) => p.variable));
 * opt.apply(grads);
 * ```
 */
export class Adam {
  #tf: TF;
  #params: Parameter[];
  #lr: LearningRates;
  #b1: number;
  #b2: number;
  #eps: number;
  #m: Variable[];
  #v: Variable[];
  /** Number of steps taken. */
  step = 0;

  constructor(
    tf: TF,
    params: Parameter[],
    lr: LearningRates,
    opts: { beta1?: number; beta2?: number; eps?: number } = {},
  ) {
    this.#tf = tf;
    this.#params = params.filter((p) => p.variable.trainable);
    this.#lr = lr;
    this.#b1 = opts.beta1 ?? 0.9;
    this.#b2 = opts.beta2 ?? 0.999;
    this.#eps = opts.eps ?? 1e-8;
    const zeros = (p: Parameter) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false));
    this.#m = this.#params.map(zeros);
    this.#v = this.#params.map(zeros);
  }

  /**
   * The parameters it updates (the trainable ones, in update order) and its hyperparameters,
   * for a trainer that runs the same update elsewhere (core/train/native_fc_ensemble.ts).
   */
  get settings(): {
    params: readonly Parameter[];
    lr: Readonly<LearningRates>;
    beta1: number;
    beta2: number;
    eps: number;
  } {
    return { params: this.#params, lr: this.#lr, beta1: this.#b1, beta2: this.#b2, eps: this.#eps };
  }

  /** The variables this optimiser updates (pass them to `tf.variableGrads`). */
  variables(): Variable[] {
    return this.#params.map((p) => p.variable);
  }

  /** Apply one step with gradients keyed by variable name (as `tf.variableGrads` returns). */
  apply(grads: NamedTensorMap): void {
    const tf = this.#tf;
    this.step++;
    const bc1 = 1 - this.#b1 ** this.step;
    const bc2 = 1 - this.#b2 ** this.step;
    const fused = hasFusedAdam();
    tf.tidy(() => {
      this.#params.forEach((p, i) => {
        const g = grads[p.variable.name];
        if (!g) return;
        if (fused) {
          const [w, m, v] = adamFused(p.variable, g, this.#m[i], this.#v[i], {
            lr: this.#lr[p.group],
            beta1: this.#b1,
            beta2: this.#b2,
            eps: this.#eps,
            bc1,
            bc2,
          });
          this.#m[i].assign(m);
          this.#v[i].assign(v);
          p.variable.assign(w);
          return;
        }
        const m = tf.add(tf.mul(this.#m[i], this.#b1), tf.mul(g, 1 - this.#b1));
        const v = tf.add(tf.mul(this.#v[i], this.#b2), tf.mul(tf.square(g), 1 - this.#b2));
        const denom = tf.add(tf.sqrt(tf.div(v, bc2)), this.#eps);
        const update = tf.mul(tf.div(m, denom), this.#lr[p.group] / bc1);
        this.#m[i].assign(m);
        this.#v[i].assign(v);
        p.variable.assign(tf.sub(p.variable, update));
      });
    });
  }

  /** Moments and step count, for checkpoints. */
  async getState(): Promise<AdamState> {
    const tensors: Record<string, StoredTensor> = {};
    for (let i = 0; i < this.#params.length; i++) {
      const name = this.#params[i].name;
      tensors[`${name}/adam_m`] = await stored(this.#m[i]);
      tensors[`${name}/adam_v`] = await stored(this.#v[i]);
    }
    return { step: this.step, tensors };
  }

  /** {@linkcode getState}, read synchronously (backends whose data is on the CPU: cpu, wasm). */
  getStateSync(): AdamState {
    const tensors: Record<string, StoredTensor> = {};
    this.#params.forEach((p, i) => {
      for (const [key, t] of [["adam_m", this.#m[i]], ["adam_v", this.#v[i]]] as const) {
        tensors[`${p.name}/${key}`] = {
          shape: t.shape.slice(),
          data: new Float32Array(t.dataSync()),
        };
      }
    });
    return { step: this.step, tensors };
  }

  /** Restore from {@linkcode getState}. */
  setState(state: AdamState): void {
    this.step = state.step;
    this.#params.forEach((p, i) => {
      for (const [key, target] of [["adam_m", this.#m[i]], ["adam_v", this.#v[i]]] as const) {
        const s = state.tensors[`${p.name}/${key}`];
        if (!s) throw new Error(`Cannot restore the optimiser: no ${key} for ${p.name}`);
        this.#tf.tidy(() => target.assign(this.#tf.tensor(s.data, s.shape)));
      }
    });
  }

  /** Free the moment tensors. */
  dispose(): void {
    for (const t of [...this.#m, ...this.#v]) t.dispose();
  }
}

/** Copy a tensor's values and shape for a checkpoint. */
export async function stored(t: Tensor): Promise<StoredTensor> {
  return { shape: t.shape.slice(), data: new Float32Array(await t.data()) };
}
