// Builds torch.save zip checkpoints byte by byte: a tiny ZIP writer and a pickle assembler, so
// tests can make the checkpoints PyTorch would (views, tied storages, odd pickles) without Python.
import * as zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipInput { name: string; data: Buffer; deflate?: boolean }

/** Writes a ZIP: stored or deflated entries; optionally ZIP64 extra fields and EOCD64 records. */
export function makeZip(files: ZipInput[], opts: { zip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const body = f.deflate ? zlib.deflateRawSync(f.data) : f.data;
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(f.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);

    let extra = Buffer.alloc(0);
    if (opts.zip64) {
      extra = Buffer.alloc(12);
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(8, 2);
      extra.writeBigUInt64LE(BigInt(offset), 4);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x031e, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(f.deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(f.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const cdOffset = offset;
  const tail: Buffer[] = [];
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(0x031e, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(files.length), 24);
    rec.writeBigUInt64LE(BigInt(files.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
    eocd.writeUInt16LE(0xffff, 8);
    eocd.writeUInt16LE(0xffff, 10);
    eocd.writeUInt32LE(0xffffffff, 12);
    eocd.writeUInt32LE(0xffffffff, 16);
  } else {
    eocd.writeUInt16LE(files.length, 8);
    eocd.writeUInt16LE(files.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(cdOffset, 16);
  }
  return Buffer.concat([...parts, cd, ...tail, eocd]);
}

/** Pickle assembly: strings are raw opcode characters, Buffers are appended as-is. */
export function pk(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}
export const P = {
  proto: (v = 2) => Buffer.from([0x80, v]),
  global: (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'latin1'),
  str(s: string): Buffer {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58; // BINUNICODE
    h.writeUInt32LE(b.length, 1);
    return Buffer.concat([h, b]);
  },
  shortStr(s: string): Buffer {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([0x8c, b.length]), b]); // SHORT_BINUNICODE
  },
  int(n: number): Buffer {
    const b = Buffer.alloc(5);
    b[0] = 0x4a; // BININT
    b.writeInt32LE(n, 1);
    return b;
  },
  tuple: (...items: Array<string | Buffer>) => pk('(', ...items, 't'),
};

/** `_rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`. */
export function tensorPickle(key: string, numel: number, offset: number, size: number[], stride: number[]): Buffer {
  return pk(
    P.global('torch._utils', '_rebuild_tensor_v2'),
    '(',
    P.tuple(P.str('storage'), P.global('torch', 'FloatStorage'), P.str(key), P.str('cpu'), P.int(numel)), 'Q',
    P.int(offset),
    P.tuple(...size.map(P.int)),
    P.tuple(...stride.map(P.int)),
    '\x89',
    P.global('collections', 'OrderedDict'), ')R',
    't', 'R',
  );
}

/**
 * A torch.save'd state dict (archive 'archive'): `{name: tensor}` in order, each a contiguous view
 * of storage `storage` (index into `storages`, float32 values) at element `offset`.
 */
export function stateDictZip(entries: Array<{ name: string; storage: number; offset?: number; shape: number[] }>, storages: Float32Array[]): Buffer {
  const strides = (shape: number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const pickle = pk(
    P.proto(2), P.global('collections', 'OrderedDict'), ')R', '(',
    ...entries.flatMap((e) => [P.str(e.name), tensorPickle(String(e.storage), storages[e.storage].length, e.offset ?? 0, e.shape, strides(e.shape))]),
    'u', '.',
  );
  return makeZip([
    { name: 'archive/data.pkl', data: pickle },
    ...storages.map((s, i) => ({ name: `archive/data/${i}`, data: Buffer.from(s.buffer, s.byteOffset, s.byteLength) })),
    { name: 'archive/version', data: Buffer.from('3\n') },
    { name: 'archive/byteorder', data: Buffer.from('little') },
  ]);
}
