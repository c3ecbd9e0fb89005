import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { readIdx } from "../core/data/idx.ts";
import { UserError } from "../core/errors.ts";

/** Build an IDX file: big-endian int32 header words, then bytes. */
function idx(header: number[], body: number[]): Uint8Array {
  const out = new Uint8Array(4 * header.length + body.length);
  const view = new DataView(out.buffer);
  header.forEach((v, i) => view.setInt32(4 * i, v, false));
  out.set(body, 4 * header.length);
  return out;
}

Deno.test("readIdx reads a tiny images file and a labels file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 2 images of 2 x 3 pixels.
    const pixels = [0, 1, 2, 3, 4, 255, 10, 20, 30, 40, 50, 60];
    const imgPath = join(dir, "imgs-idx3-ubyte");
    const imgBytes = idx([2051, 2, 2, 3], pixels);
    await Deno.writeFile(imgPath, imgBytes);
    const md5 = createHash("md5").update(imgBytes).digest("hex");
    const imgs = await readIdx(imgPath, { md5, expect: "images" });
    assert.deepEqual([imgs.count, imgs.rows, imgs.cols], [2, 2, 3]);
    assert.ok(imgs.data instanceof Uint8Array);
    assert.deepEqual(Array.from(imgs.data), pixels);

    const lblPath = join(dir, "lbls-idx1-ubyte");
    await Deno.writeFile(lblPath, idx([2049, 3], [7, 0, 9]));
    const lbls = await readIdx(lblPath, { expect: "labels" });
    assert.deepEqual([lbls.count, lbls.rows, lbls.cols], [3, 1, 1]);
    assert.deepEqual(Array.from(lbls.data), [7, 0, 9]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readIdx gives UserError naming the path on bad input", async () => {
  const dir = await Deno.makeTempDir();
  const isUserErrorFor = (path: string, word: string) => (e: unknown) =>
    e instanceof UserError && e.message.includes(path) && e.message.includes(word);
  try {
    const bad = join(dir, "bad-magic");
    await Deno.writeFile(bad, idx([2050, 1, 1, 1], [0]));
    await assert.rejects(readIdx(bad), isUserErrorFor(bad, "2050"));

    const short = join(dir, "truncated");
    await Deno.writeFile(short, idx([2051, 2, 2, 2], [1, 2, 3]));
    await assert.rejects(readIdx(short), isUserErrorFor(short, "size"));

    const labels = join(dir, "labels");
    await Deno.writeFile(labels, idx([2049, 1], [4]));
    await assert.rejects(readIdx(labels, { expect: "images" }), isUserErrorFor(labels, "images"));
    await assert.rejects(
      readIdx(labels, { md5: "00000000000000000000000000000000" }),
      isUserErrorFor(labels, "md5"),
    );

    const missing = join(dir, "missing");
    await assert.rejects(readIdx(missing), isUserErrorFor(missing, "cannot be opened"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
