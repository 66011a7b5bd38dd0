// The worker batches a training job's steps for the channel: fast steps go in one message per
// interval, each step once and in order; any other report flushes the steps before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesceSteps } from '../../src/worker/jobs/train-job';
import type { TrainProgress } from '../../src/core/training/progress';
import type { StepLog } from '../../src/core/training/trainer';

const step = (n: number): StepLog => ({ step: n, epoch: 0, loss: 1 / n, losses: { ce: 1 / n }, lr: 1e-3, gradNorm: 1, examples: 8, tokens: 64, ms: 1, examplesPerSec: 8000 });

test('steps reported within one interval leave as one message; an eval flushes them first', async () => {
  const sent: TrainProgress[] = [];
  const c = coalesceSteps((p) => sent.push(p), 30);
  for (let i = 1; i <= 5; i++) c.report({ type: 'steps', steps: [step(i)] });
  assert.equal(sent.length, 0, 'nothing yet: the interval has not passed');
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(sent.map((p) => (p.type === 'steps' ? p.steps.map((s) => s.step) : p.type)), [[1, 2, 3, 4, 5]]);
  c.report({ type: 'steps', steps: [step(6)] });
  c.report({ type: 'eval', eval: { step: 6, epoch: 0, accuracy: 0.5, loss: 0.7, examples: 10 } });
  assert.deepEqual(sent.slice(1).map((p) => (p.type === 'steps' ? p.steps.map((s) => s.step) : p.type)), [[6], 'eval']);
  c.report({ type: 'steps', steps: [step(7)] });
  c.flush();
  assert.deepEqual(sent.slice(3).map((p) => (p.type === 'steps' ? p.steps.map((s) => s.step) : p.type)), [[7]]);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent.length, 4, 'a flush leaves no timer behind to send again');
});
