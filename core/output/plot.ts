/**
 * Line charts rendered headlessly to SVG (Vega-Lite compiled to Vega, Vega's SVG renderer) and to
 * PNG (resvg, see `raster.ts`). No browser, canvas or system font is needed.
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { svgToPng } from "./raster.ts";

/** One curve (or point cloud) of a chart. */
export interface Series {
  /** Legend entry. */
  name: string;
  /** Horizontal coordinates. */
  x: ArrayLike<number>;
  /** Vertical coordinates, as many as `x`. */
  y: ArrayLike<number>;
  /** How to draw it (default `line`). */
  style?: "line" | "points" | "dashed";
  /** A CSS colour; default: the next colour of the palette. */
  color?: string;
}

/** A vertical marker line, e.g. the spline range `±R`. */
export interface VLine {
  /** Where the line is drawn. */
  x: number;
  /** Text above the line. */
  label?: string;
}

/** A marked point, e.g. a spline knot. */
export interface MarkedPoint {
  /** Horizontal coordinate. */
  x: number;
  /** Vertical coordinate. */
  y: number;
}

/** What {@linkcode linePlot} draws; also one panel of {@linkcode gridPlot}. */
export interface LinePlotOptions {
  /** Title above the chart. */
  title?: string;
  /** A smaller second title line, e.g. a key to the marks. */
  subtitle?: string;
  /** Title of the x axis. */
  xLabel?: string;
  /** Title of the y axis. */
  yLabel?: string;
  /** The curves; names must be unique. */
  series: Series[];
  /** Vertical dashed grey lines, labelled at the top. */
  vlines?: VLine[];
  /** Small black marks drawn above the series. */
  points?: MarkedPoint[];
  /** Logarithmic y axis; values `<= 0` are left out. */
  logY?: boolean;
  /** Width of the plotting area in SVG pixels (default 480; 260 in a grid). */
  width?: number;
  /** Height of the plotting area in SVG pixels (default 320; 180 in a grid). */
  height?: number;
  /** Show the legend (default: when there are at most 12 series). */
  legend?: boolean;
  /** At most this many points per series are drawn; longer series are decimated (default 2000). */
  maxPoints?: number;
}

/** A rendered figure: an SVG document and the same chart as PNG bytes. */
export interface Figure {
  /** A standalone SVG document. */
  svg: string;
  /** PNG bytes (2x the SVG size unless asked otherwise). */
  png: Uint8Array;
}

/** Options for turning a chart into a {@linkcode Figure}. */
export interface RenderOptions {
  /** PNG pixels per SVG pixel (default 2). */
  scale?: number;
}

/** The categorical colours of every lipspline figure (Tableau 10). */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

const FONT = "Roboto, 'DejaVu Sans', Arial, sans-serif";

type Row = { x: number; y: number; s: string };
/** A Vega-Lite spec fragment (plain JSON). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/**
 * Keep at most `max` points of a series: for each bucket, its first, min, max and last points
 * (in order), which preserves peaks and the overall shape of a line. Non-finite points (and, with
 * `positiveOnly`, points with `y <= 0`) are dropped.
 *
 * @example
 * ```ts
 * import { decimate } from "./plot.ts";
 * const xs = Array.from({ length: 10000 }, (_, i) => i);
 * const pts = decimate(xs, xs.map(Math.sin), 1000); // <= 1000 points
 * ```
 */
export function decimate(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  max: number,
  positiveOnly = false,
): { x: number; y: number }[] {
  const n = Math.min(x.length, y.length);
  const keep = (i: number) =>
    Number.isFinite(x[i]) && Number.isFinite(y[i]) && (!positiveOnly || y[i] > 0);
  const out: { x: number; y: number }[] = [];
  if (n <= max) {
    for (let i = 0; i < n; i++) if (keep(i)) out.push({ x: x[i], y: y[i] });
    return out;
  }
  const buckets = Math.max(1, Math.floor(max / 4));
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets), hi = Math.floor(((b + 1) * n) / buckets);
    let first = -1, last = -1, imin = -1, imax = -1;
    for (let i = lo; i < hi; i++) {
      if (!keep(i)) continue;
      if (first < 0) first = i;
      last = i;
      if (imin < 0 || y[i] < y[imin]) imin = i;
      if (imax < 0 || y[i] > y[imax]) imax = i;
    }
    if (first < 0) continue;
    for (const i of [...new Set([first, imin, imax, last])].sort((a, b) => a - b)) {
      out.push({ x: x[i], y: y[i] });
    }
  }
  return out;
}

/**
 * The Vega-Lite layer spec of one chart (no top-level config); used by {@linkcode linePlot} and
 * {@linkcode gridPlot}, and exported for callers who compose their own charts.
 *
 * @example
 * ```ts
 * import { lineSpec } from "./plot.ts";
 * const spec = lineSpec({ series: [{ name: "a", x: [0, 1], y: [0, 1] }] }, 480, 320);
 * ```
 */
export function lineSpec(opts: LinePlotOptions, width: number, height: number): Json {
  const maxPoints = opts.maxPoints ?? 2000;
  const names = opts.series.map((s) => s.name);
  if (new Set(names).size !== names.length) {
    throw new Error(`Series names must be unique, got ${JSON.stringify(names)}`);
  }
  const colors = opts.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const showLegend = opts.legend ?? (opts.series.length > 1 && opts.series.length <= 12);
  const yScale: Json = opts.logY ? { type: "log" } : { zero: false };
  const xEnc = (title?: string): Json => ({
    field: "x",
    type: "quantitative",
    title: title ?? null,
    scale: { zero: false, nice: false },
    // About one labelled tick per 80 px, so that labels never need thinning out.
    axis: { tickCount: Math.max(3, Math.round(width / 80)) },
  });
  const yEnc = (title?: string): Json => ({
    field: "y",
    type: "quantitative",
    title: title ?? null,
    scale: yScale,
  });
  const color: Json = {
    field: "s",
    type: "nominal",
    title: null,
    scale: { domain: names, range: colors },
    sort: names,
    legend: showLegend ? { orient: "right", labelLimit: 220 } : null,
  };

  const rowsByStyle: Record<string, Row[]> = { line: [], dashed: [], points: [] };
  for (const s of opts.series) {
    const pts = decimate(s.x, s.y, maxPoints, opts.logY === true);
    const rows = rowsByStyle[s.style ?? "line"];
    for (const p of pts) rows.push({ x: p.x, y: p.y, s: s.name });
  }

  const layers: Json[] = [];
  const encoding = { x: xEnc(opts.xLabel), y: yEnc(opts.yLabel), color };
  if (rowsByStyle.line.length) {
    layers.push({
      data: { values: rowsByStyle.line },
      mark: { type: "line", strokeWidth: 1.6, clip: true },
      encoding: { ...encoding, detail: { field: "s" } },
    });
  }
  if (rowsByStyle.dashed.length) {
    layers.push({
      data: { values: rowsByStyle.dashed },
      mark: { type: "line", strokeWidth: 1.6, strokeDash: [6, 4], clip: true },
      encoding: { ...encoding, detail: { field: "s" } },
    });
  }
  if (rowsByStyle.points.length) {
    layers.push({
      data: { values: rowsByStyle.points },
      mark: { type: "point", filled: true, size: 14, opacity: 0.8, clip: true },
      encoding,
    });
  }
  if (opts.points?.length) {
    const pts = opts.points.filter((p) =>
      Number.isFinite(p.x) && Number.isFinite(p.y) && (!opts.logY || p.y > 0)
    );
    layers.push({
      data: { values: pts },
      mark: { type: "point", shape: "diamond", filled: true, size: 16, color: "#222", clip: true },
      encoding: { x: xEnc(opts.xLabel), y: yEnc(opts.yLabel) },
    });
  }
  if (opts.vlines?.length) {
    const vl = opts.vlines.filter((v) => Number.isFinite(v.x));
    layers.push({
      data: { values: vl },
      mark: { type: "rule", strokeDash: [4, 3], color: "#666", strokeWidth: 1.2 },
      encoding: { x: xEnc(opts.xLabel) },
    });
    layers.push({
      data: { values: vl.filter((v) => v.label) },
      mark: { type: "text", y: -4, baseline: "bottom", fontSize: 10, color: "#444" },
      encoding: { x: xEnc(opts.xLabel), text: { field: "label" } },
    });
  }
  if (layers.length === 0) {
    // An empty chart still renders (axes only) rather than failing.
    layers.push({
      data: { values: [] },
      mark: "line",
      encoding: { x: xEnc(opts.xLabel), y: yEnc(opts.yLabel) },
    });
  }
  return {
    ...(opts.title || opts.subtitle
      ? {
        title: {
          text: opts.title ?? "",
          anchor: "start",
          ...(opts.subtitle ? { subtitle: opts.subtitle, subtitleColor: "#555" } : {}),
        },
      }
      : {}),
    width,
    height,
    layer: layers,
    resolve: { scale: { color: "shared" } },
  };
}

const CONFIG: Json = {
  background: "white",
  font: FONT,
  padding: 8,
  view: { stroke: "#bbb" },
  axis: { grid: true, gridColor: "#e6e6e6", labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, fontWeight: "normal", offset: 14 },
  legend: { labelFontSize: 11, symbolStrokeWidth: 2 },
};

/**
 * Render a top-level Vega-Lite spec to an SVG document, headlessly.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./plot.ts";
 * const svg = await renderSvg({ data: { values: [{ a: 1, b: 2 }] }, mark: "point",
 *   encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } } });
 * ```
 */
export async function renderSvg(spec: Json): Promise<string> {
  const vgSpec = compile(spec as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

async function toFigure(spec: Json, render: RenderOptions = {}): Promise<Figure> {
  const svg = await renderSvg({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...spec,
  });
  const png = await svgToPng(svg, { scale: render.scale });
  return { svg, png };
}

/**
 * A line chart with any number of series, optional vertical markers and marked points.
 * `width` and `height` size the plotting area; axes, title and legend add to it.
 *
 * @example
 * ```ts
 * import { linePlot } from "./plot.ts";
 * const x = Array.from({ length: 100 }, (_, i) => i / 10);
 * const fig = await linePlot({
 *   title: "sin", xLabel: "x", yLabel: "y",
 *   series: [{ name: "sin", x, y: x.map(Math.sin) }],
 *   vlines: [{ x: Math.PI, label: "π" }],
 * });
 * // fig.svg is an SVG document, fig.png the PNG bytes
 * ```
 */
export async function linePlot(opts: LinePlotOptions, render?: RenderOptions): Promise<Figure> {
  const spec = { ...lineSpec(opts, opts.width ?? 480, opts.height ?? 320), config: CONFIG };
  return await toFigure(spec, render);
}

/**
 * A grid of small line charts, `cols` per row, each with its own scales.
 *
 * @example
 * ```ts
 * import { gridPlot } from "./plot.ts";
 * const x = [0, 1, 2];
 * const fig = await gridPlot([
 *   { title: "a", series: [{ name: "a", x, y: [0, 1, 4] }] },
 *   { title: "b", series: [{ name: "b", x, y: [0, -1, -4] }] },
 * ], 2, { title: "Two panels" });
 * ```
 */
export async function gridPlot(
  panels: LinePlotOptions[],
  cols: number,
  opts: { title?: string } & RenderOptions = {},
): Promise<Figure> {
  if (panels.length === 0) throw new Error("gridPlot needs at least one panel");
  const columns = Math.max(1, Math.min(Math.floor(cols), panels.length));
  const spec = {
    ...(opts.title ? { title: { text: opts.title, anchor: "start", fontSize: 16 } } : {}),
    columns,
    concat: panels.map((p) => lineSpec(p, p.width ?? 260, p.height ?? 180)),
    resolve: { scale: { color: "independent", x: "independent", y: "independent" } },
    config: CONFIG,
  };
  return await toFigure(spec, opts);
}

/**
 * Width and height of an SVG document, read from its root element.
 *
 * @example
 * ```ts
 * import { svgSize } from "./plot.ts";
 * svgSize('<svg width="300" height="200"></svg>'); // { width: 300, height: 200 }
 * ```
 */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const w = /\bwidth="([\d.]+)"/.exec(root), h = /\bheight="([\d.]+)"/.exec(root);
  return { width: w ? Number(w[1]) : NaN, height: h ? Number(h[1]) : NaN };
}
