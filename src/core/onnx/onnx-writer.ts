import { writeAtomically } from '../io/atomic-write';
import * as path from 'node:path';
import type { DType } from '../model';
import { byteLengthOf, product } from '../model';
import type { TensorValues } from '../tensor-values';
import type { AttrSpec, GraphSpec, ModelSpec, NodeSpec, TensorSpec, ValueInfoSpec } from './model-spec';
import { onnxFromDtype } from './onnx-types';
import { ProtoWriter } from './proto-writer';

export interface WriteOptions {
  /** Tensors at least this many bytes go to an external data file beside the model. */
  externalDataThreshold?: number;
  /** The external data file's name (in the model's folder); default `<model file name>.data`. */
  externalDataFile?: string;
}

function bytesOf(values: TensorValues, dtype: DType, elements: number): Uint8Array {
  if (Array.isArray(values)) throw new Error('string tensors are written through string_data');
  const v = values as Exclude<TensorValues, string[]>;
  const expected = byteLengthOf(dtype, elements);
  const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (b.length !== expected) throw new Error(`tensor data is ${b.length} bytes; ${dtype}${JSON.stringify([elements])} needs ${expected}`);
  return b;
}

interface ExternalSink {
  file: string;
  offset: number;
  threshold: number;
  parts: Uint8Array[];
}

function encodeTensor(t: TensorSpec, ext?: ExternalSink): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length) w.packedVarints(1, t.dims);
  w.varint(2, onnxFromDtype(t.dtype));
  w.string(8, t.name);
  const elements = product(t.dims);
  if (t.dtype === 'string') {
    for (const s of t.values as string[]) w.string(6, s);
    return w;
  }
  const data = bytesOf(t.values, t.dtype, elements);
  if (ext && data.length >= ext.threshold && data.length > 0) {
    // Aligned so a reader can map each tensor; ONNX Runtime does the same.
    const pad = (4096 - (ext.offset % 4096)) % 4096;
    if (pad) { ext.parts.push(new Uint8Array(pad)); ext.offset += pad; }
    const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
    w.message(13, entry('location', ext.file));
    w.message(13, entry('offset', String(ext.offset)));
    w.message(13, entry('length', String(data.length)));
    w.varint(14, 1);
    ext.parts.push(data);
    ext.offset += data.length;
  } else {
    w.bytes(9, data);
  }
  return w;
}

function encodeValueInfo(v: ValueInfoSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().varint(1, onnxFromDtype(v.dtype)).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

const ATTR_CODES: Record<AttrSpec['type'], number> = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 };

function encodeAttribute(name: string, a: AttrSpec, ext?: ExternalSink): ProtoWriter {
  const w = new ProtoWriter().string(1, name).varint(20, ATTR_CODES[a.type]);
  switch (a.type) {
    case 'float': return w.float32(2, a.value);
    case 'int': return w.varint(3, a.value);
    case 'string': return w.string(4, a.value);
    case 'floats': return w.packedFloats(7, a.value);
    case 'ints': return w.packedVarints(8, a.value);
    case 'strings': for (const s of a.value) w.string(9, s); return w;
    case 'tensor': return w.message(5, encodeTensor(a.value, ext));
    case 'graph': return w.message(6, encodeGraph(a.value, ext));
  }
}

export function encodeNode(n: NodeSpec, ext?: ExternalSink): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, encodeAttribute(k, a, ext));
  if (n.domain) w.string(7, n.domain);
  return w;
}

function encodeGraph(g: GraphSpec, ext?: ExternalSink): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n, ext));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t, ext));
  for (const v of g.inputs) w.message(11, encodeValueInfo(v));
  for (const v of g.outputs) w.message(12, encodeValueInfo(v));
  for (const v of g.valueInfo ?? []) w.message(13, encodeValueInfo(v));
  return w;
}

function encodeModel(m: ModelSpec, ext?: ExternalSink): ProtoWriter {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion ?? 8);
  w.string(2, m.producerName ?? 'model-compression-lab');
  w.string(3, m.producerVersion ?? '0.1.0');
  w.message(7, encodeGraph(m.graph, ext));
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain) op.string(1, o.domain);
    op.varint(2, o.version);
    w.message(8, op);
  }
  for (const [k, v] of Object.entries(m.metadata ?? {})) w.message(14, new ProtoWriter().string(1, k).string(2, v));
  return w;
}

/** Serializes a model with every initializer inline (for in-memory sessions and small models). */
export function serializeModel(m: ModelSpec): Buffer {
  return encodeModel(m).finish();
}

/**
 * Writes a model atomically: to a temporary name, fsync, then rename, so a crash never leaves a
 * half-written model where the user's file was. With a threshold, large tensors go to an
 * external data file, written the same way.
 */
export function writeModel(file: string, m: ModelSpec, options: WriteOptions = {}): { modelBytes: number; dataBytes: number; dataFile?: string } {
  const dataName = options.externalDataFile ?? `${path.basename(file)}.data`;
  const ext: ExternalSink | undefined = options.externalDataThreshold !== undefined
    ? { file: dataName, offset: 0, threshold: options.externalDataThreshold, parts: [] }
    : undefined;
  const model = encodeModel(m, ext);
  let dataFile: string | undefined;
  if (ext && ext.offset > 0) {
    dataFile = path.join(path.dirname(file), dataName);
    writeAtomically(dataFile, ext.parts);
  }
  writeAtomically(file, model.parts());
  return { modelBytes: model.length, dataBytes: ext?.offset ?? 0, dataFile };
}
