import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { OnnxGraphInfo } from '../../../src/core/model';
import { decodeModel } from '../../../src/core/onnx/onnx-decoder';
import { MemorySource } from '../../../src/core/onnx/proto-source';
import { encodeNode, serializeModel } from '../../../src/core/onnx/onnx-writer';
import { attr, type GraphSpec, type ModelSpec, type NodeSpec } from '../../../src/core/onnx/model-spec';
import { decodeRecords, upgradeLegacyOpset } from '../../../src/core/onnx/legacy-opset-upgrade';
import { decodeTensorBytes } from '../../../src/core/onnx/tensor-proto';
import { toOrtTensor } from '../../../src/core/ort/ort-tensors';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { ONNX_BACKEND, requireShared, walkFiles } from '../../helpers/paths';

function model(graph: GraphSpec, version: number): Buffer {
  const spec: ModelSpec = { graph, opsets: [{ domain: '', version }], irVersion: 3 };
  return serializeModel(spec);
}

function info(bytes: Uint8Array): OnnxGraphInfo {
  return decodeModel(new MemorySource('upgraded.onnx', bytes), { tensor() {} }).info;
}

const f32 = (dims: number[], values: number[]) => new ort.Tensor('float32', Float32Array.from(values), dims);
const range = (n: number, start = 0) => Array.from({ length: n }, (_, i) => start + i);

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function assertClose(actual: ort.Tensor, dims: number[], expected: number[], where: string): void {
  assert.deepEqual([...actual.dims], dims, `${where}: shape`);
  const a = actual.data as Float32Array;
  assert.equal(a.length, expected.length, `${where}: length`);
  expected.forEach((y, i) => assert.ok(Math.abs(a[i] - y) <= 1e-5 + 1e-5 * Math.abs(y), `${where}[${i}]: ${a[i]} vs ${y}`));
}

test('Add-6 with broadcast and axis gets an Unsqueeze so numpy broadcasting gives the same result', async () => {
  const bytes = model({
    name: 'g',
    nodes: [
      // B [3] aligned with axis 1 of A [2,3,4]: numpy would align it with the last axis (4) instead.
      { opType: 'Add', inputs: ['A', 'B'], outputs: ['Y'], name: 'add', attributes: { broadcast: attr.i(1), axis: attr.i(1) } },
      // No axis: suffix alignment, which numpy broadcasting already does.
      { opType: 'Sub', inputs: ['A', 'C'], outputs: ['Z'], attributes: { broadcast: attr.i(1) } },
      // axis = rank(A) - rank(D): legacy and numpy agree, nothing to insert.
      { opType: 'Mul', inputs: ['A', 'D'], outputs: ['W'], attributes: { broadcast: attr.i(1), axis: attr.i(1) } },
    ],
    inputs: [
      { name: 'A', dtype: 'float32', shape: [2, 3, 4] },
      { name: 'B', dtype: 'float32', shape: [3] },
      { name: 'C', dtype: 'float32', shape: [4] },
      { name: 'D', dtype: 'float32', shape: [3, 4] },
    ],
    outputs: [
      { name: 'Y', dtype: 'float32', shape: [2, 3, 4] },
      { name: 'Z', dtype: 'float32', shape: [2, 3, 4] },
      { name: 'W', dtype: 'float32', shape: [2, 3, 4] },
    ],
    initializers: [],
  }, 6);
  const { bytes: up, changes } = upgradeLegacyOpset(bytes, 'add-axis.onnx');
  assert.ok(changes.some((c) => c.includes('6 -> 7')), changes.join('\n'));
  assert.ok(changes.some((c) => c.includes("node 'add'") && c.includes('Unsqueeze(axes=[1])')), changes.join('\n'));

  const g = info(up);
  assert.deepEqual(g.opsetImports, [{ domain: '', version: 7 }]);
  assert.deepEqual(g.nodes.map((n) => n.opType), ['Unsqueeze', 'Add', 'Sub', 'Mul']);
  const [unsq, add, sub, mul] = g.nodes;
  assert.deepEqual(unsq.attributes.map((a) => [a.name, a.ints]), [['axes', [1]]]);
  assert.deepEqual(unsq.inputs, ['B']);
  assert.deepEqual(add.inputs, ['A', unsq.outputs[0]]);
  for (const n of [add, sub, mul]) assert.deepEqual(n.attributes, [], `${n.opType} keeps no legacy attributes`);
  assert.deepEqual(sub.inputs, ['A', 'C']);
  assert.deepEqual(mul.inputs, ['A', 'D']);

  const A = range(24); // A[i][j][k] = 12i + 4j + k
  const out = await run(up, {
    A: f32([2, 3, 4], A), B: f32([3], [10, 20, 30]), C: f32([4], [1, 2, 3, 4]), D: f32([3, 4], range(12, 1)),
  });
  // Y[i][j][k] = A[i][j][k] + B[j], written out by hand.
  assertClose(out.Y, [2, 3, 4], [
    10, 11, 12, 13, 24, 25, 26, 27, 38, 39, 40, 41,
    22, 23, 24, 25, 36, 37, 38, 39, 50, 51, 52, 53,
  ], 'Y');
  // Z[i][j][k] = A[i][j][k] - C[k] = 12i + 4j - 1.
  assertClose(out.Z, [2, 3, 4], [-1, -1, -1, -1, 3, 3, 3, 3, 7, 7, 7, 7, 11, 11, 11, 11, 15, 15, 15, 15, 19, 19, 19, 19], 'Z');
  // W[i][j][k] = A[i][j][k] * D[j][k] with D = 1..12.
  assertClose(out.W, [2, 3, 4], A.map((a, n) => a * ((n % 12) + 1)), 'W');
});

test('broadcast with axis and an input of unknown rank is refused, naming op, node and file', () => {
  const graph: GraphSpec = {
    name: 'g',
    nodes: [
      { opType: 'Relu', inputs: ['A'], outputs: ['R'] },
      { opType: 'Add', inputs: ['R', 'B'], outputs: ['Y'], name: 'add', attributes: { broadcast: attr.i(1), axis: attr.i(1) } },
    ],
    inputs: [{ name: 'A', dtype: 'float32', shape: [2, 3, 4] }, { name: 'B', dtype: 'float32', shape: [3] }],
    outputs: [{ name: 'Y', dtype: 'float32', shape: [2, 3, 4] }],
    initializers: [],
  };
  assert.throws(() => upgradeLegacyOpset(model(graph, 6), '/models/unknown-rank.onnx'),
    (e: Error) => /\/models\/unknown-rank\.onnx: cannot upgrade Add from opset 6 to 7 \(node 'add'\)/.test(e.message) && /'R' has no known shape/.test(e.message));
  // With value_info for R the rank is known, and the upgrade goes through.
  const withInfo = upgradeLegacyOpset(model({ ...graph, valueInfo: [{ name: 'R', dtype: 'float32', shape: [2, 3, 4] }] }, 6), 'known.onnx');
  assert.ok(withInfo.changes.some((c) => c.includes('Unsqueeze(axes=[1])')));
});

test('PRelu-6 with a per-channel [C] slope gets the slope unsqueezed to [C,1,1]', async () => {
  const slope = [0.5, 0.25, 2];
  const bytes = model({
    name: 'g',
    nodes: [
      { opType: 'PRelu', inputs: ['X', 'slope'], outputs: ['Y'] },
      // A single shared slope needs nothing.
      { opType: 'PRelu', inputs: ['X', 'shared'], outputs: ['Z'] },
    ],
    inputs: [{ name: 'X', dtype: 'float32', shape: [1, 3, 2, 2] }],
    outputs: [{ name: 'Y', dtype: 'float32', shape: [1, 3, 2, 2] }, { name: 'Z', dtype: 'float32', shape: [1, 3, 2, 2] }],
    initializers: [
      { name: 'slope', dtype: 'float32', dims: [3], values: Float32Array.from(slope) },
      { name: 'shared', dtype: 'float32', dims: [1], values: Float32Array.from([0.1]) },
    ],
  }, 6);
  const { bytes: up, changes } = upgradeLegacyOpset(bytes, 'prelu.onnx');
  assert.ok(changes.some((c) => c.includes('Unsqueeze(axes=[1,2])')), changes.join('\n'));
  const g = info(up);
  assert.deepEqual(g.nodes.map((n) => n.opType), ['Unsqueeze', 'PRelu', 'PRelu']);
  assert.deepEqual(g.nodes[2].inputs, ['X', 'shared']);

  const X = [-1, 2, -3, 4, -1, 2, -3, 4, -1, 2, -3, 4];
  const out = await run(up, { X: f32([1, 3, 2, 2], X) });
  // Channel c scales its negatives by slope[c]: 0.5, 0.25, 2.
  assertClose(out.Y, [1, 3, 2, 2], [-0.5, 2, -1.5, 4, -0.25, 2, -0.75, 4, -2, 2, -6, 4], 'Y');
  assertClose(out.Z, [1, 3, 2, 2], X.map((x) => (x < 0 ? 0.1 * x : x)), 'Z');
});

test('ops whose change at opset 7 is not adapted are refused with the op and the file named', () => {
  const io = {
    inputs: [{ name: 'X', dtype: 'float32' as const, shape: [1, 1, 2, 2] }],
    outputs: [{ name: 'Y', dtype: 'float32' as const, shape: [1, 1, 4, 4] }],
    initializers: [],
  };
  const cases: Array<{ node: NodeSpec; op: string; opset: number }> = [
    { node: { opType: 'Upsample', inputs: ['X'], outputs: ['Y'], attributes: { height_scale: attr.f(2), width_scale: attr.f(2) } }, op: 'Upsample', opset: 6 },
    { node: { opType: 'LSTM', inputs: ['X', 'W', 'R'], outputs: ['Y'], attributes: { hidden_size: attr.i(2) } }, op: 'LSTM', opset: 6 },
    { node: { opType: 'Equal', inputs: ['X', 'X'], outputs: ['Y'], attributes: { broadcast: attr.i(1) } }, op: 'Equal', opset: 6 },
    { node: { opType: 'Dropout', inputs: ['X'], outputs: ['Y'], attributes: { ratio: attr.f(0.5) } }, op: 'Dropout', opset: 6 },
    { node: { opType: 'BatchNormalization', inputs: ['X', 's', 'b', 'm', 'v'], outputs: ['Y'], attributes: { is_test: attr.i(0) } }, op: 'BatchNormalization', opset: 6 },
    { node: { opType: 'Cast', inputs: ['X'], outputs: ['Y'], attributes: { to: attr.s('FLOAT16') } }, op: 'Cast', opset: 5 },
  ];
  for (const c of cases) {
    const file = `/tmp/legacy-${c.op}.onnx`;
    assert.throws(() => upgradeLegacyOpset(model({ name: 'g', nodes: [c.node], ...io }, c.opset), file),
      (e: Error) => e.message.startsWith(`${file}: cannot upgrade ${c.op} from opset ${c.opset} to 7`), c.op);
  }
});

test('models at opset 7 or later come back unchanged, byte for byte', async () => {
  for (const version of [7, 13]) {
    const bytes = model({
      name: 'g',
      nodes: [{ opType: 'Add', inputs: ['A', 'B'], outputs: ['Y'] }],
      inputs: [{ name: 'A', dtype: 'float32', shape: [2, 3] }, { name: 'B', dtype: 'float32', shape: [3] }],
      outputs: [{ name: 'Y', dtype: 'float32', shape: [2, 3] }],
      initializers: [],
    }, version);
    const r = upgradeLegacyOpset(bytes, `opset${version}.onnx`);
    assert.deepEqual(r.changes, []);
    assert.ok(Buffer.from(r.bytes).equals(bytes), `opset ${version}`);
  }
  requireShared();
  const squeeze = path.join(ONNX_BACKEND, 'light', 'light_squeezenet.onnx');
  const bytes = readFileSync(squeeze);
  const r = upgradeLegacyOpset(bytes, squeeze);
  assert.deepEqual(r.changes, []);
  assert.ok(Buffer.from(r.bytes).equals(bytes));
});

test('records the upgrade does not touch are copied byte for byte', () => {
  const relu: NodeSpec = { opType: 'Relu', inputs: ['A'], outputs: ['R'], name: 'relu' };
  const weights = Float32Array.from(range(64, -32));
  const spec: ModelSpec = {
    graph: {
      name: 'g',
      nodes: [relu, { opType: 'Add', inputs: ['R', 'W'], outputs: ['Y'], attributes: { broadcast: attr.i(1) } }],
      inputs: [{ name: 'A', dtype: 'float32', shape: [64] }],
      outputs: [{ name: 'Y', dtype: 'float32', shape: [64] }],
      initializers: [{ name: 'W', dtype: 'float32', dims: [64], values: weights }],
    },
    opsets: [{ domain: '', version: 6 }, { domain: 'com.example', version: 2 }],
    irVersion: 3,
    metadata: { author: 'legacy exporter' },
  };
  // An unknown field with a non-minimal varint (0x81 0x00 = 1): a re-encoder would normalize it.
  const unknown = Uint8Array.from([0xa0, 0x06, 0x81, 0x00]);
  const bytes = Buffer.concat([serializeModel(spec), unknown]);
  const { bytes: up } = upgradeLegacyOpset(bytes, 'bytes.onnx');

  const before = decodeRecords(bytes, 'before');
  const after = decodeRecords(up, 'after');
  assert.deepEqual(after.map((r) => r.field), before.map((r) => r.field));
  before.forEach((r, i) => {
    if (r.field === 7) return; // the graph: compared below
    // The default-domain import as the writer encodes it: opset_import { version: 6 }.
    if (r.field === 8 && Buffer.from(r.raw).equals(Buffer.from([0x42, 0x02, 0x10, 0x06]))) assert.ok(Buffer.from(after[i].raw).equals(Buffer.from([0x42, 0x02, 0x10, 0x07])), 'default opset import now says 7');
    else assert.ok(Buffer.from(after[i].raw).equals(Buffer.from(r.raw)), `model field ${r.field} #${i} unchanged`);
  });
  assert.ok(Buffer.from(up).subarray(-unknown.length).equals(unknown), 'unknown field kept as it was');

  const g0 = decodeRecords(before.find((r) => r.field === 7)!.payload, 'g0');
  const g1 = decodeRecords(after.find((r) => r.field === 7)!.payload, 'g1');
  assert.equal(g1.length, g0.length);
  g0.forEach((r, i) => {
    const isAdd = r.field === 1 && Buffer.from(r.payload).includes(Buffer.from('Add'));
    if (!isAdd) assert.ok(Buffer.from(g1[i].raw).equals(Buffer.from(r.raw)), `graph field ${r.field} #${i} unchanged`);
  });
  // The untouched node is exactly what the writer encoded.
  assert.ok(Buffer.from(g1[0].payload).equals(encodeNode(relu).finish()));
});

test('an opset-1 model goes through the 1 -> 4 -> 5 -> 6 -> 7 steps and runs', async () => {
  const bytes = model({
    name: 'g',
    nodes: [
      { opType: 'Concat', inputs: ['A', 'B'], outputs: ['C'] }, // Concat-1: axis defaults to 1
      { opType: 'Reshape', inputs: ['C'], outputs: ['R'], attributes: { shape: attr.ints([4, 2]), consumed_inputs: attr.ints([0]) } },
      { opType: 'Add', inputs: ['R', 'R'], outputs: ['S'], attributes: { consumed_inputs: attr.ints([0, 0]) } },
      { opType: 'Pad', inputs: ['S'], outputs: ['Y'], attributes: { paddings: attr.ints([0, 1, 0, 0]), value: attr.f(-1) } },
    ],
    inputs: [{ name: 'A', dtype: 'float32', shape: [2, 2] }, { name: 'B', dtype: 'float32', shape: [2, 2] }],
    outputs: [{ name: 'Y', dtype: 'float32', shape: [4, 3] }],
    initializers: [],
  }, 1);
  const { bytes: up, changes } = upgradeLegacyOpset(bytes, 'opset1.onnx');
  assert.ok(changes.some((c) => c.includes('Concat-1 -> Concat-4') && c.includes('axis=1')), changes.join('\n'));
  assert.ok(changes.some((c) => c.includes('Reshape-1 -> Reshape-5') && c.includes('Constant')), changes.join('\n'));
  assert.ok(changes.some((c) => c.includes('Add-1 -> Add-7') && c.includes('consumed_inputs')), changes.join('\n'));
  assert.ok(changes.some((c) => c.includes('Pad-1 -> Pad-2') && c.includes('pads')), changes.join('\n'));
  assert.deepEqual(info(up).nodes.map((n) => n.opType), ['Concat', 'Constant', 'Reshape', 'Add', 'Pad']);
  const out = await run(up, { A: f32([2, 2], [1, 2, 3, 4]), B: f32([2, 2], [5, 6, 7, 8]) });
  // Concat axis 1: [[1,2,5,6],[3,4,7,8]] -> reshape [4,2] -> doubled -> one -1 column padded before.
  assertClose(out.Y, [4, 3], [-1, 2, 4, -1, 10, 12, -1, 6, 8, -1, 14, 16], 'Y');
});

test('subgraphs are upgraded too, with outer-scope shapes', async () => {
  const branch = (op: string): GraphSpec => ({
    name: `${op}_branch`,
    nodes: [{ opType: op, inputs: ['A', 'B'], outputs: [`${op}_out`], attributes: { broadcast: attr.i(1), axis: attr.i(0) } }],
    inputs: [],
    outputs: [{ name: `${op}_out`, dtype: 'float32', shape: [2, 3] }],
    initializers: [],
  });
  const bytes = model({
    name: 'g',
    nodes: [{ opType: 'If', inputs: ['cond'], outputs: ['Y'], attributes: { then_branch: attr.g(branch('Add')), else_branch: attr.g(branch('Sub')) } }],
    inputs: [
      { name: 'cond', dtype: 'bool', shape: [1] },
      { name: 'A', dtype: 'float32', shape: [2, 3] },
      { name: 'B', dtype: 'float32', shape: [2] },
    ],
    outputs: [{ name: 'Y', dtype: 'float32', shape: [2, 3] }],
    initializers: [],
  }, 6);
  const { bytes: up, changes } = upgradeLegacyOpset(bytes, 'if.onnx');
  assert.equal(changes.filter((c) => c.includes('Unsqueeze(axes=[1])')).length, 2, changes.join('\n'));
  const A = f32([2, 3], range(6));
  const B = f32([2], [100, 200]);
  const yes = await run(up, { cond: new ort.Tensor('bool', Uint8Array.from([1]), [1]), A, B });
  assertClose(yes.Y, [2, 3], [100, 101, 102, 203, 204, 205], 'then');
  const no = await run(up, { cond: new ort.Tensor('bool', Uint8Array.from([0]), [1]), A, B });
  assertClose(no.Y, [2, 3], [-100, -99, -98, -197, -196, -195], 'else');
});

test('every legacy-opset model of the ONNX backend corpus upgrades and still gives its expected outputs', async () => {
  requireShared();
  let legacy = 0;
  for (const file of walkFiles(ONNX_BACKEND, (p) => p.endsWith('.onnx'))) {
    const m = await onnxReader.read(file);
    const opset = m.onnx!.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    if (!opset || opset.version >= 7) continue;
    legacy++;
    const rel = path.relative(ONNX_BACKEND, file);
    const { bytes, changes } = upgradeLegacyOpset(readFileSync(file), file);
    assert.ok(changes.length > 0, rel);
    const dir = path.join(path.dirname(file), 'test_data_set_0');
    assert.ok(existsSync(dir), rel);
    const names = readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const fed = m.onnx!.inputs.filter((i) => !m.tensors.some((t) => t.name === i.name && t.origin === 'initializer'));
    const feeds: Record<string, ort.Tensor> = {};
    names.filter((n) => n.startsWith('input_')).forEach((n, i) => {
      feeds[fed[i].name] = toOrtTensor(decodeTensorBytes(n, readFileSync(path.join(dir, n))));
    });
    const out = await run(bytes, feeds);
    names.filter((n) => n.startsWith('output_')).forEach((n, i) => {
      const e = decodeTensorBytes(n, readFileSync(path.join(dir, n)));
      const a = out[m.onnx!.outputs[i].name];
      assert.deepEqual([...a.dims], e.shape, `${rel}: shape`);
      const av = a.data as Float32Array;
      const ev = e.values as Float32Array;
      for (let k = 0; k < ev.length; k++) {
        if (Object.is(av[k], ev[k]) || (Number.isNaN(ev[k]) && Number.isNaN(av[k]))) continue;
        assert.ok(Math.abs(av[k] - ev[k]) <= 1e-3 + 1e-3 * Math.abs(ev[k]), `${rel}[${k}]: ${av[k]} vs ${ev[k]}`);
      }
    });
  }
  assert.ok(legacy >= 100, `found ${legacy} legacy-opset models`);
});
