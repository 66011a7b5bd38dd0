// The job form's reducer: the host's form and values, its derived defaults landing only on fields
// the user has not edited, problems shown beside a field once there is something in it (all of
// them after Start), fields shown by another field's value, and Start's round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobFormSpec } from '../../src/shared/protocol';
import { blockingCount, formReducer, initialFormState, isVisible, shownProblem, type FormState } from '../../webview/job-form/state';

const spec: JobFormSpec = {
  kind: 'train', title: 'Fine-tune tiny', submitLabel: 'Start',
  sections: [
    { title: 'Files', fields: [{ id: 'model', label: 'Model', type: 'file', required: true }, { id: 'data', label: 'Data', type: 'file', required: true }, { id: 'out', label: 'Out', type: 'file', save: true }] },
    {
      title: 'Training', fields: [
        { id: 'length', label: 'Train for', type: 'choice', radio: true, options: [{ value: 'epochs', label: 'Epochs' }, { value: 'maxSteps', label: 'Max steps' }] },
        { id: 'epochs', label: 'Epochs', type: 'number', showWhen: { field: 'length', value: 'epochs' } },
        { id: 'maxSteps', label: 'Max steps', type: 'number', showWhen: { field: 'length', value: 'maxSteps' } },
        { id: 'lr', label: 'Learning rate', type: 'number' },
      ],
    },
  ],
};
const field = (id: string) => spec.sections.flatMap((s) => s.fields).find((f) => f.id === id)!;

function opened(): FormState {
  return formReducer(initialFormState, { type: 'init', spec, values: { model: '/m/tiny.onnx', data: '', out: '/m/tiny-finetuned.onnx', length: 'epochs', epochs: '1', maxSteps: '1000', lr: '5e-5' }, notes: { model: 'BERT · 2 layers' } });
}

test('init: the form and its values; a malformed form is ignored', () => {
  const s = opened();
  assert.equal(s.spec, spec);
  assert.equal(s.values.lr, '5e-5');
  assert.equal(s.notes.model, 'BERT · 2 layers');
  assert.equal(formReducer(initialFormState, { type: 'init', spec: { title: 3 } as never, values: {}, notes: {} }), initialFormState);
});

test('defaults from the host land only on fields the user has not edited; notes merge', () => {
  let s = opened();
  s = formReducer(s, { type: 'edit', field: 'out', value: '/elsewhere/mine.onnx' });
  s = formReducer(s, { type: 'defaults', values: { out: '/m2/m2-finetuned.onnx', lr: '1e-2' }, notes: { out: 'exists' } });
  assert.equal(s.values.out, '/elsewhere/mine.onnx');
  assert.equal(s.values.lr, '1e-2');
  assert.deepEqual(s.notes, { model: 'BERT · 2 layers', out: 'exists' });
  assert.equal(formReducer(s, { type: 'defaults', values: { lr: '1e-2' }, notes: undefined as never }), s, 'nothing new: no change');
});

test('a re-sent form (the page shown again) keeps what the user typed', () => {
  let s = formReducer(opened(), { type: 'edit', field: 'data', value: '/d/train.jsonl' });
  s = formReducer(s, { type: 'init', spec, values: { model: '/m/tiny.onnx', data: '', lr: '5e-5' }, notes: {} });
  assert.equal(s.values.data, '/d/train.jsonl');
});

test('problems: beside fields with something in them, or edited; every one after Start; hidden fields never', () => {
  let s = opened();
  s = formReducer(s, { type: 'problems', problems: { fields: { data: 'is required', lr: 'must be a number', maxSteps: 'must be a whole number >= 1 (got 0)' } } });
  assert.equal(shownProblem(s, field('data')), undefined, 'an empty field the user has not reached is not flagged yet');
  assert.equal(shownProblem(s, field('lr')), 'must be a number');
  assert.equal(shownProblem(s, field('maxSteps')), undefined, 'hidden while training for epochs');
  assert.equal(blockingCount(s), 2);
  s = formReducer(s, { type: 'starting' });
  assert.equal(s.starting, true);
  assert.equal(shownProblem(s, field('data')), 'is required');
  assert.equal(formReducer(s, { type: 'starting' }), s, 'a second Start while starting is no change');
  s = formReducer(s, { type: 'edit', field: 'length', value: 'maxSteps' });
  assert.equal(isVisible(s, field('maxSteps')), true);
  assert.equal(isVisible(s, field('epochs')), false);
  assert.equal(shownProblem(s, field('maxSteps')), 'must be a whole number >= 1 (got 0)');
});

test("Start's answer: problems and the button back, or started; a failed request says why", () => {
  let s = formReducer(opened(), { type: 'starting' });
  s = formReducer(s, { type: 'startAnswered', started: false, problems: { fields: { out: 'would overwrite the model' }, form: 'one more thing' } });
  assert.equal(s.starting, false);
  assert.equal(s.problems.form, 'one more thing');
  assert.equal(shownProblem(s, field('out')), 'would overwrite the model');
  s = formReducer(s, { type: 'startFailed', message: 'start did not answer within 60 s' });
  assert.equal(s.problems.form, 'start did not answer within 60 s');
  const ok = formReducer(formReducer(opened(), { type: 'starting' }), { type: 'startAnswered', started: true, problems: { fields: {} } });
  assert.equal(ok.starting, true, 'stays disabled until the form closes');
  assert.equal(formReducer(ok, { type: 'problems', problems: { fields: { x: 3 } } as never }), ok, 'malformed problems are ignored');
});

test("a field shown for several values of another (a recipe's own fields): shown while any of them is chosen", () => {
  const stage1 = { id: 'stage1Length', label: 'Stage 1 length', type: 'number' as const, showWhen: { field: 'recipe', value: ['tinybert', 'mobilebert'] } };
  const s = (recipe: string) => ({ ...opened(), values: { ...opened().values, recipe } });
  assert.equal(isVisible(s('tinybert'), stage1), true);
  assert.equal(isVisible(s('mobilebert'), stage1), true);
  assert.equal(isVisible(s('albert'), stage1), false);
  assert.equal(shownProblem({ ...s('albert'), submitted: true, problems: { fields: { stage1Length: 'bad' } } }, stage1), undefined, 'a hidden field says nothing');
});
