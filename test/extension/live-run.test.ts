// A live run as the extension host holds it, and one panel's feed of it: a snapshot with the
// history once, then only new steps, coalesced to at most one message per interval however fast
// the job reports (real timers, a real stream of reports), the header after any data still
// waiting, a late panel catching up from the run, and a disposed feed sending nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostToRunEvents, RunHeader } from '../../src/shared/protocol';
import { FEED_INTERVAL_MS, LiveRun, LiveRuns, RunFeed, type RunSink } from '../../src/extension/train/live-run';
import { step } from '../helpers/steps';

const header: RunHeader = { kind: 'train', title: 'Fine-tune: tiny', model: 'tiny', modelPath: '/m/tiny.onnx', runFile: '/w/r.json', status: 'starting', live: true };

type Sent = { [E in keyof HostToRunEvents]: { type: E; payload: HostToRunEvents[E]; at: number } }[keyof HostToRunEvents];

function sink(): RunSink & { sent: Sent[] } {
  const sent: Sent[] = [];
  return { sent, emit: (type, payload) => sent.push({ type, payload, at: performance.now() } as Sent) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the run keeps what the job reported: plan, steps, evaluations, phase (dropped once steps follow), checkpoint', () => {
  const run = new LiveRun(header);
  run.progress({ type: 'phase', message: 'Tokenizing the data' });
  run.progress({ type: 'start', totalSteps: 10, stepsPerEpoch: 5, epochs: 2, startStep: 0, terms: ['ce'], trainExamples: 40 });
  assert.equal(run.phase, 'Tokenizing the data');
  assert.equal(run.header.status, 'starting');
  run.progress({ type: 'steps', steps: [step(1), step(2)] });
  assert.equal(run.phase, undefined);
  assert.equal(run.header.status, 'running', 'the first step means it runs');
  run.progress({ type: 'eval', eval: { step: 2, epoch: 0, accuracy: 0.5, loss: 1, examples: 4 } });
  run.progress({ type: 'checkpoint', file: '/m/ck.safetensors', step: 2 });
  assert.deepEqual(run.plan, { totalSteps: 10, stepsPerEpoch: 5, epochs: 2, startStep: 0, terms: ['ce'], trainExamples: 40 });
  assert.equal(run.lastStep?.step, 2);
  assert.equal(run.evals.length, 1);
  assert.equal(run.checkpoint, '/m/ck.safetensors');
});

test("a distillation's start report: its layer map is the run's (not part of the plan), and a feed sends it once", async () => {
  const run = new LiveRun({ ...header, kind: 'distill', title: 'Distill: tiny' });
  const s = sink();
  const feed = new RunFeed(run, s, 10);
  assert.equal(s.sent[0].type === 'snapshot' && s.sent[0].payload.layerMap, undefined);
  const layerMap = { teacherLayers: 4, studentLayers: 2, links: [{ student: 1, teacher: 2, role: 'supervise' as const }] };
  run.progress({ type: 'start', totalSteps: 10, stepsPerEpoch: 5, epochs: 2, startStep: 0, terms: ['kd'], trainExamples: 40, layerMap, stages: [{ name: 'distill', startStep: 0, steps: 10 }] });
  assert.deepEqual(run.layerMap, layerMap);
  assert.deepEqual(run.plan, { totalSteps: 10, stepsPerEpoch: 5, epochs: 2, startStep: 0, terms: ['kd'], trainExamples: 40 });
  await sleep(30);
  run.progress({ type: 'steps', steps: [step(1)] });
  await sleep(30);
  feed.dispose();
  const progress = s.sent.filter((m): m is Extract<Sent, { type: 'progress' }> => m.type === 'progress');
  assert.deepEqual(progress.map((m) => m.payload.layerMap), [layerMap, undefined]);
  // A panel opened later gets it in its snapshot.
  const late = sink();
  new RunFeed(run, late).dispose();
  assert.deepEqual(late.sent[0].type === 'snapshot' && late.sent[0].payload.layerMap, layerMap);
});

test('a feed: the snapshot with everything so far, then only new steps, each once, in order, at most one message per interval', async () => {
  const run = new LiveRun(header);
  run.progress({ type: 'steps', steps: [step(1), step(2), step(3)] });
  const s = sink();
  const feed = new RunFeed(run, s);
  assert.equal(s.sent[0].type, 'snapshot');
  assert.deepEqual(s.sent[0].type === 'snapshot' && s.sent[0].payload.steps.map((x) => x.step), [1, 2, 3]);
  // A fast job: a report every millisecond or so for 600 ms.
  const t0 = performance.now();
  let n = 3;
  while (performance.now() - t0 < 600) {
    run.progress({ type: 'steps', steps: [step(++n)] });
    await sleep(1);
  }
  await sleep(FEED_INTERVAL_MS + 50);
  feed.dispose();
  const progress = s.sent.filter((m): m is Extract<Sent, { type: 'progress' }> => m.type === 'progress');
  const steps = progress.flatMap((m) => m.payload.steps.map((x) => x.step));
  assert.deepEqual(steps, Array.from({ length: n - 3 }, (_, i) => i + 4), 'every new step once, none of the snapshot again');
  assert.ok(progress.length <= Math.ceil(700 / FEED_INTERVAL_MS) + 1, `${progress.length} messages for ${n - 3} reports in ~700 ms`);
  assert.ok(progress.length >= 4, 'and they do flow while the job runs');
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].at - progress[i - 1].at >= FEED_INTERVAL_MS - 5, 'spaced by the interval');
});

test('a header change goes at once, after the steps still waiting', () => {
  const run = new LiveRun(header);
  const s = sink();
  const feed = new RunFeed(run, s);
  run.progress({ type: 'steps', steps: [step(1)] });
  run.progress({ type: 'steps', steps: [step(2)] });
  run.setHeader({ status: 'cancelled', live: false });
  assert.deepEqual(s.sent.map((m) => m.type), ['snapshot', 'progress', 'header']);
  const p = s.sent[1];
  assert.deepEqual(p.type === 'progress' && p.payload.steps.map((x) => x.step), [1, 2]);
  const h = s.sent[2];
  assert.equal(h.type === 'header' && h.payload.status, 'cancelled');
  feed.dispose();
});

test('a panel opened late (or after its page reloaded) starts from the whole run; a disposed feed sends nothing', async () => {
  const run = new LiveRun(header);
  const first = sink();
  const a = new RunFeed(run, first);
  run.progress({ type: 'steps', steps: [step(1), step(2)] });
  run.progress({ type: 'phase', message: 'Saving' });
  a.dispose();
  await sleep(FEED_INTERVAL_MS + 20);
  assert.deepEqual(first.sent.map((m) => m.type), ['snapshot'], 'nothing after dispose');
  const late = sink();
  const b = new RunFeed(run, late);
  const snap = late.sent[0];
  assert.equal(snap.type, 'snapshot');
  if (snap.type !== 'snapshot') return;
  assert.deepEqual(snap.payload.steps.map((x) => x.step), [1, 2]);
  assert.equal(snap.payload.phase, 'Saving');
  assert.equal(snap.payload.header.status, 'running');
  b.dispose();
});

test('cancel asks the job once; the registry finds a run by its file and forgets it only for that run', () => {
  const run = new LiveRun(header);
  let asked = 0;
  run.onCancel = () => asked++;
  run.cancel();
  run.cancel();
  assert.equal(asked, 1);
  assert.equal(run.header.status, 'cancelling');
  const runs = new LiveRuns();
  runs.add('/w/r.json', run);
  runs.delete('/w/r.json', new LiveRun(header));
  assert.equal(runs.get('/w/r.json'), run);
  runs.delete('/w/r.json', run);
  assert.equal(runs.get('/w/r.json'), undefined);
  const ended = new LiveRun({ ...header, live: false, status: 'complete' });
  ended.onCancel = () => asked++;
  ended.cancel();
  assert.equal(asked, 1, 'nothing to cancel once the job has ended');
});
