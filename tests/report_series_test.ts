/** `report` inlines only the last few figures of a numbered series (core/output/report.ts). */
import assert from "node:assert/strict";
import { lastOfSeries } from "../core/output/report.ts";

Deno.test("lastOfSeries keeps the highest-numbered figures of each series, in numeric order", () => {
  const names = ["curves.png", ...Array.from({ length: 12 }, (_, i) => `samples_${i}.png`)].sort();
  const { names: kept, dropped } = lastOfSeries(names, 3);
  assert.deepEqual(kept, ["curves.png", "samples_9.png", "samples_10.png", "samples_11.png"]);
  assert.deepEqual([...dropped], [["samples", { shown: 3, total: 12 }]]);
  const short = lastOfSeries(["samples_0.png", "activation0.png"], 3);
  assert.deepEqual(short.names, ["activation0.png", "samples_0.png"]);
  assert.equal(short.dropped.size, 0);
});
