import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { ModelReadError } from '../../../src/core/model';
import { serializeModel } from '../../../src/core/onnx/onnx-writer';
import { attr, type GraphSpec, type ModelSpec } from '../../../src/core/onnx/model-spec';
import { ProtoWriter } from '../../../src/core/onnx/proto-writer';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';

requireShared();
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bad-onnx-'));
const good = readFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'));

function put(name: string, bytes: Uint8Array | string): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** Reading must end in a ModelReadError that names the file and matches the cause, quickly. */
async function rejects(file: string, cause: RegExp): Promise<void> {
  const t0 = Date.now();
  await assert.rejects(onnxReader.read(file), (e: unknown) => {
    assert.ok(e instanceof ModelReadError, `a ModelReadError, got ${(e as Error)?.stack}`);
    assert.ok(e.message.includes(file), `names the file: ${e.message}`);
    assert.match(e.message, cause);
    return true;
  });
  assert.ok(Date.now() - t0 < 1000, 'within a second');
}

test('empty file', () => rejects(put('empty.onnx', ''), /empty file/));

test('Git LFS pointer', () => rejects(put('lfs.onnx', 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n'), /Git LFS pointer/));

test('truncated at many points', async () => {
  for (const frac of [0.001, 0.01, 0.1, 0.5, 0.9, 0.999]) {
    await rejects(put(`trunc-${frac}.onnx`, good.subarray(0, Math.floor(good.length * frac))), /truncated|past the end|end of message|no graph/);
  }
});

test('a varint that never ends', () => rejects(put('varint.onnx', Buffer.from([0x08, ...new Array(20).fill(0xff)])), /malformed varint|truncated/));

test('a length field past the end', () => rejects(put('length.onnx', Buffer.from([0x3a, 0xe8, 0x07, 1, 2, 3, 4, 5])), /length field 1000 runs past the end/));

test('not protobuf at all', () => rejects(put('text.onnx', '<html><body>404 Not Found</body></html>'), /./));

test('flipped bytes never crash: each corrupt copy reads or fails with a ModelReadError', async () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let failed = 0;
  for (let i = 0; i < 200; i++) {
    const copy = Buffer.from(good);
    const flips = 1 + Math.floor(rand() * 8);
    for (let f = 0; f < flips; f++) copy[Math.floor(rand() * copy.length)] ^= 1 << Math.floor(rand() * 8);
    const file = put('flipped.onnx', copy);
    const t0 = Date.now();
    try {
      await onnxReader.read(file);
    } catch (e) {
      assert.ok(e instanceof ModelReadError, `corruption ${i}: ${(e as Error).stack}`);
      failed++;
    }
    assert.ok(Date.now() - t0 < 1000, `corruption ${i} within a second`);
  }
  assert.ok(failed > 0, 'some corruptions are detected');
});

function nestedIf(depth: number): ModelSpec {
  const leaf: GraphSpec = { name: 'leaf', nodes: [{ opType: 'Identity', inputs: ['x'], outputs: ['y0'] }], inputs: [], outputs: [{ name: 'y0', dtype: 'float32', shape: [1] }], initializers: [] };
  let g = leaf;
  for (let i = 0; i < depth; i++) {
    g = { name: `g${i}`, nodes: [{ opType: 'If', inputs: ['cond'], outputs: [`y${i + 1}`], attributes: { then_branch: attr.g(g), else_branch: attr.g(leaf) } }], inputs: [], outputs: [{ name: `y${i + 1}`, dtype: 'float32', shape: [1] }], initializers: [] };
  }
  return { graph: { ...g, inputs: [{ name: 'cond', dtype: 'bool', shape: [] }, { name: 'x', dtype: 'float32', shape: [1] }] }, opsets: [{ domain: '', version: 17 }] };
}

test('deep nesting of subgraphs is refused, shallow nesting is read', async () => {
  await rejects(put('deep.onnx', serializeModel(nestedIf(200))), /nest deeper than 64/);
  const ok = await onnxReader.read(put('shallow.onnx', serializeModel(nestedIf(3))));
  assert.ok(ok.onnx!.nodes.some((n) => n.graphPath.includes('then_branch')), 'subgraph nodes are listed with their path');
});

/** A model whose one initializer says its data is external, at `location` (then `offset` and `length`, when given). */
function externalModel(location: string, where: { offset?: string; length?: string } = { offset: '0', length: '16' }): Buffer {
  const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
  const tensor = new ProtoWriter().packedVarints(1, [4]).varint(2, 1).string(8, 'w').message(13, entry('location', location));
  if (where.offset !== undefined) tensor.message(13, entry('offset', where.offset));
  if (where.length !== undefined) tensor.message(13, entry('length', where.length));
  tensor.varint(14, 1);
  const graph = new ProtoWriter().string(2, 'g').message(5, tensor);
  return new ProtoWriter().varint(1, 8).message(7, graph).message(8, new ProtoWriter().varint(2, 17)).finish();
}

test('external data outside the model folder is refused', async () => {
  const outside = put('secret.bin', Buffer.alloc(64, 7));
  const modelDir = path.join(dir, 'model-folder');
  mkdirSync(modelDir, { recursive: true });
  const inModel = (name: string, loc: string) => { const f = path.join(modelDir, name); writeFileSync(f, externalModel(loc)); return f; };
  await rejects(inModel('up.onnx', '../secret.bin'), /goes up with '\.\.'/);
  await rejects(inModel('abs.onnx', outside), /absolute path/);
  symlinkSync(outside, path.join(modelDir, 'link.bin'));
  await rejects(inModel('link.onnx', 'link.bin'), /outside the model folder/);
  await rejects(inModel('missing.onnx', 'nothing-here.bin'), /does not exist/);
  writeFileSync(path.join(modelDir, 'short.bin'), Buffer.alloc(8));
  await rejects(inModel('short.onnx', 'short.bin'), /runs past the end/);
  writeFileSync(path.join(modelDir, 'weights.bin'), Buffer.alloc(16, 1));
  const m = await onnxReader.read(inModel('fine.onnx', 'weights.bin'));
  assert.deepEqual(m.tensors[0].data, { kind: 'raw', file: path.join(modelDir, 'weights.bin'), offset: 0, length: 16 });
});

/** A model whose main graph is `graph` (a GraphProto's bytes). */
function modelOf(graph: ProtoWriter): Buffer {
  return new ProtoWriter().varint(1, 8).message(7, graph).message(8, new ProtoWriter().varint(2, 17)).finish();
}

test('a graph of 200000 nodes is read (found by the fuzzer: listing them overflowed the stack)', async () => {
  const graph = new ProtoWriter().string(2, 'g');
  for (let i = 0; i < 200_000; i++) graph.message(1, new ProtoWriter());
  const m = await onnxReader.read(put('many-nodes.onnx', modelOf(graph)));
  assert.equal(m.onnx!.nodes.length, 200_000);
});

test('a node with 100000 tensor attributes is read in well under a second (found by the fuzzer: it was quadratic)', async () => {
  const attribute = new ProtoWriter().string(1, 'value').message(5, new ProtoWriter().packedVarints(1, [1]).varint(2, 1).bytes(9, Buffer.alloc(4))).varint(20, 4);
  const node = new ProtoWriter().string(2, 'c').string(4, 'Constant');
  for (let i = 0; i < 100_000; i++) node.message(5, attribute);
  const file = put('many-attributes.onnx', modelOf(new ProtoWriter().string(2, 'g').message(1, node)));
  const t0 = performance.now();
  const m = await onnxReader.read(file);
  const ms = performance.now() - t0;
  assert.equal(m.tensors.length, 100_000);
  assert.equal(m.onnx!.nodes[0].attributes[0].tensorName, 'c');
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});

test('external data starting past the end of its file, with no length, is refused (found by the fuzzer: it read fine with a negative length)', async () => {
  const modelDir = path.join(dir, 'offset-folder');
  mkdirSync(modelDir, { recursive: true });
  writeFileSync(path.join(modelDir, 'weights.bin'), Buffer.alloc(16));
  const file = path.join(modelDir, 'past.onnx');
  writeFileSync(file, externalModel('weights.bin', { offset: '100' }));
  await rejects(file, /external data of tensor 'w' starts at offset 100, past the end of weights\.bin \(16 bytes\)/);
  writeFileSync(file, externalModel('weights.bin', { offset: '16' }));
  const m = await onnxReader.read(file);
  assert.deepEqual(m.tensors[0].data, { kind: 'raw', file: path.join(modelDir, 'weights.bin'), offset: 16, length: 0 });
});
