// The run panel's reducer: a snapshot then appended batches, one series per loss term, the
// step-time window, stages (markers where the stage changes, stages that count from 0 again),
// payloads that crossed a frame boundary malformed, cancel, and a saved run's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EvalLog, StepLog } from '../../src/core/training/training-loop';
import { step } from '../helpers/steps';
import type { HostToRunEvents, RunHeader } from '../../src/shared/protocol';
import { seriesNamed, stepAt, valueAt, type Series } from '../../webview/shared/series';
import { initialRunState, RATE_WINDOW, runReducer, type RunState } from '../../webview/run/state';

const header: RunHeader = { kind: 'train', title: 'Fine-tune: tiny', model: 'tiny', modelPath: '/m/tiny.onnx', out: '/m/tiny-finetuned.onnx', runFile: '/w/run.json', status: 'running', live: true };


function snapshot(steps: StepLog[] = [], evals: EvalLog[] = [], extra: Partial<HostToRunEvents['snapshot']> = {}): RunState {
  return runReducer(initialRunState, { type: 'snapshot', payload: { header, steps, evals, elapsedMs: 1000, plan: { totalSteps: 100, stepsPerEpoch: 20, epochs: 5, terms: ['ce'] }, ...extra }, at: 0 });
}

function more(s: RunState, steps: StepLog[], evals: EvalLog[] = [], at = 0): RunState {
  return runReducer(s, { type: 'progress', payload: { steps, evals, elapsedMs: 2000 }, at });
}

const points = (x: Series | undefined) => (x ? Array.from({ length: x.length }, (_, i) => [stepAt(x, i), valueAt(x, i)]) : []);

test('a snapshot then batches: one series per loss term (loss, loss_<term>), lr, grad norm; the last step', () => {
  const terms = (n: number) => ({ kd: 2 / n, hidden: 0.5 / n });
  let s = snapshot([step(1, {}, terms(1)), step(2, {}, terms(2))]);
  s = more(s, [step(3, {}, terms(3))]);
  assert.deepEqual(s.steps.series.map((x) => x.name), ['loss', 'loss_kd', 'loss_hidden', 'lr', 'grad_norm']);
  assert.deepEqual(s.terms, ['ce', 'kd', 'hidden'], 'the plan names ce first; the steps bring kd and hidden');
  assert.deepEqual(points(seriesNamed(s.steps, 'loss_kd')), [[1, 2], [2, 1], [3, 2 / 3]]);
  assert.deepEqual(points(seriesNamed(s.steps, 'loss')).map((p) => p[0]), [1, 2, 3]);
  assert.equal(s.last?.step, 3);
  assert.equal(s.count, 3);
  assert.equal(s.waiting, false);
});

test('progress before any snapshot is ignored; a new snapshot starts over', () => {
  assert.equal(more(initialRunState, [step(1)]), initialRunState);
  let s = snapshot([step(1), step(2)]);
  s = snapshot([step(1)]);
  assert.equal(seriesNamed(s.steps, 'loss')?.length, 1);
  assert.equal(s.count, 1);
});

test('steps that do not move forward, or are malformed, are dropped and counted', () => {
  let s = snapshot([step(1), step(2)]);
  s = more(s, [step(2), { nonsense: true } as unknown as StepLog, step(3), null as unknown as StepLog]);
  assert.deepEqual(points(seriesNamed(s.steps, 'loss')).map((p) => p[0]), [1, 2, 3]);
  assert.equal(s.rejected, 3);
  const bad = runReducer(s, { type: 'progress', payload: { steps: 'x', evals: 7, elapsedMs: 'y' } as unknown as HostToRunEvents['progress'], at: 0 });
  assert.equal(bad, s, 'a payload with nothing usable changes nothing');
});

test('the step-time window keeps the newest RATE_WINDOW steps, across batches', () => {
  let s = snapshot();
  for (let i = 1; i <= 100; i += 7) s = more(s, Array.from({ length: 7 }, (_, k) => step(i + k, { ms: i + k })));
  assert.equal(s.recent.length, RATE_WINDOW);
  assert.equal(s.recent[s.recent.length - 1].ms, 105);
  assert.equal(s.recent[0].ms, 105 - RATE_WINDOW + 1);
  s = more(s, Array.from({ length: 40 }, (_, k) => step(200 + k, { ms: 1 })));
  assert.ok(s.recent.every((r) => r.ms === 1), 'a batch longer than the window fills it alone');
});

test('stages: a marker where the stage changes; a stage that counts from 0 again continues the axis', () => {
  let s = snapshot([step(1, { stage: 'hidden' }), step(2, { stage: 'hidden' })]);
  s = more(s, [step(3, { stage: 'hidden' }), step(1, { stage: 'logits' }), step(2, { stage: 'logits' })]);
  assert.deepEqual(s.stages, [{ x: 1, stage: 'hidden' }, { x: 4, stage: 'logits' }]);
  assert.deepEqual(points(seriesNamed(s.steps, 'loss')).map((p) => p[0]), [1, 2, 3, 4, 5]);
  assert.equal(s.last?.step, 2, 'the header shows the step as the job counts it');
  s = more(s, [step(10, { stage: 'finetune' })]);
  assert.deepEqual(s.stages.map((m) => m.x), [1, 4, 13], 'a stage that counts on keeps its own numbers, moved by the same offset');
  const plain = snapshot([step(1), step(2)]);
  assert.deepEqual(plain.stages, [], 'one-stage jobs have none');
});

test('evaluations: accuracy and eval loss; agreement and KL when the job is a distillation', () => {
  let s = snapshot([step(1)], [{ step: 1, epoch: 0, accuracy: 0.5, loss: 0.7, examples: 10 }]);
  s = more(s, [step(2)], [{ step: 2, epoch: 1, accuracy: 0.6, loss: 0.6, examples: 10, agreement: 0.8, kl: 0.2 }, { step: 'x' } as unknown as EvalLog]);
  assert.deepEqual(s.evalSeries.series.map((x) => x.name), ['accuracy', 'eval_loss', 'agreement', 'kl']);
  assert.deepEqual(points(seriesNamed(s.evalSeries, 'agreement')), [[2, 0.8]]);
  assert.equal(s.evals.length, 2);
  assert.equal(s.rejected, 1);
});

test('header: a status change; Cancel once while live, none after the job ended', () => {
  let s = snapshot([step(1)]);
  s = runReducer(s, { type: 'cancel' });
  assert.equal(s.cancelRequested, true);
  assert.equal(runReducer(s, { type: 'cancel' }), s, 'a second Cancel is no change');
  s = runReducer(s, { type: 'header', header: { ...header, status: 'cancelled', live: false } });
  assert.equal(s.cancelRequested, false);
  assert.equal(runReducer(s, { type: 'cancel' }), s, 'nothing to cancel');
  assert.equal(runReducer(s, { type: 'header', header: { title: 1 } as unknown as RunHeader }), s);
});

test('the clock: the snapshot and each message set the elapsed time as of their arrival', () => {
  let s = snapshot();
  assert.deepEqual(s.clock, { elapsedMs: 1000, at: 0 });
  s = more(s, [step(1)], [], 500);
  assert.deepEqual(s.clock, { elapsedMs: 2000, at: 500 });
});

test('a phase is current only until steps come after it', () => {
  let s = snapshot([], [], { phase: 'Tokenizing the data' });
  assert.equal(s.phase, 'Tokenizing the data');
  s = more(s, [step(1)]);
  assert.ok(s.phaseAt < s.count);
  s = runReducer(s, { type: 'progress', payload: { steps: [], evals: [], phase: 'Saving', elapsedMs: 3 }, at: 1 });
  assert.equal(s.phaseAt, s.count);
});

test('a malformed snapshot leaves the page with an error, not a crash', () => {
  const s = runReducer(initialRunState, { type: 'snapshot', payload: { nope: 1 } as unknown as HostToRunEvents['snapshot'], at: 0 });
  assert.equal(s.waiting, false);
  assert.match(s.renderError ?? '', /incomplete/);
});

test('a layer map in the snapshot is kept (checked); a bad one is dropped', () => {
  const map = { teacherLayers: 4, studentLayers: 2, links: [{ student: 1, teacher: 2, role: 'both' as const }] };
  assert.deepEqual(snapshot([], [], { layerMap: map }).layerMap, map);
  assert.equal(snapshot([], [], { layerMap: { teacherLayers: 'x' } as never }).layerMap, undefined);
});

test("a distillation's layer map arrives with its plan, after the snapshot; a malformed one is ignored", () => {
  let s = snapshot();
  assert.equal(s.layerMap, undefined);
  const layerMap = { teacherLayers: 4, studentLayers: 2, links: [{ student: 1, teacher: 2, role: 'supervise' as const }] };
  s = runReducer(s, { type: 'progress', payload: { steps: [], evals: [], elapsedMs: 10, layerMap }, at: 0 });
  assert.deepEqual(s.layerMap, layerMap);
  const same = runReducer(s, { type: 'progress', payload: { steps: [], evals: [], elapsedMs: 20, layerMap: { teacherLayers: 'x' } as never }, at: 0 });
  assert.deepEqual(same.layerMap, layerMap);
});
