// ALBERT- and MobileBERT-style students: the SVD that factorises the embeddings, shared layers
// stored once, the bottleneck block's shapes and parameter count against the formula, and short
// runs of both recipes (MobileBERT's progressive transfer too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import { forwardSpecFromModel } from '../../../src/core/onnx/forward-spec';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { train } from '../../../src/core/training/trainer';
import { distill } from '../../../src/core/distill/distill';
import { truncatedSvd } from '../../../src/core/distill/svd';
import { albertStudent, mobilebertStudent } from '../../../src/core/distill/students';
import type { TrainProgress } from '../../../src/core/training/progress';
import { writeTokenData } from '../../helpers/data';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-albert-mobile-'));
const DATA = path.join(dir, 'train.jsonl');
const TEACHER_CONFIG: EncoderConfig = { family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 4, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3, seed: 3 };
let TEACHER = '';
const cacheDir = path.join(dir, 'cache');
before(async () => {
  writeTokenData(DATA, 192, 5);
  const init = path.join(dir, 'teacher-init.onnx');
  writeModel(init, buildEncoderClassifier(TEACHER_CONFIG));
  TEACHER = (await train({ model: init, data: DATA, out: path.join(dir, 'teacher.onnx'), lr: 3e-3, epochs: 3, batchSize: 16, threads: 1 })).out;
}, { timeout: 120_000 });
after(() => rmSync(dir, { recursive: true, force: true }));

function frobeniusError(w: Float32Array, rows: number, cols: number, r: ReturnType<typeof truncatedSvd>, rank: number): number {
  let err = 0; let total = 0;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    let v = 0;
    for (let e = 0; e < rank; e++) v += r.left[i * rank + e] * r.right[j * rank + e];
    err += (w[i * cols + j] - v) ** 2; total += w[i * cols + j] ** 2;
  }
  return Math.sqrt(err / total);
}

test('SVD: a rank-E embedding table is reconstructed exactly at rank E; at lower ranks the error is the one stated', () => {
  const [V, H, E] = [400, 32, 12];
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const a = Float32Array.from({ length: V * E }, rnd);
  const b = Float32Array.from({ length: E * H }, rnd);
  const w = new Float32Array(V * H);
  for (let i = 0; i < V; i++) for (let j = 0; j < H; j++) { let x = 0; for (let k = 0; k < E; k++) x += a[i * E + k] * b[k * H + j]; w[i * H + j] = x; }
  const full = truncatedSvd(w, V, H, E);
  assert.ok(full.relativeError < 1e-6, `stated ${full.relativeError}`);
  assert.ok(frobeniusError(w, V, H, full, E) < 1e-5, 'measured');
  const low = truncatedSvd(w, V, H, 6);
  assert.ok(Math.abs(frobeniusError(w, V, H, low, 6) - low.relativeError) < 1e-5, `measured ${frobeniusError(w, V, H, low, 6)} vs stated ${low.relativeError}`);
});

test('ALBERT-style: the exported ONNX holds the shared layer once, used at every depth; embeddings are V x E then E x H', async () => {
  const teacher = forwardSpecFromModel(await openModel(TEACHER));
  const tensors = new Map(teacher.graph.initializers.map((t) => [t.name, { dims: t.dims, values: t.values as Float32Array }]));
  const s = albertStudent({ config: TEACHER_CONFIG, tensors }, TEACHER, { embedding: 16 });
  const file = path.join(dir, 'albert-student.onnx');
  writeModel(file, s.spec);
  const card = analyzeModel(await openModel(file));
  assert.equal(card.family, 'ALBERT');
  assert.equal(card.layers.length, 4);
  assert.equal(card.uniqueLayers, 1, 'one set of layer weights');
  assert.deepEqual(card.layers[0].sharedWith, [1, 2, 3]);
  const names = s.spec.graph.initializers.map((t) => t.name);
  assert.equal(names.filter((n) => n.includes('attention.query.weight')).length, 1);
  const dims = (n: string) => s.spec.graph.initializers.find((t) => t.name === n)!.dims;
  assert.deepEqual(dims('albert.embeddings.word_embeddings.weight'), [500, 16]);
  assert.deepEqual(dims('albert.encoder.embedding_hidden_mapping_in.weight'), [32, 16]);
  assert.ok(s.svdError > 0 && s.svdError < 1);
  // The shared layer starts as the mean of the teacher's four.
  const mean = new Float32Array(32 * 32);
  for (let l = 0; l < 4; l++) tensors.get(`bert.encoder.layer.${l}.attention.self.query.weight`)!.values.forEach((v, i) => { mean[i] += v / 4; });
  const shared = s.spec.graph.initializers.find((t) => t.name === 'albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight')!.values as Float32Array;
  assert.ok(shared.every((v, i) => Math.abs(v - mean[i]) < 1e-6));
  assert.throws(() => albertStudent({ config: TEACHER_CONFIG, tensors }, TEACHER, { embedding: 32 }), /option 'embedding' must be below the teacher's width 32/);
});

test('MobileBERT-style: the bottleneck block\'s shapes and its parameter count follow the formula', async () => {
  const c = { ...TEACHER_CONFIG, hiddenSize: 64, numHeads: 4 };
  const s = mobilebertStudent(c, { bottleneck: 16, ffns: 3, intermediate: 48, embedding: 24 });
  const [H, B, F, I, E] = [64, 16, 3, 48, 24];
  const linear = (i: number, o: number) => i * o + o;
  const norm = (d: number) => 2 * d;
  // Per block: bottleneck in (H->B) and attention-input (H->B) with their norms; q, k from B, v from H;
  // attention output B->B + norm; F FFNs (B->I->B + norm); the output bottleneck B->H + norm.
  const perLayer = 2 * (linear(H, B) + norm(B)) + 2 * linear(B, B) + linear(H, B) + linear(B, B) + norm(B) + F * (linear(B, I) + linear(I, B) + norm(B)) + linear(B, H) + norm(H);
  const file = path.join(dir, 'mobile.onnx');
  writeModel(file, s.spec);
  const card = analyzeModel(await openModel(file));
  assert.equal(card.family, 'MobileBERT');
  for (const l of card.layers) assert.equal(l.params, perLayer, `layer ${l.index}`);
  assert.equal(card.architecture.bottleneckSize, B);
  const embeddings = 500 * E + linear(3 * E, H) + 64 * H + 2 * H + norm(H);
  assert.equal(card.params.byComponent.embeddings, embeddings);
  assert.throws(() => mobilebertStudent(c, { bottleneck: 18 }), /option 'bottleneck' must be divisible by the teacher's 4 heads/);
});

const stepsOf = (events: TrainProgress[]) => events.flatMap((e) => (e.type === 'steps' ? e.steps : []));

test('ALBERT-style run: loss_kd, loss_ce and loss_hidden; the student is smaller than its teacher in parameters, not layers', { timeout: 120_000 }, async () => {
  const events: TrainProgress[] = [];
  const r = await distill({ recipe: 'albert', teacher: TEACHER, data: DATA, eval: DATA, out: path.join(dir, 'albert.onnx'), embedding: 16, maxSteps: 6, batchSize: 16, lr: 1e-3, threads: 1, cacheDir }, { report: (p) => events.push(p) });
  assert.deepEqual(Object.keys(stepsOf(events)[0].losses).sort(), ['ce', 'hidden', 'kd']);
  assert.ok(r.warnings.some((w) => /SVD of the teacher's word embeddings keeps them to a relative error of \d/.test(w)));
  assert.equal(r.student.config.numLayers, 4);
  const teacherParams = analyzeModel(await openModel(TEACHER)).params.total;
  assert.ok(r.student.params < teacherParams);
});

test('MobileBERT-style runs: transfer (loss_fmt, loss_at) then prediction (loss_kd, loss_ce); progressive trains one layer a stage', { timeout: 120_000 }, async () => {
  const events: TrainProgress[] = [];
  const base = { recipe: 'mobilebert' as const, teacher: TEACHER, data: DATA, out: path.join(dir, 'mobile-run.onnx'), layers: 2, bottleneck: 8, batchSize: 16, lr: 1e-3, threads: 1, cacheDir };
  const r = await distill({ ...base, stage1Steps: 4, maxSteps: 4 }, { report: (p) => events.push(p) });
  assert.deepEqual(r.stages.map((s) => s.name), ['transfer', 'prediction']);
  const steps = stepsOf(events);
  assert.deepEqual(Object.keys(steps[0].losses).sort(), ['at', 'fmt']);
  assert.deepEqual(Object.keys(steps[steps.length - 1].losses).sort(), ['ce', 'kd']);
  const progressive = await distill({ ...base, out: path.join(dir, 'mobile-progressive.onnx'), progressive: true, stage1Steps: 4, maxSteps: 2 });
  assert.deepEqual(progressive.stages.map((s) => [s.name, s.steps]), [['transfer-1', 2], ['transfer-2', 2], ['prediction', 2]]);
});
