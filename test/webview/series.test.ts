import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore } from '../../webview/shared/store';
import {
  CHUNK, chunksOf, downsample, emptySeries, indexAfterStep, indexAtStep, select, seriesNamed, seriesReducer, stepAt, valueAt,
  type Series, type SeriesAction, type SeriesChunk, type SeriesPoint, type SeriesState,
} from '../../webview/shared/series';

const TERMS = ['loss', 'loss_ce', 'loss_kd', 'loss_hidden', 'loss_attn', 'lr', 'grad_norm', 'examples_per_s'];

/** What a trainer streams per step: the loss, its terms, lr, grad norm and throughput. */
function trainingStep(step: number): SeriesPoint {
  const values: Record<string, number> = {};
  TERMS.forEach((t, k) => { values[t] = Math.exp(-step / 4000) * (k + 1) + 0.01 * Math.sin(step * (k + 1)); });
  return { step, values };
}

function appendAll(state: SeriesState, points: SeriesPoint[]): SeriesState {
  return seriesReducer(state, { type: 'append', points });
}

function values(s: Series): number[] {
  return Array.from({ length: s.length }, (_, i) => valueAt(s, i));
}

function steps(s: Series): number[] {
  return Array.from({ length: s.length }, (_, i) => stepAt(s, i));
}

/** One series 'y' with y[i] = f(i) at steps 0..n-1. */
function line(n: number, f: (i: number) => number): Series {
  const points = Array.from({ length: n }, (_, i) => ({ step: i, values: { y: f(i) } }));
  return seriesNamed(appendAll(emptySeries, points), 'y')!;
}

// ---------------------------------------------------------------------------------------------
// The reducer

test('append: series in order of first appearance, their points, last step, min and max', () => {
  let s = appendAll(emptySeries, [{ step: 1, values: { loss: 2, lr: 0.001 } }, { step: 2, values: { loss: 1.5, lr: 0.002 } }]);
  s = appendAll(s, [{ step: 3, values: { loss: 1.8, eval_acc: 0.7 } }]);
  assert.deepEqual(s.series.map((x) => x.name), ['loss', 'lr', 'eval_acc']);
  const loss = seriesNamed(s, 'loss')!;
  assert.deepEqual(steps(loss), [1, 2, 3]);
  assert.deepEqual(values(loss), [2, 1.5, 1.8]);
  assert.equal(loss.lastStep, 3);
  assert.equal(loss.min, 1.5);
  assert.equal(loss.max, 2);
  assert.deepEqual(steps(seriesNamed(s, 'lr')!), [1, 2], 'a step may report only some series');
  assert.deepEqual(steps(seriesNamed(s, 'eval_acc')!), [3]);
  assert.equal(s.version, 2);
  assert.equal(s.rejected, 0);
});

test('append: a series the batch does not touch keeps its identity', () => {
  const a = appendAll(emptySeries, [{ step: 1, values: { loss: 2, eval_acc: 0.5 } }]);
  const b = appendAll(a, [{ step: 2, values: { loss: 1 } }]);
  assert.equal(seriesNamed(b, 'eval_acc'), seriesNamed(a, 'eval_acc'));
  assert.notEqual(seriesNamed(b, 'loss'), seriesNamed(a, 'loss'));
});

test('append: bad points and steps that do not move forward are rejected and counted', () => {
  const a = appendAll(emptySeries, [{ step: 5, values: { loss: 1 } }]);
  const b = appendAll(a, [
    { step: 5, values: { loss: 9 } }, // not after the last step
    { step: 4, values: { loss: 9 } }, // back in time
    { step: NaN, values: { loss: 9 } },
    { step: 6, values: { loss: 0.5, note: 'text' as unknown as number } }, // a non-number value is not a point
    null as unknown as SeriesPoint,
    { step: 7 } as unknown as SeriesPoint,
    { step: 7, values: { loss: 0.4 } },
    { step: 7, values: { loss: 0.3 } }, // the same step twice in one batch
  ]);
  assert.deepEqual(steps(seriesNamed(b, 'loss')!), [5, 6, 7]);
  assert.deepEqual(values(seriesNamed(b, 'loss')!), [1, 0.5, 0.4]);
  assert.equal(seriesNamed(b, 'note'), undefined);
  assert.equal(b.rejected, 6);
  assert.equal(b.version, a.version + 1);
});

test('append: nothing to append returns the same state; only rejections change only the count', () => {
  const a = appendAll(emptySeries, [{ step: 1, values: { loss: 1 } }]);
  assert.equal(appendAll(a, []), a);
  assert.equal(seriesReducer(a, { type: 'append', points: undefined as unknown as SeriesPoint[] }), a);
  const b = appendAll(a, [{ step: 1, values: { loss: 3 } }]);
  assert.equal(b.rejected, 1);
  assert.equal(b.version, a.version);
  assert.equal(b.series, a.series);
  assert.equal(seriesReducer(a, { type: 'other' } as unknown as SeriesAction), a);
});

test('append: a NaN or infinite value is kept (a gap) and its first step noted; min and max skip it', () => {
  const s = appendAll(emptySeries, [1, 2, 3, 4].map((step) => ({ step, values: { loss: [0.9, NaN, 0.7, Infinity][step - 1] } })));
  const loss = seriesNamed(s, 'loss')!;
  assert.equal(loss.length, 4);
  assert.ok(Number.isNaN(valueAt(loss, 1)));
  assert.equal(loss.firstNonFiniteStep, 2);
  assert.equal(loss.min, 0.7);
  assert.equal(loss.max, 0.9);
});

test('reset: empties the series, bumps the version, clears the count; an empty state stays itself', () => {
  const a = appendAll(emptySeries, [{ step: 1, values: { loss: 1 } }, { step: 0, values: { loss: 1 } }]);
  const b = seriesReducer(a, { type: 'reset' });
  assert.deepEqual(b.series, []);
  assert.equal(b.rejected, 0);
  assert.equal(b.version, a.version + 1, 'views redraw after a reset');
  assert.equal(seriesReducer(b, { type: 'reset' }), b);
  const c = appendAll(b, [{ step: 0, values: { loss: 3 } }]);
  assert.deepEqual(values(seriesNamed(c, 'loss')!), [3], 'a new run may start at step 0 again');
  assert.deepEqual(values(seriesNamed(a, 'loss')!), [1], 'the state before the reset still reads its points');
});

test('every earlier state keeps reading exactly its own points after later appends', () => {
  const states: SeriesState[] = [emptySeries];
  for (let step = 0; step < 3 * CHUNK; step += 7) states.push(appendAll(states[states.length - 1], [trainingStep(step)]));
  for (const st of states.slice(1)) {
    const loss = seriesNamed(st, 'loss')!;
    const n = loss.length;
    assert.equal(loss.lastStep, (n - 1) * 7);
    for (const i of [0, n >> 1, n - 1]) assert.equal(valueAt(loss, i), trainingStep(i * 7).values.loss);
  }
  assert.throws(() => valueAt(seriesNamed(states[1], 'loss')!, 1), RangeError, 'slots past a state are not its points');
});

test('appending to an older state forks: the newer state is untouched, full chunks are shared, one chunk is copied', () => {
  const base = appendAll(emptySeries, Array.from({ length: CHUNK + 10 }, (_, i) => ({ step: i, values: { y: i } })));
  const newer = appendAll(base, [{ step: CHUNK + 10, values: { y: -1 } }]);
  const branch = appendAll(base, [{ step: CHUNK + 10, values: { y: 42 } }, { step: CHUNK + 11, values: { y: 43 } }]);
  const n = seriesNamed(newer, 'y')!;
  const b = seriesNamed(branch, 'y')!;
  assert.equal(valueAt(n, CHUNK + 10), -1);
  assert.equal(n.length, CHUNK + 11);
  assert.deepEqual([valueAt(b, CHUNK + 10), valueAt(b, CHUNK + 11)], [42, 43]);
  assert.equal(valueAt(b, CHUNK + 9), CHUNK + 9);
  assert.equal(chunksOf(b)[0], chunksOf(n)[0], 'the full chunk is shared by reference');
  assert.notEqual(chunksOf(b)[1], chunksOf(n)[1], 'the partial chunk was copied');
  // Appending to the branch again writes in place: it is the newest state of its own storage now.
  const branch2 = appendAll(branch, [{ step: CHUNK + 12, values: { y: 44 } }]);
  assert.equal(chunksOf(seriesNamed(branch2, 'y')!)[1], chunksOf(b)[1]);
});

test('10,000 training steps in batches of 10 through the store: fast, and history is never copied', () => {
  const store = createStore(seriesReducer, emptySeries);
  const seen = new Map<string, Set<SeriesChunk>>(TERMS.map((t) => [t, new Set()]));
  let lengthsOk = true;
  let previous = store.getState();
  store.subscribe((s) => {
    // Each change adds exactly one batch: the length grows by 10, never rebuilt from scratch.
    if (seriesNamed(s, 'loss')!.length !== (seriesNamed(previous, 'loss')?.length ?? 0) + 10) lengthsOk = false;
    previous = s;
  });
  const start = performance.now();
  for (let b = 0; b < 1000; b++) {
    store.dispatch({ type: 'append', points: Array.from({ length: 10 }, (_, k) => trainingStep(b * 10 + k)) });
    // Record every chunk object each series has ever had (cheap: one per 1,024 points).
    for (const s of store.getState().series) for (const c of chunksOf(s)) seen.get(s.name)!.add(c);
  }
  const appendMs = performance.now() - start;
  const final = store.getState();
  assert.ok(appendMs < 200, `appending took ${appendMs.toFixed(1)} ms`);
  assert.ok(lengthsOk);
  assert.equal(final.version, 1000);
  for (const t of TERMS) {
    const s = seriesNamed(final, t)!;
    assert.equal(s.length, 10_000);
    // Had any append copied or regrown history, more chunk objects than ceil(10000 / CHUNK) would have existed.
    assert.equal(seen.get(t)!.size, Math.ceil(10_000 / CHUNK));
    assert.deepEqual(chunksOf(s), [...seen.get(t)!]);
    assert.equal(valueAt(s, 9_999), trainingStep(9_999).values[t]);
  }
});

// ---------------------------------------------------------------------------------------------
// Downsampling

test('downsample: every point when they fit', () => {
  const s = line(50, (i) => i * i);
  assert.deepEqual(downsample(s, 50), Array.from({ length: 50 }, (_, i) => ({ x: i, y: i * i })));
  assert.deepEqual(downsample(s, 10, 100), [], 'nothing in the window');
});

test('downsample: at most maxPoints, steps increasing, first and last point kept', () => {
  for (const n of [51, 100, 1000, 1023, 1024, 1025, 4097, 10_000]) {
    const s = line(n, (i) => Math.sin(i / 17) + (i % 13) / 10);
    for (const max of [1, 2, 3, 4, 5, 10, 50, 333, 500]) {
      const pts = downsample(s, max);
      assert.ok(pts.length <= max, `n=${n} max=${max}: ${pts.length} points`);
      assert.ok(pts.length >= Math.min(n, max, 2), `n=${n} max=${max}: only ${pts.length} points`);
      for (let i = 1; i < pts.length; i++) assert.ok(pts[i].x > pts[i - 1].x, `n=${n} max=${max}: x not increasing at ${i}`);
      assert.deepEqual(pts[pts.length - 1], { x: n - 1, y: valueAt(s, n - 1) }, 'the newest point is drawn');
      if (max > 1) assert.deepEqual(pts[0], { x: 0, y: valueAt(s, 0) });
    }
  }
});

test('downsample: a one-step spike and dip survive (striding would skip them)', () => {
  const s = line(10_000, (i) => (i === 4321 ? 50 : i === 7777 ? -50 : 1 + (i % 2) * 0.01));
  const pts = downsample(s, 200);
  assert.ok(pts.some((p) => p.x === 4321 && p.y === 50));
  assert.ok(pts.some((p) => p.x === 7777 && p.y === -50));
});

test('downsample: buckets stay put as points arrive, so only the end of the line changes', () => {
  const f = (i: number) => Math.sin(i / 31) * Math.cos(i / 7);
  const before = downsample(line(6000, f), 500);
  const after = downsample(line(6003, f), 500);
  // All but the last bucket (and the last point) are the same points.
  const stable = before.slice(0, -3);
  assert.deepEqual(after.slice(0, stable.length), stable);
});

test('downsample: a bucket with no finite value is one NaN point, so the chart shows a gap', () => {
  const s = line(4000, (i) => (i >= 2000 && i < 2400 ? NaN : 1));
  const pts = downsample(s, 100);
  const gaps = pts.filter((p) => Number.isNaN(p.y));
  assert.ok(gaps.length >= 1);
  assert.ok(gaps.every((p) => p.x >= 2000 && p.x < 2400));
});

test('downsample: a step window', () => {
  const s = line(10_000, (i) => i);
  const pts = downsample(s, 100, 9_000, 9_499);
  assert.equal(pts[0].x, 9_000);
  assert.equal(pts[pts.length - 1].x, 9_499);
  assert.ok(pts.length <= 100);
  assert.deepEqual(downsample(s, 100, 20, 25).map((p) => p.x), [20, 21, 22, 23, 24, 25]);
  assert.deepEqual(downsample(s, 100, 20_000), []);
  assert.equal(indexAtStep(s, 9_000.5), 9_001);
  assert.equal(indexAfterStep(s, 9_000), 9_001);
});

test('select: the lines a chart needs, in the order asked, with counts and the newest point', () => {
  let st = emptySeries;
  for (let b = 0; b < 100; b++) st = appendAll(st, Array.from({ length: 10 }, (_, k) => trainingStep(b * 10 + k)));
  st = appendAll(st, [{ step: 1000, values: { eval_acc: 0.8 } }]);
  const view = select(st, { maxPoints: 100, names: ['lr', 'missing', 'loss', 'eval_acc'] });
  assert.equal(view.version, st.version);
  assert.deepEqual(view.lines.map((l) => l.name), ['lr', 'loss', 'eval_acc']);
  const [lr, loss, acc] = view.lines;
  assert.equal(loss.count, 1000);
  assert.ok(loss.points.length <= 100);
  assert.deepEqual(loss.last, { x: 999, y: trainingStep(999).values.loss });
  assert.equal(lr.count, 1000);
  assert.deepEqual(acc.points, [{ x: 1000, y: 0.8 }]);
  assert.deepEqual(select(st, { maxPoints: 10 }).lines.map((l) => l.name), [...TERMS, 'eval_acc']);
  const windowed = select(st, { maxPoints: 10, names: ['loss'], from: 500, to: 509 }).lines[0];
  assert.equal(windowed.count, 10);
  assert.deepEqual(windowed.last, { x: 509, y: trainingStep(509).values.loss });
  assert.equal(select(st, { maxPoints: 10, names: ['loss'], from: 5_000 }).lines[0].last, undefined);
});

test('select over 100,000 steps of 8 series to 1,000 points each is quick enough for every frame', () => {
  let st = emptySeries;
  for (let b = 0; b < 1000; b++) st = appendAll(st, Array.from({ length: 100 }, (_, k) => trainingStep(b * 100 + k)));
  const start = performance.now();
  const view = select(st, { maxPoints: 1000 });
  const ms = performance.now() - start;
  assert.equal(view.lines.length, TERMS.length);
  assert.ok(view.lines.every((l) => l.points.length <= 1000 && l.count === 100_000));
  assert.ok(ms < 100, `select took ${ms.toFixed(1)} ms`);
});
