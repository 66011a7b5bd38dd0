// Loss pieces: their values against plain-JavaScript references, their gradients against finite
// differences (float64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import type { NodeSpec, ValueInfoSpec } from '../../../../src/core/onnx/model-spec';
import { buildTrainingGraph } from '../../../../src/core/training/autodiff/training-graph';
import { TrainingSession } from '../../../../src/core/training/autodiff/session';
import type { LossSpec } from '../../../../src/core/training/autodiff/losses';
import type { Feeds } from '../../../../src/core/training/autodiff/probe';
import { checkWithSession, miniModel, randomValues } from './gradcheck';

const ident = (from: string, to: string): NodeSpec => ({ opType: 'Identity', inputs: [from], outputs: [to], name: `id_${to}` });

function rows(v: ArrayLike<number>, width: number): number[][] {
  return Array.from({ length: v.length / width }, (_, r) => Array.from({ length: width }, (_, c) => v[r * width + c]));
}
function logSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}

async function run(params: Record<string, number[]>, nodes: NodeSpec[], loss: LossSpec, feeds: Feeds, inputs: ValueInfoSpec[] = []) {
  const model = miniModel(nodes, Object.fromEntries(Object.entries(params).map(([k, dims]) => [k, { dims }])), { inputs });
  const tg = await buildTrainingGraph(model, { trainable: Object.keys(params), loss });
  const session = await TrainingSession.create(tg);
  try {
    const report = await checkWithSession(tg, session, model, feeds);
    const values: Record<string, Float64Array> = Object.fromEntries(model.graph.initializers.map((t) => [t.name, t.values as Float64Array]));
    const paramFeeds: Feeds = Object.fromEntries(model.graph.initializers.map((t) => [t.name, new ort.Tensor('float64', t.values as Float64Array, t.dims)]));
    const out = await session.runRaw({ ...feeds, ...paramFeeds });
    const terms = Object.fromEntries(tg.lossTerms.map((t) => [t.name, Number(out[t.output].data[0])]));
    return { report, values, loss: Number(out[tg.lossOutput].data[0]), terms, tg };
  } finally {
    await session.release();
  }
}

test('cross-entropy on hard labels: value and gradients', async () => {
  const labels = [2, 0, 4, 4];
  const r = await run({ z: [4, 5] }, [ident('z', 'logits')], { kind: 'cross-entropy', logits: 'logits' }, { labels: new ort.Tensor('int64', BigInt64Array.from(labels.map(BigInt)), [4]) });
  assert.deepEqual(r.report.failures, []);
  const expected = rows(r.values.z, 5).reduce((s, row, i) => s - logSoftmax(row)[labels[i]], 0) / 4;
  assert.ok(Math.abs(r.loss - expected) < 1e-12, `${r.loss} vs ${expected}`);
  assert.deepEqual(r.tg.dataInputs.map((v) => [v.name, v.dtype, v.shape]), [['labels', 'int64', [4]]]);
});

test('cross-entropy over tokens with ignoreIndex -100: ignored positions count for nothing', async () => {
  const labels = [1, -100, 3, 0, -100, 2];
  const r = await run({ z: [2, 3, 4] }, [ident('z', 'logits')], { kind: 'cross-entropy', logits: 'logits', ignoreIndex: -100 }, { labels: new ort.Tensor('int64', BigInt64Array.from(labels.map(BigInt)), [2, 3]) });
  assert.deepEqual(r.report.failures, []);
  let sum = 0; let count = 0;
  rows(r.values.z, 4).forEach((row, i) => { if (labels[i] !== -100) { sum -= logSoftmax(row)[labels[i]]; count++; } });
  assert.ok(Math.abs(r.loss - sum / count) < 1e-12);
});

test('KL divergence to soft targets at temperature 2, scaled by T^2', async () => {
  const teacher = randomValues('float64', 12, 3, { scale: 2 }) as Float64Array;
  const r = await run({ z: [3, 4] }, [ident('z', 'logits')], { kind: 'kl-divergence', logits: 'logits', temperature: 2 }, { teacher_logits: new ort.Tensor('float64', teacher, [3, 4]) });
  assert.deepEqual(r.report.failures, []);
  const T = 2;
  let kl = 0;
  const s = rows(r.values.z, 4); const t = rows(teacher, 4);
  for (let i = 0; i < 3; i++) {
    const lq = logSoftmax(s[i].map((x) => x / T));
    const lp = logSoftmax(t[i].map((x) => x / T));
    kl += lp.reduce((acc, l, j) => acc + Math.exp(l) * (l - lq[j]), 0);
  }
  assert.ok(Math.abs(r.loss - (kl / 3) * T * T) < 1e-12, `${r.loss} vs ${(kl / 3) * T * T}`);
});

test('MSE', async () => {
  const target = randomValues('float64', 6, 8) as Float64Array;
  const r = await run({ z: [2, 3] }, [ident('z', 'h')], { kind: 'mse', output: 'h', target: 'teacher_h' }, { teacher_h: new ort.Tensor('float64', target, [2, 3]) });
  assert.deepEqual(r.report.failures, []);
  const expected = Array.from(r.values.z).reduce((s, v, i) => s + (v - target[i]) ** 2, 0) / 6;
  assert.ok(Math.abs(r.loss - expected) < 1e-12);
});

test('cosine embedding loss over unmasked positions, mask from an existing input', async () => {
  const target = randomValues('float64', 2 * 3 * 4, 9) as Float64Array;
  const mask = [1, 1, 0, 1, 0, 0];
  const inputs: ValueInfoSpec[] = [{ name: 'attention_mask', dtype: 'int64', shape: [2, 3] }];
  const r = await run({ z: [2, 3, 4] }, [ident('z', 'hidden')], { kind: 'cosine', output: 'hidden', mask: 'attention_mask' },
    { teacher_hidden: new ort.Tensor('float64', target, [2, 3, 4]), attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [2, 3]) }, inputs);
  assert.deepEqual(r.report.failures, []);
  const a = rows(r.values.z, 4); const b = rows(target, 4);
  let sum = 0;
  for (let i = 0; i < 6; i++) {
    if (!mask[i]) continue;
    const dot = a[i].reduce((s, x, j) => s + x * b[i][j], 0);
    const na = a[i].reduce((s, x) => s + x * x, 0); const nb = b[i].reduce((s, x) => s + x * x, 0);
    sum += 1 - dot / Math.sqrt(na * nb);
  }
  assert.ok(Math.abs(r.loss - sum / 3) < 1e-9, `${r.loss} vs ${sum / 3}`);
  // The mask is the graph's own input, not a new one.
  assert.deepEqual(r.tg.dataInputs.map((v) => v.name), ['attention_mask', 'teacher_hidden']);
});

test('weighted sum (DistilBERT-style: 5 KL + 2 CE + 1 cosine): total = sum of weighted terms, gradients check', async () => {
  const loss: LossSpec = {
    kind: 'sum',
    terms: [
      { weight: 5, loss: { kind: 'kl-divergence', logits: 'logits', temperature: 2, name: 'ce_soft' } },
      { weight: 2, loss: { kind: 'cross-entropy', logits: 'logits', name: 'ce_hard' } },
      { weight: 1, loss: { kind: 'cosine', output: 'hidden', name: 'cos' } },
    ],
  };
  const nodes: NodeSpec[] = [ident('h0', 'hidden'), { opType: 'ReduceMean', inputs: ['hidden'], outputs: ['pooled'], name: 'pool', attributes: { axes: { type: 'ints', value: [1] }, keepdims: { type: 'int', value: 0 } } }, { opType: 'MatMul', inputs: ['pooled', 'w'], outputs: ['logits'], name: 'head' }];
  const feeds: Feeds = {
    teacher_logits: new ort.Tensor('float64', randomValues('float64', 6, 1) as Float64Array, [2, 3]),
    labels: new ort.Tensor('int64', BigInt64Array.from([2n, 1n]), [2]),
    teacher_hidden: new ort.Tensor('float64', randomValues('float64', 2 * 4 * 5, 2) as Float64Array, [2, 4, 5]),
  };
  const r = await run({ h0: [2, 4, 5], w: [5, 3] }, nodes, loss, feeds);
  assert.deepEqual(r.report.failures, []);
  assert.deepEqual(r.tg.lossTerms.map((t) => [t.name, t.weight]), [['ce_soft', 5], ['ce_hard', 2], ['cos', 1]]);
  const total = 5 * r.terms.ce_soft + 2 * r.terms.ce_hard + r.terms.cos;
  assert.ok(Math.abs(r.loss - total) < 1e-12);
  assert.ok(r.terms.ce_soft > 0 && r.terms.ce_hard > 0 && r.terms.cos > 0);
});

test('masked MSE over tokens (TinyBERT hidden states): the mean is over unmasked positions only', async () => {
  const target = randomValues('float64', 2 * 3 * 4, 21) as Float64Array;
  const mask = [1, 1, 0, 1, 0, 0];
  const inputs: ValueInfoSpec[] = [{ name: 'attention_mask', dtype: 'int64', shape: [2, 3] }];
  const r = await run({ z: [2, 3, 4] }, [ident('z', 'hidden')], { kind: 'mse', output: 'hidden', target: 'teacher_hidden', mask: 'attention_mask', name: 'hidden' },
    { teacher_hidden: new ort.Tensor('float64', target, [2, 3, 4]), attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [2, 3]) }, inputs);
  assert.deepEqual(r.report.failures, []);
  let sum = 0;
  for (let i = 0; i < 6; i++) if (mask[i]) for (let j = 0; j < 4; j++) sum += (r.values.z[i * 4 + j] - target[i * 4 + j]) ** 2;
  assert.ok(Math.abs(r.loss - sum / (3 * 4)) < 1e-12, `${r.loss} vs ${sum / 12}`);
});

test('masked MSE over token pairs (TinyBERT attention scores): only query and key both unmasked count', async () => {
  const [B, Hh, S] = [2, 2, 3];
  const target = randomValues('float64', B * Hh * S * S, 22) as Float64Array;
  const mask = [1, 1, 0, 1, 0, 0];
  const inputs: ValueInfoSpec[] = [{ name: 'attention_mask', dtype: 'int64', shape: [B, S] }];
  const r = await run({ z: [B, Hh, S, S] }, [ident('z', 'scores')], { kind: 'mse', output: 'scores', target: 'teacher_scores', mask: 'attention_mask', maskOver: 'token-pairs', name: 'attn' },
    { teacher_scores: new ort.Tensor('float64', target, [B, Hh, S, S]), attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [B, S]) }, inputs);
  assert.deepEqual(r.report.failures, []);
  let sum = 0; let n = 0;
  for (let b = 0; b < B; b++) for (let h = 0; h < Hh; h++) for (let q = 0; q < S; q++) for (let k = 0; k < S; k++) {
    if (!mask[b * S + q] || !mask[b * S + k]) continue;
    const i = ((b * Hh + h) * S + q) * S + k;
    sum += (r.values.z[i] - target[i]) ** 2; n++;
  }
  assert.equal(n, 2 * (4 + 1));
  assert.ok(Math.abs(r.loss - sum / n) < 1e-12, `${r.loss} vs ${sum / n}`);
});

test('soft cross-entropy at temperature 2 (TinyBERT prediction loss): mean over batch and classes, no T^2', async () => {
  const teacher = randomValues('float64', 12, 23, { scale: 2 }) as Float64Array;
  const r = await run({ z: [3, 4] }, [ident('z', 'logits')], { kind: 'soft-cross-entropy', logits: 'logits', temperature: 2, name: 'pred' }, { teacher_logits: new ort.Tensor('float64', teacher, [3, 4]) });
  assert.deepEqual(r.report.failures, []);
  const T = 2;
  let sum = 0;
  const s = rows(r.values.z, 4); const t = rows(teacher, 4);
  for (let i = 0; i < 3; i++) {
    const lq = logSoftmax(s[i].map((x) => x / T));
    const p = logSoftmax(t[i].map((x) => x / T)).map(Math.exp);
    sum -= p.reduce((acc, pj, j) => acc + pj * lq[j], 0);
  }
  assert.ok(Math.abs(r.loss - sum / 12) < 1e-12, `${r.loss} vs ${sum / 12}`);
});

test('a group is one reported term: the sum of its parts (TinyBERT hidden loss over several layers)', async () => {
  const a = randomValues('float64', 6, 24) as Float64Array;
  const b = randomValues('float64', 6, 25) as Float64Array;
  const loss: LossSpec = { kind: 'sum', terms: [
    { weight: 1, loss: { kind: 'group', name: 'hidden', terms: [{ kind: 'mse', output: 'h1', target: 't1' }, { kind: 'mse', output: 'h2', target: 't2' }] } },
    { weight: 1, loss: { kind: 'mse', output: 'h1', target: 't1', name: 'emb' } },
  ] };
  const r = await run({ z1: [2, 3], z2: [2, 3] }, [ident('z1', 'h1'), ident('z2', 'h2')], loss, { t1: new ort.Tensor('float64', a, [2, 3]), t2: new ort.Tensor('float64', b, [2, 3]) });
  assert.deepEqual(r.report.failures, []);
  assert.deepEqual(r.tg.lossTerms.map((t) => t.name), ['hidden', 'emb']);
  const mse = (z: Float64Array, t: Float64Array) => Array.from(z).reduce((s, v, i) => s + (v - t[i]) ** 2, 0) / z.length;
  assert.ok(Math.abs(r.terms.hidden - (mse(r.values.z1, a) + mse(r.values.z2, b))) < 1e-12);
  assert.ok(Math.abs(r.loss - (r.terms.hidden + r.terms.emb)) < 1e-12);
});

test('attention transfer: KL between attention distributions over keys, averaged over heads and real queries', async () => {
  const [B, Hh, S] = [2, 2, 3];
  const target = randomValues('float64', B * Hh * S * S, 31, { scale: 2 }) as Float64Array;
  const mask = [1, 1, 0, 1, 0, 0];
  const inputs: ValueInfoSpec[] = [{ name: 'attention_mask', dtype: 'int64', shape: [B, S] }];
  const r = await run({ z: [B, Hh, S, S] }, [ident('z', 'scores')], { kind: 'attention-kl', output: 'scores', target: 'teacher_attn', mask: 'attention_mask', name: 'at' },
    { teacher_attn: new ort.Tensor('float64', target, [B, Hh, S, S]), attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [B, S]) }, inputs);
  assert.deepEqual(r.report.failures, []);
  let sum = 0; let n = 0;
  for (let b = 0; b < B; b++) for (let h = 0; h < Hh; h++) for (let q = 0; q < S; q++) {
    if (!mask[b * S + q]) continue;
    const at = ((b * Hh + h) * S + q) * S;
    const lp = logSoftmax(Array.from(target.subarray(at, at + S)));
    const lq = logSoftmax(Array.from(r.values.z.subarray(at, at + S)));
    sum += lp.reduce((acc, l, k) => acc + Math.exp(l) * (l - lq[k]), 0); n++;
  }
  assert.equal(n, 2 * 3);
  assert.ok(Math.abs(r.loss - sum / n) < 1e-12, `${r.loss} vs ${sum / n}`);
});
