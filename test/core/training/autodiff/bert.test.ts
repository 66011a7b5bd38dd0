// Whole BERT-family classifiers from the project's builder: float64 copies checked against finite
// differences element by element (tanh GELU and ReLU, since onnxruntime has no float64 Erf), the
// float32 Erf-GELU model by directional derivatives, one session at several batch/sequence sizes,
// and a tiny model overfitting one batch with plain gradient descent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildEncoderClassifier, type EncoderConfig } from '../../../../src/core/onnx/bert-builder';
import { seededRandom } from '../../../../src/core/onnx/graph-builder';
import { toFloat64 } from '../../../../src/core/training/autodiff/precision';
import { buildTrainingGraph } from '../../../../src/core/training/autodiff/training-graph';
import { applyParameters, initialParameters, TrainingSession, trainableCandidates } from '../../../../src/core/training/autodiff/session';
import { serializeModel } from '../../../../src/core/onnx/onnx-writer';
import type { Feeds } from '../../../../src/core/training/autodiff/probe';
import { checkWithSession, directionalCheck, gradCheck } from './gradcheck';

const TINY: Omit<EncoderConfig, 'family'> = {
  vocabSize: 11, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 12, maxPositions: 8, numLabels: 3,
  embeddingSize: 4, bottleneckSize: 4, numFeedforwardNetworks: 2,
  // Larger weights than BERT's 0.02 so every path carries a gradient well above rounding.
  initStd: 0.5, layerNormEps: 1e-5,
};

function batchFeeds(batch: number, seq: number, vocab: number, seed: number, types: boolean, labels = 3): Feeds {
  const rand = seededRandom(seed);
  const n = batch * seq;
  const feeds: Feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * vocab))), [batch, seq]),
    // The last row is padded after its first token (when it has more than one).
    attention_mask: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => (Math.floor(i / seq) === batch - 1 && i % seq > 0 && seq > 2 ? 0n : 1n)), [batch, seq]),
    labels: new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % labels)), [batch]),
  };
  if (types) feeds.token_type_ids = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => (i % seq >= seq / 2 ? 1n : 0n)), [batch, seq]);
  return feeds;
}

const FAMILIES: Array<{ family: EncoderConfig['family']; extra?: Partial<EncoderConfig>; what: string }> = [
  { family: 'bert', extra: { hiddenAct: 'gelu_new' }, what: 'BERT (tanh GELU)' },
  { family: 'distilbert', extra: { hiddenAct: 'gelu_new' }, what: 'DistilBERT (tanh GELU, Relu head)' },
  { family: 'albert', what: 'ALBERT (factorised embeddings, one layer shared by two: accumulated gradients)' },
  { family: 'mobilebert', what: 'MobileBERT (trigram Slice/Pad/Concat, bottlenecks, NoNorm, ReLU)' },
];

for (const f of FAMILIES) {
  test(`float64 ${f.what}: every parameter's gradient matches finite differences (sampled elements)`, async (t) => {
    const model = toFloat64(buildEncoderClassifier({ family: f.family, ...TINY, ...f.extra }));
    const trainable = trainableCandidates(model);
    assert.ok(trainable.length >= 27);
    const r = await gradCheck(model, { trainable, loss: { kind: 'cross-entropy', logits: 'logits' } }, batchFeeds(2, 4, TINY.vocabSize, 1, f.family !== 'distilbert'), { sample: 4 });
    assert.deepEqual(r.failures, [], `${r.failures.length} of ${r.checked} disagree`);
    assert.deepEqual(r.graph.warnings, []);
    // Most checked elements carry a real gradient (unused embedding rows and key biases have none).
    assert.ok(r.nonZero > r.checked * 0.6, `${r.nonZero} of ${r.checked} non-zero`);
    assert.ok(r.maxRelErr < 1e-5, `max relative error ${r.maxRelErr}`);
    t.diagnostic(`${f.family}: ${r.checked} elements, ${r.nonZero} non-zero, max abs error ${r.maxAbsErr.toExponential(1)}, max rel error ${r.maxRelErr.toExponential(1)}`);
  });
}

test('one training session serves any batch size and sequence length (float64 BERT, finite differences at 1x2 and 3x7)', async () => {
  const model = toFloat64(buildEncoderClassifier({ family: 'bert', ...TINY, hiddenAct: 'gelu_new' }));
  const trainable = trainableCandidates(model);
  const tg = await buildTrainingGraph(model, { trainable, loss: { kind: 'cross-entropy', logits: 'logits' } });
  const session = await TrainingSession.create(tg);
  try {
    for (const [b, s] of [[1, 2], [3, 7]]) {
      const r = await checkWithSession(tg, session, model, batchFeeds(b, s, TINY.vocabSize, b * 10 + s, true), { sample: 2, seed: b });
      assert.deepEqual(r.failures, [], `batch ${b} x seq ${s}: ${r.failures.length} of ${r.checked} disagree`);
    }
  } finally {
    await session.release();
  }
});

test('float32 BERT with Erf GELU: directional derivatives of every parameter match finite differences', async () => {
  const model = buildEncoderClassifier({ family: 'bert', ...TINY });
  const trainable = trainableCandidates(model);
  const tg = await buildTrainingGraph(model, { trainable, loss: { kind: 'cross-entropy', logits: 'logits' } });
  assert.ok(tg.model.graph.nodes.some((n) => n.opType === 'Erf'));
  const session = await TrainingSession.create(tg);
  try {
    const params = new Map(initialParameters(model, trainable).map((p) => [p.name, p.values]));
    const r = await directionalCheck(tg, session, params, batchFeeds(2, 4, TINY.vocabSize, 2, true), { rtol: 1e-2 });
    assert.equal(r.checked, trainable.length);
    assert.deepEqual(r.failures, []);
  } finally {
    await session.release();
  }
});

test('a tiny BERT overfits one batch to near-zero loss with plain gradient descent', async () => {
  const model = buildEncoderClassifier({ family: 'bert', vocabSize: 30, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 16, numLabels: 3 });
  const trainable = trainableCandidates(model);
  const tg = await buildTrainingGraph(model, { trainable, loss: { kind: 'cross-entropy', logits: 'logits' } });
  const session = await TrainingSession.create(tg);
  try {
    const feeds = batchFeeds(8, 6, 30, 3, true);
    const params = initialParameters(model, trainable);
    const lr = 0.5;
    const first = (await session.run(feeds, params)).loss;
    let loss = first;
    let steps = 0;
    for (; steps < 400 && loss > 0.02; steps++) {
      const r = await session.run(feeds, params);
      loss = r.loss;
      for (const p of params) {
        const g = r.grads.get(p.name)!;
        for (let i = 0; i < g.length; i++) p.values[i] -= lr * g[i];
      }
    }
    assert.ok(Math.abs(first - Math.log(3)) < 0.05, `initial loss ${first} should be about ln 3`);
    assert.ok(loss <= 0.02, `loss ${loss} after ${steps} steps`);
    // The logits now pick every label.
    const r = await session.run(feeds, params);
    const logits = r.outputs.logits.data as Float32Array;
    const labels = feeds.labels.data as BigInt64Array;
    for (let i = 0; i < 8; i++) {
      const row = Array.from(logits.subarray(i * 3, i * 3 + 3));
      assert.equal(row.indexOf(Math.max(...row)), Number(labels[i]));
    }
    // The trained student, written back into the forward model, predicts the same in a plain inference session.
    const student = await ort.InferenceSession.create(serializeModel(applyParameters(model, params)));
    const { labels: _labels, ...inputs } = feeds;
    const plain = (await student.run(inputs)).logits.data as Float32Array;
    for (let i = 0; i < plain.length; i++) assert.ok(Math.abs(plain[i] - logits[i]) < 1e-4);
    await student.release();
  } finally {
    await session.release();
  }
});
