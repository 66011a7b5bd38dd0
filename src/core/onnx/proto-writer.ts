/**
 * A protobuf encoder that builds a message as a list of chunks, so large tensor payloads are
 * referenced, not copied, until the final write.
 */
export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flushScratch(): void {
    if (this.scratch.length) {
      const b = Uint8Array.from(this.scratch);
      this.chunks.push(b);
      this.length += b.length;
      this.scratch = [];
    }
  }

  private varintRaw(v: number | bigint): void {
    let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v < 0 ? BigInt.asUintN(64, BigInt(v)) : v;
    if (typeof x === 'bigint') {
      while (x >= 0x80n) { this.scratch.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
      this.scratch.push(Number(x));
      return;
    }
    while (x >= 0x80) { this.scratch.push((x % 128) | 0x80); x = Math.floor(x / 128); }
    this.scratch.push(x);
  }

  tag(field: number, wire: number): this {
    this.varintRaw(field * 8 + wire);
    return this;
  }

  varint(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varintRaw(v);
    return this;
  }

  float32(field: number, v: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v, 0);
    this.scratch.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varintRaw(data.length);
    this.flushScratch();
    this.chunks.push(data);
    this.length += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  message(field: number, m: ProtoWriter): this {
    m.flushScratch();
    this.tag(field, 2);
    this.varintRaw(m.length);
    this.flushScratch();
    for (const c of m.chunks) this.chunks.push(c);
    this.length += m.length;
    return this;
  }

  packedVarints(field: number, values: ArrayLike<number | bigint>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.varintRaw(values[i]);
    return this.message(field, inner);
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = Buffer.alloc(values.length * 4);
    for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i], i * 4);
    return this.bytes(field, b);
  }

  /** The encoded chunks, in order (for streaming to a file). */
  parts(): Uint8Array[] {
    this.flushScratch();
    return this.chunks;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts());
  }
}
