import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompareView } from '../../src/shared/protocol';
import type { EnvironmentRecord } from '../../src/core/benchmark/types';
import {
  compareReducer, initialCompareState, isPending, progressShown, showsEmpty, type CompareAction, type CompareState,
} from '../../webview/compare/state';
import { createStore } from '../../webview/shared/store';

const ENV: EnvironmentRecord = { cpuModel: 'cpu', cores: 4, os: 'Linux', node: 'v20', onnxruntime: '1.30.0', timestamp: '2025-05-14T09:12:00.000Z' };

/** Two models at batch 1 / seq 128 / 1 thread, the first the baseline; also measured at seq 64. */
function view(over: Partial<CompareView> = {}): CompareView {
  const row = { batch: 1, seq: 128, threads: 1, bytes: 1000, sizePct: 100, noisy: false, sequencesPerSec: 10 };
  return {
    config: { batch: 1, seq: 128, threads: 1 },
    configs: [{ batch: 1, seq: 64, threads: 1 }, { batch: 1, seq: 128, threads: 1 }],
    baseline: 0,
    rows: [
      { ...row, model: 'teacher', path: '/m/t.onnx', baseline: true, p50: 40, p95: 44, speedup: 1 },
      { ...row, model: 'student', path: '/m/s.onnx', baseline: false, p50: 20, p95: 22, speedup: 2 },
    ],
    models: [
      { name: 'teacher', path: '/m/t.onnx', status: 'complete', environment: ENV },
      { name: 'student', path: '/m/s.onnx', status: 'complete', environment: ENV },
    ],
    latencyVsSeq: [],
    warnings: [],
    noisyCv: 0.1,
    ...over,
  };
}

function run(...actions: CompareAction[]): CompareState {
  return actions.reduce(compareReducer, initialCompareState);
}

test('before the host says anything the panel waits, full page, with nothing to cancel', () => {
  const s = initialCompareState;
  assert.equal(s.waiting, true);
  assert.equal(showsEmpty(s), false);
  assert.deepEqual(progressShown(s), { busy: true, message: 'Waiting for the comparison…', layout: 'page', label: 'Waiting', cancellable: false, cancelling: false });
});

test('view: shown, stops the waiting, clears an error and answers what was requested', () => {
  const v = view();
  const s = run({ type: 'error', message: 'boom' }, { type: 'view', view: v });
  assert.equal(s.view, v);
  assert.equal(s.waiting, false);
  assert.equal(s.error, undefined);
  assert.deepEqual(progressShown(s), { busy: false, message: undefined });
  const asked = compareReducer(s, { type: 'selectBaseline', index: 1 });
  assert.equal(isPending(asked), true);
  assert.equal(isPending(compareReducer(asked, { type: 'view', view: view({ baseline: 1 }) })), false);
});

test('view: an incomplete one is reported and the last good one stays', () => {
  const good = view();
  const s = run({ type: 'view', view: good }, { type: 'view', view: { rows: 'nope' } as unknown as CompareView });
  assert.equal(s.view, good);
  assert.equal(s.error, 'The comparison that arrived was incomplete.');
  const first = run({ type: 'view', view: null as unknown as CompareView });
  assert.equal(first.view, undefined);
  assert.equal(first.waiting, false);
  assert.equal(showsEmpty(first), true);
});

test('progress: a job starts (old outcome and error cleared), updates in place, and a banner once a comparison is shown', () => {
  const s1 = run({ type: 'idle', message: 'Cancelled; completed configurations were kept.' }, { type: 'error', message: 'old' }, { type: 'progress', message: 'bert: batch 1, seq 16', fraction: 0.25 });
  assert.deepEqual(s1.job, { message: 'bert: batch 1, seq 16', fraction: 0.25, cancelling: false });
  assert.equal(s1.idleMessage, undefined);
  assert.equal(s1.error, undefined);
  assert.deepEqual(progressShown(s1), { busy: true, message: 'bert: batch 1, seq 16', fraction: 0.25, layout: 'page', label: 'Benchmark in progress', cancellable: true, cancelling: false });
  const s2 = compareReducer(compareReducer(s1, { type: 'view', view: view() }), { type: 'progress', message: 'bert: batch 1, seq 64', fraction: NaN });
  assert.deepEqual(s2.job, { message: 'bert: batch 1, seq 64', fraction: undefined, cancelling: false });
  assert.deepEqual(progressShown(s2), { busy: true, message: 'bert: batch 1, seq 64', fraction: undefined, layout: 'banner', label: 'Benchmark in progress', cancellable: true, cancelling: false });
  assert.equal(compareReducer(s2, { type: 'progress', message: 'bert: batch 1, seq 64' }), s2, 'the same progress again changes nothing');
  assert.equal(compareReducer(s2, { type: 'progress', message: 42 as unknown as string }), s2, 'a malformed event is dropped');
});

test('cancel: once per job, kept through progress, gone when the job ends', () => {
  assert.equal(compareReducer(initialCompareState, { type: 'cancel' }), initialCompareState, 'nothing to cancel');
  const running = run({ type: 'progress', message: 'm' });
  const cancelling = compareReducer(running, { type: 'cancel' });
  assert.equal(cancelling.job?.cancelling, true);
  assert.equal(compareReducer(cancelling, { type: 'cancel' }), cancelling, 'a second click sends nothing');
  const later = compareReducer(cancelling, { type: 'progress', message: 'still stopping', fraction: 0.5 });
  assert.equal(later.job?.cancelling, true);
  assert.deepEqual(progressShown(later), { busy: true, message: 'still stopping', fraction: 0.5, layout: 'page', label: 'Benchmark in progress', cancellable: true, cancelling: true });
  const done = compareReducer(later, { type: 'idle', message: 'Cancelled; completed configurations were kept.' });
  assert.equal(done.job, undefined);
  assert.deepEqual(progressShown(done), { busy: false, message: 'Cancelled; completed configurations were kept.' });
  assert.equal(compareReducer(done, { type: 'progress', message: 'next' }).job?.cancelling, false, 'the next job can be cancelled again');
});

test('idle: the job ends, the outcome shows until the next job; an empty outcome shows nothing', () => {
  const s = run({ type: 'progress', message: 'm' }, { type: 'idle', message: '' });
  assert.equal(s.waiting, false);
  assert.equal(s.idleMessage, undefined);
  assert.equal(showsEmpty(s), true, 'no comparison and nothing coming');
  const withView = run({ type: 'view', view: view() }, { type: 'progress', message: 'm' }, { type: 'idle', message: 'done' });
  assert.equal(withView.idleMessage, 'done');
  assert.equal(showsEmpty(withView), false);
});

test('error: the job ends and the problem shows; a missing message still says something', () => {
  const s = run({ type: 'view', view: view() }, { type: 'progress', message: 'm' }, { type: 'selectConfig', config: { batch: 1, seq: 64, threads: 1 } }, { type: 'error', message: '' });
  assert.equal(s.job, undefined);
  assert.equal(s.error, 'unknown problem');
  assert.equal(isPending(s), false);
  assert.notEqual(s.view, undefined, 'the comparison stays');
});

test('renderFailed: says the comparison could not be shown', () => {
  const s = run({ type: 'view', view: view() }, { type: 'renderFailed', message: 'canvas is gone' });
  assert.equal(s.error, 'The comparison could not be shown: canvas is gone');
});

test('selectBaseline: only another model that exists, and only once until the host answers', () => {
  const s = run({ type: 'view', view: view() });
  assert.equal(compareReducer(initialCompareState, { type: 'selectBaseline', index: 1 }), initialCompareState, 'no comparison yet');
  for (const index of [0, -1, 2, 0.5, NaN]) assert.equal(compareReducer(s, { type: 'selectBaseline', index }), s, `index ${index}`);
  const asked = compareReducer(s, { type: 'selectBaseline', index: 1 });
  assert.deepEqual(asked.requested, { baseline: 1 });
  assert.equal(compareReducer(asked, { type: 'selectBaseline', index: 1 }), asked, 'asked already');
  assert.deepEqual(compareReducer(asked, { type: 'selectBaseline', index: 0 }).requested, { baseline: 0 }, 'changing one\'s mind back is a new request');
});

test('selectConfig: only a different, well-formed configuration', () => {
  const s = run({ type: 'view', view: view() });
  assert.equal(compareReducer(s, { type: 'selectConfig', config: { batch: 1, seq: 128, threads: 1 } }), s, 'the one shown');
  assert.equal(compareReducer(s, { type: 'selectConfig', config: { batch: 1, seq: 0, threads: 1 } }), s);
  assert.equal(compareReducer(s, { type: 'selectConfig', config: null as never }), s);
  const asked = compareReducer(s, { type: 'selectConfig', config: { batch: 1, seq: 64, threads: 1, extra: 1 } as never });
  assert.deepEqual(asked.requested, { config: { batch: 1, seq: 64, threads: 1 } });
  assert.equal(compareReducer(asked, { type: 'selectConfig', config: { batch: 1, seq: 64, threads: 1 } }), asked);
});

test('an unknown action changes nothing', () => {
  assert.equal(compareReducer(initialCompareState, { type: 'nope' } as unknown as CompareAction), initialCompareState);
});

test('through the store: the host is told of a choice only when the reducer took it', () => {
  const store = createStore(compareReducer, initialCompareState);
  const told: string[] = [];
  const choose = (a: CompareAction, tell: string) => { const before = store.getState(); store.dispatch(a); if (store.getState() !== before) told.push(tell); };
  store.dispatch({ type: 'view', view: view() });
  choose({ type: 'selectBaseline', index: 0 }, 'baseline 0');
  choose({ type: 'selectBaseline', index: 1 }, 'baseline 1');
  choose({ type: 'selectBaseline', index: 1 }, 'baseline 1 again');
  store.dispatch({ type: 'progress', message: 'm' });
  choose({ type: 'cancel' }, 'cancel');
  choose({ type: 'cancel' }, 'cancel again');
  assert.deepEqual(told, ['baseline 1', 'cancel']);
});
