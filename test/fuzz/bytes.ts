// Byte-level helpers shared by the mutators. Mutations never modify a seed in place: every
// function here returns a new Buffer, so one seed file serves every case in a run.
import * as zlib from 'node:zlib';
import type { Rng } from './prng';

/** A half-open byte range [start, end). */
export interface Span {
  start: number;
  end: number;
}

/** `buf` with `deleteCount` bytes at `pos` replaced by `insert`. */
export function splice(buf: Uint8Array, pos: number, deleteCount: number, insert: Uint8Array = new Uint8Array(0)): Buffer {
  const p = Math.max(0, Math.min(pos, buf.length));
  const d = Math.max(0, Math.min(deleteCount, buf.length - p));
  return Buffer.concat([buf.subarray(0, p), insert, buf.subarray(p + d)]);
}

/** Protobuf varint. `width` pads with continuation bytes (a legal, non-canonical encoding). */
export function encodeVarint(value: bigint, width = 0): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    out.push(Number(v & 0x7fn));
    v >>= 7n;
  } while (v > 0n);
  while (out.length < width) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return Buffer.from(out);
}

/** The little-endian unsigned field of `size` bytes at `at`, rewritten to `value` (wrapping). */
export function writeUnsigned(buf: Buffer, at: number, size: 1 | 2 | 4 | 8, value: bigint): Buffer {
  const out = Buffer.from(buf);
  if (at < 0 || at + size > out.length) return out;
  const v = BigInt.asUintN(size * 8, value);
  if (size === 8) out.writeBigUInt64LE(v, at);
  else out.writeUIntLE(Number(v), at, size);
  return out;
}

export function readUnsigned(buf: Buffer, at: number, size: 1 | 2 | 4 | 8): bigint {
  if (at < 0 || at + size > buf.length) return 0n;
  return size === 8 ? buf.readBigUInt64LE(at) : BigInt(buf.readUIntLE(at, size));
}

/**
 * A replacement for a length, size or offset field holding `old`: the edge values that break
 * parsers (zero, one off, the type's limits, the file's size, 2^31/2^32/2^53 boundaries), or a
 * random value of the field's width.
 */
export function edgeValue(rng: Rng, old: bigint, bits: number, fileSize: number): bigint {
  const max = (1n << BigInt(bits)) - 1n;
  const size = BigInt(fileSize);
  const candidates: bigint[] = [
    0n, 1n, old - 1n, old + 1n, old - BigInt(rng.range(2, 64)), old + BigInt(rng.range(2, 64)),
    old * 2n, old / 2n, size, size + 1n, size - 1n, max, max - 1n, max >> 1n, (max >> 1n) + 1n,
  ];
  if (bits > 32) candidates.push(0xffffffffn, 0x100000000n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n);
  if (bits > 16) candidates.push(0x7fffffffn, 0x80000000n, 0xffffn, 0x10000n);
  const v = rng.chance(0.15) ? BigInt(rng.u32()) * BigInt(rng.u32()) : rng.pick(candidates);
  return BigInt.asUintN(bits, v);
}

/** A position in `spans`, each span weighted by its size. */
export function pickInSpans(rng: Rng, spans: readonly Span[], fallbackSize: number): number {
  const total = spans.reduce((s, x) => s + Math.max(0, x.end - x.start), 0);
  if (total === 0) return rng.int(fallbackSize);
  let r = rng.int(total);
  for (const s of spans) {
    const n = Math.max(0, s.end - s.start);
    if (r < n) return s.start + r;
    r -= n;
  }
  return rng.int(fallbackSize);
}

/** 1 to 8 bit flips; most land in `structure` (headers, not tensor payloads), some anywhere. */
export function flipBits(rng: Rng, bytes: Buffer, structure: readonly Span[]): { bytes: Buffer; note: string } {
  const out = Buffer.from(bytes);
  const n = rng.chance(0.5) ? 1 : rng.range(2, 8);
  // A burst (flips close together) corrupts one field thoroughly; scattered flips corrupt several.
  const burst = rng.chance(0.3);
  let anchor = pickInSpans(rng, structure, out.length);
  const at: string[] = [];
  for (let i = 0; i < n; i++) {
    const pos = burst ? Math.min(out.length - 1, anchor + rng.int(16)) : rng.chance(0.75) ? pickInSpans(rng, structure, out.length) : rng.int(out.length);
    if (!burst) anchor = pos;
    const bit = rng.int(8);
    out[pos] ^= 1 << bit;
    at.push(`${pos}.${bit}`);
  }
  return { bytes: out, note: `flipped bit${n === 1 ? '' : 's'} ${at.join(' ')}` };
}

/** Cuts the file at an interesting point (plus a small offset) or anywhere. */
export function truncateAt(rng: Rng, bytes: Buffer, points: readonly number[]): { bytes: Buffer; note: string } {
  let at: number;
  let why: string;
  if (points.length > 0 && rng.chance(0.7)) {
    const p = rng.pick(points);
    const delta = rng.chance(0.5) ? 0 : rng.range(-3, 3);
    at = Math.max(0, Math.min(bytes.length - 1, p + delta));
    why = `structural point ${p}${delta ? ` ${delta > 0 ? '+' : ''}${delta}` : ''}`;
  } else {
    at = rng.chance(0.2) ? rng.int(Math.min(bytes.length, 256)) : rng.int(bytes.length);
    why = 'random point';
  }
  return { bytes: Buffer.from(bytes.subarray(0, at)), note: `truncated to ${at} of ${bytes.length} bytes (${why})` };
}

/**
 * Copies a chunk from `donor` (another place of this file or another file of the same format)
 * over, or into, `bytes`. Chunks start and end at interesting points when given, so whole
 * records move; otherwise anywhere.
 */
export function spliceChunk(
  rng: Rng, bytes: Buffer, donor: Buffer, donorName: string, points: readonly number[], donorPoints: readonly number[],
): { bytes: Buffer; note: string } {
  const len = rng.chance(0.5) ? rng.range(1, 64) : rng.range(65, 8192);
  const from = donorPoints.length && rng.chance(0.6) ? rng.pick(donorPoints) : rng.int(donor.length);
  const chunk = donor.subarray(from, Math.min(donor.length, from + len));
  const to = points.length && rng.chance(0.6) ? rng.pick(points) : rng.int(bytes.length);
  const insert = rng.chance(0.4);
  const out = splice(bytes, to, insert ? 0 : chunk.length, chunk);
  return { bytes: out, note: `${insert ? 'inserted' : 'overwrote'} ${chunk.length} bytes at ${to} with ${donorName}[${from}..${from + chunk.length})` };
}

/**
 * How many copies a repeating splice makes: a few, or enough to cross the limits that only
 * counts reveal (quadratic loops; argument spreads, which the runner's half-size stack makes
 * overflow at ~37k), within `maxBytes`. No more than 40k: a linear reader and analysis handle
 * that many records in a quarter of the time limit, even on a busy machine.
 */
export function repeatCount(rng: Rng, unitBytes: number, maxBytes = 2 * 1024 * 1024): number {
  const k = rng.pick([2, 1000, 10_000, 40_000]);
  return Math.max(1, Math.min(k, Math.floor(maxBytes / Math.max(1, unitBytes))));
}

/** CRC-32 as ZIP records it. */
export function crc32(data: Uint8Array): number {
  return zlib.crc32(data) >>> 0;
}
