import * as zlib from 'node:zlib';
import { ModelReadError } from '../model';
import type { RandomAccessFile } from '../io/random-access-file';

/**
 * A minimal, read-only ZIP reader over RandomAccessFile, enough for torch.save archives.
 *
 * It reads only the end-of-central-directory records, the central directory and, on request,
 * one entry's local header or data: a multi-GB checkpoint costs a few KB of I/O to list.
 * Every offset and size comes from the file, so each is checked against the file before use
 * and a bad value becomes a ModelReadError naming the file, never a wild read or allocation.
 */

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is refused when the entry is read. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  localHeaderOffset: number;
  /** General purpose flags; bit 0 means encrypted. */
  flags: number;
}

export interface ZipLimits {
  /** Largest central directory we will read (bytes). */
  maxCentralDirectoryBytes?: number;
  /** Most entries we accept. */
  maxEntries?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

const EOCD_SIZE = 22;
const EOCD64_LOCATOR_SIZE = 20;
const EOCD64_MIN_SIZE = 56;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
/** The EOCD is followed by at most a 65535-byte comment, so it lies in the last 64 KiB + 22 bytes. */
const EOCD_SEARCH = 0xffff + EOCD_SIZE;

// A torch checkpoint has one entry per storage plus a handful more; these bounds are far beyond
// any real model and only exist so a forged count or size cannot make us allocate gigabytes.
const DEFAULT_MAX_CD_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 1_000_000;

export class ZipArchive {
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<ZipEntry, number>();

  private constructor(
    private readonly file: RandomAccessFile,
    readonly entries: readonly ZipEntry[],
    /** Where the central directory starts: every entry's data must end before it. */
    readonly centralDirectoryOffset: number,
    /** Entry names seen more than once (the first one wins). */
    readonly duplicateNames: readonly string[],
  ) {
    for (const e of entries) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
  }

  get path(): string {
    return this.file.path;
  }

  static async open(file: RandomAccessFile, limits: ZipLimits = {}): Promise<ZipArchive> {
    const maxCd = limits.maxCentralDirectoryBytes ?? DEFAULT_MAX_CD_BYTES;
    const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const fail = (problem: string): never => {
      throw new ModelReadError(file.path, problem);
    };

    const eocd = await findEocd(file);
    let entryCount = eocd.readUInt16LE(10);
    let cdSize = eocd.readUInt32LE(12);
    let cdOffset = eocd.readUInt32LE(16);
    const eocdPos = eocd.pos;
    if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) fail('multi-disk (split) ZIP archives are not supported');

    // ZIP64: the classic fields saturate and the real values live in the EOCD64 record, found via
    // the locator just before the EOCD. torch.save always writes these, so read them when present.
    let cdLimit = eocdPos; // the central directory must end before the record(s) that describe it
    if (eocdPos >= EOCD64_LOCATOR_SIZE) {
      const loc = await file.read(eocdPos - EOCD64_LOCATOR_SIZE, EOCD64_LOCATOR_SIZE, 'ZIP64 end-of-central-directory locator');
      if (loc.readUInt32LE(0) === SIG_EOCD64_LOCATOR) {
        const rec64Offset = readU64(loc, 8, file.path, 'ZIP64 end-of-central-directory offset');
        if (rec64Offset + EOCD64_MIN_SIZE > eocdPos - EOCD64_LOCATOR_SIZE) {
          fail(`ZIP64 end-of-central-directory record offset ${rec64Offset} is out of range; the file is truncated or corrupt`);
        }
        const rec = await file.read(rec64Offset, EOCD64_MIN_SIZE, 'ZIP64 end-of-central-directory record');
        if (rec.readUInt32LE(0) !== SIG_EOCD64) fail(`no ZIP64 end-of-central-directory record at offset ${rec64Offset}; the file is corrupt`);
        entryCount = readU64(rec, 32, file.path, 'ZIP64 entry count');
        cdSize = readU64(rec, 40, file.path, 'ZIP64 central directory size');
        cdOffset = readU64(rec, 48, file.path, 'ZIP64 central directory offset');
        cdLimit = rec64Offset;
      } else if (entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
        fail('the ZIP end record says ZIP64 but has no ZIP64 locator; the file is truncated or corrupt');
      }
    }

    if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset) {
      fail(`ZIP central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file (${file.size} bytes); the file is truncated or corrupt`);
    }
    if (cdSize > maxCd) fail(`ZIP central directory is ${cdSize} bytes, more than the ${maxCd} accepted`);
    if (entryCount > maxEntries) fail(`ZIP archive claims ${entryCount} entries, more than the ${maxEntries} accepted`);
    if (entryCount * CENTRAL_HEADER_SIZE > cdSize) {
      fail(`ZIP archive claims ${entryCount} entries but its central directory is only ${cdSize} bytes; the file is corrupt`);
    }

    const cd = await file.read(cdOffset, cdSize, 'ZIP central directory');
    const entries: ZipEntry[] = [];
    const seen = new Set<string>();
    const duplicates: string[] = [];
    let p = 0;
    for (let i = 0; i < entryCount; i++) {
      if (p + CENTRAL_HEADER_SIZE > cd.length) fail(`ZIP central directory ends inside entry ${i}; the file is corrupt`);
      if (cd.readUInt32LE(p) !== SIG_CENTRAL) fail(`bad ZIP central directory entry signature at offset ${cdOffset + p}; the file is corrupt`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc32 = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressedSize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const varStart = p + CENTRAL_HEADER_SIZE;
      const next = varStart + nameLen + extraLen + commentLen;
      if (next > cd.length) fail(`ZIP central directory entry ${i} runs past the directory's end; the file is corrupt`);
      // Bit 11 says UTF-8; otherwise the name is CP437, which latin1 approximates for ASCII names.
      const name = cd.toString(flags & 0x800 ? 'utf8' : 'latin1', varStart, varStart + nameLen);

      // The ZIP64 extra field holds, in this order, only those values whose classic field saturated.
      if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
        const z64 = findExtra(cd.subarray(varStart + nameLen, varStart + nameLen + extraLen), 0x0001);
        if (!z64) fail(`ZIP entry "${name}" needs a ZIP64 extra field but has none; the file is corrupt`);
        let q = 0;
        const take = (what: string): number => {
          if (q + 8 > z64!.length) fail(`ZIP entry "${name}": ZIP64 extra field is too short for its ${what}; the file is corrupt`);
          const v = readU64(z64!, q, file.path, `ZIP entry "${name}" ${what}`);
          q += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take('uncompressed size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('local header offset');
      }

      // A stored entry's bytes on disk are its compressed size: were the uncompressed size larger,
      // a mapped tensor would run on into the next entry's bytes.
      if (method === 0 && compressedSize !== uncompressedSize) {
        fail(`ZIP entry "${name}" is stored uncompressed but its sizes differ (${compressedSize} bytes stored, ${uncompressedSize} declared); the file is corrupt`);
      }
      // Entry data precedes the central directory; anything else is a forged or truncated file.
      if (localHeaderOffset + LOCAL_HEADER_SIZE > cdOffset || compressedSize > cdOffset - localHeaderOffset) {
        fail(`ZIP entry "${name}" (local header at ${localHeaderOffset}, ${compressedSize} bytes) lies outside the archive data; the file is truncated or corrupt`);
      }
      if (seen.has(name)) duplicates.push(name);
      seen.add(name);
      entries.push({ name, method, compressedSize, uncompressedSize, crc32, localHeaderOffset, flags });
      p = next;
    }
    return new ZipArchive(file, entries, cdOffset, duplicates);
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * Absolute offset of the entry's (possibly compressed) bytes. The local header's name and
   * extra lengths can differ from the central directory's (torch pads the local extra field to
   * align storages), so it has to be read: one 30-byte read per entry, cached.
   */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const cached = this.dataOffsets.get(entry);
    if (cached !== undefined) return cached;
    const h = await this.file.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE, `ZIP local header of "${entry.name}"`);
    if (h.readUInt32LE(0) !== SIG_LOCAL) {
      throw new ModelReadError(this.file.path, `bad ZIP local header signature for "${entry.name}" at offset ${entry.localHeaderOffset}; the file is corrupt`);
    }
    const offset = entry.localHeaderOffset + LOCAL_HEADER_SIZE + h.readUInt16LE(26) + h.readUInt16LE(28);
    if (offset > this.centralDirectoryOffset || entry.compressedSize > this.centralDirectoryOffset - offset) {
      throw new ModelReadError(this.file.path, `ZIP entry "${entry.name}" data (offset ${offset}, ${entry.compressedSize} bytes) runs into the central directory; the file is truncated or corrupt`);
    }
    this.dataOffsets.set(entry, offset);
    return offset;
  }

  /**
   * Reads one entry whole, refusing anything over `maxBytes`, and checks its CRC-32.
   * Meant for small entries (data.pkl, version), never for storages.
   */
  async read(entry: ZipEntry, maxBytes: number): Promise<Buffer> {
    const fail = (problem: string): never => {
      throw new ModelReadError(this.file.path, `ZIP entry "${entry.name}": ${problem}`);
    };
    if (entry.flags & 0x1) fail('is encrypted');
    if (entry.uncompressedSize > maxBytes) fail(`is ${entry.uncompressedSize} bytes, more than the ${maxBytes} accepted`);
    const offset = await this.dataOffset(entry);
    let data: Buffer;
    if (entry.method === 0) {
      // open() has checked that a stored entry's two sizes agree.
      data = await this.file.read(offset, entry.compressedSize, `ZIP entry "${entry.name}"`);
    } else if (entry.method === 8) {
      // Deflate cannot expand data by more than a few bytes per 16 KiB block, so a compressed
      // size far beyond the bound is a lie; and maxOutputLength stops a deflate bomb.
      if (entry.compressedSize > maxBytes + (maxBytes >>> 10) + 1024) fail(`compressed size ${entry.compressedSize} is implausible`);
      const raw = await this.file.read(offset, entry.compressedSize, `ZIP entry "${entry.name}"`);
      try {
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
      } catch (e) {
        return fail(`cannot be decompressed (${(e as Error).message}); the file is corrupt`);
      }
      if (data.length !== entry.uncompressedSize) fail(`decompressed to ${data.length} bytes, expected ${entry.uncompressedSize}; the file is corrupt`);
    } else {
      return fail(`uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
    }
    const crc = crc32(data);
    if (crc !== entry.crc32) fail(`CRC-32 mismatch (computed ${hex32(crc)}, recorded ${hex32(entry.crc32)}); the file is corrupt`);
    return data;
  }
}

/** Finds the EOCD record by scanning backwards over the tail; returns it with its position. */
async function findEocd(file: RandomAccessFile): Promise<Buffer & { pos: number }> {
  if (file.size < EOCD_SIZE) throw new ModelReadError(file.path, `only ${file.size} bytes: too small to be a ZIP archive`);
  const tailLen = Math.min(file.size, EOCD_SEARCH);
  const tailStart = file.size - tailLen;
  const tail = await file.read(tailStart, tailLen, 'ZIP end-of-central-directory search');
  let fallback = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIG_EOCD) continue;
    // Prefer a candidate whose comment length reaches exactly to the end of the file: the
    // signature bytes can also occur by chance inside a comment or stored data.
    if (i + EOCD_SIZE + tail.readUInt16LE(i + 20) === tailLen) {
      return Object.assign(tail.subarray(i, i + EOCD_SIZE), { pos: tailStart + i });
    }
    if (fallback < 0) fallback = i;
  }
  if (fallback >= 0) return Object.assign(tail.subarray(fallback, fallback + EOCD_SIZE), { pos: tailStart + fallback });
  throw new ModelReadError(file.path, 'no ZIP end-of-central-directory record: the file is truncated or not a ZIP archive');
}

function findExtra(extra: Buffer, id: number): Buffer | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const tag = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (p + 4 + len > extra.length) return undefined;
    if (tag === id) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return undefined;
}

/** 64-bit little-endian as a JS number; values past 2^53 cannot be real offsets in any file. */
function readU64(buf: Buffer, at: number, file: string, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelReadError(file, `${what} ${v} is out of range; the file is corrupt`);
  return Number(v);
}

function hex32(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE): zlib's when the runtime has it (Node >= 20.15), a table otherwise. */
export function crc32(data: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(data) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
