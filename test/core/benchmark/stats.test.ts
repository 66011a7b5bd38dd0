import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencyStats, nearestRank, noiseWarning, NOISY_CV, throughputOf } from '../../../src/core/benchmark/stats';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('nearest-rank percentiles: the smallest sample with p% at or below it (no interpolation)', () => {
  // The textbook case: ranks ceil(p/100 * 5).
  const s = [15, 20, 35, 40, 50];
  assert.equal(nearestRank(s, 5), 15); // rank 1
  assert.equal(nearestRank(s, 30), 20); // ceil(1.5) = 2
  assert.equal(nearestRank(s, 40), 20); // exactly rank 2
  assert.equal(nearestRank(s, 50), 35); // ceil(2.5) = 3
  assert.equal(nearestRank(s, 100), 50);
  const ten = Array.from({ length: 10 }, (_, i) => i + 1);
  assert.deepEqual([50, 90, 95, 99].map((p) => nearestRank(ten, p)), [5, 9, 10, 10]);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual([50, 90, 95, 99].map((p) => nearestRank(hundred, p)), [50, 90, 95, 99]);
  assert.throws(() => nearestRank([], 50), /no samples/);
  assert.throws(() => nearestRank(s, 0), /percentile/);
});

test('latency stats of five runs, by hand: mean 3, sample std sqrt(10/4), cv std/mean', () => {
  const st = latencyStats([5, 1, 4, 2, 3]);
  assert.equal(st.runs, 5);
  assert.equal(st.min, 1);
  assert.equal(st.max, 5);
  close(st.mean, 3, 'mean');
  close(st.std, Math.sqrt(2.5), 'std'); // squares 4+1+0+1+4 = 10, over n-1 = 4
  close(st.cv, Math.sqrt(2.5) / 3, 'cv');
  assert.deepEqual([st.p50, st.p90, st.p95, st.p99], [3, 5, 5, 5]);
});

test('one run: every percentile is it, std and cv are 0; the input order is kept', () => {
  const samples = [7];
  const st = latencyStats(samples);
  assert.deepEqual([st.min, st.max, st.mean, st.p50, st.p99, st.std, st.cv], [7, 7, 7, 7, 7, 0, 0]);
  const order = [3, 1, 2];
  latencyStats(order);
  assert.deepEqual(order, [3, 1, 2], 'samples are not sorted in place');
});

test('throughput: batch / mean latency, tokens = sequences x seq', () => {
  const t = throughputOf(20, 8, 128);
  close(t.sequencesPerSec, 400, 'sequences/s'); // 8 sequences every 20 ms
  close(t.tokensPerSec, 51200, 'tokens/s');
  assert.deepEqual(throughputOf(0, 1, 1), { sequencesPerSec: 0, tokensPerSec: 0 });
});

test('a coefficient of variation above 10% is flagged as noisy, with the reason', () => {
  assert.equal(NOISY_CV, 0.1);
  assert.equal(noiseWarning(latencyStats([10, 10.5, 9.5, 10])), undefined);
  assert.match(noiseWarning(latencyStats([10, 20, 10, 20]))!, /coefficient of variation 38\.5% > 10%.*busy/);
  assert.match(noiseWarning(latencyStats([0.1, 0.3, 0.1, 0.3]))!, /under a millisecond/);
});
