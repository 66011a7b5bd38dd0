// Training as a job with the real worker (dist/worker.js: `npm run build` first, as `npm test`
// does): progress streamed in step batches, cancel mid-run (checkpoint kept, resumable), kill -9
// (a clear error within a second, no process left), timeout, and a user error that arrives whole.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { startTrainJob } from '../../src/host/train-job';
import { loadRunRecord, saveRunIn } from '../../src/core/runs/run-record';
import type { TrainProgress } from '../../src/core/training/progress';
import type { TrainOptions } from '../../src/core/training/train-options';
import { writeTokenData } from '../helpers/data';

const WORKER = path.resolve(__dirname, '../../dist/worker.js');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-train-job-'));
const MODEL = path.join(dir, 'model.onnx');
const DATA = path.join(dir, 'train.jsonl');
after(() => rmSync(dir, { recursive: true, force: true }));

writeModel(MODEL, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));
writeTokenData(DATA, 256, 7);

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function options(name: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return { model: MODEL, data: DATA, out: path.join(dir, `${name}.onnx`), batchSize: 8, lr: 1e-3, threads: 1, ...extra };
}

function start(o: TrainOptions, jobOptions: { timeoutMs?: number } = {}) {
  assert.ok(existsSync(WORKER), 'dist/worker.js is built (npm run build)');
  const events: TrainProgress[] = [];
  let firstSteps: () => void = () => {};
  const stepping = new Promise<void>((resolve) => { firstSteps = resolve; });
  const job = startTrainJob(WORKER, o, { ...jobOptions, onProgress: (p) => { events.push(p); if (p.type === 'steps') firstSteps(); } });
  assert.ok(job.pid && job.pid !== process.pid, 'runs in its own process');
  return { job, events, stepping };
}

test('a train job streams its plan, steps in batches (each once, in order) and evaluations; the record holds the curve', { timeout: 120_000 }, async () => {
  const { job, events } = start(options('full', { maxSteps: 40, eval: DATA }));
  const record = await job.done;
  assert.equal(record.status, 'complete', record.error);
  const startEvent = events.find((e) => e.type === 'start');
  assert.ok(startEvent && startEvent.type === 'start' && startEvent.totalSteps === 40 && startEvent.terms.length >= 1);
  const batches = events.filter((e) => e.type === 'steps');
  const steps = batches.flatMap((e) => (e.type === 'steps' ? e.steps : []));
  assert.deepEqual(steps.map((s) => s.step), Array.from({ length: 40 }, (_, i) => i + 1), 'every step once, in order, never resent');
  assert.ok(batches.length < 40, `${batches.length} messages for 40 steps: fast steps are batched`);
  for (const s of steps) assert.ok(Number.isFinite(s.loss) && s.examplesPerSec > 0 && Object.keys(s.losses).length >= 1);
  assert.ok(events.some((e) => e.type === 'eval'));
  assert.deepEqual(record.result.history.map((s) => s.step), steps.map((s) => s.step));
  assert.deepEqual(record.result.evals.map((e) => e.step), [32, 40], 'after the first epoch (32 steps) and at the end');
  assert.equal(record.model.path, MODEL);
  assert.match(record.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(record.settings.out, path.join(dir, 'full.onnx'));
  assert.ok(existsSync(record.result.out!) && existsSync(record.result.checkpoint!));
  const file = saveRunIn(path.join(dir, 'runs'), record);
  assert.deepEqual(loadRunRecord(file), record);
  assert.equal(alive(job.pid!), false);
});

test('cancel mid-job: it stops at the next step with a checkpoint and the model so far; resuming goes on from there', { timeout: 120_000 }, async () => {
  const checkpoint = path.join(dir, 'stopped.ckpt.safetensors');
  const { job, stepping } = start(options('stopped', { maxSteps: 5000, checkpoint }));
  await stepping;
  const t0 = Date.now();
  job.cancel();
  const record = await job.done;
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  assert.equal(record.status, 'cancelled');
  const stoppedAt = record.result.steps!;
  assert.ok(stoppedAt >= 1 && stoppedAt < 5000);
  assert.equal(record.result.history[record.result.history.length - 1].step, stoppedAt);
  assert.equal(record.result.checkpoint, checkpoint);
  assert.ok(existsSync(checkpoint) && existsSync(path.join(dir, 'stopped.onnx')));
  assert.equal(alive(job.pid!), false);

  const resumed = start(options('resumed', { maxSteps: stoppedAt + 3, resume: checkpoint, checkpoint: path.join(dir, 'resumed.ckpt.safetensors') }));
  const r2 = await resumed.job.done;
  assert.equal(r2.status, 'complete', r2.error);
  assert.equal(r2.result.startStep, stoppedAt);
  assert.deepEqual(r2.result.history.map((s) => s.step), [stoppedAt + 1, stoppedAt + 2, stoppedAt + 3]);
});

test('kill -9 of the worker mid-job: failed within a second, saying how and after which step; no process left', { timeout: 120_000 }, async () => {
  const { job, stepping } = start(options('killed', { maxSteps: 5000 }));
  await stepping;
  process.kill(job.pid!, 'SIGKILL');
  const t0 = Date.now();
  const record = await job.done;
  assert.ok(Date.now() - t0 < 1000, `ended in ${Date.now() - t0} ms`);
  assert.equal(record.status, 'failed');
  assert.match(record.error ?? '', /the training process was killed \(SIGKILL\).* after step \d+ of 5000; no checkpoint was written/);
  assert.ok(record.result.history.length >= 1, 'the streamed steps are kept');
  assert.equal(alive(job.pid!), false);
});

test('a job past its wall-clock timeout is killed: status timeout, steps so far kept', { timeout: 120_000 }, async () => {
  const { job } = start(options('slow', { maxSteps: 100_000 }), { timeoutMs: 3000 });
  const t0 = Date.now();
  const record = await job.done;
  assert.ok(Date.now() - t0 < 4500, `ended in ${Date.now() - t0} ms`);
  assert.equal(record.status, 'timeout');
  assert.match(record.error ?? '', /did not finish within 3\.0 s and was stopped after step \d+/);
  assert.equal(alive(job.pid!), false);
});

test('bad input is a user error that crosses the process boundary whole: code, file and problem', { timeout: 60_000 }, async () => {
  const noLabels = path.join(dir, 'no-labels.jsonl');
  writeFileSync(noLabels, '{"input_ids": [101, 200, 102]}\n');
  const record = await start(options('never', { data: noLabels })).job.done;
  assert.equal(record.status, 'failed');
  assert.equal(record.errorInfo?.code, 'dataset');
  assert.equal(record.errorInfo?.file, noLabels);
  assert.match(record.errorInfo?.problem ?? '', /no label column 'label'/);

  const self = await start(options('self', { out: MODEL })).job.done;
  assert.equal(self.errorInfo?.code, 'output-conflict');
  assert.match(self.error ?? '', /the output model would overwrite the model this job reads/);
});

test('a host that goes away mid-run (a closed window): the worker stops the job as if cancelled, keeps its checkpoint, and exits', { timeout: 60_000 }, async () => {
  const { fork } = await import('node:child_process');
  const checkpoint = path.join(dir, 'orphan.ckpt.safetensors');
  const child = fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const stepping = new Promise<void>((resolve) => child.on('message', (m: { kind?: string; type?: string }) => { if (m.kind === 'event' && m.type === 'jobProgress') resolve(); }));
  child.send({ kind: 'request', id: 1, method: 'job', params: { kind: 'train', params: options('orphan', { maxSteps: 100_000, checkpoint }) } });
  await stepping;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.disconnect();
  const t0 = Date.now();
  assert.equal(await exited, 0, stderr);
  assert.ok(Date.now() - t0 < 10_000, `exited ${Date.now() - t0} ms after the host left`);
  assert.ok(existsSync(checkpoint), 'the checkpoint was written before exiting');
  assert.equal(alive(child.pid!), false);
});
