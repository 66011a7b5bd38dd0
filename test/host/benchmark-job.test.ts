// The job client with the real worker (dist/worker.js: `npm run build` first, as `npm test` does):
// a sweep, a cancel, a kill -9, a model that fails to load and a timeout; after each, the worker
// process is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { startBenchmarkJob, type BenchmarkJob } from '../../src/host/benchmark-job';
import type { BenchmarkPlan, BenchmarkProgress } from '../../src/core/benchmark/types';

const WORKER = path.resolve(__dirname, '../../dist/worker.js');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-job-'));
const MODEL = path.join(dir, 'small.onnx');

before(() => {
  assert.ok(existsSync(WORKER), 'dist/worker.js is built (npm run build)');
  writeModel(MODEL, buildEncoderClassifier({ family: 'bert', vocabSize: 1000, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 128, numLabels: 2 }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function plan(extra: Partial<BenchmarkPlan> = {}): BenchmarkPlan {
  return {
    model: MODEL, batches: [1], seqs: [16], threads: [1], warmup: 2, runs: 10,
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' },
    inputs: { kind: 'synthetic' },
    ...extra,
  };
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** A job whose progress events are recorded, and a promise for its first finished configuration. */
function start(p: BenchmarkPlan, options: { timeoutMs?: number; graceMs?: number } = {}) {
  const events: BenchmarkProgress[] = [];
  let firstDone: () => void = () => {};
  const firstConfig = new Promise<void>((resolve) => { firstDone = resolve; });
  const job: BenchmarkJob = startBenchmarkJob(WORKER, p, { ...options, onProgress: (e) => { events.push(e); if (e.phase === 'done') firstDone(); } });
  assert.ok(job.pid && job.pid !== process.pid, 'runs in its own process');
  return { job, events, firstConfig };
}

test('a sweep of 2 batches x 2 sequence lengths completes with 4 results and progress', async () => {
  const { job, events } = start(plan({ batches: [1, 2], seqs: [8, 16] }));
  const run = await job.done;
  assert.equal(run.status, 'complete', run.error);
  assert.deepEqual(run.results.map((r) => [r.batch, r.seq, r.threads]), [[1, 8, 1], [1, 16, 1], [2, 8, 1], [2, 16, 1]]);
  for (const r of run.results) {
    assert.equal(r.samplesMs.length, 10);
    assert.equal(r.stats.runs, 10);
    assert.ok(r.stats.p50 > 0 && r.stats.min <= r.stats.p50 && r.stats.p50 <= r.stats.p99);
    assert.ok(r.peakRssMb > 20, `peak RSS ${r.peakRssMb} MB is the worker's`);
    assert.ok(r.sessionCreateMs > 0 && r.firstRunMs > 0);
  }
  assert.equal(run.model.path, MODEL);
  assert.match(run.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(run.model.family, 'BERT');
  assert.ok(run.model.params && run.model.params > 0);
  assert.equal(run.environment.onnxruntime, '1.30.0');
  for (const phase of ['session', 'first-run', 'warmup', 'measure', 'done']) assert.ok(events.some((e) => e.phase === phase), `a '${phase}' event`);
  assert.equal(events.filter((e) => e.phase === 'done').length, 4);
  assert.ok(events.every((e) => e.configCount === 4));
  assert.equal(alive(job.pid!), false, 'the worker exited');
});

test('cancel mid-job: status cancelled with the completed configurations; the worker is gone', async () => {
  const { job, firstConfig } = start(plan({ seqs: [8, 16, 32], runs: undefined, durationSec: 1 }));
  await firstConfig;
  const t0 = Date.now();
  job.cancel();
  const run = await job.done;
  assert.equal(run.status, 'cancelled');
  assert.equal(run.results.length, 1, 'the configuration that finished is kept');
  assert.equal(run.results[0].seq, 8);
  assert.ok(Date.now() - t0 < 1500, `stopped cooperatively in ${Date.now() - t0} ms`);
  assert.match(run.model.sha256, /^[0-9a-f]{64}$/, 'the worker answered itself');
  assert.equal(alive(job.pid!), false);
});

test('kill -9 of the worker mid-job: failed within a second, partial results kept, no process left', async () => {
  const { job, firstConfig } = start(plan({ seqs: [8, 16, 32], runs: undefined, durationSec: 2 }));
  await firstConfig;
  process.kill(job.pid!, 'SIGKILL');
  const t0 = Date.now();
  const run = await job.done;
  assert.ok(Date.now() - t0 < 1000, `resolved in ${Date.now() - t0} ms`);
  assert.equal(run.status, 'failed');
  assert.match(run.error ?? '', /the benchmark process was killed \(SIGKILL\).*after 1 of 3 configurations completed/);
  assert.equal(run.results.length, 1);
  assert.equal(run.results[0].seq, 8);
  assert.equal(run.model.path, MODEL);
  assert.match(run.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(alive(job.pid!), false);
});

test('a model that fails to load: status failed, the error names the file', async () => {
  const bad = path.join(dir, 'cut.onnx');
  writeFileSync(bad, readFileSync(MODEL).subarray(0, 2000));
  const { job } = start(plan({ model: bad }));
  const run = await job.done;
  assert.equal(run.status, 'failed');
  assert.ok(run.error?.startsWith(`${bad}: `), run.error);
  assert.equal(run.results.length, 0);
  assert.equal(alive(job.pid!), false);

  const missing = path.join(dir, 'nope.onnx');
  const gone = await start(plan({ model: missing })).job.done;
  assert.equal(gone.status, 'failed');
  assert.match(gone.error ?? '', new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
});

test('a job past its wall-clock timeout is killed: status timeout, completed configurations kept', async () => {
  // The first 1 s configuration ends at about 1.1 s, the second could not before 2.1 s.
  const { job } = start(plan({ seqs: [8, 16], runs: undefined, durationSec: 1 }), { timeoutMs: 2000 });
  const t0 = Date.now();
  const run = await job.done;
  assert.equal(run.status, 'timeout');
  assert.ok(Date.now() - t0 < 3000, `ended in ${Date.now() - t0} ms`);
  assert.match(run.error ?? '', /did not finish within 2\.0 s and was stopped after 1 of 2 configurations completed/);
  assert.equal(run.results.length, 1, 'the first 1 s configuration finished before the timeout');
  assert.equal(alive(job.pid!), false);
});

test('a cancel the worker cannot honour in time ends in a kill after the grace period', async () => {
  // One configuration whose session creation and first run outlast a 1 ms grace period.
  const { job } = start(plan({ runs: undefined, durationSec: 5 }), { graceMs: 1 });
  await new Promise((r) => setTimeout(r, 300));
  job.cancel();
  const run = await job.done;
  assert.equal(run.status, 'cancelled');
  assert.equal(run.results.length, 0);
  assert.equal(alive(job.pid!), false);
});
