/**
 * The figures a run writes to `log_dir/exp_name/figures/`: learned activations per layer, the 1d
 * fits (target against the best, median and worst model) and training curves. Each is a
 * {@linkcode Figure} (SVG and PNG) saved with {@linkcode writeFigure}.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import {
  type Figure,
  gridPlot,
  linePlot,
  type LinePlotOptions,
  type MarkedPoint,
  type Series,
} from "./plot.ts";

export type { Figure } from "./plot.ts";

/** The sampled activation functions of one layer. */
export interface ActivationPanel {
  /** Layer name or index, shown in the title. */
  layer: string | number;
  /** The spline range `R`; dashed lines mark `-R` and `R`. */
  range?: number;
  /**
   * Knot positions on the x axis, marked on every curve: one array for the layer, or one per
   * channel (e.g. `t_k / alpha_c` when scaling coefficients move the knots).
   */
  knots?: Float32Array | Float32Array[];
  /** The sampling grid (increasing). */
  x: Float32Array;
  /** One curve per channel, each `x.length` long. */
  channels: Float32Array[];
  /** Title; default `Activations of layer <layer>`. */
  title?: string;
}

/** At most this many knot marks are drawn per panel (the first channels get them). */
const MAX_KNOT_MARKS = 4000;

/** Linear interpolation of the curve `(xs, ys)` (xs increasing) at `t`; NaN outside. */
function interp(xs: Float32Array, ys: Float32Array, t: number): number {
  const n = xs.length;
  if (n === 0 || t < xs[0] || t > xs[n - 1]) return NaN;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= t) lo = mid;
    else hi = mid;
  }
  if (hi === lo) return ys[lo];
  const f = (t - xs[lo]) / (xs[hi] - xs[lo] || 1);
  return ys[lo] * (1 - f) + ys[hi] * f;
}

function activationPanel(p: ActivationPanel): LinePlotOptions {
  const series: Series[] = p.channels.map((y, c) => ({ name: `channel ${c}`, x: p.x, y }));
  const points: MarkedPoint[] = [];
  if (p.knots !== undefined) {
    for (let c = 0; c < p.channels.length; c++) {
      const knots = Array.isArray(p.knots) ? p.knots[c] : p.knots as Float32Array;
      if (!knots || points.length + knots.length > MAX_KNOT_MARKS) break;
      for (const t of knots) {
        const y = interp(p.x, p.channels[c], t);
        if (Number.isFinite(y)) points.push({ x: t, y });
      }
    }
  }
  const vlines = p.range !== undefined && p.range > 0
    ? [{ x: -p.range, label: `−R = ${-p.range}` }, { x: p.range, label: `R = ${p.range}` }]
    : [];
  const key = [points.length ? "black marks: knots" : "", vlines.length ? "dashed lines: ±R" : ""]
    .filter((s) => s).join(", ");
  return {
    title: p.title ?? `Activations of layer ${p.layer} (${p.channels.length} channels)`,
    ...(key ? { subtitle: key } : {}),
    xLabel: "input",
    yLabel: "output",
    series,
    points,
    vlines,
  };
}

/**
 * All channels of one activation layer overlaid, knots marked on the curves, `[-R, R]` marked by
 * dashed lines.
 *
 * @example
 * ```ts
 * import { activationFigure } from "./figures.ts";
 * const x = Float32Array.from({ length: 201 }, (_, i) => -1 + i / 100);
 * const knots = Float32Array.from({ length: 11 }, (_, k) => -0.5 + k / 10);
 * const fig = await activationFigure({
 *   layer: 1, range: 0.5, knots, x,
 *   channels: [x.map(Math.abs), x.map((v) => Math.max(v, 0))],
 * });
 * ```
 */
export async function activationFigure(p: ActivationPanel): Promise<Figure> {
  return await linePlot(activationPanel(p));
}

/**
 * Several activation layers as a grid of panels (`cols` per row), each panel as in
 * {@linkcode activationFigure}.
 *
 * @example
 * ```ts
 * import { activationsFigure } from "./figures.ts";
 * const x = Float32Array.from({ length: 101 }, (_, i) => -1 + i / 50);
 * const fig = await activationsFigure([
 *   { layer: 1, range: 0.5, x, channels: [x.map(Math.abs)] },
 *   { layer: 2, range: 0.5, x, channels: [x.map((v) => v)] },
 * ], 2);
 * ```
 */
export async function activationsFigure(
  panels: ActivationPanel[],
  cols = 3,
  title = "Learned activation functions",
): Promise<Figure> {
  return await gridPlot(
    panels.map((p) => ({ ...activationPanel(p), title: p.title ?? `layer ${p.layer}` })),
    cols,
    { title },
  );
}

/** Inputs of {@linkcode fitFigure}: the target and three models sampled on the same `x`. */
export interface FitData {
  /** Test inputs (e.g. the 10 000-point grid on [-1, 1]). */
  x: ArrayLike<number>;
  /** The target function on `x`. */
  target: ArrayLike<number>;
  /** Output of the model with the lowest test MSE. */
  best: ArrayLike<number>;
  /** Output of the median model. */
  median: ArrayLike<number>;
  /** Output of the model with the highest test MSE. */
  worst: ArrayLike<number>;
  /** Test MSE of each model, shown in the panel titles. */
  mse?: { best?: number; median?: number; worst?: number };
  /** Overall title (default `1d fit: target vs models`). */
  title?: string;
}

/**
 * The 1d experiment's fits: three panels (best, median and worst model by test MSE), each with
 * the target (black) and the model's output (dashed).
 *
 * @example
 * ```ts
 * import { fitFigure } from "./figures.ts";
 * const x = Array.from({ length: 101 }, (_, i) => -1 + i / 50);
 * const target = x.map(Math.abs);
 * const fig = await fitFigure({ x, target, best: target, median: target, worst: x.map(() => 0.5) });
 * ```
 */
export async function fitFigure(d: FitData): Promise<Figure> {
  const kinds = [
    ["best", d.best, "#2ca02c"],
    ["median", d.median, "#1f77b4"],
    ["worst", d.worst, "#d62728"],
  ] as const;
  const panels: LinePlotOptions[] = kinds.map(([kind, y, color]) => {
    const mse = d.mse?.[kind];
    return {
      title: `${kind} model${mse !== undefined ? ` (test MSE ${mse.toExponential(2)})` : ""}`,
      xLabel: "x",
      yLabel: "f(x)",
      width: 300,
      height: 220,
      legend: true,
      series: [
        { name: "target", x: d.x, y: d.target, color: "#222" },
        { name: `${kind} model`, x: d.x, y, style: "dashed", color },
      ],
    };
  });
  return await gridPlot(panels, 3, { title: d.title ?? "1d fit: target vs models" });
}

/** Options of {@linkcode curvesFigure}. */
export interface CurvesOptions {
  /** The x column; default the first of `epoch`, `step`, `iteration` that rows have. */
  xKey?: string;
  /** Overall title (default `Training curves`). */
  title?: string;
  /** Panels per row (default 2). */
  cols?: number;
}

/**
 * Training curves from `metrics.jsonl` rows: one panel per key, against the epoch (or `xKey`).
 * Rows without a numeric value for a key are skipped for that key; with `logY`, so are values
 * `<= 0`.
 *
 * @example
 * ```ts
 * import { curvesFigure } from "./figures.ts";
 * const rows = [{ epoch: 0, "val/median_mse": 0.1 }, { epoch: 1, "val/median_mse": 0.01 }];
 * const fig = await curvesFigure(rows, ["val/median_mse"], true);
 * ```
 */
export async function curvesFigure(
  metricsRows: Record<string, number | string>[],
  keys: string[],
  logY = false,
  opts: CurvesOptions = {},
): Promise<Figure> {
  if (keys.length === 0) throw new Error("curvesFigure needs at least one key");
  const xKey = opts.xKey ??
    ["epoch", "step", "iteration"].find((k) => metricsRows.some((r) => typeof r[k] === "number"));
  const panels: LinePlotOptions[] = keys.map((key) => {
    const xs: number[] = [], ys: number[] = [];
    metricsRows.forEach((r, i) => {
      const v = r[key];
      const x = xKey === undefined ? i : r[xKey];
      if (typeof v === "number" && typeof x === "number") {
        xs.push(x);
        ys.push(v);
      }
    });
    return {
      title: xs.length ? key : `${key} (no data)`,
      xLabel: xKey ?? "row",
      series: [{ name: key, x: xs, y: ys, style: xs.length <= 1 ? "points" : "line" }],
      logY,
      legend: false,
      width: 300,
      height: 200,
    };
  });
  return await gridPlot(panels, opts.cols ?? 2, { title: opts.title ?? "Training curves" });
}

/**
 * Write `<name>.png` and `<name>.svg` into `dir` (created if needed), each atomically
 * (temporary file, then rename). Returns both paths.
 *
 * @example
 * ```ts ignore
 * import { fitFigure, writeFigure } from "./figures.ts";
 * const paths = await writeFigure("runs/exp/figures", "fit", await fitFigure(data));
 * ```
 */
export async function writeFigure(
  dir: string,
  name: string,
  fig: Figure,
): Promise<{ png: string; svg: string }> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`Figure name must be a plain file name: ${name}`);
  await mkdir(dir, { recursive: true });
  const png = join(dir, `${name}.png`), svg = join(dir, `${name}.svg`);
  await writeFileAtomic(png, fig.png);
  await writeFileAtomic(svg, fig.svg);
  return { png, svg };
}
