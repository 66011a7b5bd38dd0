import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelReadError } from '../model';

/**
 * Synchronous random access to the bytes of a protobuf message, from memory or from a file
 * through a small window. The decoder skips length-delimited payloads (raw_data) by moving the
 * position, so those bytes are never read from disk.
 */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  /** Returns at least `min(want, size-pos)` bytes starting at pos (may return more). */
  window(pos: number, want: number): { buf: Uint8Array; start: number };
  close(): void;
}

export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(readonly name: string, private readonly bytes: Uint8Array) {
    this.size = bytes.length;
  }
  window(): { buf: Uint8Array; start: number } {
    return { buf: this.bytes, start: 0 };
  }
  close(): void {}
}

const WINDOW = 16 * 1024;

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number;
  private buf: Buffer = Buffer.alloc(0);
  private bufStart = 0;
  /** Bytes actually read from disk. */
  bytesRead = 0;
  private lastProgress = 0;

  constructor(readonly name: string, private readonly onProgress?: (fraction: number) => void) {
    try {
      this.fd = openSync(name, 'r');
    } catch (e) {
      throw new ModelReadError(name, `cannot open: ${(e as Error).message}`);
    }
    const st = fstatSync(this.fd);
    if (!st.isFile()) {
      closeSync(this.fd);
      throw new ModelReadError(name, 'not a regular file');
    }
    this.size = st.size;
  }

  window(pos: number, want: number): { buf: Uint8Array; start: number } {
    const end = Math.min(this.size, pos + want);
    if (pos >= this.bufStart && end <= this.bufStart + this.buf.length) return { buf: this.buf, start: this.bufStart };
    const len = Math.min(this.size - pos, Math.max(want, WINDOW));
    const buf = Buffer.allocUnsafe(len);
    let done = 0;
    while (done < len) {
      const n = readSync(this.fd, buf, done, len - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    this.bytesRead += done;
    if (this.onProgress) {
      const now = Date.now();
      if (now - this.lastProgress > 50) { this.lastProgress = now; this.onProgress(pos / this.size); }
    }
    this.buf = buf.subarray(0, done);
    this.bufStart = pos;
    return { buf: this.buf, start: this.bufStart };
  }

  close(): void {
    closeSync(this.fd);
  }
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/**
 * A protobuf reader over a ByteSource, bounded by `end`. Every length is checked against the
 * enclosing message's end, so a corrupt length field is an error naming the file, not a huge
 * allocation or a read past the end.
 */
const utf8 = new TextDecoder('utf-8');

export class ProtoReader {
  pos: number;
  // The window last handed out by the source: bytes [winStart, winEnd) of the message's source.
  private win: Uint8Array = new Uint8Array(0);
  private winStart = 0;
  private winEnd = 0;

  constructor(readonly src: ByteSource, pos: number, readonly end: number) {
    this.pos = pos;
  }

  /** The source bytes at [pos, pos+n) as a view, fetching a new window only when needed. */
  private view(n: number): Uint8Array {
    if (this.pos < this.winStart || this.pos + n > this.winEnd) {
      const w = this.src.window(this.pos, n);
      this.win = w.buf;
      this.winStart = w.start;
      this.winEnd = w.start + w.buf.length;
      if (this.pos + n > this.winEnd) this.fail('unexpected end of file: the file is truncated or corrupt');
    }
    const off = this.pos - this.winStart;
    return this.win.subarray(off, off + n);
  }

  fail(problem: string): never {
    throw new ModelReadError(this.src.name, `${problem} (at byte ${this.pos})`);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  private byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end of message: the file is truncated or corrupt');
    if (this.pos < this.winStart || this.pos >= this.winEnd) this.view(1);
    return this.win[this.pos++ - this.winStart];
  }

  /** Varint as a JS number; values beyond 2^53 lose precision, which only matters for int64 data we do not keep. */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    this.fail('malformed varint: more than 10 bytes');
  }

  /** Varint as int64 (two's complement), exact. */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    this.fail('malformed varint: more than 10 bytes');
  }

  /** int64/int32 fields as numbers, negative values decoded from two's complement. */
  int64(): number {
    // Fast path: non-negative values below 2^49 (dims, versions, attributes) fit a double exactly.
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    this.pos = start;
    return Number(this.varintBig());
  }

  tag(): { field: number; wire: number } {
    const t = this.varint();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 0) this.fail('invalid field number 0');
    return { field, wire };
  }

  /** Length of a length-delimited field, checked against the message end. */
  length(): number {
    const n = this.varint();
    if (n > this.end - this.pos) this.fail(`length field ${n} runs past the end of its message (${this.end - this.pos} bytes left)`);
    return n;
  }

  bytes(n: number): Uint8Array {
    if (n > this.end - this.pos) this.fail('unexpected end of message');
    const out = this.view(n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.length();
    return utf8.decode(this.bytes(n));
  }

  float32(): number {
    const b = this.bytes(4);
    return Buffer.from(b.buffer, b.byteOffset, 4).readFloatLE(0);
  }

  float64(): number {
    const b = this.bytes(8);
    return Buffer.from(b.buffer, b.byteOffset, 8).readDoubleLE(0);
  }

  /** A sub-reader for an embedded message; it starts with this reader's window. */
  sub(): ProtoReader {
    const n = this.length();
    const r = new ProtoReader(this.src, this.pos, this.pos + n);
    r.win = this.win;
    r.winStart = this.winStart;
    r.winEnd = this.winEnd;
    this.pos += n;
    return r;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_I64: this.advance(8); return;
      case WIRE_LEN: this.advance(this.length()); return;
      case WIRE_I32: this.advance(4); return;
      default: this.fail(`unsupported wire type ${wire} (groups are not used by ONNX)`);
    }
  }

  advance(n: number): void {
    if (n > this.end - this.pos) this.fail('unexpected end of message');
    this.pos += n;
  }

  /** Repeated scalar: packed (one LEN field) or not (one value per tag). */
  repeated(wire: number, one: () => number, out: number[]): void {
    if (wire === WIRE_LEN) {
      const n = this.length();
      const end = this.pos + n;
      while (this.pos < end) out.push(one());
      if (this.pos !== end) this.fail('packed field overruns its length');
    } else {
      out.push(one());
    }
  }
}
