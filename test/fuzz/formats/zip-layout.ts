// The ZIP structure of a torch.save file, located independently of the reader under test: the
// records, every size/offset/count field in them, and the entries a reader actually reads.
import { crc32 } from '../bytes';
import type { Span } from '../bytes';

export interface ZipField {
  at: number;
  size: 2 | 4 | 8;
  what: string;
}

export interface ZipEntryLayout {
  name: string;
  localPos: number;
  /** First byte of the entry's data, after the local header's name and extra field. */
  dataPos: number;
  dataSize: number;
  centralPos: number;
  /** Small entries that readers read whole and CRC-check: data.pkl, version, byteorder... */
  small: boolean;
}

export interface ZipLayout {
  entries: ZipEntryLayout[];
  cdStart: number;
  cdEnd: number;
  eocdPos: number;
  eocd64Pos?: number;
  locatorPos?: number;
  fields: ZipField[];
  /** The data.pkl entry. */
  pickle: ZipEntryLayout;
  size: number;
}

export function analyzeZip(buf: Buffer): ZipLayout {
  const eocdPos = buf.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
  if (eocdPos < 0) throw new Error('seed is not a ZIP archive');
  const fields: ZipField[] = [];
  const field = (at: number, size: 2 | 4 | 8, what: string) => fields.push({ at, size, what });
  field(eocdPos + 8, 2, 'EOCD entries on this disk');
  field(eocdPos + 10, 2, 'EOCD total entries');
  field(eocdPos + 12, 4, 'EOCD central directory size');
  field(eocdPos + 16, 4, 'EOCD central directory offset');
  field(eocdPos + 20, 2, 'EOCD comment length');
  let cdStart = buf.readUInt32LE(eocdPos + 16);
  let cdSize = buf.readUInt32LE(eocdPos + 12);
  let count = buf.readUInt16LE(eocdPos + 10);
  let eocd64Pos: number | undefined;
  let locatorPos: number | undefined;
  if (eocdPos >= 20 && buf.readUInt32LE(eocdPos - 20) === 0x07064b50) {
    locatorPos = eocdPos - 20;
    eocd64Pos = Number(buf.readBigUInt64LE(locatorPos + 8));
    field(locatorPos + 8, 8, 'ZIP64 locator record offset');
    field(locatorPos + 16, 4, 'ZIP64 locator disk count');
    field(eocd64Pos + 4, 8, 'ZIP64 record size');
    field(eocd64Pos + 24, 8, 'ZIP64 entries on this disk');
    field(eocd64Pos + 32, 8, 'ZIP64 total entries');
    field(eocd64Pos + 40, 8, 'ZIP64 central directory size');
    field(eocd64Pos + 48, 8, 'ZIP64 central directory offset');
    count = Number(buf.readBigUInt64LE(eocd64Pos + 32));
    cdSize = Number(buf.readBigUInt64LE(eocd64Pos + 40));
    cdStart = Number(buf.readBigUInt64LE(eocd64Pos + 48));
  }
  const entries: ZipEntryLayout[] = [];
  let p = cdStart;
  for (let i = 0; i < count; i++) {
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const localPos = buf.readUInt32LE(p + 42);
    const dataPos = localPos + 30 + buf.readUInt16LE(localPos + 26) + buf.readUInt16LE(localPos + 28);
    const short = name.replace(/^[^/]*\//, '');
    entries.push({ name, localPos, dataPos, dataSize: buf.readUInt32LE(p + 20), centralPos: p, small: !short.startsWith('data/') });
    field(p + 20, 4, `central "${name}" compressed size`);
    field(p + 24, 4, `central "${name}" uncompressed size`);
    field(p + 28, 2, `central "${name}" name length`);
    field(p + 30, 2, `central "${name}" extra length`);
    field(p + 32, 2, `central "${name}" comment length`);
    field(p + 42, 4, `central "${name}" local header offset`);
    field(localPos + 18, 4, `local "${name}" compressed size`);
    field(localPos + 22, 4, `local "${name}" uncompressed size`);
    field(localPos + 26, 2, `local "${name}" name length`);
    field(localPos + 28, 2, `local "${name}" extra length`);
    p += 46 + nameLen + extraLen + commentLen;
  }
  const pickle = entries.find((e) => e.name.endsWith('/data.pkl'));
  if (!pickle) throw new Error('seed has no data.pkl');
  return { entries, cdStart, cdEnd: cdStart + cdSize, eocdPos, eocd64Pos, locatorPos, fields, pickle, size: buf.length };
}

/** Headers and small entries: where a flipped bit changes what the reader sees. */
export function zipStructure(z: ZipLayout): Span[] {
  const spans: Span[] = z.entries.map((e) => ({ start: e.localPos, end: e.small ? e.dataPos + e.dataSize : e.dataPos }));
  spans.push({ start: z.cdStart, end: z.size });
  return spans;
}

/**
 * Rewrites the CRC-32 of every small entry (in both headers, at the seed's positions) to match
 * its current bytes, so an edit inside data.pkl reaches the unpickler rather than the CRC check.
 */
export function fixCrcs(buf: Buffer, z: ZipLayout): Buffer {
  const out = Buffer.from(buf);
  for (const e of z.entries) {
    if (!e.small || e.dataPos + e.dataSize > out.length || e.centralPos + 20 > out.length) continue;
    const crc = crc32(out.subarray(e.dataPos, e.dataPos + e.dataSize));
    out.writeUInt32LE(crc, e.localPos + 14);
    out.writeUInt32LE(crc, e.centralPos + 16);
  }
  return out;
}

/**
 * The same archive with some entries' contents replaced, written afresh (stored, ZIP64 end
 * records as torch.save writes them), so a pickle can change length and the ZIP stays valid.
 */
export function rebuildZip(buf: Buffer, z: ZipLayout, replace: ReadonlyMap<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of z.entries) {
    const data = replace.get(e.name) ?? buf.subarray(e.dataPos, e.dataPos + e.dataSize);
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, data);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x031e, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(central);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(0x031e, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(z.entries.length), 24);
  rec.writeBigUInt64LE(BigInt(z.entries.length), 32);
  rec.writeBigUInt64LE(BigInt(cd.length), 40);
  rec.writeBigUInt64LE(BigInt(offset), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  loc.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, cd, rec, loc, eocd]);
}
