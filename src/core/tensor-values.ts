import { openSync, readSync, closeSync } from 'node:fs';
import type { DType, TensorData, TensorInfo } from './model';
import { byteLengthOf, ModelReadError } from './model';
import { ProtoReader, type ByteSource } from './onnx/proto-source';

/** Values of a tensor in the typed array onnxruntime and JavaScript use for its dtype. */
export type TensorValues =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | string[];

export interface LoadedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  values: TensorValues;
}

/** A typed-array constructor per dtype; 16-bit floats stay as raw bits (Uint16Array), as onnxruntime takes them. */
export function emptyValues(dtype: DType, n: number): TensorValues {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'uint64': return new BigUint64Array(n);
    case 'string': return new Array<string>(n).fill('');
    // float8, float4 and 4-bit integers: one byte per element when unpacked from typed fields.
    default: return new Uint8Array(n);
  }
}

/** Little-endian raw bytes to values (a copy, aligned). Sub-byte and float8 types stay packed bytes. */
export function valuesFromRaw(dtype: DType, bytes: Uint8Array, elements: number): TensorValues {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32': return new Float32Array(buf, 0, elements);
    case 'float64': return new Float64Array(buf, 0, elements);
    case 'int8': return new Int8Array(buf, 0, elements);
    case 'uint8': case 'bool': return new Uint8Array(buf, 0, elements);
    case 'int16': return new Int16Array(buf, 0, elements);
    case 'uint16': case 'float16': case 'bfloat16': return new Uint16Array(buf, 0, elements);
    case 'int32': return new Int32Array(buf, 0, elements);
    case 'uint32': return new Uint32Array(buf, 0, elements);
    case 'int64': return new BigInt64Array(buf, 0, elements);
    case 'uint64': return new BigUint64Array(buf, 0, elements);
    default: return copy;
  }
}

/** Reads the values of a tensor described by the reader contract. */
export function loadTensor(t: TensorInfo, maxBytes = 4 * 1024 ** 3): LoadedTensor {
  const data: TensorData = t.data;
  if (data.kind === 'none') {
    if (t.elements === 0) return { name: t.name, dtype: t.dtype, shape: t.shape, values: emptyValues(t.dtype, 0) };
    throw new Error(`tensor '${t.name}' has no stored data to load`);
  }
  if (data.kind === 'raw' && data.length > maxBytes) throw new ModelReadError(data.file, `tensor '${t.name}' is ${data.length} bytes, over the ${maxBytes}-byte limit for loading`);
  const fd = openSync(data.file, 'r');
  try {
    const src: ByteSource = {
      name: data.file,
      size: Number.MAX_SAFE_INTEGER,
      window(pos: number, want: number) {
        const b = Buffer.allocUnsafe(want);
        const n = readSync(fd, b, 0, want, pos);
        return { buf: b.subarray(0, n), start: pos };
      },
      close() {},
    };
    return { name: t.name, dtype: t.dtype, shape: t.shape, values: readValues(src, t.dtype, t.elements, data) };
  } finally {
    closeSync(fd);
  }
}

/** Reads a tensor's values from a source, given where they are: shared by files and in-memory protobufs. */
export function readValues(src: ByteSource, dtype: DType, elements: number, data: Exclude<TensorData, { kind: 'none' }>): TensorValues {
  if (data.kind === 'raw') {
    const expected = byteLengthOf(dtype, elements);
    if (dtype !== 'string' && data.length !== expected) {
      throw new ModelReadError(src.name, `tensor data is ${data.length} bytes but its shape and dtype need ${expected}`);
    }
    const r = new ProtoReader(src, data.offset, data.offset + data.length);
    return valuesFromRaw(dtype, r.bytes(data.length), elements);
  }
  const out = emptyValues(dtype === 'float16' || dtype === 'bfloat16' ? 'uint16' : dtype, elements);
  let i = 0;
  const put = (v: number | bigint | string): void => {
    if (i >= elements) throw new ModelReadError(src.name, `typed field ${data.field} holds more values than the shape's ${elements}`);
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) (out as BigInt64Array)[i++] = BigInt(v as number);
    else (out as unknown as Array<number | string>)[i++] = (typeof v === 'bigint' ? Number(v) : v) as never;
  };
  for (const seg of data.segments) {
    const r = new ProtoReader(src, seg.offset, seg.offset + seg.length);
    if (data.field === 'string_data') {
      put(Buffer.from(r.bytes(seg.length)).toString('utf8'));
      continue;
    }
    const readOne = (): number | bigint => {
      switch (data.field) {
        case 'float_data': return r.float32();
        case 'double_data': return r.float64();
        case 'int64_data': return r.varintBig();
        case 'uint64_data': return BigInt.asUintN(64, r.varintBig());
        default: return Number(BigInt.asIntN(32, r.varintBig()));
      }
    };
    if (seg.packed) {
      while (!r.done()) put(readOne() as number);
    } else {
      // A non-packed segment holds one value (its tag already read by the decoder).
      put(readOne() as number);
    }
  }
  if (i !== elements) throw new ModelReadError(src.name, `typed field ${data.field} holds ${i} values but the shape needs ${elements}`);
  return out;
}
