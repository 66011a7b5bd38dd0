// The Fine-tune form's check on real files with the core's own checks: options from the text
// the user typed, every problem at once by field (numbers that are not, files that are not
// there, the core's ranges, an output that would overwrite an input), reworded for beside a
// field; the values a form opens with, and those that follow from a model.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  defaultOutPath, defaultsForModel, initialTrainValues, modelNote, numberText, trainFormSpec, trainOptionsFromForm, type TrainDefaults,
} from '../../src/extension/train/train-form';
import type { JobFormValues } from '../../src/shared/protocol';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-train-form-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = path.join(dir, 'tiny', 'model.onnx');
mkdirSync(path.dirname(model));
writeFileSync(model, 'not read by the form');
const tokens = path.join(dir, 'train.jsonl');
writeFileSync(tokens, '{"input_ids":[101,7,102],"label":1}\n');
const text = path.join(dir, 'text.tsv');
writeFileSync(text, 'sentence\tlabel\ngood\t1\n');
const tokenizer = path.join(dir, 'tokenizer.json');
writeFileSync(tokenizer, '{}');

const defaults: TrainDefaults = { optimizer: 'adamw', schedule: 'linear', epochs: 1, maxSteps: 0, batchSize: 32, maxLength: 128, warmupRatio: 0.1, seed: 42 };

function form(change: JobFormValues = {}): JobFormValues {
  return { ...initialTrainValues(defaults, { model, data: tokens, out: path.join(dir, 'tiny', 'tuned.onnx') }), ...change };
}

test('the values a form opens with: the settings, the lr for the optimizer, epochs unless max steps are set', () => {
  const v = initialTrainValues(defaults);
  assert.equal(v.lr, '5e-5');
  assert.equal(v.length, 'epochs');
  assert.equal(initialTrainValues({ ...defaults, optimizer: 'sgd' }).lr, '0.01');
  const steps = initialTrainValues({ ...defaults, maxSteps: 500, lr: 2e-5 });
  assert.deepEqual([steps.length, steps.maxSteps, steps.lr], ['maxSteps', '500', '2e-5']);
  assert.equal(numberText(3e-4), '3e-4');
  assert.equal(numberText(0.1), '0.1');
  const spec = trainFormSpec('tiny');
  assert.equal(spec.title, 'Fine-tune tiny');
  assert.deepEqual(spec.sections.flatMap((s) => s.fields.map((f) => f.id)),
    ['model', 'data', 'eval', 'tokenizer', 'out', 'optimizer', 'lr', 'schedule', 'warmupRatio', 'length', 'epochs', 'maxSteps', 'batchSize', 'maxLength', 'seed']);
});

test('what follows from the model: an output beside it that does not exist yet, its tokenizer, a max length it holds', () => {
  assert.equal(defaultOutPath(model), path.join(dir, 'tiny', 'tiny-finetuned.onnx'));
  const taken = new Set([path.join(dir, 'tiny', 'tiny-finetuned.onnx')]);
  assert.equal(defaultOutPath(model, (f) => taken.has(f)), path.join(dir, 'tiny', 'tiny-finetuned-2.onnx'));
  assert.equal(defaultOutPath('/x/student.onnx', () => false), '/x/student-finetuned.onnx');
  const d = defaultsForModel(model, { maxPositions: 64 }, defaults, (f) => f.endsWith('tokenizer.json'));
  assert.deepEqual(d, { out: path.join(dir, 'tiny', 'tiny-finetuned.onnx'), tokenizer: path.join(dir, 'tiny', 'tokenizer.json'), maxLength: '64' });
  assert.equal(modelNote({ family: 'BERT', layers: 2, hiddenSize: 32, numLabels: 3, vocabSize: 30522, maxPositions: 512 }), 'BERT · 2 layers · hidden 32 · 3 labels (0..2) · vocabulary 30,522 · 512 positions');
});

test('good values become TrainOptions: numbers parsed, epochs or max steps as chosen, the rest left to the defaults', () => {
  const c = trainOptionsFromForm(form({ length: 'maxSteps', maxSteps: '200', lr: '1e-3', seed: '0', warmupRatio: '' }), { threads: 1 });
  assert.deepEqual(c.problems, { fields: {} });
  assert.equal(c.options?.maxSteps, 200);
  assert.equal(c.options?.epochs, undefined, 'the hidden field is not sent');
  assert.equal(c.options?.lr, 1e-3);
  assert.equal(c.options?.seed, 0);
  assert.equal(c.options?.warmupRatio, undefined, 'empty: the default');
  assert.equal(c.options?.threads, 1);
  assert.equal(c.options?.tokenizer, undefined);
});

test('every problem at once, by field, in words for beside the field', () => {
  const c = trainOptionsFromForm(form({ data: path.join(dir, 'missing.jsonl'), eval: path.join(dir, 'notes.txt'), lr: 'fast', batchSize: '0', warmupRatio: '2', seed: '1.5', out: 'relative.onnx' }));
  assert.equal(c.options, undefined);
  assert.deepEqual(c.problems.fields, {
    data: 'no such file',
    eval: 'no such file',
    out: 'give the full path (or use Browse…)',
    lr: "must be a number (got 'fast')",
    batchSize: 'must be a whole number >= 1 (got 0)',
    seed: 'must be a whole number >= 0 (got 1.5)',
    warmupRatio: 'must be a number from 0 to 1 (got 2)',
  });
  const empty = trainOptionsFromForm(form({ model: '', data: '', out: '' }));
  assert.deepEqual(empty.problems.fields, { model: 'is required', data: 'is required', out: 'is required' });
});

test('files: the model must be ONNX, data a known format, text data needs a tokenizer, the output a .onnx file', () => {
  writeFileSync(path.join(dir, 'weights.safetensors'), '');
  writeFileSync(path.join(dir, 'data.txt'), '');
  const c = trainOptionsFromForm(form({ model: path.join(dir, 'weights.safetensors'), data: path.join(dir, 'data.txt'), out: path.join(dir, 'tiny') }));
  assert.deepEqual(c.problems.fields, {
    model: 'fine-tuning takes an ONNX model (.onnx)',
    data: "cannot tell the format from '.txt': use .tsv, .csv or .jsonl",
    out: 'the output is an ONNX model: end the name with .onnx',
  });
  assert.match(trainOptionsFromForm(form({ data: text })).problems.fields.tokenizer ?? '', /holds text .* give the tokenizer\.json/);
  assert.deepEqual(trainOptionsFromForm(form({ data: text, tokenizer })).problems.fields, {});
  mkdirSync(path.join(dir, 'folder.onnx'));
  assert.equal(trainOptionsFromForm(form({ out: path.join(dir, 'folder.onnx') })).problems.fields.out, 'is a folder; give a file path');
});

test("the output guard: an output that would overwrite the model is the output field's problem", () => {
  assert.equal(trainOptionsFromForm(form({ out: model })).problems.fields.out, 'would overwrite the model this job reads; choose another path');
  assert.equal(trainOptionsFromForm(form({ eval: model })).problems.fields.eval, "cannot tell the format from '.onnx': use .tsv, .csv or .jsonl");
  assert.deepEqual(trainOptionsFromForm(form({ out: tokens.replace(/\.jsonl$/, '.onnx') })).problems.fields, {}, 'beside the data is fine');
});
