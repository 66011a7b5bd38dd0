// The Distill form's check on real files with the core's own checks: the values a form opens
// with and those that follow from a teacher and a recipe; only the chosen recipe's fields
// becoming options; every problem at once, beside its field (numbers that are not, files that
// are not there, the core's ranges and conflicts, the student's shape against the teacher's, an
// output that would overwrite an input).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  defaultStudentPath, defaultsForTeacher, distillFormSpec, distillOptionsFromForm, initialDistillValues, recipeValues, shapeDefaults, teacherLayersNote,
} from '../../src/extension/distill/distill-form';
import type { ModelFacts, TrainDefaults } from '../../src/extension/train/train-form';
import type { JobFormValues } from '../../src/shared/protocol';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-distill-form-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const teacher = path.join(dir, 'tiny', 'model.onnx');
mkdirSync(path.dirname(teacher));
writeFileSync(teacher, 'not read by the form');
const tokens = path.join(dir, 'train.jsonl');
writeFileSync(tokens, '{"input_ids":[101,7,102],"label":1}\n');
const text = path.join(dir, 'text.tsv');
writeFileSync(text, 'sentence\tlabel\ngood\t1\n');
const out = path.join(dir, 'tiny', 'student.onnx');

const defaults: TrainDefaults = { optimizer: 'adamw', schedule: 'linear', epochs: 1, maxSteps: 0, batchSize: 32, maxLength: 128, warmupRatio: 0.1, seed: 42 };
/** A 4-layer, hidden-32, 2-head teacher with 3 labels, as the worker's inspect reports it. */
const facts: ModelFacts = { family: 'BERT', layers: 4, hiddenSize: 32, numHeads: 2, numLabels: 3, vocabSize: 500, maxPositions: 64 };

function form(recipe: string, change: JobFormValues = {}): JobFormValues {
  return { ...initialDistillValues(defaults, { teacher, data: tokens, out }), recipe, ...recipeValues(recipe as 'distilbert', facts), ...change };
}

test('the form: files first, then the recipe and the student, the loss, the training; recipe fields only for their recipes', () => {
  const spec = distillFormSpec('tiny');
  assert.equal(spec.title, 'Distill tiny');
  assert.equal(spec.kind, 'distill');
  assert.deepEqual(spec.sections.map((s) => s.title), ['Teacher and data', 'Recipe and student', 'Loss', 'Training']);
  const field = (id: string) => spec.sections.flatMap((s) => s.fields).find((f) => f.id === id)!;
  assert.deepEqual(field('teacherLayers').showWhen, { field: 'recipe', value: ['distilbert'] });
  assert.deepEqual(field('stage1Length').showWhen, { field: 'recipe', value: ['tinybert', 'mobilebert'] });
  assert.equal(field('layers').showWhen, undefined, 'every recipe has a depth');
  assert.deepEqual(field('recipe').options?.map((o) => o.value), ['distilbert', 'tinybert', 'albert', 'mobilebert']);
});

test('defaults from the teacher, per recipe, as the student builders choose them', () => {
  assert.deepEqual(shapeDefaults('distilbert', facts), { temperature: '2', alphaKd: '0.5', alphaCe: '0.5', alphaCos: '1', layers: '2' });
  assert.deepEqual(shapeDefaults('tinybert', facts), { temperature: '1', layers: '2', hidden: '16', heads: '2', intermediate: '64', activation: 'gelu' });
  assert.deepEqual(shapeDefaults('albert', facts), { temperature: '2', alphaKd: '0.5', alphaCe: '0.5', alphaHidden: '1', layers: '4', embedding: '16', groups: '1', shareInit: 'mean' });
  assert.deepEqual(shapeDefaults('mobilebert', facts), { temperature: '1', alphaKd: '0.5', alphaCe: '0.5', layers: '4', bottleneck: '8', embedding: '16', intermediate: '32', ffns: '2', progressive: 'no' });
  // Switching recipe empties the fields the new one does not use, so they are not stale.
  assert.equal(recipeValues('tinybert', facts).alphaCos, '');
  const v = defaultsForTeacher(teacher, 'albert', facts, defaults, () => false);
  assert.equal(v.out, path.join(dir, 'tiny', 'tiny-albert.onnx'));
  assert.equal(v.maxLength, '64', "cut to the teacher's positions");
  assert.equal(defaultStudentPath(teacher, 'albert', (f) => f.endsWith('tiny-albert.onnx')), path.join(dir, 'tiny', 'tiny-albert-2.onnx'));
  assert.equal(teacherLayersNote(facts, '2'), "Empty keeps 0, 3 of the teacher's 0..3");
  assert.equal(teacherLayersNote(facts, '9'), '');
});

test('good values become DistillOptions of the chosen recipe only; hidden fields are not options', () => {
  const c = distillOptionsFromForm(form('albert', { teacherLayers: '0,1', hidden: '99', stage1Length: '3' }), { threads: 1 }, facts);
  assert.deepEqual(c.problems, { fields: {} });
  const o = c.options!;
  assert.equal(o.recipe, 'albert');
  assert.deepEqual([o.layers, o.embedding, o.groups, o.shareInit, o.alphaHidden, o.temperature, o.threads], [4, 16, 1, 'mean', 1, 2, 1]);
  for (const k of ['teacherLayers', 'hidden', 'stage1Epochs', 'stage1Steps', 'alphaCos', 'bottleneck'] as const) assert.equal(o[k], undefined, k);
  assert.equal(o.epochs, 1);

  const tiny = distillOptionsFromForm(form('tinybert', { stage1Length: '40', stage1Unit: 'steps', stage1Lr: '1e-3' }), {}, facts).options!;
  assert.deepEqual([tiny.hidden, tiny.heads, tiny.stage1Steps, tiny.stage1Epochs, tiny.stage1Lr, tiny.alphaKd, tiny.activation], [16, 2, 40, undefined, 1e-3, undefined, 'gelu']);
  assert.equal(distillOptionsFromForm(form('tinybert', { activation: 'relu' }), {}, facts).options!.activation, 'relu');
  assert.equal(distillOptionsFromForm(form('mobilebert', { activation: 'relu' }), {}, facts).options!.activation, undefined);
  const mobile = distillOptionsFromForm(form('mobilebert', { progressive: 'yes', stage1Length: '2' }), {}, facts).options!;
  assert.deepEqual([mobile.progressive, mobile.stage1Epochs, mobile.bottleneck, mobile.ffns], [true, 2, 8, 2]);
  const distil = distillOptionsFromForm(form('distilbert', { teacherLayers: '0, 3' }), {}, facts).options!;
  assert.deepEqual(distil.teacherLayers, [0, 3]);
});

test('every problem at once, beside its field, in the core\'s words', () => {
  const p = distillOptionsFromForm(form('distilbert', {
    teacher: path.join(dir, 'nope.onnx'), data: '', out: 'relative.onnx', batchSize: 'eight', temperature: '0', alphaKd: '-1', teacherLayers: '0,x',
  }), {}, facts).problems;
  assert.equal(p.fields.teacher, 'no such file');
  assert.equal(p.fields.data, 'is required');
  assert.equal(p.fields.out, 'give the full path (or use Browse…)');
  assert.equal(p.fields.batchSize, "must be a number (got 'eight')");
  assert.equal(p.fields.temperature, 'must be a number > 0 (got 0)');
  assert.equal(p.fields.alphaKd, 'must be a number >= 0 (got -1)');
  assert.match(p.fields.teacherLayers, /^must be layer numbers from 0/);
  // All three loss weights at 0: the core names the first, and the others by their labels.
  const zero = distillOptionsFromForm(form('distilbert', { alphaKd: '0', alphaCe: '0', alphaCos: '0' }), {}, facts).problems;
  assert.equal(zero.fields.alphaKd, 'and "Weight: labels (CE)" and "Weight: hidden cosine" are all 0: nothing to learn from');
  // Epochs and steps for stage 1 cannot both be given; the form offers one at a time, so only a bad number shows.
  assert.equal(distillOptionsFromForm(form('tinybert', { stage1Length: '0' }), {}, facts).problems.fields.stage1Length, 'must be a whole number >= 1 (got 0)');
});

test("the student's shape against the teacher's, before any work", () => {
  const f = (recipe: string, change: JobFormValues) => distillOptionsFromForm(form(recipe, change), {}, facts).problems.fields;
  assert.equal(f('distilbert', { layers: '6' }).layers, "must be at most the teacher's 4 layers (got 6)");
  assert.equal(f('distilbert', { teacherLayers: '0,4' }).teacherLayers, "layer 4 is outside the teacher's layers 0..3");
  assert.equal(f('distilbert', { teacherLayers: '2,1' }).teacherLayers, 'must be in increasing order (2,1)');
  assert.equal(f('distilbert', { layers: '3', teacherLayers: '0,1' }).teacherLayers, 'names 2 layers but "Student layers" asks for 3');
  assert.match(f('tinybert', { hidden: '64' }).hidden, /^must be at most the teacher's width 32/);
  assert.equal(f('tinybert', { hidden: '16', heads: '3' }).heads, "must divide the student's width 16 (got 3)");
  assert.match(f('albert', { embedding: '32' }).embedding, /^must be below the teacher's width 32/);
  assert.equal(f('albert', { groups: '3' }).groups, "must divide the student's 4 layers (got 3)");
  assert.match(f('mobilebert', { bottleneck: '7' }).bottleneck, /divisible by the teacher's 2 heads/);
  assert.match(distillOptionsFromForm(form('distilbert'), {}, { ...facts, family: 'ALBERT'.toLowerCase() }).problems.fields.recipe, /use the tinybert recipe/);
  // Without the teacher's facts (not read yet), the job checks the shape itself.
  assert.deepEqual(distillOptionsFromForm(form('distilbert', { layers: '6' })).problems.fields, {});
});

test('files: text data needs a tokenizer, the output is an ONNX file that overwrites no input, the folder is not a file', () => {
  assert.match(distillOptionsFromForm(form('distilbert', { data: text }), {}, facts).problems.fields.tokenizer, /holds text/);
  assert.equal(distillOptionsFromForm(form('distilbert', { out: path.join(dir, 'student.bin') }), {}, facts).problems.fields.out, 'the student is an ONNX model: end the name with .onnx');
  assert.match(distillOptionsFromForm(form('distilbert', { out: teacher }), {}, facts).problems.fields.out, /teacher/);
  assert.equal(distillOptionsFromForm(form('distilbert', { hfOut: tokens }), {}, facts).problems.fields.hfOut, 'is a file; give a folder (new or empty)');
  assert.deepEqual(distillOptionsFromForm(form('distilbert', { hfOut: path.join(dir, 'student-hf') }), {}, facts).problems, { fields: {} });
  assert.match(distillOptionsFromForm(form('distilbert', { teacher: tokens }), {}, facts).problems.fields.teacher, /ONNX model/);
});
