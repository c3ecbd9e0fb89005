/**
 * TensorBoard scalar logs: `events.out.tfevents.<secs>.<host>` files that `tensorboard --logdir`
 * reads.
 *
 * The file is a sequence of TFRecords, each framed as
 * `uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)`
 * (little endian), where `data` is one serialized `tensorflow.Event` protobuf. The first record
 * is an Event with `file_version = "brain.Event:2"`; every later one carries a `Summary` with one
 * `simple_value` per scalar. Protobuf wire encoding uses `@bufbuild/protobuf`'s `BinaryWriter`;
 * CRC32C uses `@aws-crypto/crc32c`.
 *
 * Durability: scalars are queued in memory and appended by {@linkcode TensorBoardWriter.flush}
 * with one write of whole records followed by `fdatasync`, so after a crash the file ends on a
 * record boundary (at worst the last flush is missing or truncated, which TensorBoard tolerates).
 * Every writer starts a new file, so a resumed run adds a second events file next to the first
 * rather than appending to (or overwriting) the old one.
 *
 * @module
 */
import { closeSync, existsSync, fdatasyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { crc32c } from "@aws-crypto/crc32c";

/** The `file_version` TensorBoard expects in the first event of every file. */
export const FILE_VERSION = "brain.Event:2";

/**
 * The masked CRC32C used by TFRecord framing: `((crc >>> 15) | (crc << 17)) + 0xa282ead8`,
 * as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { maskedCrc32c } from "./tensorboard.ts";
 * const m = maskedCrc32c(new TextEncoder().encode("123456789"));
 * ```
 */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/**
 * Frame one record: length, masked CRC of the length, data, masked CRC of the data.
 *
 * @example
 * ```ts
 * import { tfRecord } from "./tensorboard.ts";
 * const bytes = tfRecord(new Uint8Array([1, 2, 3])); // 8 + 4 + 3 + 4 = 19 bytes
 * ```
 */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Fields of `tensorflow.Event` that this writer emits. */
export interface EventFields {
  /** Seconds since the epoch (field 1, double). */
  wallTime: number;
  /** Global step (field 2, int64). */
  step: number;
  /** Field 3, only in the first event of a file. */
  fileVersion?: string;
  /** Field 5 (`Summary`), each becoming a `Summary.Value` with `tag` (1) and `simple_value` (2). */
  scalars?: { tag: string; value: number }[];
}

/**
 * Serialize one `tensorflow.Event` protobuf (wall_time, step, file_version or a scalar summary).
 *
 * @example
 * ```ts
 * import { encodeEvent } from "./tensorboard.ts";
 * const bytes = encodeEvent({ wallTime: 1.7e9, step: 3, scalars: [{ tag: "loss", value: 0.5 }] });
 * ```
 */
export function encodeEvent(e: EventFields): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Bit64).double(e.wallTime);
  w.tag(2, WireType.Varint).int64(Math.trunc(e.step));
  if (e.fileVersion !== undefined) w.tag(3, WireType.LengthDelimited).string(e.fileVersion);
  if (e.scalars !== undefined) {
    w.tag(5, WireType.LengthDelimited).fork(); // Summary
    for (const s of e.scalars) {
      w.tag(1, WireType.LengthDelimited).fork(); // Summary.Value
      w.tag(1, WireType.LengthDelimited).string(s.tag);
      w.tag(2, WireType.Bit32).float(s.value);
      w.join();
    }
    w.join();
  }
  return w.finish();
}

/** Options of {@linkcode TensorBoardWriter}. */
export interface TensorBoardWriterOptions {
  /** Flush automatically once this many scalars are queued (default 500). */
  maxQueue?: number;
  /** Flush automatically when a scalar arrives this long after the last flush (default 30 s). */
  flushMs?: number;
  /** Host name in the file name (default `os.hostname()`). */
  host?: string;
  /** Clock in milliseconds (default `Date.now`); for tests. */
  now?: () => number;
}

/**
 * Writes TensorBoard scalar events to a new `events.out.tfevents.<secs>.<host>` file in `dir`.
 * The directory is created and the file_version event written when the writer is constructed.
 *
 * @example
 * ```ts
 * import { TensorBoardWriter } from "./tensorboard.ts";
 * const tb = new TensorBoardWriter("runs/exp/tensorboard");
 * tb.scalar("Validation/Median Loss", 0.0123, 5);
 * await tb.flush();
 * await tb.close();
 * ```
 */
export class TensorBoardWriter {
  /** Full path of the events file this writer appends to. */
  readonly path: string;
  #queue: Uint8Array[] = [];
  #queuedScalars = 0;
  #chain: Promise<void> = Promise.resolve();
  #error: unknown = undefined;
  #closed = false;
  #lastFlush: number;
  readonly #maxQueue: number;
  readonly #flushMs: number;
  readonly #now: () => number;

  /**
   * Create `dir` if needed and start a new events file there (never reusing an existing one),
   * beginning with the file_version event.
   */
  constructor(dir: string, options: TensorBoardWriterOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxQueue = options.maxQueue ?? 500;
    this.#flushMs = options.flushMs ?? 30_000;
    mkdirSync(dir, { recursive: true });
    const host = (options.host ?? safeHostname()).replace(/[^A-Za-z0-9._-]/g, "_");
    const secs = Math.floor(this.#now() / 1000);
    let path = join(dir, `events.out.tfevents.${secs}.${host}`);
    // Never reuse a file: a resumed run within the same second gets a suffixed name.
    for (let n = 1; existsSync(path); n++) {
      path = join(dir, `events.out.tfevents.${secs}.${host}.${process.pid}.${n}`);
    }
    this.path = path;
    const first = tfRecord(
      encodeEvent({ wallTime: this.#now() / 1000, step: 0, fileVersion: FILE_VERSION }),
    );
    const fd = openSync(path, "wx");
    try {
      writeSync(fd, first);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#lastFlush = this.#now();
  }

  /**
   * Queue one scalar. Non-finite values are written as they are (TensorBoard shows NaN/inf).
   * Flushes in the background when the queue is long or the last flush is old; errors of
   * background flushes are thrown by the next {@linkcode flush} or {@linkcode close}.
   */
  scalar(tag: string, value: number, step: number): void {
    if (this.#closed) throw new Error(`TensorBoardWriter for ${this.path} is closed`);
    if (!Number.isFinite(step)) throw new Error(`TensorBoard step must be finite, got ${step}`);
    this.#queue.push(
      tfRecord(encodeEvent({ wallTime: this.#now() / 1000, step, scalars: [{ tag, value }] })),
    );
    this.#queuedScalars++;
    if (
      this.#queuedScalars >= this.#maxQueue || this.#now() - this.#lastFlush >= this.#flushMs
    ) {
      this.#schedule();
    }
  }

  /** Append everything queued to the file (one write of whole records, then fdatasync). */
  async flush(): Promise<void> {
    this.#schedule();
    await this.#chain;
    this.#throwPending();
  }

  /** Flush and stop accepting scalars. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (!this.#closed) {
      await this.flush().finally(() => {
        this.#closed = true;
      });
    }
    this.#throwPending();
  }

  #schedule(): void {
    if (this.#queue.length === 0) return;
    const records = this.#queue;
    this.#queue = [];
    this.#queuedScalars = 0;
    this.#lastFlush = this.#now();
    const bytes = concat(records);
    this.#chain = this.#chain.then(async () => {
      const fh = await open(this.path, "a");
      try {
        await fh.write(bytes);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }).catch((e) => {
      this.#error ??= e;
    });
  }

  #throwPending(): void {
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      throw e;
    }
  }
}

function safeHostname(): string {
  try {
    return hostname() || "localhost";
  } catch {
    return "localhost";
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
