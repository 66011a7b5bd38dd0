// Graphs the project did not write: PyTorch's exports in the shared corpus (opset 14, LayerNorm
// decomposed into ReduceMean/Sub/Pow/Sqrt/Div, Erf GELU, Gemm heads, shape arithmetic with
// Shape/Gather/Unsqueeze/Concat, Constant nodes). Read, turned into training graphs, checked by
// directional derivatives, and trained for a few SGD steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnxReader } from '../../../../src/core/readers/onnx-reader';
import { serializeModel } from '../../../../src/core/onnx/onnx-writer';
import { forwardSpecFromModel } from '../../../../src/core/onnx/forward-spec';
import { buildTrainingGraph } from '../../../../src/core/training/autodiff/training-graph';
import { feedsFromBatch, initialParameters, TrainingSession, trainableCandidates } from '../../../../src/core/training/autodiff/session';
import type { Feeds } from '../../../../src/core/training/autodiff/probe';
import type { Batch } from '../../../../src/core/training/types';
import { BERT_FAMILY, BERT_MODELS, requireShared } from '../../../helpers/paths';
import { directionalCheck } from './gradcheck';

requireShared();

const BATCH: Batch = {
  batch: 2,
  seq: 5,
  inputIds: BigInt64Array.from([101n, 7n, 8n, 9n, 102n, 101n, 30n, 102n, 0n, 0n]),
  attentionMask: BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 1n, 1n, 1n, 0n, 0n]),
  tokenTypeIds: new BigInt64Array(10),
  labels: BigInt64Array.from([1n, 0n]),
};

async function exported(name: string) {
  const file = path.join(BERT_FAMILY, name, 'model.onnx');
  return { file, spec: forwardSpecFromModel(await onnxReader.read(file)) };
}

test('forwardSpecFromModel: the editable copy of bert-mini computes the same logits as the file', async () => {
  const { file, spec } = await exported('bert-mini');
  assert.equal(spec.opsets.find((o) => o.domain === '')?.version, 14);
  assert.ok(spec.graph.nodes.some((n) => n.opType === 'Constant' && n.attributes?.value?.type === 'tensor'));
  const feeds: Feeds = {
    input_ids: new ort.Tensor('int64', BATCH.inputIds, [2, 5]),
    attention_mask: new ort.Tensor('int64', BATCH.attentionMask, [2, 5]),
    token_type_ids: new ort.Tensor('int64', BATCH.tokenTypeIds!, [2, 5]),
  };
  const original = await ort.InferenceSession.create(file);
  const copy = await ort.InferenceSession.create(serializeModel(spec));
  const a = (await original.run(feeds)).logits.data as Float32Array;
  const b = (await copy.run(feeds)).logits.data as Float32Array;
  assert.deepEqual(Array.from(b), Array.from(a));
  await original.release();
  await copy.release();
});

for (const name of BERT_MODELS) {
  test(`${name} (PyTorch export): training graph over every weight, directional derivatives check, loss falls under SGD`, async () => {
    const { spec } = await exported(name);
    const trainable = trainableCandidates(spec);
    const tg = await buildTrainingGraph(spec, { trainable, loss: { kind: 'cross-entropy', logits: 'logits' } });
    assert.deepEqual(tg.warnings, []);
    const session = await TrainingSession.create(tg);
    try {
      const feeds = feedsFromBatch(tg, BATCH);
      const params = initialParameters(spec, trainable);
      const check = await directionalCheck(tg, session, new Map(params.map((p) => [p.name, p.values])), feeds, { rtol: 2e-2 });
      assert.equal(check.checked, trainable.length);
      assert.deepEqual(check.failures, []);
      const losses: number[] = [];
      for (let step = 0; step < 8; step++) {
        const r = await session.run(feeds, params);
        losses.push(r.loss);
        for (const p of params) {
          const g = r.grads.get(p.name)!;
          assert.equal(g.length, p.values.length);
          for (let i = 0; i < g.length; i++) p.values[i] -= 0.03 * g[i];
        }
      }
      assert.ok(losses.every(Number.isFinite));
      assert.ok(losses[7] < losses[0] * 0.8, `loss ${losses.map((l) => l.toFixed(3)).join(' -> ')}`);
    } finally {
      await session.release();
    }
  });
}

test('bert-mini as a DistilBERT-style student: KL to teacher logits + CE + cosine on an exporter-named hidden state, masked', async () => {
  const { spec } = await exported('bert-mini');
  const hidden = '/bert/layer.1/output/LayerNorm/Add_1_output_0';
  const trainable = trainableCandidates(spec);
  const tg = await buildTrainingGraph(spec, {
    trainable,
    loss: {
      kind: 'sum',
      terms: [
        { weight: 5, loss: { kind: 'kl-divergence', logits: 'logits', temperature: 2, name: 'ce_soft' } },
        { weight: 2, loss: { kind: 'cross-entropy', logits: 'logits', name: 'ce_hard' } },
        { weight: 1, loss: { kind: 'cosine', output: hidden, mask: 'attention_mask', name: 'cos' } },
      ],
    },
    extraOutputs: [hidden],
  });
  assert.deepEqual(tg.dataInputs.map((v) => [v.name, v.shape]), [
    ['input_ids', ['batch', 'sequence']], ['attention_mask', ['batch', 'sequence']], ['token_type_ids', ['batch', 'sequence']],
    ['teacher_logits', ['batch', 3]], ['labels', ['batch']], ['teacher_hidden', ['batch', 'sequence', 64]],
  ]);
  // The "teacher" is the untouched model: its logits and last hidden state.
  const teacher = await ort.InferenceSession.create(serializeModel({ ...spec, graph: { ...spec.graph, outputs: [...spec.graph.outputs, { name: hidden, dtype: 'float32', shape: ['batch', 'sequence', 64] }] } }));
  const base: Feeds = {
    input_ids: new ort.Tensor('int64', BATCH.inputIds, [2, 5]),
    attention_mask: new ort.Tensor('int64', BATCH.attentionMask, [2, 5]),
    token_type_ids: new ort.Tensor('int64', BATCH.tokenTypeIds!, [2, 5]),
  };
  const t = await teacher.run(base);
  await teacher.release();
  const session = await TrainingSession.create(tg);
  try {
    const feeds: Feeds = { ...base, labels: new ort.Tensor('int64', BATCH.labels, [2]), teacher_logits: t.logits, teacher_hidden: t[hidden] };
    const params = initialParameters(spec, trainable);
    const first = await session.run(feeds, params);
    // Student = teacher: no soft-target or hidden-state loss yet.
    assert.ok(Math.abs(first.terms.ce_soft) < 1e-6 && Math.abs(first.terms.cos) < 1e-5, JSON.stringify(first.terms));
    assert.ok(Math.abs(first.loss - 2 * first.terms.ce_hard) < 1e-5);
    const h = first.outputs[hidden].data as Float32Array;
    const th = t[hidden].data as Float32Array;
    assert.equal(h.length, 2 * 5 * 64);
    for (let i = 0; i < h.length; i++) assert.ok(Math.abs(h[i] - th[i]) < 1e-5);
    let last = first;
    for (let step = 0; step < 5; step++) {
      for (const p of params) {
        const g = last.grads.get(p.name)!;
        for (let i = 0; i < g.length; i++) p.values[i] -= 0.005 * g[i];
      }
      last = await session.run(feeds, params);
    }
    assert.ok(last.loss < first.loss, `${first.loss} -> ${last.loss}`);
    assert.ok(last.terms.ce_soft > 0 && last.terms.cos > 0, 'the student has moved away from the teacher');
  } finally {
    await session.release();
  }
});
