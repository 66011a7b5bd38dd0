// safetensors: u64 header length N, N bytes of JSON, then the tensor bytes. The length edits
// aim at the two places sizes live: N itself, and the shapes and data_offsets in the JSON
// (rewritten as JSON, with N updated to match, so the reader gets past parsing to validation).
import { edgeValue, flipBits, readUnsigned, repeatCount, spliceChunk, truncateAt, writeUnsigned } from '../bytes';
import type { Rng } from '../prng';
import type { FormatFuzzer, Landmarks, Mutation, MutationKind, Seed } from './types';

export interface SafetensorsLayout {
  headerLength: number;
  header: Record<string, unknown>;
  /** Tensor names in data order with their absolute byte spans. */
  tensors: Array<{ name: string; start: number; end: number }>;
  size: number;
}

export function analyzeSafetensors(buf: Buffer): SafetensorsLayout {
  const headerLength = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const tensors = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([name, v]) => {
      const [b, e] = (v as { data_offsets: [number, number] }).data_offsets;
      return { name, start: dataStart + b, end: dataStart + e };
    })
    .sort((a, b) => a.start - b.start);
  return { headerLength, header, tensors, size: buf.length };
}

/** A new file from a header object (or raw header text) and the seed's data section. */
function withHeader(seed: Seed<SafetensorsLayout>, header: unknown, pad = 0): Buffer {
  const text = Buffer.from((typeof header === 'string' ? header : JSON.stringify(header)) + ' '.repeat(pad), 'utf8');
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([n, text, seed.bytes.subarray(8 + seed.layout.headerLength)]);
}

/** Values that have broken a size computation somewhere: off by one, negative, fractional, past 2^53, not numbers. */
function oddNumber(rng: Rng, old: number, fileSize: number): unknown {
  return rng.pick<unknown>([
    old + 1, old - 1, old + rng.range(2, 4096), 0, -1, -old, old + 0.5, 1e300, -0, 2 ** 53, 2 ** 53 + 2, 2 ** 64,
    fileSize, 2 ** 31, 2 ** 32, Number(edgeValue(rng, BigInt(Math.max(0, Math.floor(old))), 64, fileSize)), String(old), null, true, [old], { n: old },
  ]);
}

/** Stands in for a value too deeply nested to build as an object, replaced in the header text. */
const DEEP = '\u0000deep\u0000';

function headerEdit(rng: Rng, seed: Seed<SafetensorsLayout>): Mutation {
  const header = structuredClone(seed.layout.header);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = rng.pick(names);
  const entry = header[name] as { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };
  const other = header[rng.pick(names)] as { data_offsets: unknown[]; shape: unknown[] };
  const what = rng.weighted({ begin: 3, end: 3, shape: 3, both: 1, steal: 1, drop: 1, dtype: 1, deep: 0.5 });
  let change: string;
  switch (what) {
    case 'begin':
    case 'end': {
      const k = what === 'begin' ? 0 : 1;
      entry.data_offsets[k] = oddNumber(rng, entry.data_offsets[k] as number, seed.layout.size);
      change = `data_offsets[${k}] = ${JSON.stringify(entry.data_offsets[k])}`;
      break;
    }
    case 'shape': {
      const k = rng.int(entry.shape.length + 1);
      if (k === entry.shape.length) entry.shape.push(oddNumber(rng, 1, seed.layout.size));
      else entry.shape[k] = oddNumber(rng, entry.shape[k] as number, seed.layout.size);
      change = `shape = ${JSON.stringify(entry.shape)}`;
      break;
    }
    case 'both': {
      // A consistent lie: shape and span agree with each other, not with the file.
      const scale = rng.pick([2, 1000, 2 ** 20, 2 ** 40]);
      entry.shape = [...entry.shape, scale];
      const [b, e] = entry.data_offsets as number[];
      entry.data_offsets = [b, b + (e - b) * scale];
      change = `shape x${scale} and data_offsets to match`;
      break;
    }
    case 'steal':
      entry.data_offsets = [...other.data_offsets];
      change = `data_offsets taken from another tensor: ${JSON.stringify(other.data_offsets)}`;
      break;
    case 'drop': {
      const key = rng.pick(['data_offsets', 'shape', 'dtype']);
      delete (entry as Record<string, unknown>)[key];
      change = `${key} removed`;
      break;
    }
    case 'deep': {
      // Nesting deeper than any recursive walk of the value (a printer, a validator) can follow.
      const key = rng.pick(['shape', 'data_offsets', 'dtype']);
      (entry as Record<string, unknown>)[key] = DEEP;
      change = `${key} nested 20000 levels deep`;
      break;
    }
    default:
      entry.dtype = rng.pick<unknown>(['F16', 'F64', 'I8', 'BOOL', 'F4', 'F6_E2M3', 'f32', '', 3, null]);
      change = `dtype = ${JSON.stringify(entry.dtype)}`;
  }
  // Keeping the old header length (space padding) or shrinking it to fit both matter: one leaves
  // the data where it was, the other moves it.
  const text = JSON.stringify(header).replace(JSON.stringify(DEEP), () => `${'['.repeat(20_000)}${']'.repeat(20_000)}`);
  const pad = rng.chance(0.5) ? Math.max(0, seed.layout.headerLength - text.length) : 0;
  return { bytes: withHeader(seed, text, pad), note: `tensor '${name}': ${change}` };
}

function lengthEdit(rng: Rng, seed: Seed<SafetensorsLayout>): Mutation {
  if (rng.chance(0.6)) return headerEdit(rng, seed);
  const old = readUnsigned(seed.bytes, 0, 8);
  const value = rng.chance(0.3) ? old + BigInt(rng.range(-16, 16)) : edgeValue(rng, old, 64, seed.bytes.length);
  return { bytes: writeUnsigned(seed.bytes, 0, 8, value), note: `header length ${old} -> ${BigInt.asUintN(64, value)}` };
}

/**
 * One entry repeated many times under new names, as zero-element tensors at its offset: still
 * a valid file (empty spans tile), with as many tensors as the repeat count.
 */
function repeatEntry(rng: Rng, seed: Seed<SafetensorsLayout>): Mutation {
  const header = structuredClone(seed.layout.header);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = rng.pick(names);
  const entry = header[name] as { dtype: string; shape: number[]; data_offsets: [number, number] };
  const copy = { dtype: entry.dtype, shape: [0, ...entry.shape.slice(1)], data_offsets: [entry.data_offsets[0], entry.data_offsets[0]] };
  const k = repeatCount(rng, name.length + 80);
  for (let i = 0; i < k; i++) header[`${name}.${i}`] = copy;
  return { bytes: withHeader(seed, header), note: `tensor '${name}' repeated ${k} times as zero-element tensors` };
}

function spliceEdit(rng: Rng, seed: Seed<SafetensorsLayout>, donors: ReadonlyArray<Seed<SafetensorsLayout>>): Mutation {
  const donor = rng.chance(0.5) ? seed : rng.pick(donors);
  if (rng.chance(0.2)) return repeatEntry(rng, seed);
  if (rng.chance(0.4)) {
    // Header text from another model spliced into this header, N updated: JSON that is sometimes valid.
    const mine = seed.bytes.toString('utf8', 8, 8 + seed.layout.headerLength);
    const theirs = donor.bytes.toString('utf8', 8, 8 + donor.layout.headerLength);
    const from = rng.int(theirs.length);
    const chunk = theirs.slice(from, from + rng.range(1, 400));
    const at = rng.int(mine.length);
    const cut = rng.chance(0.5) ? chunk.length : 0;
    return { bytes: withHeader(seed, mine.slice(0, at) + chunk + mine.slice(at + cut)), note: `header text ${cut ? 'overwritten' : 'inserted'} at ${at} with ${donor.name} header[${from}..+${chunk.length}], length updated` };
  }
  return spliceChunk(rng, seed.bytes, donor.bytes, donor.name, seed.marks.points, donor.marks.points);
}

export const safetensorsFuzzer: FormatFuzzer<SafetensorsLayout> = {
  format: 'safetensors',
  folderName: 'model.safetensors',
  fileNames: ['model.safetensors', 'weights.dat'],
  analyze: analyzeSafetensors,
  landmarks(layout: SafetensorsLayout): Landmarks {
    const points = [0, 1, 4, 7, 8, 9, 8 + layout.headerLength - 1, 8 + layout.headerLength];
    for (const t of layout.tensors) points.push(t.start, t.end);
    return { structure: [{ start: 0, end: 8 + layout.headerLength }], points: [...new Set(points)].sort((a, b) => a - b) };
  },
  mutate(kind: MutationKind, rng: Rng, seed: Seed<SafetensorsLayout>, donors: ReadonlyArray<Seed<SafetensorsLayout>>): Mutation {
    switch (kind) {
      case 'bitflip': return flipBits(rng, seed.bytes, seed.marks.structure);
      case 'truncate': return truncateAt(rng, seed.bytes, seed.marks.points);
      case 'splice': return spliceEdit(rng, seed, donors);
      case 'length': return lengthEdit(rng, seed);
    }
  },
};
