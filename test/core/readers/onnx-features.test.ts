import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { loadTensor } from '../../../src/core/tensor-values';
import { ProtoWriter } from '../../../src/core/onnx/proto-writer';
import { onnxFromDtype } from '../../../src/core/onnx/onnx-types';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { openModel } from '../../../src/core/open-model';
import type { DType } from '../../../src/core/model';
import { ONNX_BACKEND, requireShared } from '../../helpers/paths';

requireShared();
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-onnx-features-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
function tensor(name: string, dtype: DType, dims: number[], fill: (w: ProtoWriter) => void): ProtoWriter {
  const w = new ProtoWriter();
  if (dims.length) w.packedVarints(1, dims);
  w.varint(2, onnxFromDtype(dtype)).string(8, name);
  fill(w);
  return w;
}
function model(graph: ProtoWriter, extra: (m: ProtoWriter) => void = () => {}): Buffer {
  const m = new ProtoWriter().varint(1, 9).string(2, 'unit-test').string(3, '1.2.3').message(7, graph).message(8, new ProtoWriter().varint(2, 18));
  extra(m);
  return m.finish();
}
function save(name: string, bytes: Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

test('typed fields (float_data, int64_data, int32_data, double_data, string_data) decode to the right values', async () => {
  const g = new ProtoWriter().string(2, 'g')
    .message(5, tensor('f', 'float32', [3], (w) => w.packedFloats(4, [1.5, -2, 3.25])))
    .message(5, tensor('i64', 'int64', [2], (w) => w.packedVarints(7, [-5n, 2n ** 40n])))
    .message(5, tensor('h', 'float16', [2], (w) => w.packedVarints(5, [0x3c00, 0xc000])))
    .message(5, tensor('d', 'float64', [1], (w) => { const b = Buffer.alloc(8); b.writeDoubleLE(Math.PI); w.bytes(10, b); }))
    .message(5, tensor('s', 'string', [2], (w) => w.string(6, 'héllo').string(6, '')))
    // A non-packed repeated field: one tag per value.
    .message(5, tensor('i8', 'int8', [2], (w) => w.varint(5, -3).varint(5, 7)));
  const m = await onnxReader.read(save('typed.onnx', model(g)));
  const v = (n: string) => Array.from(loadTensor(m.tensors.find((t) => t.name === n)!).values as ArrayLike<unknown>);
  assert.deepEqual(v('f'), [1.5, -2, 3.25]);
  assert.deepEqual(v('i64'), [-5n, 2n ** 40n]);
  assert.deepEqual(v('h'), [0x3c00, 0xc000]);
  assert.deepEqual(v('d'), [Math.PI]);
  assert.deepEqual(v('s'), ['héllo', '']);
  assert.deepEqual(v('i8'), [-3, 7]);
  assert.equal(m.metadata.producer, 'unit-test 1.2.3');
  assert.equal(m.metadata.irVersion, '9');
});

test('every TensorProto data type is named and sized', async () => {
  const all: Array<[DType, number]> = [
    ['float32', 4], ['uint8', 1], ['int8', 1], ['uint16', 2], ['int16', 2], ['int32', 4], ['int64', 8], ['bool', 1],
    ['float16', 2], ['float64', 8], ['uint32', 4], ['uint64', 8], ['complex64', 8], ['complex128', 16], ['bfloat16', 2],
    ['float8e4m3fn', 1], ['float8e4m3fnuz', 1], ['float8e5m2', 1], ['float8e5m2fnuz', 1], ['uint4', 0.5], ['int4', 0.5], ['float4e2m1', 0.5],
  ];
  const g = new ProtoWriter().string(2, 'g');
  for (const [d, size] of all) g.message(5, tensor(`t_${d}`, d, [2, 3], (w) => w.bytes(9, new Uint8Array(Math.ceil(6 * size)))));
  const m = await onnxReader.read(save('dtypes.onnx', model(g)));
  for (const [d, size] of all) {
    const t = m.tensors.find((x) => x.name === `t_${d}`)!;
    assert.equal(t.dtype, d);
    assert.equal(t.byteLength, Math.ceil(6 * size), d);
    assert.equal(t.elements, 6);
  }
  const card = analyzeModel(m);
  // Floating-point and quantized types are parameters; plain integers and bool are not.
  const counted = new Set(card.tensors.filter((r) => r.isParam).map((r) => r.dtype));
  for (const d of ['float32', 'float16', 'bfloat16', 'float64', 'int8', 'uint8', 'int4', 'uint4', 'float8e4m3fn'] as DType[]) assert.ok(counted.has(d), d);
  for (const d of ['int32', 'int64', 'bool', 'uint16', 'int16'] as DType[]) assert.ok(!counted.has(d), d);
});

test('sparse initializers, Constant tensors, local functions, subgraph metadata', async () => {
  const values = tensor('sp', 'float32', [3], (w) => w.packedFloats(4, [1, 2, 3]));
  const indices = tensor('sp_idx', 'int64', [3], (w) => w.packedVarints(7, [0, 5, 7]));
  const sparse = new ProtoWriter().message(1, values).message(2, indices).packedVarints(3, [2, 4]);
  const constNode = (name: string, t: ProtoWriter) => new ProtoWriter().string(2, name).string(3, `${name}_node`).string(4, 'Constant')
    .message(5, new ProtoWriter().string(1, 'value').varint(20, 4).message(5, t));
  const g = new ProtoWriter()
    .message(1, constNode('cvec', tensor('', 'float32', [4], (w) => w.bytes(9, new Uint8Array(16)))))
    .message(1, constNode('cscalar', tensor('', 'float32', [], (w) => w.bytes(9, new Uint8Array(4)))))
    .message(1, constNode('cshape', tensor('', 'int64', [3], (w) => w.bytes(9, new Uint8Array(24)))))
    .string(2, 'g').message(15, sparse);
  const fn = new ProtoWriter().string(1, 'MyGelu').string(10, 'custom.domain').string(4, 'x').string(5, 'y')
    .message(7, new ProtoWriter().string(1, 'x').string(2, 'y').string(4, 'Relu'));
  const file = save('features.onnx', model(g, (m) => m.message(25, fn).message(14, entry('author', 'me'))));
  const m = await onnxReader.read(file);
  const sp = m.tensors.find((t) => t.name === 'sp')!;
  assert.equal(sp.origin, 'sparse-initializer');
  assert.deepEqual(sp.shape, [2, 4]);
  assert.equal(sp.elements, 8);
  assert.equal(m.tensors.find((t) => t.name === 'cvec')!.origin, 'constant');
  assert.deepEqual(m.onnx!.functions, [{ name: 'MyGelu', domain: 'custom.domain', nodeCount: 1 }]);
  assert.equal(m.onnx!.nodes.find((n) => n.opType === 'Relu')!.graphPath, 'function:custom.domain.MyGelu');
  assert.equal(m.metadata['meta.author'], 'me');
  const card = analyzeModel(m);
  // Constant tensors of 2+ elements are parameters; scalars and integer shapes are counted apart.
  assert.equal(card.params.total, 8 + 4);
  assert.equal(card.params.scalarConstants, 1);
  assert.deepEqual(card.params.integerConstants, { tensors: 2, elements: 6 });
});

test('external data beyond 2 GB (and 4 GB) is addressed exactly', async (t) => {
  const data = path.join(dir, 'big.data');
  const fd = openSync(data, 'w');
  const offset = 5 * 1024 ** 3 + 12;
  try {
    // A sparse file: 5 GB long, only the last 16 bytes written.
    ftruncateSync(fd, offset + 16);
    const vals = Buffer.from(new Float32Array([1, -1, 0.5, 42]).buffer);
    writeSync(fd, vals, 0, 16, offset);
  } catch (e) {
    t.skip(`this file system cannot hold a 5 GB sparse file: ${(e as Error).message}`);
    return;
  } finally {
    closeSync(fd);
  }
  const w = tensor('w', 'float32', [4], (x) => x.message(13, entry('location', 'big.data')).message(13, entry('offset', String(offset))).message(13, entry('length', '16')).varint(14, 1));
  const m = await onnxReader.read(save('big.onnx', model(new ProtoWriter().string(2, 'g').message(5, w))));
  assert.deepEqual(m.tensors[0].data, { kind: 'raw', file: data, offset, length: 16 });
  assert.deepEqual(Array.from(loadTensor(m.tensors[0]).values as Float32Array), [1, -1, 0.5, 42]);
  assert.equal(m.files.find((f) => f.path === data)!.bytes, offset + 16);
});

test('a TinyBERT checkpoint (with its fit_dense projections) is TinyBERT-like; a CNN is unknown', async () => {
  const header: Record<string, unknown> = {};
  let off = 0;
  const add = (name: string, shape: number[]) => { const n = shape.reduce((a, b) => a * b, 1) * 4; header[name] = { dtype: 'F32', shape, data_offsets: [off, off + n] }; off += n; };
  add('bert.embeddings.word_embeddings.weight', [100, 32]);
  for (let l = 0; l < 2; l++) {
    for (const p of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) add(`bert.encoder.layer.${l}.${p}.weight`, [32, 32]);
    add(`bert.encoder.layer.${l}.intermediate.dense.weight`, [64, 32]);
    add(`bert.encoder.layer.${l}.output.dense.weight`, [32, 64]);
  }
  add('fit_denses.0.weight', [128, 32]);
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = save('tinybert.safetensors', Buffer.concat([len, json, Buffer.alloc(off)]));
  const card = analyzeModel(await openModel(file));
  assert.equal(card.family, 'TinyBERT-like');
  assert.ok(card.familyEvidence.some((e) => e.includes('fit_dense')));
  assert.equal(card.layers.length, 2);
  const cnn = analyzeModel(await openModel(path.join(ONNX_BACKEND, 'pytorch-operator', 'test_operator_conv', 'model.onnx')));
  assert.equal(cnn.family, 'unknown');
  assert.equal(cnn.layers.length, 0);
});
