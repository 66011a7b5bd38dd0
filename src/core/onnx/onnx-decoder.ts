import type { DType, OnnxAttribute, OnnxGraphInfo, OnnxNode, OnnxValueInfo, TensorData, TensorInfo, TensorOrigin } from '../model';
import { byteLengthOf, product } from '../model';
import { dtypeFromOnnx, TYPED_FIELD_NUMBERS } from './onnx-types';
import { ByteSource, ProtoReader, WIRE_I32, WIRE_LEN, WIRE_VARINT } from './proto-source';

/** Subgraphs nest through attributes; bound the depth so a hostile file cannot overflow the stack. */
export const MAX_GRAPH_DEPTH = 64;

/** A TensorProto as decoded: metadata plus where its values are, never the values themselves. */
export interface DecodedTensor {
  name: string;
  dtype: DType;
  dims: number[];
  /** Position and length of raw_data in the source, when present. */
  raw?: { offset: number; length: number };
  typed: Map<string, Array<{ offset: number; length: number; packed: boolean }>>;
  external?: Record<string, string>;
  dataLocation: number;
}

export function decodeTensorProto(r: ProtoReader): DecodedTensor {
  const t: DecodedTensor = { name: '', dtype: 'unknown', dims: [], typed: new Map(), dataLocation: 0 };
  let dtypeCode = 0;
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.repeated(wire, () => r.int64(), t.dims); break;
      case 2: dtypeCode = r.varint(); break;
      case 8: t.name = r.string(); break;
      case 9: {
        const n = r.length();
        t.raw = { offset: r.pos, length: n };
        r.advance(n);
        break;
      }
      case 13: {
        const kv = decodeStringEntry(r.sub());
        (t.external ??= {})[kv.key] = kv.value;
        break;
      }
      case 14: t.dataLocation = r.varint(); break;
      default: {
        const typed = TYPED_FIELD_NUMBERS[field];
        if (typed && (wire === WIRE_LEN || wire === WIRE_VARINT || wire === WIRE_I32 || wire === 1)) {
          const start = r.pos;
          if (wire === WIRE_LEN) {
            const n = r.length();
            const segs = t.typed.get(typed) ?? [];
            // string_data is never packed: each LEN field is one string.
            segs.push({ offset: r.pos, length: n, packed: typed !== 'string_data' });
            t.typed.set(typed, segs);
            r.advance(n);
          } else {
            r.skip(wire);
            const segs = t.typed.get(typed) ?? [];
            segs.push({ offset: start, length: r.pos - start, packed: false });
            t.typed.set(typed, segs);
          }
        } else {
          r.skip(wire);
        }
      }
    }
  }
  t.dtype = dtypeFromOnnx(dtypeCode);
  for (const d of t.dims) if (!Number.isSafeInteger(d) || d < 0) r.fail(`tensor '${t.name}' has an invalid dimension ${d}`);
  return t;
}

function decodeStringEntry(r: ProtoReader): { key: string; value: string } {
  let key = '';
  let value = '';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) key = r.string();
    else if (field === 2) value = r.string();
    else r.skip(wire);
  }
  return { key, value };
}

function decodeOpset(r: ProtoReader): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) domain = r.string();
    else if (field === 2) version = r.int64();
    else r.skip(wire);
  }
  return { domain, version };
}

function decodeValueInfo(r: ProtoReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '' };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) v.name = r.string();
    else if (field === 2) decodeTypeProto(r.sub(), v);
    else r.skip(wire);
  }
  return v;
}

function decodeTypeProto(r: ProtoReader, v: OnnxValueInfo): void {
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) {
      const tr = r.sub();
      while (!tr.done()) {
        const t = tr.tag();
        if (t.field === 1) v.elemType = dtypeFromOnnx(tr.varint());
        else if (t.field === 2) v.shape = decodeShape(tr.sub());
        else tr.skip(t.wire);
      }
    } else r.skip(wire);
  }
}

function decodeShape(r: ProtoReader): Array<number | string | null> {
  const dims: Array<number | string | null> = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field !== 1) { r.skip(wire); continue; }
    const dr = r.sub();
    let dim: number | string | null = null;
    while (!dr.done()) {
      const t = dr.tag();
      if (t.field === 1) dim = dr.int64();
      else if (t.field === 2) dim = dr.string();
      else dr.skip(t.wire);
    }
    dims.push(dim);
  }
  return dims;
}

/** Collects what the ONNX reader needs while walking a model: nodes, and tensors with their scope. */
export interface DecodeSink {
  tensor(t: DecodedTensor, origin: TensorOrigin, scope: string, nameOverride?: string, sparse?: { nnz: number }): void;
}

const ATTR_TYPES: Record<number, OnnxAttribute['type']> = {
  1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 5: 'graph', 6: 'floats', 7: 'ints', 8: 'strings',
  9: 'tensors', 10: 'graphs', 11: 'sparse_tensor', 13: 'type_proto',
};

interface GraphOut {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export function decodeGraph(r: ProtoReader, path: string, depth: number, sink: DecodeSink, nodesOut: OnnxNode[]): GraphOut {
  if (depth > MAX_GRAPH_DEPTH) r.fail(`subgraphs nest deeper than ${MAX_GRAPH_DEPTH} levels`);
  const g: GraphOut = { name: '', nodes: [], inputs: [], outputs: [] };
  const sub: Array<() => void> = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: g.nodes.push(decodeNode(r.sub(), path, depth, sink, sub, nodesOut)); break;
      case 2: g.name = r.string(); break;
      case 5: sink.tensor(decodeTensorProto(r.sub()), 'initializer', path); break;
      case 15: decodeSparse(r.sub(), path, sink); break;
      case 11: g.inputs.push(decodeValueInfo(r.sub())); break;
      case 12: g.outputs.push(decodeValueInfo(r.sub())); break;
      default: r.skip(wire);
    }
  }
  // A loop, not push(...g.nodes): spreading passes every node as an argument, and a graph of
  // ~125k nodes (250 KB of empty NodeProtos) overflows the stack.
  for (const n of g.nodes) nodesOut.push(n);
  // Subgraph nodes come after their parent graph's, so the main graph's nodes stay first.
  for (const s of sub) s();
  return g;
}

function decodeSparse(r: ProtoReader, scope: string, sink: DecodeSink): void {
  let values: DecodedTensor | undefined;
  let indices: DecodedTensor | undefined;
  const dims: number[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) values = decodeTensorProto(r.sub());
    else if (field === 2) indices = decodeTensorProto(r.sub());
    else if (field === 3) r.repeated(wire, () => r.int64(), dims);
    else r.skip(wire);
  }
  if (!values) r.fail('sparse initializer without values');
  const nnz = product(values.dims);
  // The dense shape is what the model computes with; the stored elements are the non-zeros.
  sink.tensor({ ...values, dims }, 'sparse-initializer', scope, values.name, { nnz });
  // The indices are stored bytes too (integers, so counted apart from parameters).
  if (indices) sink.tensor(indices, 'sparse-initializer', scope, `${values.name}.indices`);
}

function decodeNode(r: ProtoReader, path: string, depth: number, sink: DecodeSink, deferred: Array<() => void>, nodesOut: OnnxNode[]): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [], graphPath: path };
  const graphs: Array<{ attr: string; reader: ProtoReader }> = [];
  const tensors: Array<{ attr: string; t: DecodedTensor }> = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: n.inputs.push(r.string()); break;
      case 2: n.outputs.push(r.string()); break;
      case 3: n.name = r.string(); break;
      case 4: n.opType = r.string(); break;
      case 7: n.domain = r.string(); break;
      case 5: n.attributes.push(decodeAttribute(r.sub(), graphs, tensors)); break;
      default: r.skip(wire);
    }
  }
  const nodeId = n.name || `${n.opType}(${n.outputs[0] ?? ''})`;
  // The first attribute of each name, looked up once per tensor: a search through the node's
  // attributes for each would make a node with 130k tensor attributes (3 MB) take 36 s.
  const byName = new Map<string, OnnxAttribute>();
  if (tensors.length) for (const a of n.attributes) if (!byName.has(a.name)) byName.set(a.name, a);
  for (const { attr, t } of tensors) {
    // A Constant's tensor is known to the graph by the node's output name.
    const name = n.opType === 'Constant' && attr === 'value' && n.outputs[0] ? n.outputs[0] : t.name || `${nodeId}.${attr}`;
    sink.tensor(t, 'constant', path, name);
    const a = byName.get(attr);
    if (a) a.tensorName = name;
  }
  for (const { attr, reader } of graphs) {
    const subPath = `${path ? path + '/' : ''}${nodeId}/${attr}`;
    deferred.push(() => { decodeGraph(reader, subPath, depth + 1, sink, nodesOut); });
  }
  return n;
}

function decodeAttribute(
  r: ProtoReader,
  graphs: Array<{ attr: string; reader: ProtoReader }>,
  tensors: Array<{ attr: string; t: DecodedTensor }>,
): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 'unknown' };
  // `tensors` and `graphs` collect the whole node's; this attribute's are the ones added from here.
  const firstTensor = tensors.length;
  const firstGraph = graphs.length;
  let typeCode = 0;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: a.name = r.string(); break;
      case 20: typeCode = r.varint(); break;
      case 21: a.refAttrName = r.string(); break;
      case 2: a.f = r.float32(); break;
      case 3: a.i = r.int64(); break;
      case 4: a.s = r.string(); break;
      case 5: tensors.push({ attr: '', t: decodeTensorProto(r.sub()) }); break;
      case 6: graphs.push({ attr: '', reader: r.sub() }); break;
      case 7: r.repeated(wire, () => r.float32(), floats); break;
      case 8: r.repeated(wire, () => r.int64(), ints); break;
      case 9: strings.push(r.string()); break;
      case 10: tensors.push({ attr: '', t: decodeTensorProto(r.sub()) }); break;
      case 11: graphs.push({ attr: '', reader: r.sub() }); break;
      default: r.skip(wire);
    }
  }
  a.type = ATTR_TYPES[typeCode] ?? 'unknown';
  // The attribute name is known only once the whole message is read. Only this attribute's
  // entries are named: going over the node's every time made 130k attributes take 14 s.
  for (let i = firstTensor; i < tensors.length; i++) tensors[i].attr = a.name;
  for (let i = firstGraph; i < graphs.length; i++) graphs[i].attr = a.name;
  if (floats.length) a.floats = floats;
  if (ints.length) a.ints = ints;
  if (strings.length) a.strings = strings;
  return a;
}

export interface DecodedModel {
  info: OnnxGraphInfo;
  sawGraph: boolean;
}

export function decodeModel(src: ByteSource, sink: DecodeSink): DecodedModel {
  const r = new ProtoReader(src, 0, src.size);
  const info: OnnxGraphInfo = {
    irVersion: 0, producerName: '', producerVersion: '', domain: '', modelVersion: 0, docString: '',
    opsetImports: [], metadata: {}, graphName: '', inputs: [], outputs: [], nodes: [], functions: [],
  };
  let sawGraph = false;
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: info.irVersion = r.int64(); break;
      case 2: info.producerName = r.string(); break;
      case 3: info.producerVersion = r.string(); break;
      case 4: info.domain = r.string(); break;
      case 5: info.modelVersion = r.int64(); break;
      case 6: info.docString = r.string(); break;
      case 8: info.opsetImports.push(decodeOpset(r.sub())); break;
      case 14: { const kv = decodeStringEntry(r.sub()); info.metadata[kv.key] = kv.value; break; }
      case 7: {
        if (wire !== WIRE_LEN) r.fail('ModelProto.graph has the wrong wire type: this is not an ONNX model');
        const g = decodeGraph(r.sub(), '', 0, sink, info.nodes);
        info.graphName = g.name;
        info.inputs = g.inputs;
        info.outputs = g.outputs;
        sawGraph = true;
        break;
      }
      case 25: info.functions.push(decodeFunction(r.sub(), sink, info.nodes)); break;
      default: r.skip(wire);
    }
  }
  return { info, sawGraph };
}

function decodeFunction(r: ProtoReader, sink: DecodeSink, nodesOut: OnnxNode[]): { name: string; domain: string; nodeCount: number } {
  let name = '';
  let domain = '';
  const nodeReaders: ProtoReader[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) name = r.string();
    else if (field === 10) domain = r.string();
    else if (field === 7) nodeReaders.push(r.sub());
    else r.skip(wire);
  }
  const path = `function:${domain ? domain + '.' : ''}${name}`;
  const deferred: Array<() => void> = [];
  for (const nr of nodeReaders) nodesOut.push(decodeNode(nr, path, 1, sink, deferred, nodesOut));
  for (const d of deferred) d();
  return { name, domain, nodeCount: nodeReaders.length };
}

/** Turns a decoded tensor into the contract's TensorInfo; external data is resolved by the caller. */
export function toTensorInfo(t: DecodedTensor, file: string, origin: TensorOrigin, scope: string, name: string, external: TensorData | undefined, nnz?: number): TensorInfo {
  const elements = product(t.dims);
  let data: TensorData;
  let byteLength: number;
  if (external) {
    data = external;
    byteLength = external.kind === 'raw' ? external.length : 0;
  } else if (t.raw) {
    data = { kind: 'raw', file, offset: t.raw.offset, length: t.raw.length };
    byteLength = t.raw.length;
  } else if (t.typed.size > 0) {
    const [field, segments] = [...t.typed.entries()][0];
    data = { kind: 'onnx-typed', file, field: field as never, segments };
    byteLength = byteLengthOf(t.dtype, nnz ?? elements);
  } else {
    data = { kind: 'none' };
    byteLength = 0;
  }
  return { name, dtype: t.dtype, shape: t.dims, elements, byteLength, origin, data, scope };
}
