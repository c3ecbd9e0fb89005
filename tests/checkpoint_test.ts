import assert from "node:assert/strict";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { type Checkpoint, readCheckpoint, writeCheckpoint } from "../core/io/checkpoint.ts";
import { UserError } from "../core/errors.ts";

function sample(): Checkpoint {
  const w = new Float32Array(6 * 4);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i) * 1e-3 + i;
  return {
    tensors: {
      "model/linear0/weight": { shape: [6, 4], data: w },
      "model/linear0/bias": { shape: [6], data: new Float32Array([1, -2, 3.25, 0, -0, 1e-30]) },
      "model/act0/coefficients": {
        shape: [2, 3],
        data: new Float32Array([NaN, Infinity, -Infinity, 3.4e38, -1.4e-45, 0.1]),
      },
      "step": { shape: [], data: new Float32Array([7]) },
      "empty": { shape: [0, 3], data: new Float32Array(0) },
    },
    meta: {
      epoch: 12,
      config: { layers: [1, 10, 1], name: "f1 run", nested: { ok: true } },
      rng: { kind: "mt19937", index: 3, spareNormal: null },
    },
  };
}

/** Same tensors bit for bit (NaN and -0 included). */
function assertBitExact(got: Checkpoint, want: Checkpoint): void {
  assert.deepEqual(Object.keys(got.tensors).sort(), Object.keys(want.tensors).sort());
  for (const [name, t] of Object.entries(want.tensors)) {
    const g = got.tensors[name];
    assert.ok(g.data instanceof Float32Array, name);
    assert.deepEqual(g.shape, t.shape, `${name} shape`);
    assert.deepEqual(
      new Uint32Array(g.data.buffer, g.data.byteOffset, g.data.length),
      new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length),
      `${name} bits`,
    );
  }
}

Deno.test("checkpoint round-trips bit-exactly with nested names and meta", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ckpt.h5");
    const ckpt = sample();
    await writeCheckpoint(path, ckpt);
    const back = await readCheckpoint(path);
    assertBitExact(back, ckpt);
    assert.deepEqual(back.meta, ckpt.meta);
    // Overwriting replaces the file.
    const next: Checkpoint = {
      tensors: { "a/b": { shape: [1], data: new Float32Array([5]) } },
      meta: { epoch: 13 },
    };
    await writeCheckpoint(path, next);
    const back2 = await readCheckpoint(path);
    assertBitExact(back2, next);
    assert.deepEqual(back2.meta, { epoch: 13 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint is a real HDF5 file with nested groups and root attributes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ckpt.h5");
    await writeCheckpoint(path, sample());
    const bytes = await Deno.readFile(path);
    assert.deepEqual(Array.from(bytes.subarray(0, 4)), [0x89, 0x48, 0x44, 0x46]); // \x89HDF
    // Inspect the layout directly with h5wasm (what h5py would see).
    await h5wasm.ready;
    const f = new h5wasm.File(path, "r");
    try {
      assert.equal(f.attrs["format"].value, "lipspline-checkpoint");
      assert.equal(f.attrs["format_version"].value, 1);
      assert.deepEqual(JSON.parse(String(f.attrs["lipspline_meta"].value)), sample().meta);
      assert.ok(f.get("model") instanceof h5wasm.Group);
      assert.ok(f.get("model/linear0") instanceof h5wasm.Group);
      const w = f.get("model/linear0/weight");
      assert.ok(w instanceof h5wasm.Dataset);
      assert.equal(w.dtype, "<f");
      assert.deepEqual(w.shape, [6, 4]);
    } finally {
      f.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint write is atomic: no temp file remains, relative paths work", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    await writeCheckpoint(join(dir, "a.h5"), sample());
    Deno.chdir(dir);
    await writeCheckpoint("b.h5", sample());
    assertBitExact(await readCheckpoint("b.h5"), sample());
    Deno.chdir(cwd);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["a.h5", "b.h5"]);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write leaves the previous file intact and no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ckpt.h5");
    await writeCheckpoint(path, sample());
    const before = await Deno.readFile(path);
    const bad: Checkpoint = {
      tensors: { "x": { shape: [2, 2], data: new Float32Array(3) } },
      meta: {},
    };
    await assert.rejects(writeCheckpoint(path, bad), UserError);
    const clash: Checkpoint = {
      tensors: {
        "a": { shape: [1], data: new Float32Array(1) },
        "a/b": { shape: [1], data: new Float32Array(1) },
      },
      meta: {},
    };
    await assert.rejects(writeCheckpoint(path, clash), UserError);
    assert.deepEqual(await Deno.readFile(path), before);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["ckpt.h5"]);
    // A failure after the temp file exists (the target is a directory): the temp is removed.
    const asDir = join(dir, "is-a-dir.h5");
    await Deno.mkdir(asDir);
    await assert.rejects(
      writeCheckpoint(asDir, sample()),
      (e: unknown) => e instanceof UserError && e.message.includes(asDir),
    );
    await Deno.remove(asDir);
    const after = [];
    for await (const e of Deno.readDir(dir)) after.push(e.name);
    assert.deepEqual(after, ["ckpt.h5"]);
    await assert.rejects(
      writeCheckpoint(join(dir, "no-such-dir", "c.h5"), sample()),
      (e: unknown) => e instanceof UserError && e.message.includes("no-such-dir"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reading missing, garbage or foreign HDF5 files gives UserError naming the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = join(dir, "missing.h5");
    await assert.rejects(
      readCheckpoint(missing),
      (e: unknown) => e instanceof UserError && e.message.includes(missing),
    );
    const garbage = join(dir, "garbage.h5");
    await Deno.writeTextFile(garbage, "this is not an HDF5 file at all, just some text\n");
    await assert.rejects(
      readCheckpoint(garbage),
      (e: unknown) =>
        e instanceof UserError && e.message.includes(garbage) && e.message.includes("HDF5") &&
        !e.message.includes("\n"),
    );
    const empty = join(dir, "empty.h5");
    await Deno.writeFile(empty, new Uint8Array(0));
    await assert.rejects(
      readCheckpoint(empty),
      (e: unknown) => e instanceof UserError && e.message.includes(empty),
    );
    // A valid HDF5 file that is not a lipspline checkpoint.
    const foreign = join(dir, "foreign.h5");
    await h5wasm.ready;
    const f = new h5wasm.File(foreign, "w");
    f.create_dataset({ name: "x", data: new Float32Array([1, 2]), shape: [2], dtype: "<f4" });
    f.close();
    await assert.rejects(
      readCheckpoint(foreign),
      (e: unknown) =>
        e instanceof UserError && e.message.includes(foreign) && e.message.includes("format"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
