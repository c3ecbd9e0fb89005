import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { writeReport } from "../core/output/report.ts";
import { isUserError } from "../core/errors.ts";
import { curvesFigure, writeFigure } from "../core/output/figures.ts";
import { reportCommand } from "../cli/commands/report.ts";

/** Debian's chromium; another browser binary can be named with the CHROMIUM variable. */
const CHROMIUM = Deno.env.get("CHROMIUM") || "/usr/bin/chromium";

/** A fake run folder: config, metrics (last line cut by a "crash"), one real figure, certify. */
async function fakeRun(root: string): Promise<{ dir: string; figure: Uint8Array }> {
  const dir = join(root, "1d_exps", "demo_run");
  mkdirSync(dir, { recursive: true });
  const config = {
    exp_name: "demo_run",
    log_dir: "1d_exps",
    seed: 42,
    activation_fn_params: { activation_type: "linearspline", spline_size: 21, spline_range: 0.5 },
    note: "<script>alert('x')</script>",
  };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  const rows = Array.from({ length: 20 }, (_, e) => ({
    epoch: e,
    "Validation/Median Loss": 0.1 * Math.exp(-e / 4),
    "train/loss": 1 / (e + 1),
  }));
  writeFileSync(
    join(dir, "metrics.jsonl"),
    rows.map((r) => JSON.stringify(r)).join("\n") + '\n{"epoch": 20, "train/lo',
  );
  writeFileSync(
    join(dir, "certify.json"),
    JSON.stringify({ lipschitz_bound: 1.0000012, method: "product of layer bounds", ok: true }),
  );
  const fig = await curvesFigure(rows, ["Validation/Median Loss", "train/loss"], true);
  await writeFigure(join(dir, "figures"), "curves", fig);
  return { dir, figure: fig.png };
}

Deno.test("writeReport writes a self-contained report.html", async () => {
  const root = mkdtempSync(join(tmpdir(), "report-"));
  try {
    const { dir, figure } = await fakeRun(root);
    const path = await writeReport(dir);
    assert.equal(path, join(dir, "report.html"));
    const html = readFileSync(path, "utf8");
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>lipspline report: demo_run<\/title>/);
    // Config, metrics (last value of each, the crash-cut line reported), certify result.
    assert.ok(html.includes("linearspline"));
    assert.ok(html.includes("Validation/Median Loss"));
    assert.ok(html.includes(`<td class="num">${(1 / 20).toString()}</td>`), "last train/loss");
    assert.ok(html.includes("1 line(s) of metrics.jsonl could not be read"));
    assert.ok(html.includes("lipschitz_bound") && html.includes("product of layer bounds"));
    // Text from files is escaped, never injected.
    assert.ok(!html.includes("<script>"));
    assert.ok(html.includes("&lt;script&gt;"));
    // The figure is inlined, byte for byte.
    const m = /src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/.exec(html);
    assert.ok(m, "inline PNG");
    assert.deepEqual(new Uint8Array(Buffer.from(m[1], "base64")), figure);
    // Self-contained: no external resources of any kind.
    assert.ok(!/\b(src|href)\s*=\s*["']?(https?:|\/\/|file:)/i.test(html), "external src/href");
    assert.ok(!/url\(|@import|<script|<link/i.test(html), "no url(), imports, scripts or links");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("writeReport handles a run without metrics, figures or config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "report-"));
  try {
    const html = readFileSync(await writeReport(dir), "utf8");
    assert.ok(html.includes("No metrics yet.") && html.includes("No figures yet."));
    assert.ok(html.includes("config.json is missing"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("writeReport on a missing folder is a UserError naming the path", async () => {
  const missing = join(tmpdir(), "no-such-run-folder-xyz", "exp");
  await assert.rejects(writeReport(missing), (e: unknown) => {
    assert.ok(isUserError(e));
    assert.ok((e as Error).message.includes(missing));
    return true;
  });
});

Deno.test("report command writes the page and prints its path; --help names RUN_DIR", async () => {
  const root = mkdtempSync(join(tmpdir(), "report-"));
  const logged: string[] = [];
  const orig = console.log;
  try {
    const { dir } = await fakeRun(root);
    console.log = (...a: unknown[]) => logged.push(a.join(" "));
    await reportCommand().parseAsync([dir], { from: "user" });
    console.log = orig;
    assert.deepEqual(logged, [join(dir, "report.html")]);
    assert.ok(existsSync(join(dir, "report.html")));

    let help = "";
    const cmd = reportCommand().exitOverride().configureOutput({ writeOut: (s) => (help += s) });
    await assert.rejects(cmd.parseAsync(["--help"], { from: "user" }));
    assert.match(help, /report \[options\] <RUN_DIR>/);
  } finally {
    console.log = orig;
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test({
  name: "report.html renders in headless Chromium (not blank)",
  ignore: !existsSync(CHROMIUM) &&
    (console.warn(`skipping the browser check: ${CHROMIUM} not found (apt-get install chromium)`),
      true),
  async fn() {
    const root = mkdtempSync(join(tmpdir(), "report-"));
    try {
      const { dir } = await fakeRun(root);
      const path = await writeReport(dir);
      const shot = join(root, "shot.png");
      const profile = join(root, "profile");
      const out = await new Deno.Command(CHROMIUM, {
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--hide-scrollbars",
          `--user-data-dir=${profile}`,
          `--screenshot=${shot}`,
          "--window-size=1200,1600",
          `file://${path}`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).output();
      assert.ok(
        existsSync(shot),
        `no screenshot (exit ${out.code}): ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
      );
      const img = PNG.sync.read(readFileSync(shot));
      assert.equal(img.width, 1200);
      let ink = 0, header = 0;
      const colors = new Set<number>();
      for (let y = 0; y < img.height; y++) {
        for (let x = 0; x < img.width; x++) {
          const i = (y * img.width + x) * 4;
          const [r, g, b] = [img.data[i], img.data[i + 1], img.data[i + 2]];
          if (r + g + b < 600) ink++;
          if (y < 60 && r < 60 && g < 70 && b > 50 && b < 100) header++; // the dark-blue header
          colors.add((r << 16) | (g << 8) | b);
        }
      }
      const frac = ink / (img.width * img.height);
      assert.ok(frac > 0.02, `screenshot looks blank (ink fraction ${frac})`);
      assert.ok(header > 1000, "header band drawn");
      assert.ok(colors.size > 50, `only ${colors.size} colours: blank page?`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
});
