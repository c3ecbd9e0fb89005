/**
 * The run report: one self-contained HTML page (`report.html` in the run folder) with the run's
 * config, final metrics, the certification result when there is one, and every figure of
 * `figures/` inlined as a PNG data URL. It uses no external URL, script or font, so it opens
 * offline and can be mailed or archived as one file.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { UserError } from "../errors.ts";
import { RUN_FILES } from "../io/run_dir.ts";

/** Any parsed JSON value. */
export type Json = unknown;

/** What {@linkcode writeReport} read from a run folder. */
export interface RunSummary {
  /** The run folder. */
  runDir: string;
  /** `config.json`, parsed; `undefined` if missing. */
  config?: Record<string, Json>;
  /** `run.json` (experiment, device, version, start time), parsed; `undefined` if missing. */
  run?: Record<string, Json>;
  /** Rows of `metrics.jsonl` that parsed. */
  metrics: Record<string, Json>[];
  /** Lines of `metrics.jsonl` that did not parse (e.g. a line cut by a crash). */
  badMetricLines: number;
  /** `certify.json`, parsed; `undefined` if missing. */
  certify?: Json;
  /** PNG figures of `figures/`, by file name. */
  figures: { name: string; png: Uint8Array }[];
  /** Problems found while reading (shown in the report). */
  notes: string[];
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function readJson(path: string, notes: string[]): Promise<Json | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    notes.push(`${basename(path)} is not valid JSON: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * Read everything the report shows from a run folder. A missing folder is a `UserError`; missing
 * files are left out (a run in progress may not have them yet).
 *
 * @example
 * ```ts ignore
 * import { readRun } from "./report.ts";
 * const run = await readRun("runs/1d_exps/linearspline");
 * console.log(run.metrics.length);
 * ```
 */
export async function readRun(runDir: string): Promise<RunSummary> {
  if (!(await isDir(runDir))) {
    throw new UserError(`Cannot write a report as the run folder does not exist: ${runDir}`);
  }
  const notes: string[] = [];
  const config = await readJson(join(runDir, "config.json"), notes);
  if (config === undefined) notes.push("config.json is missing");
  const run = await readJson(join(runDir, RUN_FILES.info), notes);
  const certify = await readJson(join(runDir, "certify.json"), notes);

  const metrics: Record<string, Json>[] = [];
  let badMetricLines = 0;
  try {
    const text = await readFile(join(runDir, "metrics.jsonl"), "utf8");
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line);
        if (row && typeof row === "object" && !Array.isArray(row)) metrics.push(row);
        else badMetricLines++;
      } catch {
        badMetricLines++;
      }
    }
  } catch {
    notes.push("metrics.jsonl is missing");
  }
  if (badMetricLines) notes.push(`${badMetricLines} line(s) of metrics.jsonl could not be read`);

  const figures: { name: string; png: Uint8Array }[] = [];
  const figDir = join(runDir, "figures");
  if (await isDir(figDir)) {
    const all = (await readdir(figDir)).filter((n) => n.toLowerCase().endsWith(".png")).sort();
    const { names, dropped } = lastOfSeries(all, SERIES_SHOWN);
    for (const [prefix, { shown, total }] of dropped) {
      notes.push(`figures/${prefix}_*.png: showing the last ${shown} of ${total}`);
    }
    for (const name of names) {
      const png = new Uint8Array(await readFile(join(figDir, name)));
      // Only real PNGs are inlined (a half-written temp file or a misnamed file is skipped).
      if (png.length > 8 && png[0] === 0x89 && png[1] === 0x50 && png[2] === 0x4e) {
        figures.push({ name, png });
      } else notes.push(`figures/${name} is not a PNG file`);
    }
  }
  return {
    runDir,
    config: isRecord(config) ? config : undefined,
    run: isRecord(run) ? run : undefined,
    metrics,
    badMetricLines,
    certify,
    figures,
    notes,
  };
}

function isRecord(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Escape text for HTML element content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./report.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    ({
      "&": "&amp;",
      "<": "&lt;",
      ">": "&gt;",
      '"': "&quot;",
      "'": "&#39;",
    })[c]!);
}

function fmt(v: Json): string {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6)
      ? v.toExponential(4)
      : String(Number(v.toPrecision(6)));
  }
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

function table(head: string[], rows: string[][], numericCols: number[] = []): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const tr = rows.map((r) =>
    `<tr>${
      r.map((c, j) => `<td${numericCols.includes(j) ? ' class="num"' : ""}>${escapeHtml(c)}</td>`)
        .join("")
    }</tr>`
  ).join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

/** Figures of a numbered series (`samples_<epoch>.png`) inlined in a report: the last few. */
export const SERIES_SHOWN = 3;

/**
 * Keep, of each numbered series `<prefix>_<n>.png` (one per epoch, e.g. the WGAN's sample
 * grids), only the `keep` highest `n`, in numeric order; other names pass unchanged. Returns
 * the kept names and, per shortened series, how many were shown of how many.
 */
export function lastOfSeries(
  names: string[],
  keep: number,
): { names: string[]; dropped: Map<string, { shown: number; total: number }> } {
  const series = new Map<string, { n: number; name: string }[]>();
  const out: string[] = [];
  for (const name of names) {
    const m = /^(.*)_(\d+)\.png$/i.exec(name);
    if (!m) {
      out.push(name);
      continue;
    }
    const list = series.get(m[1]) ?? [];
    list.push({ n: Number(m[2]), name });
    series.set(m[1], list);
  }
  const dropped = new Map<string, { shown: number; total: number }>();
  for (const [prefix, list] of series) {
    list.sort((a, b) => a.n - b.n);
    const kept = list.slice(-keep);
    out.push(...kept.map((e) => e.name));
    if (kept.length < list.length) dropped.set(prefix, { shown: kept.length, total: list.length });
  }
  return { names: out, dropped };
}

/**
 * One inlined figure. Our figures are rendered at 2x, so they are shown at half their pixel
 * width (but at least 480 px, or their own width when smaller: small images such as sample grids
 * are scaled up without smoothing).
 */
function figureHtml(f: { name: string; png: Uint8Array }): string {
  const view = new DataView(f.png.buffer, f.png.byteOffset, f.png.byteLength);
  const w = f.png.length >= 24 ? view.getUint32(16) : 0;
  const small = w > 0 && w < 400;
  const shown = small ? Math.min(2 * w, 480) : Math.max(Math.round(w / 2), Math.min(w, 480));
  const size = w > 0 ? ` width="${shown}"` : "";
  return `<figure><img alt="${escapeHtml(f.name)}"${size}${small ? ' class="pixel"' : ""} ` +
    `src="data:image/png;base64,${Buffer.from(f.png).toString("base64")}">` +
    `<figcaption>${escapeHtml(f.name)}</figcaption></figure>`;
}

const STEP_KEYS = ["epoch", "step", "iteration"];

/** Last value, min and max of every metric key, in first-seen order. */
function finalMetrics(rows: Record<string, Json>[]): { stepKey?: string; rows: string[][] } {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const stepKey = STEP_KEYS.find((k) => rows.some((r) => typeof r[k] === "number"));
  const out: string[][] = [];
  for (const k of keys) {
    if (k === stepKey) continue;
    let last: Json = undefined, at: Json = undefined;
    let min = Infinity, max = -Infinity;
    for (const [i, r] of rows.entries()) {
      const v = r[k];
      if (v === undefined) continue;
      last = v;
      at = stepKey ? r[stepKey] : i;
      if (typeof v === "number" && Number.isFinite(v)) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
    const numeric = min <= max;
    out.push([
      k,
      fmt(last),
      numeric ? fmt(min) : "",
      numeric ? fmt(max) : "",
      at === undefined ? "" : fmt(at),
    ]);
  }
  return { stepKey, rows: out };
}

function certifySection(c: Json): string {
  if (!isRecord(c)) return `<pre>${escapeHtml(JSON.stringify(c, null, 2))}</pre>`;
  const parts: string[] = [];
  // The verdict first, then the per-layer table that `certify` prints, then the other fields.
  if (typeof c.verdict === "string") parts.push(`<p><strong>${escapeHtml(c.verdict)}</strong></p>`);
  const layers = Array.isArray(c.layers) ? c.layers.filter(isRecord) : [];
  if (layers.length > 0) {
    parts.push(table(
      ["layer", "kind", "bound", "method"],
      layers.map((l) => [
        fmt(l.name),
        fmt(l.kind),
        l.bound === null ? "unbounded" : fmt(l.bound),
        fmt(l.method ?? ""),
      ]),
    ));
  }
  const scalars = Object.entries(c).filter(([k, v]) =>
    k !== "layers" && k !== "verdict" && (v === null || typeof v !== "object")
  );
  parts.push(table(["field", "value"], scalars.map(([k, v]) => [k, fmt(v)])));
  return parts.join("\n");
}

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif;
  margin: 0; color: #1d1d1f; background: #f6f7f9; }
header { background: #25324a; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 6px 0; font-size: 24px; font-weight: 600; }
header .meta { font-size: 13px; opacity: 0.85; }
main { padding: 16px 32px 40px; max-width: 1500px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 8px; padding: 12px 20px;
  margin: 16px 0; }
h2 { font-size: 18px; margin: 6px 0 12px; color: #25324a; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e6e8ec; padding: 4px 12px; text-align: left; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; font-family: ui-monospace, monospace; }
pre { background: #f3f4f6; padding: 10px 12px; border-radius: 6px; font-size: 12px; overflow: auto;
  max-height: 480px; }
.gallery { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
figure { margin: 0; }
img.pixel { image-rendering: pixelated; }
figure img { max-width: 100%; height: auto; border: 1px solid #e6e8ec; }
figcaption { font-size: 13px; color: #555; margin-top: 4px; }
.notes { color: #8a4b00; font-size: 13px; }
.empty { color: #777; font-style: italic; }
`;

/**
 * Render the report page of a run (see {@linkcode readRun}) as one HTML string.
 *
 * @example
 * ```ts
 * import { renderReport } from "./report.ts";
 * const html = renderReport({ runDir: "runs/x", metrics: [{ epoch: 1, loss: 0.5 }],
 *   badMetricLines: 0, figures: [], notes: [] });
 * ```
 */
export function renderReport(run: RunSummary, generated = new Date()): string {
  const name = typeof run.config?.exp_name === "string"
    ? run.config.exp_name
    : basename(resolve(run.runDir));
  const meta: string[] = [`run folder: ${run.runDir}`];
  if (run.run) {
    for (const k of ["experiment", "device", "lipspline", "started"]) {
      if (run.run[k] !== undefined) meta.push(`${k}: ${fmt(run.run[k])}`);
    }
  }
  meta.push(`report written ${generated.toISOString()}`);

  const parts: string[] = [];
  if (run.notes.length) {
    parts.push(
      `<section class="notes"><h2>Notes</h2><ul>${
        run.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")
      }</ul></section>`,
    );
  }
  const finals = finalMetrics(run.metrics);
  parts.push(
    `<section id="metrics"><h2>Final metrics</h2>${
      finals.rows.length
        ? `<p>${run.metrics.length} row(s) in metrics.jsonl; last value of each metric, ` +
          `with its minimum and maximum over the run.</p>` +
          table(["metric", "last", "min", "max", `at ${finals.stepKey ?? "row"}`], finals.rows, [
            1,
            2,
            3,
            4,
          ])
        : '<p class="empty">No metrics yet.</p>'
    }</section>`,
  );
  if (run.certify !== undefined) {
    parts.push(
      `<section id="certify"><h2>Certification</h2>${certifySection(run.certify)}</section>`,
    );
  }
  parts.push(
    `<section id="figures"><h2>Figures</h2>${
      run.figures.length
        ? `<div class="gallery">${run.figures.map(figureHtml).join("\n")}</div>`
        : '<p class="empty">No figures yet.</p>'
    }</section>`,
  );
  parts.push(
    `<section id="config"><h2>Config</h2>${
      run.config
        ? `<pre>${escapeHtml(JSON.stringify(run.config, null, 2))}</pre>`
        : '<p class="empty">No config.json.</p>'
    }</section>`,
  );

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`lipspline report: ${name}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(name)}</h1><div class="meta">${
    meta.map(escapeHtml).join(" &middot; ")
  }</div></header>
<main>
${parts.join("\n")}
</main>
</body>
</html>
`;
}

/**
 * Write `runDir/report.html` (atomically) and return its path. Reads `config.json`,
 * `metrics.jsonl`, `figures/*.png`, and `certify.json` and `run.json` when present.
 * A missing run folder is a `UserError` naming the path.
 *
 * @example
 * ```ts ignore
 * import { writeReport } from "./report.ts";
 * const path = await writeReport("runs/1d_exps/linearspline");
 * console.log(`open ${path}`);
 * ```
 */
export async function writeReport(runDir: string): Promise<string> {
  const run = await readRun(runDir);
  const path = join(runDir, "report.html");
  await writeFileAtomic(path, renderReport(run));
  return path;
}
