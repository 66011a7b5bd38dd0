// torch.save checkpoints: a ZIP whose data.pkl is a pickle. Two layers to break: the ZIP's
// records (sizes, offsets, counts, edited in place) and the pickle inside (length prefixes and
// integers edited in place with the CRC fixed, or opcodes cut and spliced with the archive
// rebuilt around them), so a mutation reaches the unpickler instead of stopping at a CRC check.
import { edgeValue, flipBits, readUnsigned, repeatCount, splice, spliceChunk, truncateAt, writeUnsigned } from '../bytes';
import type { Rng } from '../prng';
import { scanPickle } from './pickle-ops';
import type { PickleOp } from './pickle-ops';
import type { FormatFuzzer, Landmarks, Mutation, MutationKind, Seed } from './types';
import { analyzeZip, fixCrcs, rebuildZip, zipStructure } from './zip-layout';
import type { ZipLayout } from './zip-layout';

export interface PytorchLayout {
  zip: ZipLayout;
  pickle: Buffer;
  ops: PickleOp[];
}

export function analyzePytorch(buf: Buffer): PytorchLayout {
  const zip = analyzeZip(buf);
  const pickle = Buffer.from(buf.subarray(zip.pickle.dataPos, zip.pickle.dataPos + zip.pickle.dataSize));
  return { zip, pickle, ops: scanPickle(pickle) };
}

type Seed_ = Seed<PytorchLayout>;

function withPickle(seed: Seed_, pickle: Buffer): Buffer {
  return rebuildZip(seed.bytes, seed.layout.zip, new Map([[seed.layout.zip.pickle.name, pickle]]));
}

/** Same-size edit of data.pkl inside the seed's archive; the CRCs are fixed unless `keepCrc`. */
function patchPickle(seed: Seed_, pickle: Buffer, keepCrc: boolean): Buffer {
  const out = Buffer.from(seed.bytes);
  pickle.copy(out, seed.layout.zip.pickle.dataPos);
  return keepCrc ? out : fixCrcs(out, seed.layout.zip);
}

function opBoundary(rng: Rng, ops: readonly PickleOp[]): number {
  return ops.length ? rng.pick(ops).pos : 0;
}

function pickleEdit(rng: Rng, seed: Seed_): Mutation {
  const { ops, pickle } = seed.layout;
  const keepCrc = rng.chance(0.1);
  const crcNote = keepCrc ? ', CRC left stale' : ', CRC fixed';
  const lens = ops.filter((o) => o.len);
  const ints = ops.filter((o) => o.int);
  if (lens.length && rng.chance(0.4)) {
    const o = rng.pick(lens);
    const { at, size } = o.len!;
    const old = readUnsigned(pickle, at, size);
    const value = rng.chance(0.5) ? old + BigInt(rng.range(-4, 4)) : edgeValue(rng, old, size * 8, pickle.length);
    return { bytes: patchPickle(seed, writeUnsigned(pickle, at, size, value), keepCrc), note: `data.pkl op 0x${o.op.toString(16)} at ${o.pos}: length ${old} -> ${BigInt.asUintN(size * 8, value)}${crcNote}` };
  }
  const o = rng.pick(ints);
  const { at, size, signed } = o.int!;
  if (rng.chance(0.3)) {
    // Out of the opcode's range: a LONG1 with an 8-byte value in place of a BININT*.
    const big = rng.pick([-1n, -(2n ** 31n), 2n ** 53n + 1n, 2n ** 62n, -(2n ** 63n)]);
    const long = Buffer.alloc(10);
    long[0] = 0x8a;
    long[1] = 8;
    long.writeBigInt64LE(big, 2);
    return { bytes: withPickle(seed, splice(pickle, o.pos, o.end - o.pos, long)), note: `data.pkl op 0x${o.op.toString(16)} at ${o.pos} replaced by LONG1 ${big}` };
  }
  const old = readUnsigned(pickle, at, size);
  let value = rng.chance(0.4) ? old + BigInt(rng.range(-3, 3)) : edgeValue(rng, old, size * 8, pickle.length);
  if (signed && rng.chance(0.3)) value = BigInt(rng.pick([-1, -2, -(2 ** 31), 2 ** 31 - 1]));
  return { bytes: patchPickle(seed, writeUnsigned(pickle, at, size, value), keepCrc), note: `data.pkl op 0x${o.op.toString(16)} at ${o.pos}: ${old} -> ${BigInt.asIntN(size * 8, value)}${crcNote}` };
}

function lengthEdit(rng: Rng, seed: Seed_): Mutation {
  if (rng.chance(0.5)) return pickleEdit(rng, seed);
  const f = rng.pick(seed.layout.zip.fields);
  const old = readUnsigned(seed.bytes, f.at, f.size);
  const value = rng.chance(0.3) ? old + BigInt(rng.range(-8, 8)) : edgeValue(rng, old, f.size * 8, seed.bytes.length);
  return { bytes: writeUnsigned(seed.bytes, f.at, f.size, value), note: `${f.what} ${old} -> ${BigInt.asUintN(f.size * 8, value)}` };
}

function truncate(rng: Rng, seed: Seed_): Mutation {
  if (rng.chance(0.6)) return truncateAt(rng, seed.bytes, seed.marks.points);
  const { pickle, ops } = seed.layout;
  const at = rng.chance(0.8) ? opBoundary(rng, ops) + (rng.chance(0.3) ? 1 : 0) : rng.int(pickle.length);
  return { bytes: withPickle(seed, pickle.subarray(0, at)), note: `data.pkl cut to ${at} of ${pickle.length} bytes, archive rebuilt` };
}

function spliceEdit(rng: Rng, seed: Seed_, donors: ReadonlyArray<Seed_>): Mutation {
  const donor = rng.chance(0.5) ? seed : rng.pick(donors);
  if (rng.chance(0.5)) {
    const m = spliceChunk(rng, seed.bytes, donor.bytes, donor.name, seed.marks.points, donor.marks.points);
    if (m.bytes.length === seed.bytes.length && rng.chance(0.5)) return { bytes: fixCrcs(m.bytes, seed.layout.zip), note: `${m.note}, CRCs fixed` };
    return m;
  }
  // A run of opcodes from another (or the same) pickle, at an opcode boundary, once or many times.
  const from = donor.layout.ops;
  const i = rng.int(from.length);
  const j = Math.min(from.length - 1, i + rng.range(0, rng.chance(0.3) ? 3 : 40));
  const run = donor.layout.pickle.subarray(from[i].pos, from[j].end);
  const times = rng.chance(0.25) ? repeatCount(rng, run.length) : 1;
  const chunk = times > 1 ? Buffer.concat(new Array<Buffer>(times).fill(run)) : run;
  const at = opBoundary(rng, seed.layout.ops);
  const mine = seed.layout.ops.find((o) => o.pos === at);
  const replace = rng.chance(0.5) && mine ? Math.min(seed.layout.pickle.length - at, chunk.length) : 0;
  return {
    bytes: withPickle(seed, splice(seed.layout.pickle, at, replace, chunk)),
    note: `data.pkl: ${donor.name} opcodes ${i}..${j} (${run.length} bytes)${times > 1 ? ` x${times}` : ''} ${replace ? 'over' : 'inserted at'} offset ${at}, archive rebuilt`,
  };
}

export const pytorchFuzzer: FormatFuzzer<PytorchLayout> = {
  format: 'pytorch',
  folderName: 'pytorch_model.bin',
  fileNames: ['pytorch_model.bin', 'model.pt', 'checkpoint.pth', 'weights'],
  analyze: analyzePytorch,
  landmarks(layout: PytorchLayout): Landmarks {
    const z = layout.zip;
    const points = [0, z.cdStart, z.cdEnd, z.eocdPos, z.eocdPos + 22, z.size];
    if (z.eocd64Pos !== undefined) points.push(z.eocd64Pos);
    if (z.locatorPos !== undefined) points.push(z.locatorPos);
    for (const e of z.entries) points.push(e.localPos, e.localPos + 30, e.dataPos, e.dataPos + e.dataSize, e.centralPos, e.centralPos + 46);
    for (const o of layout.ops) points.push(z.pickle.dataPos + o.pos);
    return { structure: zipStructure(z), points: [...new Set(points)].sort((a, b) => a - b) };
  },
  mutate(kind: MutationKind, rng: Rng, seed: Seed_, donors: ReadonlyArray<Seed_>): Mutation {
    switch (kind) {
      case 'bitflip': {
        const m = flipBits(rng, seed.bytes, seed.marks.structure);
        return rng.chance(0.6) ? { bytes: fixCrcs(m.bytes, seed.layout.zip), note: `${m.note}, CRCs fixed` } : m;
      }
      case 'truncate': return truncate(rng, seed);
      case 'splice': return spliceEdit(rng, seed, donors);
      case 'length': return lengthEdit(rng, seed);
    }
  },
};
