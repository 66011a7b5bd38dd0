import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as ort from 'onnxruntime-node';
import { train } from '../../../src/core/training/trainer';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { loadTensor } from '../../../src/core/tensor-values';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';
import { writeTokenData } from '../../helpers/data';

requireShared();
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-trainer-'));
const MODEL = path.join(BERT_FAMILY, 'bert-mini', 'model.onnx');

const writeData = (file: string, rows: number, seed: number) => writeTokenData(file, rows, seed);

const readLog = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number; lr?: number; accuracy?: number; eval?: boolean });

test('fine-tunes the exporter\'s bert-mini graph: the loss falls and accuracy rises', { timeout: 120_000 }, async () => {
  const data = writeData(path.join(dir, 'train.jsonl'), 192, 1);
  const log = path.join(dir, 'fit.jsonl');
  const r = await train({ model: MODEL, data, eval: data, out: path.join(dir, 'fit.onnx'), optimizer: 'adamw', lr: 3e-3, batchSize: 16, epochs: 8, log, threads: 1, warmupRatio: 0.05 });
  const steps = readLog(log).filter((l) => !l.eval);
  assert.equal(steps.length, r.steps);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(steps.slice(0, 8).map((l) => l.loss!));
  const last = mean(steps.slice(-8).map((l) => l.loss!));
  assert.ok(last < 0.6 * first, `loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
  for (const l of steps) assert.ok(typeof l.lr === 'number' && Number.isFinite(l.loss!), 'each line has step, loss, lr');
  const evals = readLog(log).filter((l) => l.eval);
  assert.ok(evals.length >= 1 && evals[evals.length - 1].accuracy! > 0.6, `accuracy ${evals.map((e) => e.accuracy)}`);
});

test('resuming from a checkpoint continues the exact loss curve', { timeout: 120_000 }, async () => {
  const data = writeData(path.join(dir, 'resume.jsonl'), 96, 2);
  const base = { model: MODEL, data, optimizer: 'adamw' as const, lr: 2e-3, batchSize: 16, threads: 1, seed: 5 };
  const full = path.join(dir, 'full.jsonl');
  await train({ ...base, maxSteps: 12, out: path.join(dir, 'full.onnx'), log: full });
  const resumed = path.join(dir, 'resumed.jsonl');
  // Stop after 5 steps (as Ctrl-C would): the run ends by writing its checkpoint.
  const mid = path.join(dir, 'mid.safetensors');
  let batches = 0;
  await train({ ...base, maxSteps: 12, out: path.join(dir, 'stop5.onnx'), checkpoint: mid, log: path.join(dir, 'stop5.jsonl') }, { isCancelled: () => ++batches > 5 });
  await train({ ...base, maxSteps: 12, out: path.join(dir, 'resumed.onnx'), log: resumed, resume: mid });
  const a = readLog(full).map((l) => [l.step, l.loss]);
  const b = readLog(resumed).map((l) => [l.step, l.loss]);
  assert.ok(b.length > 0 && b[0][0] === 6, `resumed from step ${b[0]?.[0]}`);
  assert.deepEqual(b, a.slice(a.length - b.length), 'the same losses, step for step');
  const fullW = await onnxReader.read(path.join(dir, 'full.onnx'));
  const resW = await onnxReader.read(path.join(dir, 'resumed.onnx'));
  const w = (m: typeof fullW, n: string) => loadTensor(m.tensors.find((t) => t.name === n)!).values;
  assert.deepEqual(w(resW, 'bert.embeddings.word_embeddings.weight'), w(fullW, 'bert.embeddings.word_embeddings.weight'));
});

test('the exported model is the same graph with the trained weights, and onnxruntime runs it', { timeout: 120_000 }, async () => {
  const data = writeData(path.join(dir, 'export.jsonl'), 32, 3);
  const out = path.join(dir, 'exported.onnx');
  await train({ model: MODEL, data, out, optimizer: 'sgd', lr: 0.05, batchSize: 16, maxSteps: 2, threads: 1 });
  const before = await onnxReader.read(MODEL);
  const after = await onnxReader.read(out);
  assert.deepEqual(after.onnx!.nodes.map((n) => [n.opType, n.inputs, n.outputs]), before.onnx!.nodes.map((n) => [n.opType, n.inputs, n.outputs]));
  assert.deepEqual(after.tensors.map((t) => [t.name, t.shape, t.dtype]), before.tensors.map((t) => [t.name, t.shape, t.dtype]));
  const changed = after.tensors.filter((t) => t.dtype === 'float32' && t.elements > 1).filter((t) => {
    const a = loadTensor(t).values as Float32Array;
    const b = loadTensor(before.tensors.find((x) => x.name === t.name)!).values as Float32Array;
    return a.some((v, i) => v !== b[i]);
  });
  assert.ok(changed.length > 10, `${changed.length} weights changed`);
  const s = await ort.InferenceSession.create(out);
  const ids = BigInt64Array.from([101n, 200n, 300n, 102n]);
  const r = await s.run({ input_ids: new ort.Tensor('int64', ids, [1, 4]), attention_mask: new ort.Tensor('int64', new BigInt64Array(4).fill(1n), [1, 4]), token_type_ids: new ort.Tensor('int64', new BigInt64Array(4), [1, 4]) });
  assert.deepEqual(r.logits.dims, [1, 3]);
});

test('--dropout trains through the model\'s Dropout nodes, seeded; a graph without them is refused', { timeout: 120_000 }, async () => {
  const { buildEncoderClassifier } = await import('../../../src/core/onnx/bert-builder');
  const { writeModel, serializeModel } = await import('../../../src/core/onnx/onnx-writer');
  const config = { family: 'bert' as const, vocabSize: 500, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 };
  // Dropout sites are identities at inference: same logits as the model without them.
  const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from([101n, 150n, 220n, 102n]), [1, 4]), attention_mask: new ort.Tensor('int64', new BigInt64Array(4).fill(1n), [1, 4]), token_type_ids: new ort.Tensor('int64', new BigInt64Array(4), [1, 4]) };
  const plain = await (await ort.InferenceSession.create(serializeModel(buildEncoderClassifier(config)))).run(feeds);
  const sited = await (await ort.InferenceSession.create(serializeModel(buildEncoderClassifier({ ...config, dropout: 0.1 })))).run(feeds);
  assert.deepEqual(sited.logits.data, plain.logits.data);

  const model = path.join(dir, 'dropout.onnx');
  writeModel(model, buildEncoderClassifier({ ...config, dropout: 0.1 }));
  const data = writeData(path.join(dir, 'dropout.jsonl'), 64, 4);
  const run = async (name: string, dropout?: number) => {
    const log = path.join(dir, `${name}.jsonl`);
    await train({ model, data, out: path.join(dir, `${name}.onnx`), batchSize: 16, maxSteps: 4, lr: 1e-3, threads: 1, log, dropout });
    return readLog(log).map((l) => l.loss);
  };
  const a = await run('drop-a', 0.3);
  const b = await run('drop-b', 0.3);
  const none = await run('drop-none');
  assert.deepEqual(a, b, 'same seed, same masks, same losses');
  assert.notDeepEqual(a, none, 'dropout changes the training');
  await assert.rejects(train({ model: MODEL, data, out: path.join(dir, 'no.onnx'), maxSteps: 1, dropout: 0.1 }), /has no Dropout nodes/);
});
