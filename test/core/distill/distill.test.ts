// Distillation in-process (the worker runs exactly this): students built right from the teacher,
// the layer maps, signals found in builder and exporter graphs, the teacher cache, short runs that
// make the student agree more with its teacher, cancel with a resumable checkpoint, and bad input
// refused before any training.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import { forwardSpecFromModel } from '../../../src/core/onnx/forward-spec';
import { openModel } from '../../../src/core/open-model';
import { train } from '../../../src/core/training/trainer';
import { distill } from '../../../src/core/distill/distill';
import { evenlySpacedLayers, tinyLayerMap } from '../../../src/core/distill/layer-map';
import { findSignals } from '../../../src/core/distill/signals';
import { distilbertStudent, tinybertStudent } from '../../../src/core/distill/students';
import { readCheckpointInfo } from '../../../src/core/training/checkpoint';
import type { TrainProgress } from '../../../src/core/training/progress';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';
import { writeTokenData } from '../../helpers/data';

requireShared();
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-distill-'));
const DATA = path.join(dir, 'train.jsonl');
const DEV = path.join(dir, 'dev.jsonl');
const TEACHER_CONFIG: EncoderConfig = { family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 4, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3, seed: 3 };
let TEACHER = '';
/** PyTorch's export of bert-mini, fine-tuned here: a real exporter graph that has learned something. */
let EXPORTED = '';
const cacheDir = path.join(dir, 'cache');

before(async () => {
  writeTokenData(DATA, 256, 5);
  writeTokenData(DEV, 96, 6);
  const init = path.join(dir, 'teacher-init.onnx');
  writeModel(init, buildEncoderClassifier(TEACHER_CONFIG));
  TEACHER = (await train({ model: init, data: DATA, out: path.join(dir, 'teacher.onnx'), lr: 3e-3, epochs: 5, batchSize: 16, threads: 1 })).out;
  EXPORTED = (await train({ model: path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), data: DATA, out: path.join(dir, 'bert-mini-tuned.onnx'), lr: 3e-3, epochs: 5, batchSize: 16, threads: 1 })).out;
}, { timeout: 180_000 });
after(() => rmSync(dir, { recursive: true, force: true }));

function initializers(file: string) {
  return openModel(file).then((m) => new Map(forwardSpecFromModel(m).graph.initializers.map((t) => [t.name, t])));
}

test('DistilBERT-style: the student keeps exactly the chosen teacher layers, bit for bit, and everything outside them', async () => {
  const teacher = forwardSpecFromModel(await openModel(TEACHER));
  const tensors = new Map(teacher.graph.initializers.map((t) => [t.name, { dims: t.dims, values: t.values as Float32Array }]));
  const s = distilbertStudent({ config: TEACHER_CONFIG, tensors }, TEACHER, { teacherLayers: [1, 3] });
  assert.equal(s.config.numLayers, 2);
  const student = new Map(s.spec.graph.initializers.map((t) => [t.name, t]));
  let compared = 0;
  for (const [name, t] of student) {
    const m = /\.layer\.(\d+)\./.exec(name);
    const from = m ? name.replace(/\.layer\.\d+\./, `.layer.${[1, 3][Number(m[1])]}.`) : name;
    const src = tensors.get(from);
    assert.ok(src, `${name} comes from the teacher's ${from}`);
    assert.deepEqual(Buffer.from((t.values as Float32Array).buffer), Buffer.from(src.values.buffer, src.values.byteOffset, src.values.byteLength), `${name} is bit-equal to ${from}`);
    compared++;
  }
  assert.equal(compared, student.size);
  assert.ok([...student.keys()].some((n) => n.includes('.layer.1.')) && ![...student.keys()].some((n) => n.includes('.layer.2.')));
  assert.deepEqual(s.layerMap.links.map((l) => [l.student, l.teacher]), [[0, 0], [1, 2], [2, 4]]);
  // Default: evenly spaced, first and last kept.
  assert.deepEqual(distilbertStudent({ config: TEACHER_CONFIG, tensors }, TEACHER, { layers: 2 }).teacherLayers, [0, 3]);
});

test('layer maps: Hugging Face\'s 12 -> 6 choice; TinyBERT g(m) = floor(mN/M) for several N and M', () => {
  assert.deepEqual(evenlySpacedLayers(12, 6), [0, 2, 4, 7, 9, 11]);
  assert.deepEqual(evenlySpacedLayers(4, 2), [0, 3]);
  assert.deepEqual(evenlySpacedLayers(6, 1), [5]);
  assert.deepEqual(tinyLayerMap(12, 4), [0, 3, 6, 9, 12]);
  assert.deepEqual(tinyLayerMap(4, 2), [0, 2, 4]);
  assert.deepEqual(tinyLayerMap(6, 4), [0, 1, 3, 4, 6]);
  assert.deepEqual(tinyLayerMap(3, 3), [0, 1, 2, 3]);
  assert.deepEqual(tinyLayerMap(12, 5), [0, 2, 4, 7, 9, 12]);
  assert.throws(() => tinyLayerMap(2, 3), /cannot map/);
});

test('signals: every layer output and attention score found in the builder\'s and the exporter\'s graphs; ALBERT\'s shared layer is said to be missing', async () => {
  for (const m of ['bert-mini', 'distilbert-mini', 'mobilebert-mini']) {
    const s = findSignals(forwardSpecFromModel(await openModel(path.join(BERT_FAMILY, m, 'model.onnx'))));
    assert.equal(s.source, 'scopes', m);
    assert.deepEqual(s.missing, [], m);
    assert.equal(s.hidden.length, 2);
    assert.ok(s.embeddings && s.hidden.every(Boolean) && s.attentionScores.every(Boolean));
  }
  const built = findSignals(buildEncoderClassifier(TEACHER_CONFIG));
  assert.equal(built.source, 'metadata');
  assert.equal(built.hidden.length, 4);
  const albert = findSignals(forwardSpecFromModel(await openModel(path.join(BERT_FAMILY, 'albert-mini', 'model.onnx'))));
  assert.ok(albert.missing.length > 0);
});

test('a TinyBERT-style student wider than the teacher, heads that do not divide, or more layers are refused by name', () => {
  assert.throws(() => tinybertStudent(TEACHER_CONFIG, { hidden: 64 }), /option 'hidden' must be at most the teacher's width 32/);
  assert.throws(() => tinybertStudent(TEACHER_CONFIG, { hidden: 24, heads: 5 }), /option 'heads' must divide/);
  assert.throws(() => tinybertStudent(TEACHER_CONFIG, { layers: 5 }), /option 'layers' must be at most the teacher's 4 layers/);
});

test('a TinyBERT-style student\'s feed-forward activation: GELU by default, ReLU when asked (in the graph and its config); others refused by name', async () => {
  const ops = (s: ReturnType<typeof tinybertStudent>) => new Set(s.spec.graph.nodes.map((n) => n.opType));
  const gelu = tinybertStudent(TEACHER_CONFIG, { hidden: 16, heads: 2 });
  assert.equal(gelu.config.hiddenAct ?? 'gelu', 'gelu');
  assert.ok(ops(gelu).has('Erf') && !ops(gelu).has('Relu'));
  const relu = tinybertStudent(TEACHER_CONFIG, { hidden: 16, heads: 2, activation: 'relu' });
  assert.equal(relu.config.hiddenAct, 'relu');
  assert.ok(ops(relu).has('Relu') && !ops(relu).has('Erf'));
  assert.equal(relu.spec.graph.nodes.filter((n) => n.opType === 'Relu').length, 2, 'one per layer');
  const base = { teacher: TEACHER, data: DATA, out: path.join(dir, 'never.onnx'), maxSteps: 1, threads: 1, cacheDir };
  await assert.rejects(distill({ ...base, recipe: 'tinybert', activation: 'swish' as never }), /option 'activation' must be gelu, gelu_new, relu \(got 'swish'\)/);
  await assert.rejects(distill({ ...base, recipe: 'distilbert', activation: 'relu' }), /option 'activation' applies to the tinybert recipe only/);
});

const evalsOf = (events: TrainProgress[]) => events.flatMap((e) => (e.type === 'eval' ? [e.eval] : []));

test('DistilBERT-style run: loss_kd, loss_ce and loss_cos each step; agreement with the teacher rises; the teacher is not run again for rows it has seen', { timeout: 120_000 }, async () => {
  const events: TrainProgress[] = [];
  const log = path.join(dir, 'distilbert.jsonl');
  // One layer kept of four: the student starts far enough from its teacher to show it coming closer.
  const r = await distill({ recipe: 'distilbert', teacher: TEACHER, data: DATA, eval: DEV, out: path.join(dir, 'distilbert.onnx'), layers: 1, epochs: 3, batchSize: 16, lr: 1e-3, threads: 1, cacheDir, log },
    { report: (p) => events.push(p) });
  const steps = events.flatMap((e) => (e.type === 'steps' ? e.steps : []));
  assert.equal(steps.length, 48);
  for (const s of steps) assert.deepEqual(Object.keys(s.losses).sort(), ['ce', 'cos', 'kd']);
  const lines = (await import('node:fs')).readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.filter((l) => !l.eval).every((l) => Number.isFinite(l.loss_kd) && Number.isFinite(l.loss_ce) && Number.isFinite(l.loss_cos)));
  const evals = evalsOf(events);
  assert.equal(evals[0].step, 0, 'an evaluation before training');
  assert.ok(evals.every((e) => e.agreement !== undefined && e.kl !== undefined));
  assert.equal(r.cache.rowsCached, 256);
  assert.ok(r.cache.misses === 16, `only the first epoch runs the teacher (${JSON.stringify(r.cache)})`);
  assert.ok(evals[evals.length - 1].agreement! > evals[0].agreement!, `agreement ${evals[0].agreement} -> ${evals[evals.length - 1].agreement}`);
  assert.equal(r.student.config.numLayers, 1);
  assert.ok(r.teacher.accuracy !== undefined);
});

test('TinyBERT-style run from the exporter\'s bert-mini (fine-tuned): two stages, loss_emb/hidden/attn then loss_pred; agreement with the teacher ends above where it started', { timeout: 120_000 }, async () => {
  const events: TrainProgress[] = [];
  const r = await distill({ recipe: 'tinybert', teacher: EXPORTED, data: DATA, eval: DEV, out: path.join(dir, 'tiny.onnx'), layers: 1, hidden: 32, heads: 2, stage1Epochs: 2, epochs: 4, batchSize: 16, lr: 3e-3, stage1Lr: 3e-3, threads: 1, cacheDir },
    { report: (p) => events.push(p) });
  assert.deepEqual(r.stages.map((s) => s.name), ['intermediate', 'prediction']);
  const steps = events.flatMap((e) => (e.type === 'steps' ? e.steps : []));
  assert.deepEqual(Object.keys(steps[0].losses).sort(), ['attn', 'emb', 'hidden']);
  assert.deepEqual(Object.keys(steps[steps.length - 1].losses), ['pred']);
  assert.ok(steps.filter((s) => s.stage === 'intermediate').every((s) => s.step <= 32) && steps.filter((s) => s.stage === 'prediction').every((s) => s.step > 32));
  const evals = evalsOf(events);
  assert.ok(evals[evals.length - 1].agreement! > evals[0].agreement!, `agreement ${evals[0].agreement} -> ${evals[evals.length - 1].agreement}`);
  assert.deepEqual(r.layerMap.links.map((l) => [l.student, l.teacher]), [[0, 0], [1, 2]]);
  // The exported student has no W_h.
  const names = [...(await initializers(r.out)).keys()];
  assert.ok(!names.some((n) => n.startsWith('distill.')));
});

test('cancel mid-run keeps a resumable checkpoint that names its stage; resuming finishes the run', { timeout: 120_000 }, async () => {
  const ckpt = path.join(dir, 'stopped.ckpt.safetensors');
  let n = 0;
  const o = { recipe: 'tinybert' as const, teacher: TEACHER, data: DATA, out: path.join(dir, 'stopped.onnx'), layers: 2, hidden: 16, activation: 'relu' as const, stage1Steps: 6, maxSteps: 6, batchSize: 16, lr: 1e-3, threads: 1, cacheDir, checkpoint: ckpt };
  const stopped = await distill(o, { isCancelled: () => ++n > 8 });
  assert.equal(stopped.cancelled, true);
  assert.equal(stopped.steps, 8);
  const info = await readCheckpointInfo(ckpt);
  assert.equal(info.meta.stage, 'prediction');
  assert.equal(info.step, 8);
  const resumed = await distill({ ...o, resume: ckpt, checkpoint: path.join(dir, 'resumed.ckpt.safetensors') });
  assert.equal(resumed.cancelled, false);
  assert.equal(resumed.startStep, 8);
  assert.equal(resumed.steps, 12);
  // The ReLU student trains through both stages and is written with its ReLUs.
  const written = forwardSpecFromModel(await openModel(resumed.out));
  assert.equal(written.graph.nodes.filter((n) => n.opType === 'Relu').length, 2);
});

test('bad input is refused before any training, naming the file or option', async () => {
  const base = { recipe: 'distilbert' as const, teacher: TEACHER, data: DATA, out: path.join(dir, 'never.onnx'), maxSteps: 1, threads: 1, cacheDir };
  const fiveClasses = path.join(dir, 'five.jsonl');
  writeFileSync(fiveClasses, '{"input_ids": [101, 200, 102], "label": 4}\n');
  await assert.rejects(distill({ ...base, data: fiveClasses }), /five\.jsonl:1: label 4 is past the model's 3 classes/);
  const pastVocab = path.join(dir, 'vocab.jsonl');
  writeFileSync(pastVocab, '{"input_ids": [101, 777, 102], "label": 1}\n');
  await assert.rejects(distill({ ...base, data: pastVocab }), /vocab\.jsonl:1: token id 777 is past the model's vocabulary of 500/);
  const noText = path.join(dir, 'no-text.tsv');
  writeFileSync(noText, 'label\tcomment\n1\tgood\n');
  await assert.rejects(distill({ ...base, data: noText }), /no-text\.tsv.*no text column/);
  await assert.rejects(distill({ ...base, teacherLayers: [0, 9] }), /option 'teacherLayers' layer 9 is outside the teacher's layers 0\.\.3/);
  await assert.rejects(distill({ ...base, recipe: 'tinybert', hidden: 64 }), /option 'hidden' must be at most the teacher's width 32/);
  await assert.rejects(distill({ ...base, out: TEACHER }), /would overwrite the teacher this job reads/);
  const twoClasses = writeTokenData(path.join(dir, 'two.jsonl'), 32, 9, 2);
  await assert.rejects(distill({ ...base, data: twoClasses, recipe: 'tinybert', teacher: path.join(BERT_FAMILY, 'albert-mini', 'model.onnx') }), /albert-mini.*not found in its graph.*option 'logitsOnly'/);
  assert.ok(!existsSync(path.join(dir, 'never.onnx')));
  assert.ok(readdirSync(dir).every((f) => !f.startsWith('never')));
});

test('teachers as users have them: the exporter\'s graph (DistilBERT-style init from its weights) and a Hugging Face folder of safetensors; the student also leaves as a Hugging Face folder', { timeout: 120_000 }, async () => {
  const { cpSync, mkdirSync } = await import('node:fs');
  const { readStateDict } = await import('../../../src/core/convert/state-dict');
  // The fine-tuned export has no config.json beside it: the head count comes from its graph.
  const fromExport = await distill({ recipe: 'distilbert', teacher: EXPORTED, data: DATA, out: path.join(dir, 'from-export.onnx'), teacherLayers: [1], maxSteps: 2, batchSize: 16, lr: 0, threads: 1, cacheDir });
  const teacherWeights = readStateDict(await openModel(EXPORTED), { overrides: { numHeads: 2 } }).tensors;
  const student = readStateDict(await openModel(fromExport.out)).tensors;
  const q = student.get('bert.encoder.layer.0.attention.self.query.weight')!;
  assert.deepEqual(Buffer.from(q.values.buffer, q.values.byteOffset, q.values.byteLength), Buffer.from(teacherWeights.get('bert.encoder.layer.1.attention.self.query.weight')!.values.buffer), 'student layer 0 is teacher layer 1 (lr 0: untouched)');

  const folder = path.join(dir, 'hf-teacher');
  mkdirSync(folder);
  for (const f of ['config.json', 'model.safetensors']) cpSync(path.join(BERT_FAMILY, 'distilbert-mini', f), path.join(folder, f));
  const two = writeTokenData(path.join(dir, 'two-classes.jsonl'), 64, 11, 2);
  const hfOut = path.join(dir, 'student-hf');
  const tokenizer = path.join(BERT_FAMILY, '..', '..', 'tokenizers', 'bert-base-uncased', 'tokenizer.json');
  const r = await distill({ recipe: 'tinybert', teacher: folder, data: two, out: path.join(dir, 'from-folder.onnx'), layers: 1, hidden: 32, stage1Steps: 2, maxSteps: 2, batchSize: 16, threads: 1, cacheDir, hfOut, tokenizer });
  assert.equal(r.student.hfOut, hfOut);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(path.join(hfOut, f)), f);
  const reread = await openModel(hfOut);
  assert.equal(reread.format, 'safetensors');
  const { analyzeModel } = await import('../../../src/core/analysis/model-card');
  assert.equal(analyzeModel(reread).params.total, r.student.params, 'the folder holds the same student as the ONNX');
});

test('rows without labels: the student learns from the teacher alone (no loss_ce); evaluation still takes labelled rows', { timeout: 60_000 }, async () => {
  const { readFileSync } = await import('node:fs');
  const unlabeled = path.join(dir, 'unlabeled.jsonl');
  writeFileSync(unlabeled, readFileSync(DATA, 'utf8').trim().split('\n').map((l) => { const { label: _label, ...rest } = JSON.parse(l) as Record<string, unknown>; return JSON.stringify(rest); }).join('\n') + '\n');
  const events: TrainProgress[] = [];
  const r = await distill({ recipe: 'distilbert', teacher: TEACHER, data: unlabeled, eval: DEV, out: path.join(dir, 'unlabeled.onnx'), layers: 2, maxSteps: 3, batchSize: 16, threads: 1, cacheDir }, { report: (p) => events.push(p) });
  const steps = events.flatMap((e) => (e.type === 'steps' ? e.steps : []));
  assert.deepEqual(Object.keys(steps[0].losses).sort(), ['cos', 'kd']);
  assert.ok(r.evals.every((e) => e.accuracy >= 0 && e.agreement !== undefined));
});
