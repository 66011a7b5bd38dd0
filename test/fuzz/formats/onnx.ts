// ONNX: a protobuf ModelProto. The mutators see the file as a tree of length-delimited fields
// (found with a schema of the message types that nest, below), so a length edit can lie at one
// level while every enclosing length stays consistent: that is what reaches the decoder's checks
// deep inside a graph instead of failing at the first byte.
import { encodeVarint, edgeValue, flipBits, repeatCount, spliceChunk, splice, truncateAt } from '../bytes';
import type { Span } from '../bytes';
import type { Rng } from '../prng';
import type { FormatFuzzer, Landmarks, Mutation, MutationKind, Seed } from './types';

/** A length-delimited field: tag at tagPos, varint length at lenPos, payload [start, end). */
export interface LenField {
  tagPos: number;
  lenPos: number;
  lenBytes: number;
  len: number;
  start: number;
  end: number;
  /** The payload's message type ('bytes' for strings and raw data, 'packed' for packed scalars). */
  type: string;
  field: number;
  /** Index of the enclosing LenField, -1 at the top level. */
  parent: number;
}

export interface OnnxLayout {
  fields: LenField[];
  /** Every field's tag position, at every level. */
  tags: number[];
  /** Tensor payloads (raw_data and typed data). */
  bulk: Span[];
  size: number;
}

// field number -> message type, for the messages of onnx.proto that nest.
const SCHEMA: Record<string, Record<number, string>> = {
  Model: { 7: 'Graph', 8: 'OperatorSetId', 14: 'StringStringEntry', 25: 'Function' },
  Graph: { 1: 'Node', 5: 'Tensor', 11: 'ValueInfo', 12: 'ValueInfo', 13: 'ValueInfo', 15: 'SparseTensor' },
  Node: { 5: 'Attribute' },
  Attribute: { 5: 'Tensor', 6: 'Graph', 10: 'Tensor', 11: 'Graph', 22: 'SparseTensor' },
  Tensor: { 1: 'packed', 13: 'StringStringEntry', 4: 'packed', 5: 'packed', 7: 'packed', 10: 'packed', 11: 'packed' },
  SparseTensor: { 1: 'Tensor', 2: 'Tensor', 3: 'packed' },
  ValueInfo: { 2: 'Type' },
  Type: { 1: 'TypeTensor' },
  TypeTensor: { 2: 'Shape' },
  Shape: { 1: 'Dim' },
  Function: { 7: 'Node' },
};
const BULK_FIELDS = new Set([4, 5, 7, 9, 10, 11]);

function readVarint(buf: Buffer, pos: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos < end; i++) {
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return { value, next: pos };
    mul *= 128;
  }
  return undefined;
}

export function analyzeOnnx(buf: Buffer): OnnxLayout {
  const layout: OnnxLayout = { fields: [], tags: [], bulk: [], size: buf.length };
  const walk = (start: number, end: number, type: string, parent: number, depth: number): void => {
    let p = start;
    while (p < end && depth < 100) {
      const tagPos = p;
      const tag = readVarint(buf, p, end);
      if (!tag) return;
      p = tag.next;
      const field = Math.floor(tag.value / 8);
      const wire = tag.value & 7;
      layout.tags.push(tagPos);
      if (wire === 0) {
        const v = readVarint(buf, p, end);
        if (!v) return;
        p = v.next;
      } else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else if (wire === 2) {
        const len = readVarint(buf, p, end);
        if (!len || len.next + len.value > end) return;
        const sub = SCHEMA[type]?.[field] ?? 'bytes';
        const f: LenField = { tagPos, lenPos: p, lenBytes: len.next - p, len: len.value, start: len.next, end: len.next + len.value, type: sub, field, parent };
        const index = layout.fields.push(f) - 1;
        if (type === 'Tensor' && BULK_FIELDS.has(field)) layout.bulk.push({ start: f.start, end: f.end });
        else if (SCHEMA[sub]) walk(f.start, f.end, sub, index, depth + 1);
        p = f.end;
      } else return;
    }
  };
  walk(0, buf.length, 'Model', -1, 0);
  return layout;
}

/**
 * Splices `ins` over [pos, pos+del) inside the payload of field `owner` (-1: top level) and
 * rewrites the lengths of `owner` and every field enclosing it, so only the edit itself is wrong.
 */
export function editInside(buf: Buffer, layout: OnnxLayout, owner: number, pos: number, del: number, ins: Uint8Array): Buffer {
  let out = splice(buf, pos, del, ins);
  let delta = ins.length - del;
  for (let i = owner; i >= 0 && delta !== 0; i = layout.fields[i].parent) {
    const a = layout.fields[i];
    const enc = encodeVarint(BigInt(a.len + delta));
    out = splice(out, a.lenPos, a.lenBytes, enc);
    delta += enc.length - a.lenBytes;
  }
  return out;
}

function complement(bulk: Span[], size: number): Span[] {
  const sorted = [...bulk].sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  let at = 0;
  for (const s of sorted) {
    if (s.start > at) out.push({ start: at, end: s.start });
    at = Math.max(at, s.end);
  }
  if (at < size) out.push({ start: at, end: size });
  return out;
}

function messages(layout: OnnxLayout): number[] {
  return layout.fields.map((_, i) => i).filter((i) => SCHEMA[layout.fields[i].type]);
}

function lengthEdit(rng: Rng, seed: Seed<OnnxLayout>): Mutation {
  const { bytes, layout } = seed;
  if (rng.chance(0.25)) return dimsEdit(rng, seed);
  if (rng.chance(0.2)) return externalize(rng, seed);
  const i = rng.chance(0.7) ? rng.pick(messages(layout)) : rng.int(layout.fields.length);
  const f = layout.fields[i];
  const value = rng.chance(0.4) ? BigInt(Math.max(0, f.len + rng.range(-8, 8))) : edgeValue(rng, BigInt(f.len), 64, bytes.length);
  const mode = rng.weighted({ canonical: 5, sameWidth: 3, overlong: 1, elevenBytes: 1 });
  let enc: Buffer;
  if (mode === 'sameWidth' && value < 1n << BigInt(7 * f.lenBytes)) enc = encodeVarint(value, f.lenBytes);
  else if (mode === 'overlong') enc = encodeVarint(value, 10);
  // A varint longer than 10 bytes is malformed; decoders must stop rather than keep shifting.
  else if (mode === 'elevenBytes') enc = Buffer.concat([Buffer.alloc(10, 0xff), Buffer.from([0x01])]);
  else enc = encodeVarint(value);
  // Mostly keep the enclosing lengths consistent, so the lie is seen where it is told.
  const consistent = rng.chance(0.75);
  const out = consistent ? editInside(bytes, layout, f.parent, f.lenPos, f.lenBytes, enc) : splice(bytes, f.lenPos, f.lenBytes, enc);
  return { bytes: out, note: `${f.type} field ${f.field} at ${f.tagPos}: length ${f.len} -> ${mode === 'elevenBytes' ? '11-byte varint' : value} (${mode}${consistent ? ', enclosing lengths fixed' : ''})` };
}

/** A TensorProto.external_data entry (field 13, a StringStringEntry). */
function externalEntry(key: string, value: string): Buffer {
  const str = (field: number, text: string) => {
    const b = Buffer.from(text);
    return Buffer.concat([Buffer.from([(field << 3) | 2]), encodeVarint(BigInt(b.length)), b]);
  };
  const body = Buffer.concat([str(1, key), str(2, value)]);
  return Buffer.concat([Buffer.from([(13 << 3) | 2]), encodeVarint(BigInt(body.length)), body]);
}

/**
 * An initializer's raw_data moved "outside" the file: external_data entries whose location,
 * offset and length are the strings an ONNX file keeps its external lengths in, with edge values.
 */
function externalize(rng: Rng, seed: Seed<OnnxLayout>): Mutation {
  const { bytes, layout } = seed;
  const raws = layout.fields.map((f, i) => ({ f, i })).filter(({ f }) => f.type === 'bytes' && f.field === 9 && layout.fields[f.parent]?.type === 'Tensor');
  if (raws.length === 0) return lengthEdit(rng, seed);
  const { f: raw } = rng.pick(raws);
  const ti = raw.parent;
  const tensor = layout.fields[ti];
  const size = bytes.length;
  const number = () => rng.pick(['0', String(raw.start), String(raw.len), String(size), String(size + 1), String(size * 2), '-1', '1e3', '0x10', ' 1', '', '9007199254740993', '18446744073709551615']);
  const kv: Array<[string, string]> = [['location', rng.pick(['model.onnx', 'config.json', 'missing.bin', '', '.', '../model.onnx', '/etc/hostname', 'a/../model.onnx'])]];
  if (rng.chance(0.7)) kv.push(['offset', number()]);
  if (rng.chance(0.6)) kv.push(['length', number()]);
  // The tensor without its raw_data, plus the entries and data_location = EXTERNAL (1).
  const payload = Buffer.concat([
    bytes.subarray(tensor.start, raw.tagPos), bytes.subarray(raw.end, tensor.end), ...kv.map(([k, v]) => externalEntry(k, v)), Buffer.from([0x70, 0x01]),
  ]);
  return {
    bytes: editInside(bytes, layout, ti, tensor.start, tensor.len, payload),
    note: `initializer at ${tensor.tagPos} made external: ${kv.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`,
  };
}

/** Tensor dims are what sizes are computed from: give one an edge value. */
function dimsEdit(rng: Rng, seed: Seed<OnnxLayout>): Mutation {
  const { bytes, layout } = seed;
  const dims = layout.fields.map((f, i) => ({ f, i })).filter(({ f }) => f.type === 'packed' && f.field === 1 && layout.fields[f.parent]?.type === 'Tensor');
  if (dims.length === 0) return lengthEdit(rng, seed);
  const { f, i } = rng.pick(dims);
  const values: bigint[] = [];
  for (let p = f.start; p < f.end;) {
    const v = readVarint(bytes, p, f.end);
    if (!v) break;
    values.push(BigInt(v.value));
    p = v.next;
  }
  const k = rng.int(Math.max(1, values.length));
  const edge = rng.pick([0n, -1n, 1n << 31n, 1n << 32n, (1n << 53n) + 1n, 1n << 62n, -(1n << 63n), BigInt(rng.u32()) * 4096n]);
  if (values.length === 0 || rng.chance(0.2)) values.push(edge);
  else values[k] = edge;
  const payload = Buffer.concat(values.map((v) => encodeVarint(v)));
  return { bytes: editInside(bytes, layout, i, f.start, f.len, payload), note: `tensor dims at ${f.tagPos}: dim ${k} -> ${edge}` };
}

function spliceEdit(rng: Rng, seed: Seed<OnnxLayout>, donors: ReadonlyArray<Seed<OnnxLayout>>): Mutation {
  const { bytes, layout } = seed;
  const donor = rng.chance(0.5) ? seed : rng.pick(donors);
  const mode = rng.weighted({ chunk: 3, swapMessage: 3, dropField: 2, repeatField: 3 });
  if (mode === 'chunk') return spliceChunk(rng, bytes, donor.bytes, donor.name, layout.tags, donor.layout.tags);
  const ms = messages(layout);
  const i = rng.pick(ms);
  const f = layout.fields[i];
  if (mode === 'swapMessage') {
    // Same message type from elsewhere, so the result is plausible protobuf with the wrong content.
    const same = donor.layout.fields.filter((g) => g.type === f.type);
    const g = same.length ? rng.pick(same) : rng.pick(donor.layout.fields);
    return {
      bytes: editInside(bytes, layout, i, f.start, f.len, donor.bytes.subarray(g.start, g.end)),
      note: `${f.type} at ${f.tagPos} replaced by ${g.type} from ${donor.name} at ${g.tagPos}`,
    };
  }
  const whole = bytes.subarray(f.tagPos, f.end);
  if (mode === 'dropField') return { bytes: editInside(bytes, layout, f.parent, f.tagPos, whole.length, new Uint8Array(0)), note: `dropped ${f.type} field ${f.field} at ${f.tagPos}` };
  return repeatField(rng, seed);
}

/** One field repeated many times in its message (as is, or emptied to its tag and a zero length). */
function repeatField(rng: Rng, seed: Seed<OnnxLayout>): Mutation {
  const { bytes, layout } = seed;
  // Mostly whole messages (nodes, attributes, initializers, value infos), which a decoder keeps
  // in lists. The type is picked first, so a rare kind of record is repeated as often as the
  // dims that outnumber it a hundred to one.
  const pool = rng.chance(0.7) ? messages(layout) : layout.fields.map((_, i) => i);
  const small = pool.filter((i) => layout.fields[i].end - layout.fields[i].tagPos <= 256);
  const candidates = small.length ? small : pool;
  const type = rng.pick([...new Set(candidates.map((i) => `${layout.fields[i].type}/${layout.fields[i].field}`))]);
  const i = rng.pick(candidates.filter((c) => `${layout.fields[c].type}/${layout.fields[c].field}` === type));
  const f = layout.fields[i];
  const emptied = rng.chance(0.5);
  const unit = emptied ? Buffer.concat([bytes.subarray(f.tagPos, f.lenPos), Buffer.from([0])]) : bytes.subarray(f.tagPos, f.end);
  const k = repeatCount(rng, unit.length);
  return {
    bytes: editInside(bytes, layout, f.parent, f.end, 0, Buffer.concat(new Array<Buffer>(k).fill(unit))),
    note: `${f.type} field ${f.field} at ${f.tagPos}${emptied ? ', emptied,' : ''} repeated ${k} times (${unit.length} bytes each)`,
  };
}

export const onnxFuzzer: FormatFuzzer<OnnxLayout> = {
  format: 'onnx',
  folderName: 'model.onnx',
  fileNames: ['model.onnx', 'Exported.ONNX'],
  analyze: analyzeOnnx,
  landmarks(layout: OnnxLayout): Landmarks {
    const points = new Set<number>(layout.tags);
    for (const f of layout.fields) { points.add(f.lenPos); points.add(f.start); points.add(f.end); }
    return { structure: complement(layout.bulk, layout.size), points: [...points].sort((a, b) => a - b) };
  },
  mutate(kind: MutationKind, rng: Rng, seed: Seed<OnnxLayout>, donors: ReadonlyArray<Seed<OnnxLayout>>): Mutation {
    const marks = seed.marks;
    switch (kind) {
      case 'bitflip': return flipBits(rng, seed.bytes, marks.structure);
      case 'truncate': return truncateAt(rng, seed.bytes, marks.points);
      case 'splice': return spliceEdit(rng, seed, donors);
      case 'length': return lengthEdit(rng, seed);
    }
  },
};
