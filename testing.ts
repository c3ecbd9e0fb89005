/**
 * The conformance kit for activation plugins: what every activation must satisfy, checked the
 * way the host uses it. {@linkcode checkActivation} runs all of it; each check is exported too.
 *
 * - shape: the forward keeps the input's shape and is finite (fc `[N, C]`, ensemble `[M, N, C]`,
 *   conv NHWC);
 * - gradient: the gradient of a random projection of the output, with respect to the input and
 *   to every parameter, matches central finite differences;
 * - bound: `lipschitzBound()` is at least the largest slope measured on random pairs of inputs,
 *   `‖f(u) - f(v)‖ / ‖u - v‖` per sample (per model of an ensemble);
 * - checkpoint: the parameters stored and restored into a fresh instance give the same output,
 *   bit for bit, and parameter names are unique and start with the context's name;
 * - leaks: a full cycle (forward, regulariser, bound, sampling, freeing the parameters) leaves no
 *   tensor behind.
 *
 * It runs on the host's TensorFlow.js (choose the backend first, e.g. `initBackend("cpu")`).
 *
 * @example
 * ```ts ignore
 * import { checkActivation } from "./testing.ts";
 * import smoothAbs from "./examples/plugins/smooth_abs.ts";
 * Deno.test("smooth_abs conforms", async () => {
 *   await checkActivation(smoothAbs, { params: { activation_type: "smooth_abs" }, channels: 4 });
 * });
 * ```
 *
 * @module
 */
import type { Tensor, Variable } from "@tensorflow/tfjs-core";
import { tf } from "./core/backend/tf.ts";
import type {
  Activation,
  ActivationInstance,
  ActivationParams,
  ResolvedActivation,
} from "./core/plugin/interfaces.ts";
import { hostOps } from "./core/plugin/host_ops.ts";
import { MT19937 } from "./core/rng/mt19937.ts";
import { activationProblem } from "./core/plugin/contract.ts";

/** What to build the activation with. */
export interface ConformanceOptions {
  /** The activation parameters (default `{ activation_type: plugin.name }`). */
  params?: ActivationParams;
  /** Channels `C` (default 4). */
  channels?: number;
  /** `fc` (default) or `conv`. */
  mode?: "fc" | "conv";
  /** Models of an ensemble (inputs `[M, N, C]`); fc only. */
  ensemble?: number;
  /** Inputs are drawn in `[-range, range]` (default 1.5). */
  range?: number;
  /** Seed of the instance's rng and of the random inputs (default 1). */
  seed?: number;
  /** Relative tolerance of the gradient check (default 2e-2). */
  gradientTolerance?: number;
  /** Random perturbation of the parameters before checking, so that they are not at their init (default 0.05). */
  perturb?: number;
}

/** What {@linkcode checkActivation} measured. */
export interface ConformanceReport {
  /** The bound the instance reports (`null`: unbounded). */
  bound: number | null;
  /** The largest measured slope `‖f(u) - f(v)‖ / ‖u - v‖`. */
  measuredSlope: number;
  /** Largest relative gradient error over the checked coordinates. */
  gradientError: number;
  /** Number of trainable parameter tensors. */
  parameters: number;
}

type AnyActivation = Activation | ResolvedActivation;

interface Built {
  inst: ActivationInstance;
  shape: number[];
  opts:
    & Required<Pick<ConformanceOptions, "channels" | "mode" | "range" | "seed">>
    & ConformanceOptions;
}

function settings(plugin: AnyActivation, o: ConformanceOptions): Built["opts"] {
  return {
    ...o,
    params: o.params ?? { activation_type: plugin.name },
    channels: o.channels ?? 4,
    mode: o.mode ?? "fc",
    range: o.range ?? 1.5,
    seed: o.seed ?? 1,
  };
}

function inputShape(o: Built["opts"], n: number): number[] {
  const base = o.mode === "conv" ? [n, 3, 3, o.channels] : [n, o.channels];
  return o.ensemble ? [o.ensemble, ...base] : base;
}

/**
 * Build one instance as the host would (the host's `tf` and `ops`, a seeded rng), after the
 * plugin's own `validate`.
 *
 * @example
 * ```ts ignore
 * const inst = buildActivation(relu, { channels: 3 });
 * ```
 */
export function buildActivation(
  plugin: AnyActivation,
  options: ConformanceOptions = {},
): ActivationInstance {
  const o = settings(plugin, options);
  plugin.validate?.(o.params!, o.channels);
  return plugin.create({
    tf,
    ops: hostOps,
    channels: o.channels,
    mode: o.mode,
    ensemble: o.ensemble,
    params: o.params!,
    name: "act",
    rng: new MT19937(o.seed),
  });
}

function freeParameters(inst: ActivationInstance): void {
  for (const p of inst.parameters()) p.variable.dispose();
}

function uniform(rng: MT19937, n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.random());
}

function perturbParameters(inst: ActivationInstance, rng: MT19937, scale: number): void {
  if (scale === 0) return;
  for (const p of inst.parameters()) {
    const v = p.variable;
    const noise = uniform(rng, v.size, -scale, scale);
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(noise, v.shape))));
  }
}

function fail(check: string, message: string): never {
  throw new Error(`activation conformance (${check}): ${message}`);
}

/**
 * The forward keeps the shape, returns a finite tensor, and a bound exists (the host's own
 * contract check of `train`).
 *
 * @example
 * ```ts ignore
 * await checkShape(buildActivation(relu), [2, 4]);
 * ```
 */
export async function checkShape(inst: ActivationInstance, shape: number[]): Promise<void> {
  const problem = await activationProblem(tf, inst, shape);
  if (problem) fail("shape", problem);
}

/** `sum(w ⊙ f(x))` read in float64. */
async function projected(
  inst: ActivationInstance,
  x: Float32Array,
  shape: number[],
  w: Float32Array,
) {
  const y = tf.tidy(() => inst.forward(tf.tensor(x, shape)));
  const v = await y.data();
  y.dispose();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += w[i] * v[i];
  return s;
}

function agrees(fd: number, g: number, tol: number): boolean {
  return Math.abs(fd - g) <= tol * Math.max(1, Math.abs(g));
}

/**
 * The gradient of `sum(w ⊙ f(x))` with respect to `x` and to each parameter against central
 * finite differences at random coordinates (a coordinate passes if one of three step sizes
 * agrees, so that a kink between `x - h` and `x + h` does not fail it). Returns the largest
 * relative error seen.
 *
 * @example
 * ```ts ignore
 * const err = await checkGradient(buildActivation(relu), [3, 4]);
 * ```
 */
export async function checkGradient(
  inst: ActivationInstance,
  shape: number[],
  opts: { seed?: number; range?: number; tolerance?: number; coordinates?: number } = {},
): Promise<number> {
  const rng = new MT19937(opts.seed ?? 1);
  const n = shape.reduce((a, b) => a * b, 1);
  const range = opts.range ?? 1.5;
  const tol = opts.tolerance ?? 2e-2;
  const x = uniform(rng, n, -range, range);
  const w = uniform(rng, n, -1, 1);
  const xt = tf.tensor(x, shape);
  const wt = tf.tensor(w, shape);
  const params = inst.parameters().filter((p) => p.variable.trainable);
  const f = () => tf.sum(tf.mul(inst.forward(xt), wt)) as tf.Scalar;
  const gx = tf.grad((xi: Tensor) => tf.sum(tf.mul(inst.forward(xi), wt)))(xt);
  const gxv = await gx.data();
  const grads = params.length
    ? tf.variableGrads(f, params.map((p) => p.variable)).grads
    : {} as Record<string, Tensor>;
  xt.dispose();
  wt.dispose();
  gx.dispose();
  let worst = 0;
  const steps = [1e-3, 3e-4, 1e-4];
  const count = opts.coordinates ?? 6;
  try {
    for (let k = 0; k < count; k++) {
      const i = Math.floor(rng.random() * n);
      const g = gxv[i];
      let best = Infinity;
      for (const h of steps) {
        const xp = x.slice(), xm = x.slice();
        xp[i] += h;
        xm[i] -= h;
        const fd = ((await projected(inst, xp, shape, w)) - (await projected(inst, xm, shape, w))) /
          (xp[i] - xm[i]);
        best = Math.min(best, Math.abs(fd - g) / Math.max(1, Math.abs(g)));
        if (agrees(fd, g, tol)) break;
      }
      worst = Math.max(worst, best);
      if (best > tol) {
        fail(
          "gradient",
          `d/dx[${i}] is ${g} but finite differences disagree (relative error ${
            best.toExponential(2)
          })`,
        );
      }
    }
    for (const p of params) {
      const v: Variable = p.variable;
      const gp = await grads[v.name].data();
      const values = Float32Array.from(await v.data());
      for (let k = 0; k < Math.min(3, v.size); k++) {
        const i = Math.floor(rng.random() * v.size);
        const g = gp[i];
        let best = Infinity;
        for (const h of steps) {
          const at = async (delta: number) => {
            const changed = values.slice();
            changed[i] += delta;
            tf.tidy(() => v.assign(tf.tensor(changed, v.shape)));
            const r = await projected(inst, x, shape, w);
            tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
            return r;
          };
          const fd = ((await at(h)) - (await at(-h))) / (2 * h);
          best = Math.min(best, Math.abs(fd - g) / Math.max(1, Math.abs(g)));
          if (agrees(fd, g, tol)) break;
        }
        worst = Math.max(worst, best);
        if (best > tol) {
          fail(
            "gradient",
            `d/d${p.name}[${i}] is ${g} but finite differences disagree (relative error ${
              best.toExponential(2)
            })`,
          );
        }
      }
    }
  } finally {
    Object.values(grads).forEach((t) => t.dispose());
  }
  return worst;
}

/**
 * The largest slope `‖f(u) - f(v)‖ / ‖u - v‖` over random pairs of inputs (near and far), per
 * sample and model, must not exceed `lipschitzBound().value` (a `null` bound passes: the host
 * then reports the module as unbounded). Returns the bound and the measured slope.
 *
 * @example
 * ```ts ignore
 * const { bound, measured } = await checkBound(buildActivation(relu), [64, 4]);
 * ```
 */
export async function checkBound(
  inst: ActivationInstance,
  shape: number[],
  opts: { seed?: number; range?: number; ensemble?: number } = {},
): Promise<{ bound: number | null; measured: number }> {
  const rng = new MT19937(opts.seed ?? 2);
  const n = shape.reduce((a, b) => a * b, 1);
  const range = opts.range ?? 1.5;
  const rows = opts.ensemble ? shape[0] * shape[1] : shape[0];
  const per = n / rows;
  let measured = 0;
  for (const scale of [1e-2, 0.3, 2 * range]) {
    const u = uniform(rng, n, -range, range);
    const v = Float32Array.from(u, (a) => a + scale * (2 * rng.random() - 1));
    const y = tf.tidy(() =>
      tf.sub(inst.forward(tf.tensor(u, shape)), inst.forward(tf.tensor(v, shape)))
    );
    const d = await y.data();
    y.dispose();
    for (let r = 0; r < rows; r++) {
      let num = 0, den = 0;
      for (let j = r * per; j < (r + 1) * per; j++) {
        num += d[j] * d[j];
        den += (u[j] - v[j]) ** 2;
      }
      if (den > 0) measured = Math.max(measured, Math.sqrt(num / den));
    }
  }
  const b = await inst.lipschitzBound();
  if (b.value !== null && measured > b.value * (1 + 1e-4) + 1e-5) {
    fail(
      "bound",
      `lipschitzBound() is ${b.value} (${b.method}) but a slope of ${measured} was measured`,
    );
  }
  return { bound: b.value, measured };
}

/**
 * Store the parameters of a (perturbed) instance, restore them into a fresh one, and compare the
 * outputs bit for bit; parameter names must be unique and start with the context's name.
 *
 * @example
 * ```ts ignore
 * await checkCheckpointRoundTrip(relu, {});
 * ```
 */
export async function checkCheckpointRoundTrip(
  plugin: AnyActivation,
  options: ConformanceOptions = {},
): Promise<void> {
  const o = settings(plugin, options);
  const a = buildActivation(plugin, o);
  const b = buildActivation(plugin, { ...o, seed: o.seed + 1 });
  try {
    const names = a.parameters().map((p) => p.name);
    if (new Set(names).size !== names.length) {
      fail("checkpoint", `duplicate parameter names: ${names}`);
    }
    const stray = names.find((n) => !n.startsWith("act"));
    if (stray) {
      fail("checkpoint", `parameter ${stray} does not start with the context's name 'act'`);
    }
    perturbParameters(a, new MT19937(o.seed + 7), o.perturb ?? 0.05);
    const stored = await hostOps.parametersToStored(a.parameters());
    hostOps.restoreParameters(tf, b.parameters(), stored, "the stored parameters");
    const shape = inputShape(o, 5);
    const x = uniform(new MT19937(o.seed + 3), shape.reduce((p, q) => p * q, 1), -o.range, o.range);
    const [ya, yb] = [a, b].map((inst) => tf.tidy(() => inst.forward(tf.tensor(x, shape))));
    const [va, vb] = [await ya.data(), await yb.data()];
    ya.dispose();
    yb.dispose();
    const i = va.findIndex((v, k) => !Object.is(v, vb[k]));
    if (i >= 0) fail("checkpoint", `restored instance differs at ${i}: ${va[i]} vs ${vb[i]}`);
  } finally {
    freeParameters(a);
    freeParameters(b);
  }
}

/**
 * A full cycle — build, forward, regulariser, forward with regulariser, `afterStep`, bound,
 * sampling, freeing the parameters — leaves as many tensors as it found (after one warm-up
 * cycle, for kernels that cache constants).
 *
 * @example
 * ```ts ignore
 * await checkNoLeaks(relu, {});
 * ```
 */
export async function checkNoLeaks(
  plugin: AnyActivation,
  options: ConformanceOptions = {},
): Promise<void> {
  const o = settings(plugin, options);
  const cycle = async () => {
    const inst = buildActivation(plugin, o);
    const shape = inputShape(o, 3);
    const x = tf.randomUniform(shape, -o.range, o.range);
    tf.dispose(inst.forward(x));
    if (inst.regularization) tf.dispose(inst.regularization());
    if (inst.forwardWithRegularization) {
      const r = inst.forwardWithRegularization(x);
      tf.dispose([r.y, r.regularization]);
    }
    inst.afterStep?.();
    await inst.lipschitzBound();
    if (o.mode === "fc") {
      await hostOps.activationCurves(
        tf,
        inst,
        new Float32Array([-1, 0, 1]),
        o.channels,
        o.ensemble,
      );
    }
    x.dispose();
    freeParameters(inst);
  };
  await cycle();
  const before = tf.memory().numTensors;
  await cycle();
  const after = tf.memory().numTensors;
  if (after !== before) fail("leaks", `one cycle left ${after - before} tensor(s) behind`);
}

/**
 * Run every check on `plugin`; throws an `Error` naming the first failed check.
 *
 * @example
 * ```ts ignore
 * const report = await checkActivation(smoothAbs, { channels: 4, ensemble: 2 });
 * ```
 */
export async function checkActivation(
  plugin: AnyActivation,
  options: ConformanceOptions = {},
): Promise<ConformanceReport> {
  const o = settings(plugin, options);
  const inst = buildActivation(plugin, o);
  try {
    perturbParameters(inst, new MT19937(o.seed + 11), o.perturb ?? 0.05);
    await checkShape(inst, inputShape(o, 2));
    const gradientError = await checkGradient(inst, inputShape(o, 3), {
      seed: o.seed,
      range: o.range,
      tolerance: o.gradientTolerance,
    });
    const { bound, measured } = await checkBound(inst, inputShape(o, 64), {
      seed: o.seed,
      range: o.range,
      ensemble: o.ensemble,
    });
    await checkCheckpointRoundTrip(plugin, o);
    await checkNoLeaks(plugin, o);
    return {
      bound,
      measuredSlope: measured,
      gradientError,
      parameters: inst.parameters().length,
    };
  } finally {
    freeParameters(inst);
  }
}
