/**
 * Certification of a trained network (the `certify` command): an upper bound on its Lipschitz
 * constant (2-norm) as the product of the bounds every layer and activation guarantees from its
 * current parameters, and an empirical lower bound, the largest spectral norm of the Jacobian
 * found at random and adversarially searched inputs. A sound certificate has
 * `empirical ≤ product`.
 *
 * **Upper bound.** Each module reports {@linkcode LipschitzBound} (`lipschitzBound()` of layers,
 * activations and, through the layer, projections). A module without a bound (a third-party
 * plugin lacking `lipschitzBound`, or reporting `null`/a non-finite value) is *unbounded*: the
 * product is then `null`, never computed as if the module were 1-Lipschitz. For an ensemble of
 * `M` models (1d experiment) the product is taken per model (product of that model's per-layer
 * bounds); the worst model is reported.
 *
 * **Empirical lower bound.** For `f: R^in → R^out`, `L = sup_x ‖J(x)‖₂`, so any `‖J(x)‖₂` (at a
 * point where the network is differentiable, or a one-sided Jacobian at a kink, which is a limit
 * of such) is a lower bound. Every value reported is an *exact* evaluation (float32) of
 * `‖Jᵀu‖` for a unit `u` (≤ `‖J‖₂`), so the empirical number is a valid lower bound whatever
 * the search did:
 * - `out = 1`: `‖∇f(x)‖` from one batched `tf.grad` (vjp with `dy = 1`);
 * - `out ≤ 16`: the full Jacobian from `out` batched vjps, then its largest singular value by
 *   power iteration on `J Jᵀ` in float64 (the reported value is `‖Jᵀu‖` at the final `u`);
 * - `out > 16`: power iteration on `J Jᵀ` with exact vjps (`Jᵀu`) and finite-difference jvps
 *   (`Jv ≈ (f(x+εv) - f(x-εv)) / 2ε`, exact between kinks); the value is the final `‖Jᵀu‖`.
 *
 * **Adversarial search.** From the best random inputs of each model, ascent on
 * `φ(x) = ‖J(x)ᵀu‖²` (`u` the top output direction at `x`). Its gradient is `2 H g` with
 * `g = Jᵀu`. TF.js can take that second derivative only for some networks: the fused spline
 * kernel (`LipsplineSplineGrad`) and GroupSort's comparisons (`Greater`) have no gradient, and
 * where it works (relu, prelu, |x|, householder) it is identically zero — these networks are
 * piecewise linear, so `∇f` is piecewise constant. The search therefore probes the exact second
 * derivative once and, when it fails or vanishes, uses finite differences of the vjp along the
 * ascent direction at the scale of the current step, `Hĝ ≈ (g(x+σĝ) - g(x-σĝ)) / 2σ` (a
 * smoothed Hessian-vector product that sees kinks within the step). Each step tries that
 * direction and a random direction `±r`, keeps the best candidate only if it improves `φ`, and
 * adapts the per-point step size (×2 on success, ×½ on failure). Points stay inside the box.
 *
 * @module
 */
import type { Tensor } from "@tensorflow/tfjs-core";
import { tf } from "../backend/tf.ts";
import type { Network } from "../nn/fc_network.ts";
import type { LipschitzBound } from "../plugin/interfaces.ts";
import type { Rng } from "../rng/rng.ts";

/** One module's line in a certificate. */
export interface CertifyLayer {
  /** Module name in the network, e.g. `linear0`, `activation1`. */
  name: string;
  /** The module's kind, e.g. `lipschitz_linear`, `linearspline`. */
  kind: string;
  /** Worst bound over the models; `null` when the module is unbounded. */
  bound: number | null;
  /** One bound per model (ensembles only). */
  perModel?: number[];
  /** How the bound was obtained (from the plugin), or why there is none. */
  method: string;
}

/** How the empirical bound was searched. */
export interface CertifySearch {
  /** Random inputs per model. */
  random: number;
  /** Adversarially searched inputs per model. */
  adversarial: number;
  /** Ascent steps per searched input. */
  steps: number;
  /** The box of inputs `[lo, hi]` (every coordinate). */
  box: [number, number];
  /** Which ascent direction was used. */
  secondOrder: "exact" | "finite-differences" | "none";
  /** Why (e.g. the error that made the exact second derivative unavailable). */
  note: string;
  /** How `‖J‖₂` is evaluated for this output size. */
  jacobian: string;
}

/** The result of {@linkcode certifyNetwork}. */
export interface CertifyResult {
  /** One line per module (layer or activation), in network order. */
  layers: CertifyLayer[];
  /** The worst model's product of per-module bounds; `null` when any module is unbounded. */
  product: number | null;
  /** The largest `‖J(x)‖₂` found, over all models and inputs (a lower bound on L). */
  empirical: number;
  /** Per model (ensembles only): its product bound and its empirical bound. */
  perModel?: Array<{ product: number | null; empirical: number }>;
  /** Index of the worst model (largest product; largest empirical when unbounded). */
  worstModel?: number;
  /** How the empirical bound was obtained. */
  search: CertifySearch;
}

/** Options of {@linkcode certifyNetwork}. */
export interface CertifyOptions {
  /** Number of input features (`prod(inputShape)`). */
  inputDim: number;
  /** Per-sample input shape (default `[inputDim]`), passed to layers' `lipschitzBound`. */
  inputShape?: number[];
  /** Number of models of an ensemble network (inputs `[M, N, ...]`). */
  ensemble?: number;
  /** Random inputs per model (default 1000). */
  random?: number;
  /** Adversarially searched inputs per model (default 16). */
  adversarial?: number;
  /** Ascent steps per searched input (default 30). */
  steps?: number;
  /** Box of the inputs, every coordinate in `[lo, hi]` (default `[-1, 1]`). */
  box?: [number, number];
  /** Output sizes up to this use the full Jacobian (default 16). */
  fullJacobianMax?: number;
  /** Seeded random numbers for the inputs and the search. */
  rng: Rng;
}

/** Turn a module's reported bound into per-model numbers (`null` = unbounded). */
function normaliseBound(
  b: LipschitzBound | undefined,
  M: number,
): { perModel: (number | null)[]; method: string } {
  if (!b) {
    return { perModel: Array(M).fill(null), method: "unbounded: the plugin reports no bound" };
  }
  const ok = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
  if (b.perModel && b.perModel.length === M && b.perModel.every(ok)) {
    return { perModel: b.perModel.slice(), method: b.method };
  }
  if (ok(b.value)) return { perModel: Array(M).fill(b.value), method: b.method };
  return {
    perModel: Array(M).fill(null),
    method: `unbounded: the plugin reports ${b.value === null ? "no bound" : String(b.value)}` +
      (b.method ? ` (${b.method})` : ""),
  };
}

/** Per-sample input shape of every module (one dummy forward pass). */
function moduleInputShapes(net: Network, inputShape: number[], G: number | undefined): number[][] {
  return tf.tidy(() => {
    const lead = G ? [G, 1] : [1];
    let h: Tensor = tf.zeros([...lead, ...inputShape]);
    const shapes: number[][] = [];
    for (const m of net.modules) {
      shapes.push(h.shape.slice(lead.length));
      h = m.type === "layer" ? m.layer.forward(h) : m.activation.forward(h);
    }
    return shapes;
  });
}

/** Collect every module's bound, per model. */
async function moduleBounds(
  net: Network,
  inputShape: number[],
  ensemble: number | undefined,
): Promise<{ layers: CertifyLayer[]; perModel: (number | null)[][] }> {
  const M = ensemble ?? 1;
  const shapes = moduleInputShapes(net, inputShape, ensemble);
  const layers: CertifyLayer[] = [];
  const perModel: (number | null)[][] = [];
  for (let i = 0; i < net.modules.length; i++) {
    const m = net.modules[i];
    const kind = m.type === "layer" ? m.layer.kind : m.activation.kind;
    let reported: LipschitzBound | undefined;
    let failure = "";
    try {
      if (m.type === "layer") {
        if (typeof m.layer.lipschitzBound === "function") {
          reported = await m.layer.lipschitzBound({ inputShape: shapes[i] });
        }
      } else if (typeof m.activation.lipschitzBound === "function") {
        reported = await m.activation.lipschitzBound();
      }
    } catch (e) {
      failure = `unbounded: lipschitzBound() failed: ${(e as Error).message.split("\n")[0]}`;
      reported = undefined;
    }
    const n = normaliseBound(reported, M);
    const method = failure || n.method;
    const finite = n.perModel.every((v) => v !== null);
    layers.push({
      name: m.name,
      kind,
      bound: finite ? Math.max(...(n.perModel as number[])) : null,
      ...(ensemble && finite ? { perModel: n.perModel as number[] } : {}),
      method,
    });
    perModel.push(n.perModel);
  }
  return { layers, perModel };
}

/** Largest singular value of a small `rows × cols` matrix (float64) and its left vector. */
function topSingular(
  J: Float64Array,
  off: number,
  rows: number,
  cols: number,
): { u: Float64Array } {
  // Power iteration on A = J Jᵀ (rows × rows).
  const A = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let k = i; k < rows; k++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += J[off + i * cols + j] * J[off + k * cols + j];
      A[i * rows + k] = s;
      A[k * rows + i] = s;
    }
  }
  let u = new Float64Array(rows);
  // Start at the largest-diagonal direction plus a spread, so no start is orthogonal by symmetry.
  let best = 0;
  for (let i = 0; i < rows; i++) if (A[i * rows + i] > A[best * rows + best]) best = i;
  for (let i = 0; i < rows; i++) u[i] = (i === best ? 1 : 0) + 0.01 * (1 + i / rows);
  let lambda = 0;
  for (let it = 0; it < 1000; it++) {
    const w = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let k = 0; k < rows; k++) s += A[i * rows + k] * u[k];
      w[i] = s;
    }
    let nrm = 0;
    for (let i = 0; i < rows; i++) nrm += w[i] * w[i];
    nrm = Math.sqrt(nrm);
    if (nrm === 0) break;
    for (let i = 0; i < rows; i++) w[i] /= nrm;
    u = w;
    if (Math.abs(nrm - lambda) <= 1e-12 * nrm) break;
    lambda = nrm;
  }
  let nu = 0;
  for (let i = 0; i < rows; i++) nu += u[i] * u[i];
  nu = Math.sqrt(nu) || 1;
  for (let i = 0; i < rows; i++) u[i] /= nu;
  return { u };
}

/** Evaluates Jacobian norms of a network at batches of points. */
class JacobianProbe {
  readonly G: number | undefined;
  readonly lead: number;
  readonly inputShape: number[];
  readonly inDim: number;
  readonly outDim: number;
  readonly fullMax: number;
  readonly eps: number;
  constructor(
    readonly net: Network,
    inputShape: number[],
    ensemble: number | undefined,
    fullMax: number,
    eps: number,
  ) {
    this.G = ensemble;
    this.lead = ensemble ?? 1;
    this.inputShape = inputShape;
    this.inDim = inputShape.reduce((a, b) => a * b, 1);
    this.fullMax = fullMax;
    this.eps = eps;
    const y = tf.tidy(() =>
      net.forward(tf.zeros([...(ensemble ? [ensemble, 1] : [1]), ...inputShape]))
    );
    this.outDim = y.shape.slice(ensemble ? 2 : 1).reduce((a, b) => a * b, 1);
    y.dispose();
  }

  /** How `‖J‖₂` is evaluated. */
  describe(): string {
    if (this.outDim === 1) return "‖∇f(x)‖ by tf.grad (exact for the scalar output)";
    if (this.outDim <= this.fullMax) {
      return `full ${this.outDim}×${this.inDim} Jacobian from ${this.outDim} vjps, σ_max by power iteration in float64`;
    }
    return "power iteration on J Jᵀ: exact vjps, finite-difference jvps; value ‖Jᵀu‖ (≤ ‖J‖₂)";
  }

  private input(x: Float32Array, n: number): Tensor {
    return tf.tensor(x, [...(this.G ? [this.G, n] : [n]), ...this.inputShape]);
  }
  private outShape(n: number): number[] {
    return [...(this.G ? [this.G, n] : [n]), this.outDim];
  }

  /** `Jᵀ dy` at every point: `x` is `[lead, n, in]` flat, `dy` is `[lead, n, out]` flat. */
  async vjp(x: Float32Array, n: number, dy: Float32Array): Promise<Float32Array> {
    const g = tf.tidy(() => {
      const xt = this.input(x, n);
      const dyt = tf.tensor(dy, this.outShape(n));
      const f = (z: Tensor) => tf.reshape(this.net.forward(z), this.outShape(n));
      return tf.grad(f)(xt, dyt);
    });
    const data = new Float32Array(await g.data());
    g.dispose();
    return data;
  }

  /** `f(x)` flattened to `[lead, n, out]`. */
  async forward(x: Float32Array, n: number): Promise<Float32Array> {
    const y = tf.tidy(() => tf.reshape(this.net.forward(this.input(x, n)), this.outShape(n)));
    const data = new Float32Array(await y.data());
    y.dispose();
    return data;
  }

  /**
   * `‖J(x)‖₂` (as the exact `‖Jᵀu‖` for the final unit `u`) and `u` at every point.
   * `rng` seeds the power iteration of large outputs.
   */
  async norms(
    x: Float32Array,
    n: number,
    rng: Rng,
  ): Promise<{ norm: Float64Array; u: Float32Array; g: Float32Array }> {
    const P = this.lead * n;
    const O = this.outDim, D = this.inDim;
    const norm = new Float64Array(P);
    const u = new Float32Array(P * O);
    if (O === 1) {
      u.fill(1);
    } else if (O <= this.fullMax) {
      const J = new Float64Array(P * O * D);
      for (let k = 0; k < O; k++) {
        const dy = new Float32Array(P * O);
        for (let p = 0; p < P; p++) dy[p * O + k] = 1;
        const g = await this.vjp(x, n, dy);
        for (let p = 0; p < P; p++) {
          for (let j = 0; j < D; j++) J[(p * O + k) * D + j] = g[p * D + j];
        }
      }
      for (let p = 0; p < P; p++) u.set(topSingular(J, p * O * D, O, D).u, p * O);
    } else {
      for (let i = 0; i < u.length; i++) u[i] = rng.normal();
      normaliseRows(u, P, O);
      for (let it = 0; it < 8; it++) {
        const v = await this.vjp(x, n, u);
        normaliseRows(v, P, D);
        const xp = new Float32Array(x.length), xm = new Float32Array(x.length);
        for (let i = 0; i < x.length; i++) {
          xp[i] = x[i] + this.eps * v[i];
          xm[i] = x[i] - this.eps * v[i];
        }
        const fp = await this.forward(xp, n), fm = await this.forward(xm, n);
        const next = new Float32Array(u.length);
        for (let i = 0; i < u.length; i++) next[i] = (fp[i] - fm[i]) / (2 * this.eps);
        for (let p = 0; p < P; p++) {
          let s = 0;
          for (let k = 0; k < O; k++) s += next[p * O + k] ** 2;
          // Jv = 0 (or not finite): keep the previous direction for this point.
          if (s > 0 && Number.isFinite(s)) u.set(next.subarray(p * O, (p + 1) * O), p * O);
        }
        normaliseRows(u, P, O);
      }
    }
    const g = await this.vjp(x, n, u);
    for (let p = 0; p < P; p++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += g[p * D + j] ** 2;
      norm[p] = Math.sqrt(s);
    }
    return { norm, u, g };
  }

  /** `H g` with `g = Jᵀu` by exact second derivatives (throws where TF.js cannot). */
  async exactAscent(x: Float32Array, n: number, u: Float32Array): Promise<Float32Array> {
    const d = tf.tidy(() => {
      const xt = this.input(x, n);
      const ut = tf.tensor(u, this.outShape(n));
      const h = (z: Tensor) =>
        tf.sum(tf.mul(tf.reshape(this.net.forward(z), this.outShape(n)), ut));
      return tf.grad((z: Tensor) => tf.sum(tf.square(tf.grad(h)(z))))(xt);
    });
    const data = new Float32Array(await d.data());
    d.dispose();
    return data;
  }
}

/**
 * After a gradient that failed in its backward pass (a kernel without a gradient), TF.js leaves
 * the tape's saved tensors alive (its own cleanup runs only on success). Release them, so that a
 * failed probe of the second derivative does not leak.
 */
function releaseFailedTape(): void {
  const state = (tf.engine() as unknown as {
    state?: { gradientDepth?: number; activeTape?: Array<{ saved?: Tensor[] }> | null };
  }).state;
  if (!state || state.gradientDepth !== 0 || !Array.isArray(state.activeTape)) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

function normaliseRows(a: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += a[r * cols + c] ** 2;
    s = Math.sqrt(s);
    if (s > 0) { for (let c = 0; c < cols; c++) a[r * cols + c] /= s; }
  }
}

/**
 * Certify `net`: every module's bound (per model), the product per model (worst reported), and
 * the empirical lower bound over `random` random and `adversarial` searched inputs per model.
 *
 * @example
 * ```ts ignore
 * const r = await certifyNetwork(net, { inputDim: 1, ensemble: 25, rng: new MT19937(0) });
 * console.log(r.product, r.empirical);
 * ```
 */
export async function certifyNetwork(net: Network, opts: CertifyOptions): Promise<CertifyResult> {
  const inputShape = opts.inputShape ?? [opts.inputDim];
  const inDim = inputShape.reduce((a, b) => a * b, 1);
  if (inDim !== opts.inputDim) {
    throw new Error(
      `Cannot certify as the input shape [${inputShape}] has ${inDim} features, not ${opts.inputDim}`,
    );
  }
  const ensemble = opts.ensemble && opts.ensemble > 0 ? opts.ensemble : undefined;
  const M = ensemble ?? 1;
  const nRandom = Math.max(1, Math.floor(opts.random ?? 1000));
  const nAdv = Math.max(0, Math.min(nRandom, Math.floor(opts.adversarial ?? 16)));
  const steps = Math.max(0, Math.floor(opts.steps ?? 30));
  const [lo, hi] = opts.box ?? [-1, 1];
  const width = hi - lo;
  const rng = opts.rng;

  // --- upper bound ---
  const { layers, perModel: boundsPerModel } = await moduleBounds(net, inputShape, ensemble);
  const products: (number | null)[] = [];
  for (let m = 0; m < M; m++) {
    let p: number | null = 1;
    for (const b of boundsPerModel) p = p === null || b[m] === null ? null : p * (b[m] as number);
    products.push(p);
  }

  // --- empirical lower bound: random inputs ---
  const probe = new JacobianProbe(
    net,
    inputShape,
    ensemble,
    opts.fullJacobianMax ?? 16,
    1e-3 * width,
  );
  const D = inDim, O = probe.outDim;
  const emp = new Float64Array(M);
  // Every model's random inputs and their norms, kept to pick the adversarial starts.
  const randX = new Float32Array(M * nRandom * D);
  const randNorm = new Float64Array(M * nRandom);
  const chunk = Math.max(1, Math.min(nRandom, Math.floor(65536 / Math.max(1, M * Math.max(D, O)))));
  for (let start = 0; start < nRandom; start += chunk) {
    const n = Math.min(chunk, nRandom - start);
    const x = new Float32Array(M * n * D);
    for (let i = 0; i < x.length; i++) x[i] = lo + width * rng.random();
    const { norm } = await probe.norms(x, n, rng);
    for (let m = 0; m < M; m++) {
      for (let i = 0; i < n; i++) {
        const r = m * nRandom + start + i;
        randNorm[r] = norm[m * n + i];
        randX.set(x.subarray((m * n + i) * D, (m * n + i + 1) * D), r * D);
      }
    }
  }
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < nRandom; i++) emp[m] = Math.max(emp[m], randNorm[m * nRandom + i] || 0);
  }

  // --- adversarial search from the best random inputs of each model ---
  let secondOrder: CertifySearch["secondOrder"] = "none";
  let note = "no adversarial search requested";
  if (nAdv > 0 && steps > 0) {
    const A = nAdv, P = M * A;
    const x = new Float32Array(P * D);
    for (let m = 0; m < M; m++) {
      const order = Array.from({ length: nRandom }, (_, i) => i)
        .sort((a, b) => randNorm[m * nRandom + b] - randNorm[m * nRandom + a]);
      for (let a = 0; a < A; a++) {
        const r = m * nRandom + order[a];
        x.set(randX.subarray(r * D, (r + 1) * D), (m * A + a) * D);
      }
    }
    const cur = await probe.norms(x, A, rng);
    const sigma = new Float64Array(P).fill(0.1 * width);
    const minSigma = 1e-6 * width;
    // Probe the exact second derivative once.
    let useExact = false;
    try {
      const d = await probe.exactAscent(x, A, cur.u);
      useExact = d.some((v) => v !== 0 && Number.isFinite(v));
      note = useExact
        ? "tf.grad of ‖Jᵀu‖² (exact second derivatives)"
        : "exact second derivatives are zero everywhere probed (piecewise-linear network): " +
          "finite differences of the vjp along the ascent direction";
    } catch (e) {
      releaseFailedTape();
      note = `exact second derivatives unavailable (${(e as Error).message.split("\n")[0]}): ` +
        "finite differences of the vjp along the ascent direction";
    }
    secondOrder = useExact ? "exact" : "finite-differences";
    const clip = (v: number) => Math.min(hi, Math.max(lo, v));
    for (let step = 0; step < steps; step++) {
      // Ascent direction d per point.
      const dir = new Float32Array(P * D);
      if (useExact) {
        dir.set(await probe.exactAscent(x, A, cur.u));
      } else {
        const g = cur.g.slice();
        normaliseRows(g, P, D);
        // x ± σĝ for every point, stacked along the point axis of each model: [M, 2A, D].
        const xpm = new Float32Array(2 * P * D);
        const upm = new Float32Array(2 * P * O);
        for (let m = 0; m < M; m++) {
          for (let a = 0; a < A; a++) {
            const p = m * A + a;
            const qp = m * 2 * A + a, qm = m * 2 * A + A + a;
            for (let j = 0; j < D; j++) {
              const i = p * D + j;
              xpm[qp * D + j] = x[i] + sigma[p] * g[i];
              xpm[qm * D + j] = x[i] - sigma[p] * g[i];
            }
            upm.set(cur.u.subarray(p * O, (p + 1) * O), qp * O);
            upm.set(cur.u.subarray(p * O, (p + 1) * O), qm * O);
          }
        }
        const gpm = await probe.vjp(xpm, 2 * A, upm);
        const gp = new Float32Array(P * D), gm = new Float32Array(P * D);
        for (let m = 0; m < M; m++) {
          for (let a = 0; a < A; a++) {
            const p = m * A + a;
            const qp = m * 2 * A + a, qm = m * 2 * A + A + a;
            gp.set(gpm.subarray(qp * D, (qp + 1) * D), p * D);
            gm.set(gpm.subarray(qm * D, (qm + 1) * D), p * D);
          }
        }
        for (let i = 0; i < dir.length; i++) dir[i] = gp[i] - gm[i];
      }
      normaliseRows(dir, P, D);
      const r = new Float32Array(P * D);
      for (let i = 0; i < r.length; i++) r[i] = rng.normal();
      normaliseRows(r, P, D);
      // Three candidates per point, stacked along the point axis of each model: [M, 3A, D].
      const cand = new Float32Array(M * 3 * A * D);
      for (let m = 0; m < M; m++) {
        for (let a = 0; a < A; a++) {
          const p = m * A + a;
          for (let j = 0; j < D; j++) {
            const i = p * D + j;
            const base = (m * 3 * A) * D;
            cand[base + a * D + j] = clip(x[i] + sigma[p] * dir[i]);
            cand[base + (A + a) * D + j] = clip(x[i] + sigma[p] * r[i]);
            cand[base + (2 * A + a) * D + j] = clip(x[i] - sigma[p] * r[i]);
          }
        }
      }
      const ev = await probe.norms(cand, 3 * A, rng);
      for (let m = 0; m < M; m++) {
        for (let a = 0; a < A; a++) {
          const p = m * A + a;
          let bestK = -1, bestV = cur.norm[p];
          for (let k = 0; k < 3; k++) {
            const q = m * 3 * A + k * A + a;
            if (ev.norm[q] > bestV) {
              bestV = ev.norm[q];
              bestK = k;
            }
          }
          if (bestK >= 0) {
            const q = m * 3 * A + bestK * A + a;
            x.set(cand.subarray(q * D, (q + 1) * D), p * D);
            cur.norm[p] = bestV;
            cur.u.set(ev.u.subarray(q * O, (q + 1) * O), p * O);
            cur.g.set(ev.g.subarray(q * D, (q + 1) * D), p * D);
            sigma[p] = Math.min(width, sigma[p] * 2);
          } else {
            sigma[p] = Math.max(minSigma, sigma[p] / 2);
          }
        }
      }
    }
    // The kept norms are exact evaluations at the kept points.
    for (let m = 0; m < M; m++) {
      for (let a = 0; a < A; a++) emp[m] = Math.max(emp[m], cur.norm[m * A + a] || 0);
    }
  }

  // --- summary ---
  let worst = 0;
  const allBounded = products.every((p) => p !== null);
  for (let m = 1; m < M; m++) {
    if (allBounded ? (products[m] as number) > (products[worst] as number) : emp[m] > emp[worst]) {
      worst = m;
    }
  }
  const empirical = Math.max(...emp);
  return {
    layers,
    product: allBounded ? (products[worst] as number) : null,
    empirical,
    ...(ensemble
      ? {
        perModel: products.map((p, m) => ({ product: p, empirical: emp[m] })),
        worstModel: worst,
      }
      : {}),
    search: {
      random: nRandom,
      adversarial: nAdv,
      steps,
      box: [lo, hi],
      secondOrder,
      note,
      jacobian: probe.describe(),
    },
  };
}
