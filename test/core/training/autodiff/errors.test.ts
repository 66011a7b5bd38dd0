// What the autodiff refuses, and how it says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeModel } from '../../../../src/core/onnx/onnx-writer';
import { attr, type ModelSpec } from '../../../../src/core/onnx/model-spec';
import { onnxReader } from '../../../../src/core/readers/onnx-reader';
import { forwardSpecFromModel } from '../../../../src/core/onnx/forward-spec';
import { buildTrainingGraph } from '../../../../src/core/training/autodiff/training-graph';
import { initialParameters, TrainingSession } from '../../../../src/core/training/autodiff/session';
import { AutodiffError } from '../../../../src/core/training/autodiff/emitter';
import { miniModel } from './gradcheck';

const mse = { kind: 'mse', output: 'y' } as const;

test('an op without a gradient rule between a parameter and the loss is named, with its op type and the parameter', async () => {
  const model = miniModel([
    { opType: 'Mul', inputs: ['w', 'w'], outputs: ['t'], name: 'square' },
    { opType: 'Sin', inputs: ['t'], outputs: ['y'], name: 'the_sine' },
  ], { w: { dims: [3] } });
  await assert.rejects(buildTrainingGraph(model, { trainable: ['w'], loss: mse }), (e: Error) =>
    e instanceof AutodiffError && /no gradient rule for Sin node 'the_sine'/.test(e.message) && /trainable parameter 'w'/.test(e.message));
});

test('an op without a rule off the gradient path is fine (frozen parameters, integer shape ops)', async () => {
  const model = miniModel([
    { opType: 'Sin', inputs: ['frozen'], outputs: ['s'], name: 'sine_of_a_constant' },
    { opType: 'Mul', inputs: ['w', 's'], outputs: ['y'], name: 'scale' },
  ], { w: { dims: [3] }, frozen: { dims: [3] } });
  const tg = await buildTrainingGraph(model, { trainable: ['w'], loss: mse });
  assert.deepEqual(tg.paramInputs, ['w']);
});

test('trainable names that are not float initializers are refused', async () => {
  const model = miniModel([
    { opType: 'Constant', inputs: [], outputs: ['c'], name: 'c', attributes: { value: attr.t({ name: 'c', dtype: 'float64', dims: [3], values: new Float64Array(3) }) } },
    { opType: 'Add', inputs: ['w', 'c'], outputs: ['y'], name: 'add' },
  ], { w: { dims: [3] } });
  await assert.rejects(buildTrainingGraph(model, { trainable: ['c'], loss: mse }), /cannot train 'c': it is a Constant node's output/);
  await assert.rejects(buildTrainingGraph(model, { trainable: ['nope'], loss: mse }), /cannot train 'nope': the graph has no initializer/);
  await assert.rejects(buildTrainingGraph(model, { trainable: ['w', 'w'], loss: mse }), /listed twice/);
});

test('a parameter that does not reach the loss gets a zero gradient and a warning', async () => {
  const model = miniModel([{ opType: 'Identity', inputs: ['w'], outputs: ['y'], name: 'id' }], { w: { dims: [2] }, unused: { dims: [3] } });
  const tg = await buildTrainingGraph(model, { trainable: ['w', 'unused'], loss: mse });
  assert.deepEqual(tg.warnings, ["parameter 'unused' does not affect the loss; its gradient is zero"]);
  const s = await TrainingSession.create(tg);
  const out = await s.runRaw({
    w: new ort.Tensor('float64', Float64Array.from([1, 2]), [2]), unused: new ort.Tensor('float64', new Float64Array(3), [3]),
    target: new ort.Tensor('float64', new Float64Array(2), [2]),
  });
  assert.deepEqual(Array.from(out[tg.gradOutputs.get('unused')!].data as Float64Array), [0, 0, 0]);
  await s.release();
});

test('a loss that no parameter affects is refused', async () => {
  const model = miniModel([{ opType: 'Identity', inputs: ['frozen'], outputs: ['y'], name: 'id' }], { w: { dims: [2] }, frozen: { dims: [2] } });
  await assert.rejects(buildTrainingGraph(model, { trainable: ['w'], loss: mse }), /does not depend on any trainable parameter/);
});

test('loss references to missing or non-float values are refused', async () => {
  const model = miniModel([{ opType: 'Identity', inputs: ['w'], outputs: ['y'], name: 'id' }], { w: { dims: [2, 3] } });
  await assert.rejects(buildTrainingGraph(model, { trainable: ['w'], loss: { kind: 'cross-entropy', logits: 'nope' } }), /no value named 'nope'/);
  await assert.rejects(buildTrainingGraph(model, { trainable: ['w'], loss: { kind: 'kl-divergence', logits: 'y', temperature: 0 } }), /temperature must be positive/);
});

test('TrainingSession.run checks parameters by name and size', async () => {
  const model = miniModel([{ opType: 'Identity', inputs: ['w'], outputs: ['y'], name: 'id' }], { w: { dims: [2] } }, { dtype: 'float32' });
  const tg = await buildTrainingGraph(model, { trainable: ['w'], loss: mse });
  const s = await TrainingSession.create(tg);
  const feeds = { target: new ort.Tensor('float32', Float32Array.from([1, 1]), [2]) };
  await assert.rejects(s.run(feeds, []), /no value for trainable parameter 'w'/);
  await assert.rejects(s.run(feeds, [{ name: 'w', shape: [3], values: new Float32Array(3) }]), /has 3 values; the graph expects \[2\]/);
  const r = await s.run(feeds, initialParameters(model, ['w']));
  assert.equal(r.grads.get('w')!.length, 2);
  assert.ok(r.loss > 0);
  await s.release();
});

test('forwardSpecFromModel refuses subgraphs, naming the node', async () => {
  const branch = (v: number) => ({
    name: `b${v}`, nodes: [{ opType: 'Constant', inputs: [], outputs: [`o${v}`], attributes: { value: attr.t({ name: `o${v}`, dtype: 'float32' as const, dims: [1], values: Float32Array.from([v]) }) } }],
    inputs: [], outputs: [{ name: `o${v}`, dtype: 'float32' as const, shape: [1] }], initializers: [],
  });
  const spec: ModelSpec = {
    graph: {
      name: 'g', inputs: [{ name: 'c', dtype: 'bool', shape: [] }], outputs: [{ name: 'y', dtype: 'float32', shape: [1] }], initializers: [],
      nodes: [{ opType: 'If', inputs: ['c'], outputs: ['y'], name: 'branchy', attributes: { then_branch: attr.g(branch(1)), else_branch: attr.g(branch(2)) } }],
    },
    opsets: [{ domain: '', version: 17 }],
  };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'autodiff-')), 'if.onnx');
  writeModel(file, spec);
  const model = await onnxReader.read(file);
  assert.throws(() => forwardSpecFromModel(model), /subgraphs \(node 'branchy'/);
});

test('probe feeds given by the caller (for graphs whose inputs cannot be synthesized), loss inputs included', async () => {
  // Row ids must stay below 6: the synthesized probe feeds would be zeros, fine here, but the caller's are used.
  const model = miniModel([
    { opType: 'Gather', inputs: ['table', 'ids'], outputs: ['rows'], name: 'lookup' },
    { opType: 'ReduceMean', inputs: ['rows'], outputs: ['logits'], name: 'pool', attributes: { axes: attr.ints([1]), keepdims: attr.i(0) } },
  ], { table: { dims: [6, 3] } }, { dtype: 'float32', inputs: [{ name: 'ids', dtype: 'int64', shape: ['batch', 'sequence'] }] });
  const feed = (b: number, s: number) => ({
    ids: new ort.Tensor('int64', BigInt64Array.from({ length: b * s }, (_, i) => BigInt(5 - (i % 6))), [b, s]),
    labels: new ort.Tensor('int64', BigInt64Array.from({ length: b }, (_, i) => BigInt(i % 3)), [b]),
  });
  const tg = await buildTrainingGraph(model, { trainable: ['table'], loss: { kind: 'cross-entropy', logits: 'logits' }, probe: { feeds: [feed(4, 3), feed(5, 6)] } });
  assert.deepEqual(tg.dataInputs.map((v) => [v.name, v.shape]), [['ids', ['batch', 'sequence']], ['labels', ['batch']]]);
  const s = await TrainingSession.create(tg);
  const r = await s.run(feed(4, 2), initialParameters(model, ['table']));
  assert.equal(r.grads.get('table')!.length, 18);
  assert.ok(Number.isFinite(r.loss));
  await s.release();
});
