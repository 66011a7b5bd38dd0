// The run panel's figures: steps/s from the newest steps' own times, ETA from the plan at that
// pace, the elapsed clock running on between messages only while live, the header's texts, the
// loss chart's lines, stage markers and the evaluation table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StepLog } from '../../src/core/training/training-loop';
import type { HostToRunEvents, RunHeader } from '../../src/shared/protocol';
import { initialRunState, runReducer, type RunState } from '../../webview/run/state';
import {
  elapsedMs, etaSeconds, evalNames, evalRows, headerView, lineLabel, lossNames, stageLegend, stageMarkers, statusOf, throughput,
} from '../../webview/run/view-model';
import { step } from '../helpers/steps';

const header: RunHeader = { kind: 'train', title: 'Fine-tune: tiny', model: 'tiny', modelPath: '/m/tiny.onnx', runFile: '/w/r.json', status: 'running', live: true };

function run(steps: StepLog[], extra: Partial<HostToRunEvents['snapshot']> = {}): RunState {
  return runReducer(initialRunState, {
    type: 'snapshot', at: 1000,
    payload: { header, steps, evals: [], elapsedMs: 60_000, plan: { totalSteps: 1000, stepsPerEpoch: 250, epochs: 4, terms: ['ce'] }, ...extra },
  });
}

test('steps/s and examples/s over the newest steps: their own wall times, not the gaps between messages', () => {
  const s = run(Array.from({ length: 10 }, (_, i) => step(i + 1, { ms: 200, examples: 16 })));
  const t = throughput(s);
  assert.equal(t.stepsPerSec, 5);
  assert.equal(t.examplesPerSec, 80);
  assert.deepEqual(throughput(run([])), {});
  assert.deepEqual(throughput(run([step(1, { ms: 0 })])), {}, 'no time measured: no rate');
});

test('ETA: the steps left at the current pace; none without a plan, a pace, or a live job', () => {
  const s = run(Array.from({ length: 100 }, (_, i) => step(i + 1, { ms: 100 })));
  assert.equal(etaSeconds(s), 90, '900 steps left at 10 steps/s');
  assert.equal(etaSeconds(run([step(1)], { plan: {} })), undefined);
  assert.equal(etaSeconds({ ...s, header: { ...header, live: false, status: 'cancelled' } }), undefined);
  const done = run(Array.from({ length: 5 }, (_, i) => step(996 + i, { ms: 100 })));
  assert.equal(etaSeconds(done), 0);
});

test('the elapsed clock runs on from the last message while live, and stands still once the run has ended', () => {
  const s = run([step(1)]);
  assert.equal(elapsedMs(s, 1000), 60_000);
  assert.equal(elapsedMs(s, 4000), 63_000);
  const ended = runReducer(s, { type: 'header', header: { ...header, live: false, status: 'complete' } });
  assert.equal(elapsedMs(ended, 9000), 60_000);
});

test('the header: step of total, epoch as a fraction of the plan, speed, time left, elapsed, the progress line', () => {
  const s = run(Array.from({ length: 250 }, (_, i) => step(i + 1, { ms: 100 })));
  const v = headerView(s, 1000);
  assert.equal(v.stepText, '250');
  assert.equal(v.stepOf, 'of 1,000');
  assert.equal(v.step, 250);
  assert.equal(v.fraction, 0.25);
  assert.equal(v.epochText, '1.00');
  assert.equal(v.epochOf, 'of 4');
  const bySteps = run([step(1)], { plan: { totalSteps: 1000, stepsPerEpoch: 256, epochs: Number.MAX_SAFE_INTEGER } });
  assert.equal(headerView(bySteps, 0).epochOf, 'of 4', 'a run bounded by steps lasts the epochs its steps take');
  assert.equal(v.rateText, '10.0 steps/s');
  assert.equal(v.etaText, '1 min 15 s');
  assert.equal(v.elapsedText, '1 min 00 s');
  assert.match(v.progressMessage, /^Step 250 of 1,000 · loss 0\.004/);
  assert.equal(v.endMessage, undefined);
  const saving = runReducer(s, { type: 'progress', payload: { steps: [], evals: [], phase: 'Saving', elapsedMs: 61_000 }, at: 1100 });
  assert.equal(headerView(saving, 1100).progressMessage, 'Saving (after step 250)');
  const waiting = run([], { phase: 'Tokenizing the data' });
  assert.equal(headerView(waiting, 0).progressMessage, 'Tokenizing the data');
  assert.equal(headerView(waiting, 0).stepText, '—');
});

test('the end: the line the widget leaves, and the status Cancel asked for before the host answered', () => {
  const s = run([step(1), step(2)]);
  assert.equal(statusOf(runReducer(s, { type: 'cancel' })).status, 'cancelling');
  const cancelled = runReducer(s, { type: 'header', header: { ...header, status: 'cancelled', live: false } });
  assert.equal(statusOf(cancelled).label, 'Cancelled');
  assert.match(headerView(cancelled, 0).endMessage ?? '', /Stopped after 2 steps/);
  const complete = runReducer(s, { type: 'header', header: { ...header, status: 'complete', live: false } });
  assert.match(headerView(complete, 0).endMessage ?? '', /^Finished: 2 steps in 1 min 00 s/);
  assert.equal(headerView(complete, 0).etaText, '—');
});

test('the loss chart: the total, then each term in order of appearance; labels for the legend', () => {
  const s = run([step(1, {}, { kd: 1, hidden: 2, attn: 3 })], { plan: { terms: ['kd', 'hidden', 'attn'] } });
  assert.deepEqual(lossNames(s), ['loss', 'loss_kd', 'loss_hidden', 'loss_attn']);
  assert.deepEqual(lossNames(run([step(1)], { plan: { terms: ['ce', 'kd'] } })), ['loss', 'loss_ce'], 'a term with no value yet has no line');
  assert.equal(lineLabel('loss'), 'total');
  assert.equal(lineLabel('loss_kd'), 'kd');
  assert.equal(lineLabel('kl'), 'KL(teacher ‖ student)');
});

test('stage markers where the stage changes, and the legend of stages', () => {
  const s = run([step(1, { stage: 'hidden' }), step(2, { stage: 'hidden' }), step(3, { stage: 'logits' })]);
  assert.deepEqual(stageMarkers(s), [{ x: 3, stage: 'logits' }]);
  assert.deepEqual(stageLegend(s), [{ stage: 'hidden', from: 'from step 1' }, { stage: 'logits', from: 'from step 3' }]);
});

test('the evaluation table: step, epoch from the plan, accuracy, loss; agreement and KL columns only for distillation', () => {
  let s = run([step(250)]);
  s = runReducer(s, { type: 'progress', at: 0, payload: { steps: [], elapsedMs: 1, evals: [{ step: 250, epoch: 0, accuracy: 0.8125, loss: 0.45, examples: 32 }] } });
  let t = evalRows(s);
  assert.deepEqual(t.rows, [{ step: '250', epoch: '1.00', accuracy: '81.3%', loss: '0.4500' }]);
  assert.equal(t.agreement, false);
  assert.deepEqual(evalNames(s), { shares: ['accuracy'], losses: ['eval_loss'] });
  s = runReducer(s, { type: 'progress', at: 0, payload: { steps: [], elapsedMs: 1, evals: [{ step: 500, epoch: 1, accuracy: 0.85, loss: 0.4, examples: 32, agreement: 0.9, kl: 0.12, stage: 'logits' }] } });
  t = evalRows(s);
  assert.equal(t.agreement, true);
  assert.equal(t.stages, true);
  assert.deepEqual(t.rows[1], { step: '500', epoch: '2.00', accuracy: '85.0%', loss: '0.4000', agreement: '90.0%', kl: '0.1200', stage: 'logits' });
  assert.equal(t.rows[0].agreement, '—');
  assert.deepEqual(evalNames(s), { shares: ['accuracy', 'agreement'], losses: ['eval_loss', 'kl'] });
});
