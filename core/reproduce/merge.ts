/**
 * `reproduce merge OUT`: the table of a `reproduce` folder, built from whatever cells exist —
 * median and minimum test MSE over the ensemble's models (docs/method.md §5) per activation and
 * target, and each finished cell's certified Lipschitz bound — as Markdown (`table.md`), CSV
 * (`table.csv`) and a grouped bar chart with a log axis (`table.png`, `table.svg`). Missing,
 * unfinished and diverged cells are marked, never left out silently.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { groupedBarPlot } from "../output/bar_plot.ts";
import { writeFigure } from "../output/figures.ts";
import { RUN_FILES } from "../io/run_dir.ts";
import { type Cell, PAPER_ACTIVATIONS } from "./cells.ts";
import { readPlanFile } from "./run_cells.ts";
import { type CellState, cellStatus } from "./status.ts";

/** A cell's certificate, as `certify` computes it. */
export interface CellCertificate {
  /** The worst model's product of per-layer bounds (`null`: a module is unbounded). */
  product: number | null;
  /** The largest Jacobian norm found (a lower bound). */
  empirical: number;
  certified: boolean;
}

/** One line of the table (one cell). */
export interface MergeRow {
  name: string;
  fn: string;
  activation: string;
  seed: number;
  state: CellState;
  /** Last evaluated epoch (-1 when none). */
  epoch: number;
  /** Last epoch of the run (`training_options.epochs`), when known. */
  lastEpoch?: number;
  medianTestMse?: number;
  minTestMse?: number;
  certificate?: CellCertificate;
  dir: string;
}

/** Median as NumPy computes it (mean of the two middle values for even lengths). */
export function median(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The activation label of a run's config (LS-old for the spline with the old normalisation). */
function labelOf(config: Record<string, unknown>): string {
  const a = (config.activation_fn_params ?? {}) as Record<string, unknown>;
  const type = String(a.activation_type ?? "?");
  return type === "linearspline" && a.lipschitz_constrained === false ? "LS-old" : type;
}

/**
 * Read every cell of `out`: those of its plan file (missing ones included) and any other run
 * folder in it. `certify` is called for finished cells (it may return a cached certificate).
 */
export async function collectRows(
  out: string,
  certify?: (dir: string) => Promise<CellCertificate | undefined>,
): Promise<MergeRow[]> {
  if (!(await isDir(out))) {
    throw new UserError(`Cannot merge as the folder does not exist: ${out}`);
  }
  const plan = await readPlanFile(out);
  const cells: Array<Pick<Cell, "name" | "fn" | "activation" | "seed">> = plan?.cells.slice() ??
    [];
  const known = new Set(cells.map((c) => c.name));
  const extra: string[] = [];
  for (const e of await readdir(out, { withFileTypes: true })) {
    if (!e.isDirectory() || known.has(e.name)) continue;
    if (
      await isDir(join(out, e.name)) && (await cellStatus(join(out, e.name))).state !== "missing"
    ) {
      extra.push(e.name);
    }
  }
  const rows: MergeRow[] = [];
  for (const c of cells) rows.push(await readRow(out, c.name, c));
  for (const name of extra.sort()) rows.push(await readRow(out, name));
  if (rows.length === 0) {
    throw new UserError(
      `Cannot merge as ${out} holds neither a reproduce plan nor any run folder`,
    );
  }
  if (certify) {
    for (const r of rows) if (r.state === "done") r.certificate = await certify(r.dir);
  }
  return rows;
}

async function readRow(
  out: string,
  name: string,
  cell?: Pick<Cell, "fn" | "activation" | "seed">,
): Promise<MergeRow> {
  const dir = join(out, name);
  const s = await cellStatus(dir);
  const cfg = s.config ?? {};
  const ds = (cfg.dataset ?? {}) as Record<string, unknown>;
  const to = (cfg.training_options ?? {}) as Record<string, unknown>;
  const row: MergeRow = {
    name,
    fn: cell?.fn ?? String(ds.function_type ?? "?"),
    activation: cell?.activation ?? labelOf(cfg),
    seed: cell?.seed ?? Number(cfg.seed),
    state: s.state,
    epoch: s.epoch,
    lastEpoch: typeof to.epochs === "number" ? to.epochs : undefined,
    dir,
  };
  if (s.state === "done" && s.testMse && s.testMse.length > 0) {
    row.medianTestMse = median(s.testMse);
    row.minTestMse = Math.min(...s.testMse);
  } else if (s.lastRow) {
    // An unfinished run: its last evaluated epoch.
    row.epoch = Math.max(row.epoch, Number(s.lastRow.epoch ?? -1));
    if (typeof s.lastRow.median_test_mse === "number") {
      row.medianTestMse = s.lastRow.median_test_mse;
    }
    if (typeof s.lastRow.min_test_mse === "number") row.minTestMse = s.lastRow.min_test_mse;
  }
  return row;
}

const fmtMse = (v: number | undefined): string => v === undefined ? "" : v.toExponential(2);
const fmtBound = (c: CellCertificate | undefined): string =>
  !c ? "" : c.product === null ? "unbounded" : c.product.toFixed(4);

/** How a row's values are marked in the Markdown table. */
function mark(r: MergeRow): string {
  if (r.state === "done") return "";
  if (r.state === "diverged") return "‡";
  return "†";
}

/** Row labels in table order: the paper's activations first, then others as they come. */
function orderedLabels(rows: MergeRow[]): string[] {
  const labels = [...new Set(rows.map((r) => r.activation))];
  const rank = (l: string) => {
    const i = PAPER_ACTIVATIONS.indexOf(l);
    return i < 0 ? PAPER_ACTIVATIONS.length : i;
  };
  return labels.map((l, i) => ({ l, i })).sort((a, b) => rank(a.l) - rank(b.l) || a.i - b.i)
    .map((x) => x.l);
}

/**
 * The Markdown table: one line per activation (and seed, when there are several), per target
 * function the median and minimum test MSE and the certified bound. `—` marks a missing cell,
 * `†` an unfinished one (values of its last evaluated epoch), `‡` a diverged one.
 */
export function markdownTable(rows: MergeRow[]): string {
  const fns = [...new Set(rows.map((r) => r.fn))];
  const seeds = [...new Set(rows.map((r) => r.seed))];
  const multiSeed = seeds.length > 1;
  const header = ["activation", ...(multiSeed ? ["seed"] : [])];
  for (const f of fns) header.push(`${f} median`, `${f} min`, `${f} bound`);
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < (multiSeed ? 2 : 1) ? "---" : "---:")).join("|")}|`,
  ];
  for (const label of orderedLabels(rows)) {
    for (const seed of seeds) {
      const mine = rows.filter((r) => r.activation === label && r.seed === seed);
      if (mine.length === 0) continue;
      const cells = [label, ...(multiSeed ? [String(seed)] : [])];
      for (const f of fns) {
        const r = mine.find((x) => x.fn === f);
        if (!r || r.state === "missing" || r.state === "started" && r.medianTestMse === undefined) {
          cells.push("—", "—", "—");
          continue;
        }
        const m = mark(r);
        cells.push(
          r.medianTestMse === undefined ? m || "—" : fmtMse(r.medianTestMse) + m,
          r.minTestMse === undefined ? m || "—" : fmtMse(r.minTestMse) + m,
          fmtBound(r.certificate) || (r.state === "done" ? "n/a" : "—"),
        );
      }
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  const notes: string[] = [];
  const missing = rows.filter((r) => r.state === "missing" || r.state === "started");
  const unfinished = rows.filter((r) => r.state === "partial" || r.state === "started");
  const diverged = rows.filter((r) => r.state === "diverged");
  if (missing.length) {
    notes.push(`— missing (no checkpoint yet): ${missing.map((r) => r.name).join(", ")}`);
  }
  if (unfinished.filter((r) => r.state === "partial").length) {
    notes.push(
      `† unfinished, values of the last evaluated epoch: ${
        unfinished.filter((r) => r.state === "partial").map((r) =>
          `${r.name} (epoch ${r.epoch}${r.lastEpoch !== undefined ? ` of ${r.lastEpoch}` : ""})`
        ).join(", ")
      }`,
    );
  }
  if (diverged.length) {
    notes.push(
      `‡ diverged (a non-finite loss; values of the last good epoch): ${
        diverged.map((r) => r.name).join(", ")
      }`,
    );
  }
  const done = rows.filter((r) => r.state === "done").length;
  const lines2 = [
    ...lines,
    "",
    `Median and minimum test MSE over each run's models; bound: certified Lipschitz bound ` +
    `(worst model's product of per-layer bounds, \`certify\`). ${done} of ${rows.length} cells finished.`,
  ];
  if (notes.length) lines2.push("", ...notes.map((n) => `- ${n}`));
  return lines2.join("\n") + "\n";
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The CSV table: one line per cell, every value at full precision. */
export function csvTable(rows: MergeRow[]): string {
  const header = [
    "function",
    "activation",
    "seed",
    "state",
    "epoch",
    "last_epoch",
    "median_test_mse",
    "min_test_mse",
    "lipschitz_bound",
    "empirical_lipschitz",
    "certified",
    "run_dir",
  ];
  const num = (v: number | null | undefined) => v === undefined || v === null ? "" : String(v);
  const lines = [header.join(",")];
  for (const r of rows) {
    lines.push(
      [
        r.fn,
        r.activation,
        String(r.seed),
        r.state,
        String(r.epoch),
        num(r.lastEpoch),
        num(r.medianTestMse),
        num(r.minTestMse),
        num(r.certificate?.product),
        num(r.certificate?.empirical),
        r.certificate ? String(r.certificate.certified) : "",
        r.dir,
      ].map(csvField).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

/** The files `merge` writes. */
export const MERGE_FILES = { markdown: "table.md", csv: "table.csv", figure: "table" } as const;

/**
 * Write `table.md`, `table.csv` and `table.png`/`table.svg` into `out`; returns the paths and
 * the rows.
 */
export async function writeMerge(
  out: string,
  rows: MergeRow[],
): Promise<{ markdown: string; csv: string; png: string; svg: string }> {
  const markdown = join(out, MERGE_FILES.markdown);
  const csv = join(out, MERGE_FILES.csv);
  await writeFileAtomic(markdown, markdownTable(rows));
  await writeFileAtomic(csv, csvTable(rows));
  const fns = [...new Set(rows.map((r) => r.fn))];
  const labels = orderedLabels(rows);
  const bars = [];
  for (const f of fns) {
    for (const l of labels) {
      const mine = rows.filter((r) =>
        r.fn === f && r.activation === l && r.medianTestMse !== undefined
      );
      if (mine.length === 0) continue;
      bars.push({
        group: f,
        series: l,
        value: median(mine.map((r) => r.medianTestMse!)),
        tick: Math.min(...mine.map((r) => r.minTestMse ?? Infinity)),
        faded: mine.some((r) => r.state !== "done"),
      });
    }
  }
  const missing = rows.filter((r) => r.medianTestMse === undefined).length;
  const fig = await groupedBarPlot({
    title: "Test MSE per activation and target (bars: median over models; ticks: minimum)",
    subtitle: [
      rows.some((r) => r.state !== "done" && r.medianTestMse !== undefined)
        ? "faded: unfinished or diverged runs (last evaluated epoch)"
        : "",
      missing ? `${missing} missing cell(s) not drawn` : "",
    ].filter((s) => s).join("; ") || undefined,
    yLabel: "test MSE (log scale)",
    groups: fns,
    series: labels,
    bars,
    logY: true,
  });
  const { png, svg } = await writeFigure(out, MERGE_FILES.figure, fig);
  return { markdown, csv, png, svg };
}

/** Whether `certify.json` in `dir` is newer than its checkpoint (a cached certificate). */
export async function cachedCertificate(dir: string): Promise<CellCertificate | undefined> {
  try {
    const [c, k] = await Promise.all([
      stat(join(dir, "certify.json")),
      stat(join(dir, RUN_FILES.checkpoint)),
    ]);
    if ((c.mtime?.getTime() ?? 0) < (k.mtime?.getTime() ?? Infinity)) return undefined;
    const j = JSON.parse(await readFile(join(dir, "certify.json"), "utf8"));
    if (j.product === undefined || typeof j.empirical !== "number") return undefined;
    return { product: j.product, empirical: j.empirical, certified: j.certified === true };
  } catch {
    return undefined;
  }
}
