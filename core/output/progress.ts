/**
 * Progress reporting for long loops (epochs, batches, validation, data preparation) and the final
 * summary table.
 *
 * On a terminal, {@linkcode createProgress} draws `cli-progress` bars (label, bar, value/total,
 * percentage, ETA, and the payload such as the loss); nested loops stack their bars. When stdout
 * is not a terminal (CI logs, files) it prints plain lines instead, without any escape code:
 * the outermost loop every 10% (and at least every `intervalMs`), inner loops every `intervalMs`.
 *
 * @module
 */
import process from "node:process";
import cliProgress from "cli-progress";
import type { Progress } from "../plugin/interfaces.ts";

export type { Progress } from "../plugin/interfaces.ts";

/** A {@linkcode Progress} that can also print a message without breaking the bars. */
export interface ConsoleProgress extends Progress {
  /** Print one line (above the bars on a terminal). */
  log(message: string): void;
}

/** Options of {@linkcode createProgress}. */
export interface ProgressOptions {
  /** Draw bars (stdout is a terminal) or print plain lines. */
  tty: boolean;
  /** Where output goes (default: `process.stdout.write`). Lines end with `\n`. */
  write?: (s: string) => void;
  /** Plain mode: the longest time between two lines of a running loop (default 10 000 ms). */
  intervalMs?: number;
  /** Terminal width for bars (default: the terminal's, else 100). */
  columns?: number;
  /** Clock in milliseconds (default `Date.now`); for tests. */
  now?: () => number;
}

/**
 * Format a number for humans: integers as they are, others with 4 significant digits
 * (exponent notation when very small or large).
 *
 * @example
 * ```ts
 * import { formatNumber } from "./progress.ts";
 * formatNumber(0.000123456); // "1.235e-4"
 * formatNumber(3.14159); // "3.142"
 * ```
 */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
  return String(Number(v.toPrecision(digits)));
}

function formatPayload(payload?: Record<string, string | number>): string {
  if (!payload) return "";
  return Object.entries(payload)
    .map(([k, v]) => `${k}=${typeof v === "number" ? formatNumber(v) : v}`)
    .join(" ");
}

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * A progress reporter that prints nothing: for tests and `--quiet`.
 *
 * @example
 * ```ts
 * import { silentProgress } from "./progress.ts";
 * const p = silentProgress();
 * p.start(10, "epochs");
 * p.update(5, { loss: 0.1 });
 * p.stop();
 * ```
 */
export function silentProgress(): ConsoleProgress {
  return { start() {}, update() {}, stop() {}, log() {} };
}

/**
 * Progress bars on a terminal, plain periodic lines otherwise. `start`/`stop` pairs may nest
 * (e.g. batches inside epochs); `update` and `stop` act on the innermost running loop.
 *
 * @example
 * ```ts
 * import { createProgress } from "./progress.ts";
 * const p = createProgress({ tty: false, write: (s) => console.log(s.trimEnd()) });
 * p.start(100, "epochs");
 * for (let e = 1; e <= 100; e++) p.update(e, { loss: 1 / e });
 * p.stop(); // prints lines like "epochs 10/100 (10%) elapsed 0s ETA 0s loss=0.1"
 * ```
 */
export function createProgress(opts: ProgressOptions): ConsoleProgress {
  const write = opts.write ?? ((s: string) => void process.stdout.write(s));
  return opts.tty ? new BarProgress(write, opts) : new PlainProgress(write, opts);
}

interface PlainBar {
  label: string;
  total: number;
  value: number;
  payload?: Record<string, string | number>;
  t0: number;
  lastLine: number;
  lastDecile: number;
}

class PlainProgress implements ConsoleProgress {
  #stack: PlainBar[] = [];
  readonly #write: (s: string) => void;
  readonly #interval: number;
  readonly #now: () => number;

  constructor(write: (s: string) => void, opts: ProgressOptions) {
    this.#write = write;
    this.#interval = opts.intervalMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  start(total: number, label: string): void {
    const t = this.#now();
    const bar = { label, total, value: 0, t0: t, lastLine: t, lastDecile: 0 };
    this.#stack.push(bar);
    if (this.#stack.length === 1) this.#line(`${label}: started (${total})`);
  }

  update(value: number, payload?: Record<string, string | number>): void {
    const bar = this.#stack.at(-1);
    if (!bar) return;
    bar.value = value;
    if (payload) bar.payload = { ...bar.payload, ...payload };
    const t = this.#now();
    const decile = bar.total > 0 ? Math.floor((10 * value) / bar.total) : 0;
    const outer = this.#stack.length === 1;
    const due = t - bar.lastLine >= this.#interval;
    if (due || (outer && decile > bar.lastDecile && value < bar.total)) {
      bar.lastLine = t;
      bar.lastDecile = decile;
      this.#line(this.#describe(t));
    }
  }

  stop(): void {
    const bar = this.#stack.at(-1);
    if (!bar) return;
    if (this.#stack.length === 1) {
      const extra = formatPayload(bar.payload);
      this.#line(
        `${bar.label}: done ${bar.value}/${bar.total} in ${formatDuration(this.#now() - bar.t0)}` +
          (extra ? ` ${extra}` : ""),
      );
    }
    this.#stack.pop();
  }

  log(message: string): void {
    this.#line(message);
  }

  #describe(t: number): string {
    const parts = this.#stack.map((b, i) => {
      if (i < this.#stack.length - 1) return `${b.label} ${b.value}/${b.total}`;
      const frac = b.total > 0 ? Math.min(1, b.value / b.total) : 0;
      const el = t - b.t0;
      const eta = frac > 0 ? (el * (1 - frac)) / frac : NaN;
      const extra = formatPayload(b.payload);
      return `${b.label} ${b.value}/${b.total} (${Math.floor(frac * 100)}%) elapsed ` +
        `${formatDuration(el)} ETA ${formatDuration(eta)}${extra ? ` ${extra}` : ""}`;
    });
    return parts.join(" | ");
  }

  #line(s: string): void {
    // Control characters (escape codes, carriage returns) never reach plain logs.
    // deno-lint-ignore no-control-regex
    this.#write(s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "") + "\n");
  }
}

class BarProgress implements ConsoleProgress {
  #multi: cliProgress.MultiBar | undefined;
  #bars: { bar: cliProgress.SingleBar; label: string }[] = [];
  readonly #stream: { isTTY: true; columns: number; write(s: string): boolean };
  readonly #write: (s: string) => void;

  constructor(write: (s: string) => void, opts: ProgressOptions) {
    this.#write = write;
    this.#stream = {
      isTTY: true,
      columns: opts.columns ?? process.stdout.columns ?? 100,
      write(s: string) {
        write(s);
        return true;
      },
    };
  }

  start(total: number, label: string): void {
    this.#multi ??= new cliProgress.MultiBar({
      // cli-progress only needs write/isTTY/columns of a stream.
      stream: this.#stream as unknown as NodeJS.WritableStream,
      format: "{label} |{bar}| {value}/{total} {percentage}% | ETA {eta_formatted} | {extra}",
      barsize: 30,
      hideCursor: false,
      clearOnComplete: false,
      etaBuffer: 30,
      fps: 10,
      autopadding: true,
    }, cliProgress.Presets.shades_classic);
    const bar = this.#multi.create(total, 0, { label: label.padEnd(12), extra: "" });
    this.#bars.push({ bar, label });
  }

  update(value: number, payload?: Record<string, string | number>): void {
    const top = this.#bars.at(-1);
    if (!top) return;
    top.bar.update(value, payload ? { extra: formatPayload(payload) } : {});
  }

  stop(): void {
    const top = this.#bars.pop();
    if (!top || !this.#multi) return;
    if (this.#bars.length > 0) {
      this.#multi.remove(top.bar);
    } else {
      this.#multi.update(); // prints messages still waiting in the log buffer
      this.#multi.stop();
      this.#multi = undefined;
    }
  }

  log(message: string): void {
    if (this.#multi) this.#multi.log(message + "\n");
    else this.#write(message + "\n");
  }
}

/**
 * Align rows as a text table: a header of all keys (in first-seen order), a dashed rule, then one
 * line per row. Numbers are right-aligned (non-integers with 4 significant digits), text is
 * left-aligned; a missing cell is blank.
 *
 * @example
 * ```ts
 * import { formatTable } from "./progress.ts";
 * console.log(formatTable([
 *   { metric: "median test MSE", value: 1.23e-5 },
 *   { metric: "epochs", value: 1000 },
 * ]));
 * // metric              value
 * // ---------------  --------
 * // median test MSE  1.230e-5
 * // epochs               1000
 * ```
 */
export function formatTable(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return "";
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const numeric = keys.map((k) =>
    rows.every((r) => r[k] === undefined || typeof r[k] === "number") &&
    rows.some((r) => typeof r[k] === "number")
  );
  const cell = (v: string | number | undefined) =>
    v === undefined ? "" : typeof v === "number" ? formatNumber(v) : String(v);
  const cells = rows.map((r) => keys.map((k) => cell(r[k])));
  const widths = keys.map((k, j) => Math.max(k.length, ...cells.map((c) => c[j].length)));
  const fmt = (vals: string[]) =>
    vals.map((v, j) => numeric[j] ? v.padStart(widths[j]) : v.padEnd(widths[j]))
      .join("  ").trimEnd();
  return [fmt(keys), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(fmt)].join("\n");
}
