// Just enough of the pickle format to walk an opcode stream and say where each opcode's
// arguments are, so mutations can edit a length prefix or an integer instead of a random byte.

export interface PickleOp {
  pos: number;
  op: number;
  /** Offset just past the opcode and its arguments. */
  end: number;
  /** A length prefix (strings, bytes, LONG1/LONG4, FRAME): where it is and its width. */
  len?: { at: number; size: 1 | 4 | 8 };
  /** An integer argument (BININT*, memo indices, PROTO): where it is and its width. */
  int?: { at: number; size: 1 | 2 | 4; signed: boolean };
}

const NO_ARG = new Set([...Buffer.from('(.012N]})tldaesuRbQ', 'latin1'), 0x88, 0x89, 0x8f, 0x85, 0x86, 0x87, 0x91, 0x90, 0x81, 0x92, 0x93, 0x94]);
const INT_ARG: Record<number, { size: 1 | 2 | 4; signed: boolean }> = {
  0x80: { size: 1, signed: false }, // PROTO
  0x4a: { size: 4, signed: true }, // BININT
  0x4b: { size: 1, signed: false }, // BININT1
  0x4d: { size: 2, signed: false }, // BININT2
  0x71: { size: 1, signed: false }, // BINPUT
  0x72: { size: 4, signed: false }, // LONG_BINPUT
  0x68: { size: 1, signed: false }, // BINGET
  0x6a: { size: 4, signed: false }, // LONG_BINGET
};
const LEN_ARG: Record<number, 1 | 4 | 8> = {
  0x8a: 1, 0x8b: 4, 0x58: 4, 0x8c: 1, 0x8d: 8, 0x54: 4, 0x55: 1, 0x42: 4, 0x43: 1, 0x8e: 8, 0x96: 8,
};
const LINES: Record<number, number> = { 0x63: 2, 0x49: 1, 0x4c: 1, 0x46: 1, 0x53: 1, 0x56: 1, 0x70: 1, 0x67: 1, 0x50: 1 };

/** The opcodes of a well-formed pickle, stopping at STOP or at anything it cannot walk. */
export function scanPickle(data: Buffer): PickleOp[] {
  const ops: PickleOp[] = [];
  let p = 0;
  while (p < data.length) {
    const pos = p;
    const op = data[p++];
    const o: PickleOp = { pos, op, end: p };
    if (NO_ARG.has(op)) {
      // no argument
    } else if (INT_ARG[op]) {
      o.int = { at: p, ...INT_ARG[op] };
      p += INT_ARG[op].size;
    } else if (op === 0x95) { // FRAME
      o.len = { at: p, size: 8 };
      p += 8;
    } else if (op === 0x47) p += 8; // BINFLOAT
    else if (LEN_ARG[op]) {
      const size = LEN_ARG[op];
      if (p + size > data.length) break;
      const n = size === 8 ? Number(data.readBigUInt64LE(p)) : data.readUIntLE(p, size);
      o.len = { at: p, size };
      p += size + n;
    } else if (LINES[op]) {
      for (let k = 0; k < LINES[op]; k++) {
        const nl = data.indexOf(0x0a, p);
        if (nl < 0) return ops;
        p = nl + 1;
      }
    } else break;
    if (p > data.length) break;
    o.end = p;
    ops.push(o);
    if (op === 0x2e) break;
  }
  return ops;
}
