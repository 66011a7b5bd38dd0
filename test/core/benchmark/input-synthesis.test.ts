import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ModelFile, OnnxNode, OnnxValueInfo, TensorInfo } from '../../../src/core/model';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { buildEncoderClassifier } from '../../../src/core/onnx/bert-builder';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import { bindDim, InputSynthesisError, modelLimits, synthesizeInputs } from '../../../src/core/benchmark/input-synthesis';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';

requireShared();

/** A ModelFile with just the graph facts input synthesis reads. */
function graph(inputs: OnnxValueInfo[], nodes: Array<Partial<OnnxNode>> = [], tensors: Array<Partial<TensorInfo>> = []): ModelFile {
  return {
    path: '/m.onnx', weightsPath: '/m.onnx', format: 'onnx', files: [], metadata: {}, warnings: [],
    tensors: tensors.map((t) => ({ dtype: 'float32', shape: [], elements: 0, byteLength: 0, origin: 'initializer', data: { kind: 'none' }, name: '', ...t }) as TensorInfo),
    onnx: {
      irVersion: 8, producerName: '', producerVersion: '', domain: '', modelVersion: 0, docString: '', opsetImports: [], metadata: {}, graphName: '', outputs: [], functions: [],
      inputs,
      nodes: nodes.map((n) => ({ name: '', opType: 'Identity', domain: '', inputs: [], outputs: [], attributes: [], graphPath: '', ...n })),
    },
  };
}

const values = (t: { values: unknown }) => Array.from(t.values as ArrayLike<number | bigint>, Number);

test('the dimension rule: batch-like names -> batch, sequence-like -> seq, others by axis; numbers kept', () => {
  const at = (d: number | string | null, axis: number) => bindDim(d, axis, 8, 128).value;
  for (const name of ['batch', 'batch_size', 'N', 'b', 'bs']) assert.equal(at(name, 1), 8, name);
  for (const name of ['sequence', 'seq_len', 'sequence_length', 'length', 'num_tokens', 'time', 'S', 'T']) assert.equal(at(name, 0), 128, name);
  assert.equal(at('unk__1', 0), 8, 'another name on the first axis: batch');
  assert.equal(at('height', 2), 128, 'another name on a later axis: seq');
  assert.equal(at(null, 0), 8);
  assert.equal(at(null, 1), 128);
  assert.equal(at(3, 0), 3, 'a fixed dim stays as declared');
  assert.equal(at(224, 2), 224);
});

test('a BERT feed: ids inside the word-embedding table, a mask of ones, token types of zeros, shapes [batch, seq]', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-synth-'));
  try {
    const file = path.join(dir, 'bert.onnx');
    writeModel(file, buildEncoderClassifier({ family: 'bert', vocabSize: 97, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 40, numLabels: 2 }));
    const model = await openModel(file);
    const limits = modelLimits(model, analyzeModel(model));
    assert.deepEqual(limits, { vocabSize: 97, maxPositions: 40 });
    const s = synthesizeInputs(model, { batch: 4, seq: 32, ...limits });
    assert.deepEqual(s.tensors.map((t) => [t.name, t.dtype, t.shape]), [['input_ids', 'int64', [4, 32]], ['attention_mask', 'int64', [4, 32]], ['token_type_ids', 'int64', [4, 32]]]);
    const ids = values(s.tensors[0]);
    assert.ok(ids.every((x) => Number.isInteger(x) && x >= 0 && x < 97), 'ids inside the vocabulary');
    assert.ok(new Set(ids).size > 20, 'ids spread over the vocabulary');
    assert.ok(values(s.tensors[1]).every((x) => x === 1));
    assert.ok(values(s.tensors[2]).every((x) => x === 0));
    assert.equal(s.appliedBatch, true);
    assert.equal(s.appliedSeq, true);
    assert.deepEqual(s.warnings, []);
    assert.deepEqual(values(synthesizeInputs(model, { batch: 4, seq: 32, ...limits }).tensors[0]), ids, 'the same seed gives the same ids');
    assert.notDeepEqual(values(synthesizeInputs(model, { batch: 4, seq: 32, seed: 7, ...limits }).tensors[0]), ids);
    assert.throws(() => synthesizeInputs(model, { batch: 1, seq: 41, ...limits }), (e: Error) => e instanceof InputSynthesisError && e.message === `${file}: sequence length 41 is longer than the model's 40 positions (max_position_embeddings); choose a length of at most 40`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bert-family exports: ids drawn below each model\'s vocabulary of 500 (read from the embedding Gather)', async () => {
  for (const name of ['bert-mini', 'distilbert-mini', 'albert-mini', 'mobilebert-mini']) {
    const model = await openModel(path.join(BERT_FAMILY, name, 'model.onnx'));
    const ids = synthesizeInputs(model, { batch: 2, seq: 16 }).tensors.find((t) => t.name === 'input_ids')!;
    const v = values(ids);
    assert.ok(v.every((x) => x >= 0 && x < 500) && Math.max(...v) > 100, `${name}: ids in [0, 500)`);
  }
});

test('generic models: index inputs bounded by the table they index, split sizes that add up, ones elsewhere', () => {
  const m = graph(
    [
      { name: 'idx', elemType: 'int64', shape: ['N', 4] },
      { name: 'x', elemType: 'float32', shape: ['n'] },
      { name: 'splits', elemType: 'int64', shape: [3] },
      { name: 'shape', elemType: 'int64', shape: [2] },
      { name: 'flag', elemType: 'bool', shape: [5] },
      { name: 'words', elemType: 'string', shape: [2] },
      { name: 'half', elemType: 'float16', shape: [2] },
      { name: 'w', elemType: 'float32', shape: [7, 3] }, // an initializer listed as an input (IR < 4)
    ],
    [
      { opType: 'Cast', inputs: ['idx'], outputs: ['idx32'] },
      { opType: 'Gather', inputs: ['w', 'idx32'], outputs: ['rows'] },
      { opType: 'SplitToSequence', inputs: ['x', 'splits'], outputs: ['seq'] },
      { opType: 'Expand', inputs: ['x', 'shape'], outputs: ['big'] },
    ],
    [{ name: 'w', shape: [7, 3], elements: 21 }],
  );
  const s = synthesizeInputs(m, { batch: 5, seq: 9 });
  const by = Object.fromEntries(s.tensors.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(by), ['idx', 'x', 'splits', 'shape', 'flag', 'words', 'half'], 'the initializer is not fed');
  assert.deepEqual(by.idx.shape, [5, 4]);
  assert.ok(values(by.idx).every((x) => x >= 0 && x < 7), 'indices inside the 7-row table, through the Cast');
  assert.deepEqual(by.x.shape, [5], "a rank-1 input's first axis takes the batch");
  assert.deepEqual(values(by.splits), [2, 2, 1], 'split sizes add up to the split axis (5)');
  assert.deepEqual(values(by.shape), [1, 1], 'shape-like integers are ones');
  assert.ok(values(by.flag).every((x) => x === 0 || x === 1));
  assert.deepEqual(by.words.values, ['the', 'quick']);
  assert.equal(by.half.values.constructor, Uint16Array, 'float16 as raw half bits');
});

test('fixed-shape models: batch and seq that cannot apply are said so', () => {
  const m = graph([{ name: 'data', elemType: 'float32', shape: [1, 3, 8, 8] }]);
  const s = synthesizeInputs(m, { batch: 8, seq: 128 });
  assert.deepEqual(s.tensors[0].shape, [1, 3, 8, 8]);
  assert.equal(s.appliedBatch, false);
  assert.match(s.warnings.join('\n'), /no input has a symbolic batch dimension.*batch 8 was not applied/);
  const bad = graph([{ name: 'x', elemType: 'bfloat16', shape: [2] }]);
  assert.throws(() => synthesizeInputs(bad, { batch: 1, seq: 1 }), /input 'x' is bfloat16, which onnxruntime-node cannot take/);
  const untyped = graph([{ name: 'x' }]);
  assert.throws(() => synthesizeInputs(untyped, { batch: 1, seq: 1 }), /\/m\.onnx: input 'x' declares no tensor type/);
});
