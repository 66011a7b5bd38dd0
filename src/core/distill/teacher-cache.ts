// The teacher's outputs for a dataset, kept on disk so that a row the teacher has seen is never
// run through it again (later epochs, a second recipe on the same teacher and data). Keyed by
// what the teacher sees: its file's sha256 and the tokenized rows. Each signal is one file of
// per-row records at fixed offsets (a row of length L holds C logits, L x H hidden values or
// heads x L x L attention scores: only real tokens, never padding), written in place; a
// bitmap says which rows are filled and is rewritten atomically after their data, so a crash
// leaves at worst rows to compute again. Large signals are stored as float16.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from '../io/atomic-write';
import { decodeHalf, encodeHalf } from '../io/half-float';

export interface SignalShape {
  /** File name and feed key: 'logits', 'hidden_3', 'attn_2'. */
  key: string;
  /** Per row: `width` values, `L x width` (one per token) or `width x L x L` (heads x query x key). */
  kind: 'logits' | 'tokens' | 'pairs';
  width: number;
}

const FORMAT = 1;

function rowElements(s: SignalShape, len: number): number {
  return s.kind === 'logits' ? s.width : s.kind === 'tokens' ? len * s.width : s.width * len * len;
}

const bytesPer = (s: SignalShape) => (s.kind === 'logits' ? 4 : 2);

/** Bytes the cache would take for these rows. */
export function cacheBytes(signals: readonly SignalShape[], lengths: Int32Array): number {
  let total = 0;
  for (const s of signals) for (const len of lengths) total += rowElements(s, len) * bytesPer(s);
  return total;
}

interface SignalFile {
  shape: SignalShape;
  fd: number;
  /** Element offset of each row (length rows + 1). */
  offsets: Float64Array;
}

export class TeacherCache {
  private readonly done: Uint8Array;
  private dirty = false;
  private closed = false;

  private constructor(private readonly dir: string, private readonly files: SignalFile[], private readonly lengths: Int32Array, private readonly lock: string) {
    const bitmap = path.join(dir, 'done.bin');
    const n = lengths.length;
    const saved = existsSync(bitmap) ? readFileSync(bitmap) : undefined;
    this.done = saved && saved.length === n ? new Uint8Array(saved) : new Uint8Array(n);
  }

  /**
   * Opens (or creates) the cache for this key under `root`. Undefined, with the reason, when
   * another job holds it or the disk says no: the caller then runs the teacher every time.
   */
  static open(root: string, key: string, signals: readonly SignalShape[], lengths: Int32Array): { cache?: TeacherCache; reason?: string } {
    const dir = path.join(root, key);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      return { reason: `cannot create ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
    const lock = path.join(dir, 'lock');
    try {
      closeSync(openSync(lock, 'wx'));
    } catch {
      // A lock left by a job that died: it names its pid; a live one holds the cache.
      const holder = Number(readSafe(lock));
      if (holder && holder !== process.pid && alive(holder)) return { reason: `another job (pid ${holder}) is filling ${dir}` };
    }
    writeFileSync(lock, String(process.pid));
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.stringify({ format: FORMAT, rows: lengths.length, signals });
    // A different layout under the same key (an older format): start afresh.
    if (readSafe(manifestFile) !== manifest) {
      for (const s of signals) rmSync(path.join(dir, `${s.key}.bin`), { force: true });
      rmSync(path.join(dir, 'done.bin'), { force: true });
      writeAtomically(manifestFile, [Buffer.from(manifest)]);
    }
    const files: SignalFile[] = signals.map((shape) => {
      const offsets = new Float64Array(lengths.length + 1);
      for (let r = 0; r < lengths.length; r++) offsets[r + 1] = offsets[r] + rowElements(shape, lengths[r]);
      const file = path.join(dir, `${shape.key}.bin`);
      const fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
      const size = offsets[lengths.length] * bytesPer(shape);
      // Sparse: the holes take no disk until rows are written.
      if (statSync(file).size !== size) ftruncateSync(fd, size);
      return { shape, fd, offsets };
    });
    return { cache: new TeacherCache(dir, files, lengths, lock) };
  }

  /** True when every row of the batch is in the cache. */
  has(rows: ArrayLike<number>): boolean {
    for (let i = 0; i < rows.length; i++) if (!this.done[rows[i]]) return false;
    return true;
  }

  get filled(): number {
    let n = 0;
    for (const d of this.done) n += d;
    return n;
  }

  /** Stores the teacher's batch outputs ([batch, seq, ...] padded to `seq`) for these rows. */
  put(rows: ArrayLike<number>, seq: number, outputs: Record<string, Float32Array>): void {
    for (const f of this.files) {
      const batch = outputs[f.shape.key];
      if (!batch) throw new Error(`teacher cache: no output for '${f.shape.key}'`);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        if (this.done[r]) continue;
        const row = extractRow(f.shape, batch, i, seq, this.lengths[r]);
        const bytes = f.shape.kind === 'logits' ? new Uint8Array(row.buffer, row.byteOffset, row.byteLength) : new Uint8Array(encodeHalf(row).buffer);
        writeAll(f.fd, bytes, f.offsets[r] * bytesPer(f.shape));
      }
    }
    for (let i = 0; i < rows.length; i++) this.done[rows[i]] = 1;
    this.dirty = true;
  }

  /** The batch's cached outputs, zero-padded to `seq`, by signal key. */
  get(rows: ArrayLike<number>, seq: number): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    const b = rows.length;
    for (const f of this.files) {
      const s = f.shape;
      const per = s.kind === 'logits' ? s.width : s.kind === 'tokens' ? seq * s.width : s.width * seq * seq;
      const batch = new Float32Array(b * per);
      for (let i = 0; i < b; i++) {
        const r = rows[i];
        const n = f.offsets[r + 1] - f.offsets[r];
        const bytes = new Uint8Array(n * bytesPer(s));
        readAll(f.fd, bytes, f.offsets[r] * bytesPer(s));
        const row = s.kind === 'logits' ? new Float32Array(bytes.buffer) : decodeHalf(new Uint16Array(bytes.buffer));
        placeRow(s, row, batch, i, seq, this.lengths[r]);
      }
      out[s.key] = batch;
    }
    return out;
  }

  /** Makes the rows written so far durable: their data first, then the bitmap that says they are there. */
  flush(): void {
    if (!this.dirty || this.closed) return;
    for (const f of this.files) fsyncSync(f.fd);
    writeAtomically(path.join(this.dir, 'done.bin'), [this.done]);
    this.dirty = false;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    for (const f of this.files) closeSync(f.fd);
    rmSync(this.lock, { force: true });
    this.closed = true;
  }
}

function extractRow(s: SignalShape, batch: Float32Array, i: number, seq: number, len: number): Float32Array {
  if (s.kind === 'logits') return batch.slice(i * s.width, (i + 1) * s.width);
  if (s.kind === 'tokens') return batch.slice(i * seq * s.width, (i * seq + len) * s.width);
  const out = new Float32Array(s.width * len * len);
  for (let h = 0; h < s.width; h++) {
    for (let q = 0; q < len; q++) {
      const from = ((i * s.width + h) * seq + q) * seq;
      out.set(batch.subarray(from, from + len), (h * len + q) * len);
    }
  }
  return out;
}

function placeRow(s: SignalShape, row: Float32Array, batch: Float32Array, i: number, seq: number, len: number): void {
  if (s.kind === 'logits') { batch.set(row, i * s.width); return; }
  if (s.kind === 'tokens') { batch.set(row, i * seq * s.width); return; }
  for (let h = 0; h < s.width; h++) {
    for (let q = 0; q < len; q++) batch.set(row.subarray((h * len + q) * len, (h * len + q + 1) * len), ((i * s.width + h) * seq + q) * seq);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function readAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, position + done);
    if (n === 0) throw new Error('teacher cache: a cached row is cut short');
    done += n;
  }
}

function readSafe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
