import assert from "node:assert/strict";
import {
  createProgress,
  formatNumber,
  formatTable,
  silentProgress,
} from "../core/output/progress.ts";

// deno-lint-ignore no-control-regex
const ESCAPES = /[\x1b\r]/;

Deno.test("plain mode prints periodic lines without escape codes", () => {
  const out: string[] = [];
  let t = 0;
  const p = createProgress({
    tty: false,
    write: (s) => out.push(s),
    intervalMs: 5000,
    now: () => t,
  });
  p.start(100, "epochs");
  for (let e = 1; e <= 100; e++) {
    t += 10;
    p.update(e, { loss: 1 / e });
  }
  p.stop();
  const text = out.join("");
  assert.ok(!ESCAPES.test(text), JSON.stringify(text));
  assert.ok(out.every((s) => s.endsWith("\n") && s.indexOf("\n") === s.length - 1));
  const lines = text.trimEnd().split("\n");
  // start line, 10%..90% lines, done line
  assert.equal(lines.length, 11, text);
  assert.equal(lines[0], "epochs: started (100)");
  assert.match(lines[1], /^epochs 10\/100 \(10%\) elapsed 0s ETA \d+s loss=0\.1$/);
  assert.match(lines[5], /^epochs 50\/100 \(50%\)/);
  assert.match(lines.at(-1)!, /^epochs: done 100\/100 in 1s loss=0\.01$/);
});

Deno.test("plain mode: nested loops print on the interval, prefixed by the outer loop", () => {
  const out: string[] = [];
  let t = 0;
  const p = createProgress({
    tty: false,
    write: (s) => out.push(s),
    intervalMs: 1000,
    now: () => t,
  });
  p.start(3, "epochs");
  for (let e = 1; e <= 3; e++) {
    p.start(50, "batches");
    for (let b = 1; b <= 50; b++) {
      t += 100; // 5 s per epoch: about 5 lines per epoch
      p.update(b, { loss: 0.5 });
    }
    p.stop();
    p.update(e);
  }
  p.log("a message");
  p.stop();
  const lines = out.join("").trimEnd().split("\n");
  const inner = lines.filter((l) => l.includes("batches"));
  assert.ok(inner.length >= 12 && inner.length <= 16, lines.join("\n"));
  assert.match(inner[0], /^epochs 0\/3 \| batches 10\/50 \(20%\) elapsed 1s ETA 4s loss=0\.5$/);
  assert.ok(lines.includes("a message"));
  assert.match(lines.at(-1)!, /^epochs: done 3\/3 in 15s$/);
  assert.ok(!ESCAPES.test(out.join("")));
});

Deno.test("plain mode strips control characters from labels and messages", () => {
  const out: string[] = [];
  const p = createProgress({ tty: false, write: (s) => out.push(s) });
  p.log("bad\x1b[31m red");
  assert.equal(out.join(""), "bad[31m red\n");
});

Deno.test("tty mode draws a bar with label, value/total and payload, then stops cleanly", () => {
  const out: string[] = [];
  const p = createProgress({ tty: true, write: (s) => out.push(s), columns: 120 });
  p.start(10, "epochs");
  p.start(4, "batches");
  p.update(2, { loss: 0.25 });
  p.stop();
  p.update(10, { loss: 0.125 });
  p.log("hello");
  p.stop();
  const text = out.join("");
  assert.match(text, /epochs/);
  assert.match(text, /10\/10/);
  assert.match(text, /loss=0\.125/);
  assert.ok(text.includes("\x1b["), "bars use escape codes on a terminal");
  // No timer is left running: Deno's test sanitizer would fail this test otherwise.
});

Deno.test("silentProgress prints nothing and accepts every call", () => {
  const p = silentProgress();
  p.start(1, "x");
  p.update(1, { a: 1 });
  p.log("nothing");
  p.stop();
  p.stop();
});

Deno.test("formatNumber", () => {
  assert.equal(formatNumber(1000), "1000");
  assert.equal(formatNumber(3.14159), "3.142");
  assert.equal(formatNumber(0.000123456), "1.235e-4");
  assert.equal(formatNumber(NaN), "NaN");
  assert.equal(formatNumber(-25000000.5), "-2.500e+7");
});

Deno.test("formatTable aligns columns: text left, numbers right", () => {
  const table = formatTable([
    { metric: "median test MSE", value: 1.23e-5, note: "best" },
    { metric: "epochs", value: 1000 },
    { metric: "PSNR", value: 30.12345, note: "val" },
  ]);
  const lines = table.split("\n");
  assert.deepEqual(lines, [
    "metric              value  note",
    "---------------  --------  ----",
    "median test MSE  1.230e-5  best",
    "epochs               1000",
    "PSNR                30.12  val",
  ]);
  assert.equal(formatTable([]), "");
});
