/**
 * Grouped bar charts rendered headlessly to SVG and PNG (Vega-Lite, as `plot.ts`): one group of
 * bars per category (e.g. a target function), one bar per series (e.g. an activation), with an
 * optional second value drawn as a tick on each bar (e.g. the minimum beside the median).
 *
 * @module
 */
import type { Figure, Json } from "./plot.ts";
import { PALETTE, renderSvg } from "./plot.ts";
import { svgToPng } from "./raster.ts";

/** One bar. */
export interface Bar {
  /** The category on the x axis. */
  group: string;
  /** The series (colour) within the group. */
  series: string;
  /** Height of the bar; non-finite or (on a log axis) non-positive values are left out. */
  value: number;
  /** A second value drawn as a black tick on the bar, e.g. the minimum. */
  tick?: number;
  /** Drawn faded (e.g. an unfinished run). */
  faded?: boolean;
}

/** What {@linkcode groupedBarPlot} draws. */
export interface GroupedBarOptions {
  title?: string;
  subtitle?: string;
  yLabel?: string;
  /** Category order on the x axis. */
  groups: string[];
  /** Series order (colours, legend). */
  series: string[];
  bars: Bar[];
  /** Logarithmic y axis. */
  logY?: boolean;
  /** Width of the plotting area in SVG pixels (default: 40 per bar, at least 360). */
  width?: number;
  /** Height of the plotting area (default 300). */
  height?: number;
}

/** The Vega-Lite spec of a grouped bar chart (exported for callers composing their own). */
export function groupedBarSpec(o: GroupedBarOptions): Json {
  const ok = (v: number | undefined): v is number =>
    v !== undefined && Number.isFinite(v) && (!o.logY || v > 0);
  const rows = o.bars.filter((b) => ok(b.value)).map((b) => ({
    g: b.group,
    s: b.series,
    v: b.value,
    f: b.faded ? "unfinished" : "finished",
  }));
  const ticks = o.bars.filter((b) => ok(b.value) && ok(b.tick)).map((b) => ({
    g: b.group,
    s: b.series,
    t: b.tick,
  }));
  const values = [...rows.map((r) => r.v), ...ticks.map((t) => t.t as number)];
  // Bars on a log axis start at the bottom of the domain (a decade below the smallest value).
  const lo = values.length ? Math.pow(10, Math.floor(Math.log10(Math.min(...values)))) : 1e-6;
  const hi = values.length ? Math.pow(10, Math.ceil(Math.log10(Math.max(...values)))) : 1;
  const yScale: Json = o.logY
    ? { type: "log", domain: [lo, Math.max(hi, lo * 10)] }
    : { zero: true };
  const x: Json = {
    field: "g",
    type: "nominal",
    title: null,
    sort: o.groups,
    scale: { domain: o.groups, paddingInner: 0.2 },
    axis: { labelAngle: 0 },
  };
  const xOffset: Json = {
    field: "s",
    type: "nominal",
    sort: o.series,
    scale: { domain: o.series },
  };
  const width = o.width ?? Math.max(480, 40 * o.series.length * o.groups.length);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(o.title || o.subtitle
      ? {
        title: {
          text: o.title ?? "",
          anchor: "start",
          ...(o.subtitle ? { subtitle: o.subtitle, subtitleColor: "#555" } : {}),
        },
      }
      : {}),
    width,
    height: o.height ?? 300,
    layer: [
      {
        data: { values: rows },
        mark: { type: "bar", clip: true },
        encoding: {
          x,
          xOffset,
          y: { field: "v", type: "quantitative", title: o.yLabel ?? null, scale: yScale },
          ...(o.logY ? { y2: { datum: lo } } : {}),
          color: {
            field: "s",
            type: "nominal",
            title: null,
            sort: o.series,
            scale: { domain: o.series, range: o.series.map((_, i) => PALETTE[i % PALETTE.length]) },
            legend: { orient: "right" },
          },
          opacity: {
            field: "f",
            type: "ordinal",
            sort: ["finished", "unfinished"],
            title: null,
            scale: { domain: ["finished", "unfinished"], range: [1, 0.35] },
            legend: rows.some((r) => r.f === "unfinished") ? { orient: "right" } : null,
          },
        },
      },
      {
        data: { values: ticks },
        mark: { type: "tick", color: "#111", thickness: 2, clip: true },
        encoding: {
          x,
          xOffset,
          y: { field: "t", type: "quantitative", scale: yScale },
        },
      },
    ],
    config: {
      background: "white",
      font: "Roboto, 'DejaVu Sans', Arial, sans-serif",
      padding: 8,
      view: { stroke: "#bbb" },
      axis: { grid: true, gridColor: "#e6e6e6", labelFontSize: 11, titleFontSize: 12 },
      title: { fontSize: 14, fontWeight: "normal", offset: 14 },
      legend: { labelFontSize: 11 },
    },
  };
}

/**
 * A grouped bar chart as SVG and PNG.
 *
 * @example
 * ```ts
 * import { groupedBarPlot } from "./bar_plot.ts";
 * const fig = await groupedBarPlot({
 *   groups: ["f1", "f2"], series: ["relu", "spline"], logY: true,
 *   bars: [{ group: "f1", series: "relu", value: 1e-3, tick: 4e-4 },
 *          { group: "f1", series: "spline", value: 2e-5 }],
 * });
 * ```
 */
export async function groupedBarPlot(o: GroupedBarOptions): Promise<Figure> {
  const svg = await renderSvg(groupedBarSpec(o));
  return { svg, png: await svgToPng(svg, {}) };
}
