// A long run streamed as the host sends it: 10,000 steps with three loss terms in batches of 10
// (a fast job, coalesced to ten messages a second), each batch reduced through the store and,
// as the page does once per frame, the charts' points selected and the header computed. It stays
// fast, and a batch late in the run costs what one early did: nothing is copied per step of history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore } from '../../webview/shared/store';
import { select, seriesNamed } from '../../webview/shared/series';
import { initialRunState, runReducer } from '../../webview/run/state';
import { headerView, lossNames } from '../../webview/run/view-model';
import { step } from '../helpers/steps';

const header = { kind: 'distill', title: 'Distill: tiny', model: 'tiny', modelPath: '/m/t.onnx', runFile: '/w/r.json', status: 'running' as const, live: true };

test('10,000 steps in batches of 10: every step kept, each frame drawn from at most maxPoints per line, quickly', () => {
  const store = createStore(runReducer, initialRunState);
  store.dispatch({ type: 'snapshot', at: 0, payload: { header, steps: [], evals: [], elapsedMs: 0, plan: { totalSteps: 10_000, stepsPerEpoch: 2500, epochs: 4, terms: ['kd', 'hidden', 'attn'] } } });
  let frames = 0;
  const times: number[] = [];
  const t0 = performance.now();
  for (let b = 0; b < 1000; b++) {
    const tb = performance.now();
    const steps = Array.from({ length: 10 }, (_, k) => {
      const n = b * 10 + k + 1;
      return step(n, { stage: n <= 5000 ? 'hidden' : 'logits', ms: 20 }, { kd: 1 / n, hidden: Math.exp(-n / 3000), attn: 0.1 + 0.01 * Math.sin(n) });
    });
    store.dispatch({ type: 'progress', at: b * 100, payload: { steps, evals: b % 250 === 249 ? [{ step: steps[9].step, epoch: 0, accuracy: 0.5 + b / 4000, loss: 1, examples: 100 }] : [], elapsedMs: b * 100 } });
    // Ten messages a second and sixty frames: at most one draw per message.
    const s = store.getState();
    const chart = select(s.steps, { names: lossNames(s), maxPoints: 800 });
    for (const line of chart.lines) assert.ok(line.points.length <= 800);
    headerView(s, b * 100);
    frames++;
    times.push(performance.now() - tb);
  }
  const total = performance.now() - t0;
  const s = store.getState();
  assert.equal(s.count, 10_000);
  assert.equal(seriesNamed(s.steps, 'loss_hidden')?.length, 10_000);
  assert.deepEqual(lossNames(s), ['loss', 'loss_kd', 'loss_hidden', 'loss_attn']);
  assert.deepEqual(s.stages.map((m) => m.x), [1, 5001]);
  assert.equal(s.evals.length, 4);
  assert.equal(headerView(s, 100_000).stepText, '10,000');
  assert.equal(headerView(s, 100_000).stepOf, 'of 10,000');
  const early = times.slice(50, 250).reduce((a, b) => a + b, 0);
  const late = times.slice(800, 1000).reduce((a, b) => a + b, 0);
  console.log(`# ${frames} batches and draws in ${total.toFixed(0)} ms (batches 50-250: ${early.toFixed(0)} ms, 800-1000: ${late.toFixed(0)} ms)`);
  assert.ok(total < 3000, `10,000 steps took ${total.toFixed(0)} ms`);
  // Selecting ~800 points scans the run once per draw (O(points)); appending must not add to that.
  assert.ok(late < early * 6 + 50, `late batches cost ${late.toFixed(0)} ms against ${early.toFixed(0)} ms early`);
});
