import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { DOMParser } from "@xmldom/xmldom";
import { decimate, type Figure, gridPlot, linePlot, svgSize } from "../core/output/plot.ts";
import { configureRaster, svgToPng } from "../core/output/raster.ts";
import {
  activationFigure,
  activationsFigure,
  curvesFigure,
  fitFigure,
  writeFigure,
} from "../core/output/figures.ts";

/** Parse the SVG as XML (any well-formedness error throws) and return its text contents. */
function parseSvg(svg: string): { texts: string[]; paths: number } {
  const doc = new DOMParser({
    onError: (level, msg) => {
      if (level !== "warning") throw new Error(`SVG is not well-formed XML: ${msg}`);
    },
  }).parseFromString(svg, "image/svg+xml");
  const root = doc.documentElement!;
  assert.equal(root.nodeName, "svg");
  assert.equal(root.getAttribute("xmlns"), "http://www.w3.org/2000/svg");
  const texts = Array.from(doc.getElementsByTagName("text")).map((t) => t.textContent ?? "");
  const paths =
    Array.from(doc.getElementsByTagName("path")).filter((p) =>
      (p.getAttribute("d") ?? "").length > 0
    ).length;
  return { texts, paths };
}

/** Decode the PNG and count pixels that differ clearly from the (white) background. */
function pngStats(png: Uint8Array): { width: number; height: number; ink: number } {
  const img = PNG.sync.read(Buffer.from(png));
  let ink = 0;
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3] / 255;
    const lum = (0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]) * a + 255 * (1 - a);
    if (lum < 200) ink++;
  }
  return { width: img.width, height: img.height, ink };
}

function assertFigure(fig: Figure, minInkFraction = 0.005): { texts: string[]; paths: number } {
  const size = svgSize(fig.svg);
  assert.ok(size.width > 100 && size.height > 100, JSON.stringify(size));
  const st = pngStats(fig.png);
  // PNGs are rendered at 2x the SVG size.
  assert.equal(st.width, Math.round(size.width * 2));
  assert.equal(st.height, Math.round(size.height * 2));
  const frac = st.ink / (st.width * st.height);
  assert.ok(frac > minInkFraction && frac < 0.5, `ink fraction ${frac}`);
  return parseSvg(fig.svg);
}

const xs = Array.from({ length: 500 }, (_, i) => -2 + (4 * i) / 499);

Deno.test("linePlot: SVG is XML with the series, PNG has the right size and is not blank", async () => {
  const fig = await linePlot({
    title: "Test chart",
    xLabel: "input x",
    yLabel: "output y",
    series: [
      { name: "sine", x: xs, y: xs.map(Math.sin) },
      { name: "cosine", x: xs, y: xs.map(Math.cos), style: "dashed" },
      { name: "samples", x: [0, 0.5, 1], y: [0, 0.2, 0.4], style: "points" },
    ],
    vlines: [{ x: -1, label: "-R" }, { x: 1, label: "R" }],
    points: [{ x: 0, y: 0 }],
    width: 400,
    height: 250,
  });
  const { texts, paths } = assertFigure(fig);
  for (const t of ["Test chart", "input x", "output y", "sine", "cosine", "samples", "-R", "R"]) {
    assert.ok(texts.includes(t), `missing text ${t}: ${texts.join("|")}`);
  }
  assert.ok(paths >= 3, `paths ${paths}`);
  assert.ok(fig.svg.includes('stroke-dasharray="6,4"'), "dashed series is dashed");
});

Deno.test("linePlot: logY drops values <= 0, non-finite values are skipped", async () => {
  const y = xs.map((v) => Math.exp(v));
  y[10] = 0;
  y[20] = -1;
  y[30] = NaN;
  y[40] = Infinity;
  const fig = await linePlot({ title: "log", series: [{ name: "exp", x: xs, y }], logY: true });
  assertFigure(fig);
  assert.ok(!fig.svg.includes("NaN"), "no NaN coordinates in the SVG");
});

Deno.test("linePlot: an empty chart still renders", async () => {
  const fig = await linePlot({ title: "empty", series: [] });
  assertFigure(fig, 0.0005);
});

Deno.test("gridPlot renders every panel", async () => {
  const panels = [1, 2, 3, 4, 5].map((k) => ({
    title: `panel ${k}`,
    series: [{ name: `f${k}`, x: xs, y: xs.map((v) => Math.sin(k * v)) }],
  }));
  const fig = await gridPlot(panels, 3, { title: "Grid title" });
  const { texts } = assertFigure(fig);
  for (let k = 1; k <= 5; k++) assert.ok(texts.includes(`panel ${k}`));
  assert.ok(texts.includes("Grid title"));
  const size = svgSize(fig.svg);
  assert.ok(size.width > size.height, "3 columns, 2 rows: wider than tall");
});

Deno.test("decimate keeps at most max points and the extremes", () => {
  const n = 100_000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 1000));
  y[54_321] = 50; // a spike
  const pts = decimate(x, y, 2000);
  assert.ok(pts.length <= 2000 && pts.length > 1000, String(pts.length));
  assert.ok(pts.some((p) => p.y === 50), "spike kept");
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i].x > pts[i - 1].x, "order kept");
  assert.equal(decimate([1, 2, 3], [1, NaN, 3], 10).length, 2);
});

Deno.test("svgToPng renders text with the embedded font", async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">' +
    '<text x="4" y="28" font-family="sans-serif" font-size="24">Hello</text></svg>';
  const st = pngStats(await svgToPng(svg, { scale: 1 }));
  assert.equal(st.width, 120);
  assert.equal(st.height, 40);
  assert.ok(st.ink > 100, `text drawn (${st.ink} dark pixels)`);
});

const DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

Deno.test({
  name: "configureRaster: another font can be supplied, null restores the default",
  ignore: !existsSync(DEJAVU),
  async fn() {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">' +
      '<text x="4" y="28" font-family="sans-serif" font-size="24">Hello</text></svg>';
    const roboto = await svgToPng(svg, { scale: 1 });
    try {
      configureRaster({ font: { data: readFileSync(DEJAVU), family: "DejaVu Sans" } });
      const dejavu = await svgToPng(svg, { scale: 1 });
      assert.ok(pngStats(dejavu).ink > 100);
      assert.notDeepEqual(dejavu, roboto, "a different font draws different pixels");
    } finally {
      configureRaster({ font: null });
    }
    assert.deepEqual(await svgToPng(svg, { scale: 1 }), roboto);
  },
});

Deno.test("activation, fit and curves figures render and are written atomically", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fig-"));
  try {
    const R = 0.5, K = 11;
    const knots = Float32Array.from({ length: K }, (_, k) => -R + (k * 2 * R) / (K - 1));
    const x = Float32Array.from({ length: 201 }, (_, i) => -1 + i / 100);
    const channels = Array.from({ length: 6 }, (_, c) => x.map((v) => (c % 2 ? v : Math.abs(v))));
    const act = await activationFigure({ layer: 1, range: R, knots, x, channels });
    const a = assertFigure(act);
    assert.ok(a.texts.some((t) => t.startsWith("Activations of layer 1")));
    assert.ok(a.texts.includes("R = 0.5") && a.texts.includes("−R = -0.5"), a.texts.join("|"));
    assert.ok(a.texts.includes("channel 5"));

    const many = Array.from({ length: 64 }, (_, c) => x.map((v) => v * Math.cos(c)));
    const grid = await activationsFigure([
      { layer: 1, range: R, knots, x, channels },
      { layer: 2, range: R, knots: channels.map(() => knots), x, channels: many },
    ], 2);
    const g = assertFigure(grid);
    assert.ok(!g.texts.includes("channel 63"), "no legend for 64 channels");

    const t = Array.from({ length: 10000 }, (_, i) => -1 + (2 * i) / 9999);
    const target = t.map((v) => Math.cos(7 * Math.PI * v) / (7 * Math.PI));
    const fit = await fitFigure({
      x: t,
      target,
      best: target.map((v) => v * 0.98),
      median: target.map((v) => v * 0.8),
      worst: target.map(() => 0),
      mse: { best: 1e-6, median: 2e-5, worst: 1e-3 },
    });
    const f = assertFigure(fit);
    for (const k of ["best", "median", "worst"]) {
      assert.ok(f.texts.some((s) => s.startsWith(`${k} model (test MSE`)), k);
    }
    assert.ok(fit.svg.length < 2_000_000, "10000-point series are decimated");

    const rows = Array.from({ length: 30 }, (_, e) => ({
      epoch: e,
      "train/loss": 1 / (e + 1),
      "Validation/Median Loss": 0.1 * Math.exp(-e / 5),
      phase: "train",
    }));
    const curves = await curvesFigure(rows, ["train/loss", "Validation/Median Loss"], true);
    const c = assertFigure(curves);
    assert.ok(c.texts.includes("Validation/Median Loss") && c.texts.includes("epoch"));

    for (const [name, fig] of [["act", act], ["fit", fit], ["curves", curves]] as const) {
      const paths = await writeFigure(join(dir, "figures"), name, fig);
      assert.deepEqual(readFileSync(paths.png), Buffer.from(fig.png));
      assert.equal(readFileSync(paths.svg, "utf8"), fig.svg);
    }
    const files = readdirSync(join(dir, "figures")).sort();
    assert.deepEqual(files, [
      "act.png",
      "act.svg",
      "curves.png",
      "curves.svg",
      "fit.png",
      "fit.svg",
    ]);
    await assert.rejects(writeFigure(dir, "../escape", act), /plain file name/);
    assert.ok(!existsSync(join(dir, "..", "escape.png")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
