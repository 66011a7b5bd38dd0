// Writes safetensors files: an 8-byte little-endian header length N, N bytes of JSON header
// (padded with spaces so the data starts at a multiple of 8), then the tensors' bytes, contiguous.
// Tensors are laid out by element size, largest first, then by name (as huggingface/safetensors
// does), so every tensor starts at a multiple of its element size and 8-byte tensors at a multiple
// of 8: a reader can view them in place. The output passes safetensors-reader's validation.
import { endianness } from 'node:os';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from './atomic-write';

export type SafetensorsData = Float32Array | Float64Array | BigInt64Array;

export interface SafetensorsTensor {
  name: string;
  shape: readonly number[];
  data: SafetensorsData;
}

interface Placed {
  name: string;
  dtype: 'F32' | 'F64' | 'I64';
  shape: readonly number[];
  bytes: Uint8Array;
}

/** The file's bytes as parts (header, then each tensor's bytes as a view, not a copy). */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Record<string, string> = {}): Uint8Array[] {
  if (endianness() !== 'LE') throw new Error('safetensors writing needs a little-endian machine');
  const seen = new Set<string>();
  const placed: Placed[] = tensors.map((t) => {
    if (t.name === '__metadata__') throw new Error("a tensor cannot be named '__metadata__'");
    if (seen.has(t.name)) throw new Error(`tensor '${t.name}' is listed twice`);
    seen.add(t.name);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`tensor '${t.name}': shape [${t.shape.join(', ')}] must be non-negative integers`);
    const elements = t.shape.reduce((p, d) => p * d, 1);
    if (elements !== t.data.length) throw new Error(`tensor '${t.name}': shape [${t.shape.join(', ')}] holds ${elements} values but the data has ${t.data.length}`);
    const dtype = t.data instanceof Float32Array ? 'F32' : t.data instanceof Float64Array ? 'F64' : t.data instanceof BigInt64Array ? 'I64' : undefined;
    if (!dtype) throw new Error(`tensor '${t.name}': data must be a Float32Array, Float64Array or BigInt64Array`);
    return { name: t.name, dtype, shape: t.shape, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
  });
  const size = (p: Placed) => (p.dtype === 'F32' ? 4 : 8);
  placed.sort((a, b) => size(b) - size(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`metadata '${k}' must be a string, found ${typeof v}`);
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const p of placed) {
    header[p.name] = { dtype: p.dtype, shape: p.shape, data_offsets: [offset, offset + p.bytes.length] };
    offset += p.bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return [len, json, ...placed.map((p) => p.bytes)];
}

/** Writes a safetensors file atomically (a temporary file renamed into place); returns its size. */
export function writeSafetensors(file: string, tensors: readonly SafetensorsTensor[], metadata: Record<string, string> = {}): { bytes: number } {
  const parts = encodeSafetensors(tensors, metadata);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeAtomically(file, parts);
  return { bytes: parts.reduce((n, p) => n + p.length, 0) };
}
