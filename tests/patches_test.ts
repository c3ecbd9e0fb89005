import assert from "node:assert/strict";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import jpeg from "jpeg-js";
import {
  extractPatches,
  readHdf5Images,
  readPatchFile,
  transformPatch,
  writePatchFile,
} from "../core/data/patches.ts";
import { encodeGrayPng, type GrayImage, listImages, readGrayImage } from "../core/data/images.ts";
import { UserError } from "../core/errors.ts";

/** An image whose pixel (r, c) is (r * w + c) / (h * w). */
function ramp(h: number, w: number): GrayImage {
  return { height: h, width: w, data: new Float32Array(h * w).map((_, i) => i / (h * w)) };
}

Deno.test("patches: corners every stride, row-major, content copied from the image", () => {
  const img = ramp(7, 9);
  const set = extractPatches([img, ramp(3, 3)], { size: 3, stride: 2 });
  // 7 rows: corners 0, 2, 4 (3); 9 columns: 0, 2, 4, 6 (4); the 3×3 image gives 1 more.
  assert.equal(set.count, 13);
  assert.equal(set.size, 3);
  for (const [k, [r0, c0]] of [[0, [0, 0]], [1, [0, 2]], [5, [2, 2]], [11, [4, 6]]] as const) {
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(set.data[k * 9 + r * 3 + c], img.data[(r0 + r) * 9 + c0 + c]);
      }
    }
  }
  assert.deepEqual(Array.from(set.data.subarray(12 * 9)), Array.from(ramp(3, 3).data));
  assert.throws(() => extractPatches([ramp(2, 2)], { size: 3 }), UserError);
  assert.throws(() => extractPatches([img], { size: 3, stride: 0 }), /stride must be a positive/);
});

Deno.test("patches: the 8 symmetries of the square are distinct permutations; augment doubles", () => {
  const p = 4;
  const src = new Float32Array(p * p).map((_, i) => i);
  const seen = new Set<string>();
  for (let m = 0; m < 8; m++) {
    const dst = new Float32Array(p * p);
    transformPatch(src, dst, p, m);
    assert.deepEqual([...dst].sort((a, b) => a - b), [...src], `mode ${m} is a permutation`);
    seen.add(dst.join(","));
  }
  assert.equal(seen.size, 8);
  // Mode 2 is the rotation by 180°: the reversed patch.
  const rot = new Float32Array(p * p);
  transformPatch(src, rot, p, 2);
  assert.deepEqual(Array.from(rot), Array.from(src).reverse());
  const a = extractPatches([ramp(8, 8)], { size: 4, stride: 4, augment: true, seed: 3 });
  const b = extractPatches([ramp(8, 8)], { size: 4, stride: 4, augment: true, seed: 3 });
  assert.equal(a.count, 8);
  assert.deepEqual(a.data, b.data, "same seed, same augmentation");
  for (let k = 0; k < 8; k += 2) {
    const orig = a.data.subarray(k * 16, (k + 1) * 16),
      aug = a.data.subarray((k + 1) * 16, (k + 2) * 16);
    assert.notDeepEqual(Array.from(aug), Array.from(orig));
    assert.deepEqual([...aug].sort(), [...orig].sort());
  }
});

Deno.test("HDF5 patch files: written in the authors' layout and read back", async () => {
  const dir = await Deno.makeTempDir();
  const set = extractPatches([ramp(10, 10)], { size: 4, stride: 3 });
  const file = join(dir, "p.h5");
  await writePatchFile(file, set);
  const back = await readPatchFile(file, 4);
  assert.equal(back.count, set.count);
  assert.deepEqual(back.data, set.data);
  // Every dataset is [1, 4, 4].
  await h5wasm.ready;
  const f = new h5wasm.File(file, "r");
  assert.deepEqual((f.get("0") as InstanceType<typeof h5wasm.Dataset>).shape, [1, 4, 4]);
  f.close();
  await assert.rejects(readPatchFile(file, 40), /must be \[1, 40, 40\].*is \[1, 4, 4\]/);
});

Deno.test("HDF5 patch files with arbitrary keys, groups and float64 data are read", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "authors.h5");
  await h5wasm.ready;
  const f = new h5wasm.File(file, "w");
  const patch = (v: number) => new Float64Array(9).fill(v);
  f.create_dataset({ name: "patch_10", data: patch(0.3), shape: [1, 3, 3], dtype: "<f8" });
  f.create_dataset({ name: "patch_2", data: patch(0.2), shape: [1, 3, 3], dtype: "<f8" });
  const g = f.create_group("more");
  g.create_dataset({ name: "x", data: new Float32Array(9).fill(0.5), shape: [3, 3], dtype: "<f4" });
  f.close();
  const set = await readPatchFile(file);
  assert.equal(set.count, 3);
  assert.equal(set.size, 3);
  // Numeric-aware key order: more/x, patch_2, patch_10.
  assert.deepEqual([set.data[0], set.data[9], set.data[18]].map((v) => Math.round(v * 10) / 10), [
    0.5,
    0.2,
    0.3,
  ]);
});

Deno.test("bad patch and image files: one-line errors naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(readPatchFile(join(dir, "missing.h5")), /does not exist: .*missing\.h5/);
  const text = join(dir, "text.h5");
  await Deno.writeTextFile(text, "not hdf5 at all");
  await assert.rejects(readPatchFile(text), /not an HDF5 file: .*text\.h5/);
  await h5wasm.ready;
  const wrong = join(dir, "wrong.h5");
  const f = new h5wasm.File(wrong, "w");
  f.create_dataset({ name: "0", data: new Float32Array(18), shape: [2, 3, 3], dtype: "<f4" });
  f.close();
  await assert.rejects(
    readPatchFile(wrong),
    /shape \[1, H, W\] or \[H, W\].*'0' has shape \[2, 3, 3\]/,
  );
  const mixed = join(dir, "mixed.h5");
  const m = new h5wasm.File(mixed, "w");
  m.create_dataset({ name: "0", data: new Float32Array(9), shape: [1, 3, 3], dtype: "<f4" });
  m.create_dataset({ name: "1", data: new Float32Array(16), shape: [1, 4, 4], dtype: "<f4" });
  m.close();
  await assert.rejects(readPatchFile(mixed), /patch 1 is \[1, 4, 4\]/);
  const empty = join(dir, "empty.h5");
  new h5wasm.File(empty, "w").close();
  await assert.rejects(readHdf5Images(empty), /holds no dataset/);
  // A truncated HDF5 file.
  const bytes = await Deno.readFile(mixed);
  const cut = join(dir, "cut.h5");
  await Deno.writeFile(cut, bytes.subarray(0, 600));
  await assert.rejects(readPatchFile(cut), UserError);
  const badPng = join(dir, "bad.png");
  await Deno.writeFile(badPng, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5]));
  await assert.rejects(readGrayImage(badPng), /not a valid PNG: .*bad\.png/);
  await assert.rejects(readGrayImage(join(dir, "x.gif")), /must be a \.png, \.jpg or \.jpeg/);
  await assert.rejects(listImages(dir + "/nope"), /not a folder/);
});

Deno.test("PNG and JPEG images decode to grayscale in [0, 1]", async () => {
  const dir = await Deno.makeTempDir();
  const img = ramp(12, 20);
  const png = join(dir, "a.png");
  await Deno.writeFile(png, encodeGrayPng(img));
  const back = await readGrayImage(png);
  assert.equal(back.height, 12);
  assert.equal(back.width, 20);
  for (let i = 0; i < img.data.length; i++) {
    assert.ok(Math.abs(back.data[i] - Math.round(img.data[i] * 255) / 255) < 1e-7);
  }
  // A colour JPEG: pure red is 0.299 (BT.601 luma), up to JPEG error.
  const rgba = new Uint8Array(16 * 16 * 4);
  for (let i = 0; i < 256; i++) rgba.set([255, 0, 0, 255], i * 4);
  const jpg = join(dir, "b.jpg");
  await Deno.writeFile(jpg, jpeg.encode({ data: rgba, width: 16, height: 16 }, 95).data);
  const j = await readGrayImage(jpg);
  assert.equal(j.width, 16);
  assert.ok(Math.abs(j.data[100] - 0.299) < 0.02, `${j.data[100]}`);
  assert.deepEqual(await listImages(dir), [png, jpg].sort());
});
