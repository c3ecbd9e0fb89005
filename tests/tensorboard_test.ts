import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  encodeEvent,
  FILE_VERSION,
  maskedCrc32c,
  TensorBoardWriter,
  tfRecord,
} from "../core/metrics/tensorboard.ts";

// ---- An independent reader: bitwise CRC32C, TFRecord framing and a minimal protobuf decoder ----

/** Bitwise (table-free) CRC32C, Castagnoli polynomial 0x82F63B78 (reflected). */
function refCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function refMasked(data: Uint8Array): number {
  const c = refCrc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function readRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < bytes.length) {
    assert.ok(o + 12 <= bytes.length, `truncated header at ${o}`);
    const len = Number(view.getBigUint64(o, true));
    assert.equal(view.getUint32(o + 8, true), refMasked(bytes.subarray(o, o + 8)), "length crc");
    const data = bytes.subarray(o + 12, o + 12 + len);
    assert.equal(data.length, len, `truncated data at ${o}`);
    assert.equal(view.getUint32(o + 12 + len, true), refMasked(data), "data crc");
    out.push(data);
    o += 16 + len;
  }
  return out;
}

type Field = { no: number; wire: number; value: bigint | Uint8Array | DataView };

function decodeFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let o = 0;
  const varint = (): bigint => {
    let r = 0n, shift = 0n;
    for (;;) {
      const b = buf[o++];
      r |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return r;
      shift += 7n;
    }
  };
  while (o < buf.length) {
    const key = Number(varint());
    const no = key >>> 3, wire = key & 7;
    if (wire === 0) fields.push({ no, wire, value: varint() });
    else if (wire === 1) {
      fields.push({ no, wire, value: new DataView(buf.buffer, buf.byteOffset + o, 8) });
      o += 8;
    } else if (wire === 5) {
      fields.push({ no, wire, value: new DataView(buf.buffer, buf.byteOffset + o, 4) });
      o += 4;
    } else if (wire === 2) {
      const len = Number(varint());
      fields.push({ no, wire, value: buf.subarray(o, o + len) });
      o += len;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: { tag: string; value: number }[];
}

function decodeEvent(buf: Uint8Array): DecodedEvent {
  const e: DecodedEvent = { wallTime: 0, step: 0, scalars: [] };
  const td = new TextDecoder();
  for (const f of decodeFields(buf)) {
    if (f.no === 1) e.wallTime = (f.value as DataView).getFloat64(0, true);
    else if (f.no === 2) e.step = Number(BigInt.asIntN(64, f.value as bigint));
    else if (f.no === 3) e.fileVersion = td.decode(f.value as Uint8Array);
    else if (f.no === 5) {
      for (const v of decodeFields(f.value as Uint8Array)) {
        assert.equal(v.no, 1);
        let tag = "", value = NaN;
        for (const g of decodeFields(v.value as Uint8Array)) {
          if (g.no === 1) tag = td.decode(g.value as Uint8Array);
          if (g.no === 2) value = (g.value as DataView).getFloat32(0, true);
        }
        e.scalars.push({ tag, value });
      }
    }
  }
  return e;
}

function eventFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents.")).sort();
}

// ---- Tests ----

Deno.test("crc32c matches known vectors", () => {
  const enc = new TextEncoder();
  assert.equal(refCrc32c(enc.encode("123456789")), 0xe3069283);
  assert.equal(refCrc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
  assert.equal(refCrc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // 32 bytes of 0xff
  for (const s of ["", "a", "123456789", "The quick brown fox jumps over the lazy dog"]) {
    assert.equal(maskedCrc32c(enc.encode(s)), refMasked(enc.encode(s)), s);
  }
  // Masking of crc32c("123456789") computed by hand: rotr15(0xe3069283) + 0xa282ead8.
  assert.equal(maskedCrc32c(enc.encode("123456789")), 0xc78ab0e5);
});

Deno.test("tfRecord frames data and encodeEvent round-trips", () => {
  const ev = encodeEvent({ wallTime: 1234.5, step: 7, scalars: [{ tag: "a/b", value: 0.25 }] });
  const recs = readRecords(tfRecord(ev));
  assert.equal(recs.length, 1);
  const d = decodeEvent(recs[0]);
  assert.equal(d.wallTime, 1234.5);
  assert.equal(d.step, 7);
  assert.deepEqual(d.scalars, [{ tag: "a/b", value: 0.25 }]);
  // Large steps survive the int64 varint.
  assert.equal(decodeEvent(encodeEvent({ wallTime: 0, step: 2 ** 40 })).step, 2 ** 40);
});

Deno.test("TensorBoardWriter writes file_version first, then the scalars", async () => {
  const root = mkdtempSync(join(tmpdir(), "tb-"));
  try {
    const dir = join(root, "exp", "tensorboard");
    let t = 1_700_000_000_000;
    const tb = new TensorBoardWriter(dir, { host: "testhost", now: () => (t += 10) });
    assert.match(tb.path, /events\.out\.tfevents\.1700000000\.testhost$/);
    const tags = [
      "Validation/Median Loss",
      "val/Test PSNR Mean",
      "train/spline_scaling_coeff_mean",
    ];
    for (let step = 0; step < 20; step++) {
      for (const [i, tag] of tags.entries()) tb.scalar(tag, step * 0.5 + i, step);
      if (step === 9) await tb.flush();
    }
    await tb.close();
    await tb.close(); // idempotent
    assert.throws(() => tb.scalar("x", 1, 1), /closed/);

    const files = eventFiles(dir);
    assert.equal(files.length, 1);
    const events = readRecords(readFileSync(join(dir, files[0]))).map(decodeEvent);
    assert.equal(events.length, 1 + 20 * tags.length);
    assert.equal(events[0].fileVersion, FILE_VERSION);
    assert.equal(events[0].scalars.length, 0);
    let k = 1;
    for (let step = 0; step < 20; step++) {
      for (const [i, tag] of tags.entries()) {
        const e = events[k++];
        assert.equal(e.step, step);
        assert.equal(e.scalars.length, 1);
        assert.equal(e.scalars[0].tag, tag);
        assert.equal(e.scalars[0].value, Math.fround(step * 0.5 + i));
        assert.ok(e.wallTime > 1.7e9 && e.wallTime < 1.8e9);
      }
    }
    // Wall times never go backwards.
    for (let i = 1; i < events.length; i++) assert.ok(events[i].wallTime >= events[i - 1].wallTime);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("each flush ends on a record boundary and a resumed writer starts a new file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tb-"));
  try {
    const now = () => 1_700_000_000_000;
    const a = new TensorBoardWriter(dir, { host: "h", now });
    a.scalar("loss", 1, 1);
    await a.flush();
    const size1 = statSync(a.path).size;
    readRecords(readFileSync(a.path)); // parses completely: no partial record
    a.scalar("loss", 2, 2);
    a.scalar("loss", 3, 3);
    await a.flush();
    assert.ok(statSync(a.path).size > size1);
    // Simulate a crash: `a` is never closed. The resumed run opens a new writer in the same second.
    const b = new TensorBoardWriter(dir, { host: "h", now });
    assert.notEqual(b.path, a.path);
    b.scalar("loss", 4, 4);
    await b.close();
    const files = eventFiles(dir);
    assert.equal(files.length, 2);
    const steps = files.flatMap((f) =>
      readRecords(readFileSync(join(dir, f))).map(decodeEvent).filter((e) => e.scalars.length)
        .map((e) => e.step)
    );
    assert.deepEqual(steps.sort(), [1, 2, 3, 4]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("queue flushes automatically when long", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tb-"));
  try {
    const tb = new TensorBoardWriter(dir, { maxQueue: 5 });
    for (let i = 0; i < 5; i++) tb.scalar("x", i, i);
    // The background flush was scheduled by the 5th scalar; flush() waits for it.
    await tb.flush();
    const events = readRecords(readFileSync(tb.path)).map(decodeEvent);
    assert.equal(events.length, 6);
    await tb.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
