/**
 * The native ensemble trainer (docs/training.md "The native ensemble step"): the whole training
 * step of an ensemble of small fully connected networks — Björck projections, dense layers,
 * projected splines with their TV(2), the squared-error loss, the backward pass and Adam — run
 * by lipspline's WebAssembly modules in one linear memory, without TF.js. For the 1d experiment
 * (100 100 steps of 25 tiny networks) TF.js spends more time dispatching ~200 kernels per step
 * than computing; here a step is ~40 direct calls.
 *
 * The arithmetic is the generic step's: the same Björck, spline, projection and Adam kernels
 * (core/kernels/native/bjorck.c, spline.c, coefficients.c, adam.c) on the same inputs, and dense
 * products summed in one fixed order (native/fc_dense.c). tests/native_fc_ensemble_test.ts
 * bounds the difference to the generic step.
 *
 * The trainer runs a network whose every module describes itself natively (`LayerInstance.native`,
 * `ActivationInstance.native`); {@linkcode NativeFcEnsemble.create} returns null otherwise. The
 * TF.js variables and the Adam object stay the run's record (checkpoints, evaluation, figures):
 * the trainer reads them before its first step and after {@linkcode NativeFcEnsemble.invalidate},
 * and writes them back on {@linkcode NativeFcEnsemble.push}.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import type { TF } from "../backend/tf.ts";
import type { Network } from "../nn/network.ts";
import type { Parameter } from "../plugin/interfaces.ts";
import type { Adam } from "./adam.ts";
import { type BjorckExports, bjorckKeptBytes } from "../kernels/bjorck_fused.ts";
import type { SplineExports } from "../kernels/wasm/spline.ts";
import type { CoefficientExports } from "../kernels/wasm/coefficients.ts";
import type { AdamExports } from "../kernels/wasm/adam.ts";
import { splineConstants } from "../ops/spline.ts";
import { gridStep } from "../nn/spline_math.ts";
import { BJORCK_WASM_BASE64 } from "../kernels/native/bjorck_wasm_bin.ts";
import { SPLINE_WASM_BASE64 } from "../kernels/native/spline_wasm_bin.ts";
import { COEFFICIENTS_WASM_BASE64 } from "../kernels/native/coefficients_wasm_bin.ts";
import { ADAM_WASM_BASE64 } from "../kernels/native/adam_wasm_bin.ts";
import { FC_DENSE_WASM_BASE64 } from "../kernels/native/fc_dense_wasm_bin.ts";
import { compiledModule } from "../kernels/wasm/heap_module.ts";

/** The exports of native/fc_dense.c (pointers are byte offsets into the memory). */
interface FcDenseExports {
  dense_forward(
    x: number,
    w: number,
    b: number,
    y: number,
    G: number,
    N: number,
    I: number,
    O: number,
  ): void;
  dense_backward(
    x: number,
    w: number,
    dy: number,
    dx: number,
    dw: number,
    db: number,
    G: number,
    N: number,
    I: number,
    O: number,
  ): void;
  divide(a: number, out: number, n: number, s: number): void;
  squared_error(p: number, t: number, dp: number, n: number, scale: number): number;
  fill(out: number, n: number, v: number): void;
}

/** The five modules' exports on one memory, and where its free space starts. */
type Kernels =
  & BjorckExports
  & SplineExports
  & CoefficientExports
  & AdamExports
  & FcDenseExports
  & { heapBase: number };

/** A fresh Björck module (own memory) and the four modules that work in that memory. */
function instantiate(): Kernels {
  const bj = new WebAssembly.Instance(compiledModule(BJORCK_WASM_BASE64), {});
  const memory = bj.exports.memory as WebAssembly.Memory;
  const shared = (b64: string) =>
    new WebAssembly.Instance(compiledModule(b64), { env: { memory } }).exports;
  return Object.assign(
    {},
    bj.exports,
    shared(SPLINE_WASM_BASE64),
    shared(COEFFICIENTS_WASM_BASE64),
    shared(ADAM_WASM_BASE64),
    shared(FC_DENSE_WASM_BASE64),
    { memory, heapBase: (bj.exports.__heap_base as WebAssembly.Global).value as number },
  ) as unknown as Kernels;
}

/** A parameter's values, gradient and Adam moments in the module memory. */
interface Slot {
  param: Parameter;
  size: number;
  value: number;
  grad: number;
  m: number;
  v: number;
  /** Updated by Adam (the Adam object lists it). */
  trained: boolean;
}

interface LinearPlan {
  kind: "linear";
  I: number;
  O: number;
  W: Slot;
  b?: Slot;
  /** float32 of sqrt(out·in), the projection's scaling (docs/method.md §4). */
  scale: number;
  iters: number;
  beta: number;
  wdiv: number;
  wp: number;
  dwp: number;
  dwdiv: number;
  keep: number;
}

interface SplinePlan {
  kind: "spline";
  C: number;
  K: number;
  c: Slot;
  alpha: Slot;
  T: number;
  invT: number;
  off: number;
  shift: number;
  p: number;
  tv: number;
  dp: number;
  dtv: number;
  /** The backward pass's float64 sums (kept all zero between steps by the sparse kernel). */
  scratch: number;
  /** Segment indices of the batch's inputs (the sparse kernel), or 0: the dense kernel. */
  list: number;
}

type ModulePlan = (LinearPlan | SplinePlan) & {
  /** Width of the module's input and output. */
  width: { in: number; out: number };
  /** Its input and output activations, `[M, B, width]`. */
  input: number;
  output: number;
};

/** A module as the trainer runs it. */
type Desc =
  | {
    kind: "linear";
    I: number;
    O: number;
    W: Parameter;
    b?: Parameter;
    iters: number;
    beta: number;
  }
  | { kind: "spline"; C: number; K: number; range: number; c: Parameter; alpha: Parameter };

/**
 * Every module of `net` in native form, with the widths it reads and writes, or null when a module
 * has none, the widths do not chain, or `adam` trains a parameter that is not one of theirs.
 */
function describe(
  net: Network,
  adam: Adam,
  M: number,
): { descs: Desc[]; widths: Array<{ in: number; out: number }> } | null {
  const descs: Desc[] = [];
  for (const m of net.modules) {
    if (m.type === "layer") {
      const n = m.layer.native;
      if (!n || n.kind !== "linear" || n.projection.kind !== "bjorck") return null;
      const shape = n.weight.variable.shape;
      if (shape.length !== 3 || shape[0] !== M) return null;
      if (n.bias && n.bias.variable.size !== M * shape[1]) return null;
      descs.push({
        kind: "linear",
        I: shape[2],
        O: shape[1],
        W: n.weight,
        b: n.bias,
        iters: n.projection.iters,
        beta: n.projection.beta,
      });
    } else {
      const n = m.activation.native;
      if (!n || n.kind !== "spline") return null;
      const C = m.channels;
      if (n.coefficients.variable.size !== M * C * n.size) return null;
      if (n.scaling.variable.size !== M * C) return null;
      descs.push({
        kind: "spline",
        C,
        K: n.size,
        range: n.range,
        c: n.coefficients,
        alpha: n.scaling,
      });
    }
  }
  if (descs.length === 0 || descs[0].kind !== "linear") return null;
  const widths: Array<{ in: number; out: number }> = [];
  let w = descs[0].I;
  for (const d of descs) {
    const inW = d.kind === "linear" ? d.I : d.C;
    if (inW !== w) return null;
    w = d.kind === "linear" ? d.O : d.C;
    widths.push({ in: inW, out: w });
  }
  const own = new Set(
    descs.flatMap((d) => d.kind === "linear" ? [d.W, d.b] : [d.c, d.alpha]).map((p) => p?.name),
  );
  if (adam.settings.params.some((p) => !own.has(p.name))) return null;
  return { descs, widths };
}

/** Options of {@linkcode NativeFcEnsemble.create}. */
export interface NativeFcEnsembleOptions {
  /** Models M (the leading axis of every parameter). */
  models: number;
  /** Batch size B (the loss divides by it). */
  batchSize: number;
  /** TV(2) weight of the loss (0: none). */
  lmbda: number;
}

/**
 * One ensemble's training step in WebAssembly. Build it with {@linkcode NativeFcEnsemble.create}.
 *
 * @example
 * ```ts ignore
 * const native = NativeFcEnsemble.create(tf, net, adam, { models: 25, batchSize: 10, lmbda: 1e-7 });
 * const loss = native!.step(xb, yb); // xb, yb: [M, B, 1] as flat Float32Arrays
 * native!.push(); // the TF.js variables and Adam state now hold the trained values
 * ```
 */
export class NativeFcEnsemble {
  #tf: TF;
  #adam: Adam;
  #k: Kernels;
  #opts: NativeFcEnsembleOptions;
  #slots: Slot[];
  #modules: ModulePlan[];
  #trainOrder: Slot[];
  #work: number;
  #target: number;
  #grads: [number, number];
  #step = 0;
  #stale = true;
  #f32: Float32Array;

  private constructor(
    tf: TF,
    adam: Adam,
    k: Kernels,
    opts: NativeFcEnsembleOptions,
    slots: Slot[],
    modules: ModulePlan[],
    trainOrder: Slot[],
    work: number,
    target: number,
    grads: [number, number],
  ) {
    this.#tf = tf;
    this.#adam = adam;
    this.#k = k;
    this.#opts = opts;
    this.#slots = slots;
    this.#modules = modules;
    this.#trainOrder = trainOrder;
    this.#work = work;
    this.#target = target;
    this.#grads = grads;
    this.#f32 = new Float32Array(k.memory.buffer);
  }

  /**
   * The trainer for `net` and its `adam`, or null when a module of `net` has no native form, a
   * parameter that Adam trains is not one the trainer knows, or the widths do not chain.
   */
  static create(
    tf: TF,
    net: Network,
    adam: Adam,
    opts: NativeFcEnsembleOptions,
  ): NativeFcEnsemble | null {
    const { models: M, batchSize: B } = opts;
    const described = describe(net, adam, M);
    if (!described) return null;
    const { descs, widths } = described;
    const trainedNames = new Set(adam.settings.params.map((p) => p.name));

    // Lay out the memory: a bump allocator above the Björck module's heap base, 16-byte aligned.
    const k = instantiate();
    let top = (k.heapBase + 15) & ~15;
    const alloc = (bytes: number): number => {
      const ptr = top;
      top += (Math.max(bytes, 16) + 15) & ~15;
      return ptr;
    };
    const f32 = (n: number) => alloc(4 * n);
    const slots: Slot[] = [];
    const slot = (param: Parameter): Slot => {
      const size = param.variable.size;
      const s: Slot = {
        param,
        size,
        value: f32(size),
        grad: f32(size),
        m: f32(size),
        v: f32(size),
        trained: trainedNames.has(param.name),
      };
      slots.push(s);
      return s;
    };
    let maxWidth = 1, workBytes = 0;
    const input = f32(M * B * widths[0].in);
    let current = input;
    const modules: ModulePlan[] = descs.map((d, i) => {
      const width = widths[i];
      maxWidth = Math.max(maxWidth, width.in, width.out);
      const output = f32(M * B * width.out);
      const where = { width, input: current, output };
      current = output;
      if (d.kind === "linear") {
        const n = M * d.O * d.I;
        const r = Math.max(d.O, d.I), c = Math.min(d.O, d.I);
        const keptBytes = bjorckKeptBytes({ B: M, m: d.O, n: d.I }, d.iters);
        // bj_bwd's work area: kept_size + 4 r c + c c packed elements of 16 bytes, per group
        workBytes = Math.max(workBytes, keptBytes + 16 * (4 * r * c + c * c) * 2);
        return {
          kind: "linear",
          ...where,
          I: d.I,
          O: d.O,
          W: slot(d.W),
          b: d.b ? slot(d.b) : undefined,
          scale: Math.fround(Math.sqrt(d.O * d.I)),
          iters: d.iters,
          beta: d.beta,
          wdiv: f32(n),
          wp: f32(n),
          dwp: f32(n),
          dwdiv: f32(n),
          keep: alloc(keptBytes),
        };
      }
      const sc = splineConstants({ size: d.K, range: d.range });
      const rows = M * d.C;
      return {
        kind: "spline",
        ...where,
        C: d.C,
        K: d.K,
        c: slot(d.c),
        alpha: slot(d.alpha),
        T: gridStep(d.range, d.K),
        invT: sc.invT,
        off: sc.z - sc.shift * sc.invT,
        shift: sc.shift,
        p: f32(rows * d.K),
        tv: f32(rows),
        dp: f32(rows * d.K),
        dtv: f32(rows),
        scratch: alloc(16 * rows * d.K),
        // Few inputs per channel (the 1d batch of 10 on 101 knots): visit only their segments.
        list: 4 * B <= d.K ? alloc(4 * rows * B) : 0,
      };
    });
    const work = alloc(workBytes);
    const target = f32(M * B * widths[widths.length - 1].out);
    const grads: [number, number] = [f32(M * B * maxWidth), f32(M * B * maxWidth)];
    const need = top - k.memory.buffer.byteLength;
    if (need > 0) k.memory.grow(Math.ceil(need / 65536));

    // Adam's parameters (all among the slots, `describe` checked) in Adam's order.
    const bySlot = new Map(slots.map((s) => [s.param.name, s]));
    const trainOrder = adam.settings.params.map((p) => bySlot.get(p.name)!);
    return new NativeFcEnsemble(tf, adam, k, opts, slots, modules, trainOrder, work, target, grads);
  }

  /**
   * Whether {@linkcode NativeFcEnsemble.create} would build a trainer for `net` (an ensemble of
   * `models`) and `adam`, without building it.
   */
  static supports(net: Network, adam: Adam, models: number): boolean {
    return describe(net, adam, models) !== null;
  }

  /** Adam steps taken (the trainer's own count once it has run). */
  get adamStep(): number {
    return this.#stale ? this.#adam.step : this.#step;
  }

  /** The next step reads the TF.js variables and Adam state first (after a resume, a restore). */
  invalidate(): void {
    this.#stale = true;
  }

  /** Read the parameters and Adam state from TF.js (synchronous: cpu and wasm backends). */
  pull(): void {
    const state = this.#adam.getStateSync();
    for (const s of this.#slots) {
      this.#f32.set(s.param.variable.dataSync() as Float32Array, s.value / 4);
      if (!s.trained) continue;
      this.#f32.set(state.tensors[`${s.param.name}/adam_m`].data, s.m / 4);
      this.#f32.set(state.tensors[`${s.param.name}/adam_v`].data, s.v / 4);
    }
    this.#step = this.#adam.step;
    this.#stale = false;
  }

  /** Write the trained parameters and Adam state into the TF.js variables and the Adam object. */
  push(): void {
    if (this.#stale) return; // nothing trained since the last read
    const tf = this.#tf;
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const s of this.#slots) {
      const v = s.param.variable;
      tf.tidy(() => v.assign(tf.tensor(this.values(s.value, s.size), v.shape) as Tensor as never));
      if (!s.trained) continue;
      tensors[`${s.param.name}/adam_m`] = {
        shape: v.shape.slice(),
        data: this.values(s.m, s.size),
      };
      tensors[`${s.param.name}/adam_v`] = {
        shape: v.shape.slice(),
        data: this.values(s.v, s.size),
      };
    }
    this.#adam.setState({ step: this.#step, tensors });
  }

  /** A copy of `n` floats at byte offset `ptr`. */
  private values(ptr: number, n: number): Float32Array {
    return this.#f32.slice(ptr / 4, ptr / 4 + n);
  }

  /**
   * One training step on inputs `x` and targets `y` (`[M, B, in]` and `[M, B, out]`, flat):
   * the loss of docs/method.md (5.1) summed over models (the generic step's value), its
   * gradients, one Adam update (docs/method.md (3.10)). Returns the loss before the update.
   */
  step(x: Float32Array, y: Float32Array): number {
    if (this.#stale) this.pull();
    const k = this.#k, f = this.#f32, { models: M, batchSize: B, lmbda } = this.#opts;
    f.set(x, this.#modules[0].input / 4);
    f.set(y, this.#target / 4);
    const withTv = lmbda !== 0;

    // Forward (docs/method.md (4.1) with §4's projection; §3's projected spline).
    let tv = 0;
    for (const m of this.#modules) {
      if (m.kind === "linear") {
        const n = M * m.O * m.I;
        k.divide(m.W.value, m.wdiv, n, m.scale);
        k.bj_fwd(m.wdiv, m.wp, M, m.O, m.I, m.iters, m.beta, this.#work, m.keep);
        k.dense_forward(m.input, m.wp, m.b ? m.b.value : 0, m.output, M, B, m.I, m.O);
      } else {
        const rows = M * m.C;
        k.coef_project(m.c.value, rows, m.K, m.T, m.p, withTv ? m.tv : 0);
        k.spline_forward(
          m.input,
          m.p,
          m.alpha.value,
          m.output,
          M,
          B,
          m.C,
          m.K,
          m.invT,
          m.off,
          m.shift,
        );
        if (withTv) { for (let r = 0; r < rows; r++) tv += f[m.tv / 4 + r]; }
      }
    }

    // Loss (docs/method.md (5.1)) and its gradient dL/dy = (y - t)·2·(1/B).
    const last = this.#modules[this.#modules.length - 1];
    let [g, spare] = this.#grads;
    const sq = k.squared_error(
      last.output,
      this.#target,
      g,
      M * B * last.width.out,
      Math.fround(1 / B),
    );
    const loss = sq / B + lmbda * tv;

    // Backward, last module first.
    for (let i = this.#modules.length - 1; i >= 0; i--) {
      const m = this.#modules[i];
      const dx = i > 0 ? spare : 0;
      if (m.kind === "linear") {
        k.dense_backward(m.input, m.wp, g, dx, m.dwp, m.b ? m.b.grad : 0, M, B, m.I, m.O);
        k.bj_bwd(m.wdiv, m.dwp, m.dwdiv, M, m.O, m.I, m.iters, m.beta, this.#work, m.keep);
        k.divide(m.dwdiv, m.W.grad, M * m.O * m.I, m.scale);
      } else {
        const rows = M * m.C;
        const args = [
          m.input,
          m.p,
          m.alpha.value,
          g,
          dx,
          m.dp,
          m.alpha.grad,
          M,
          B,
          m.C,
          m.K,
          m.invT,
          m.off,
          m.shift,
          m.scratch,
        ] as const;
        if (m.list) k.spline_backward_sparse(...args, m.list);
        else k.spline_backward(...args);
        if (withTv) k.fill(m.dtv, rows, Math.fround(lmbda));
        k.coef_project_grad(m.c.value, m.dp, withTv ? m.dtv : 0, rows, m.K, m.T, m.c.grad);
      }
      [g, spare] = [spare, g];
    }

    // Adam (docs/method.md (3.10)), in the Adam object's order, with its hyperparameters.
    const { lr, beta1, beta2, eps } = this.#adam.settings;
    this.#step++;
    const bc1 = 1 - beta1 ** this.#step, bc2 = 1 - beta2 ** this.#step;
    for (const s of this.#trainOrder) {
      k.adam_update(
        s.value,
        s.grad,
        s.m,
        s.v,
        s.size,
        beta1,
        beta2,
        eps,
        lr[s.param.group] / bc1,
        1 / bc2,
        s.value,
        s.m,
        s.v,
      );
    }
    return loss;
  }
}
