// Distillation as a job with the real worker: the same stream and record as training, with the
// student, the layer map and the stages in the result; cancel keeps a checkpoint.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { startDistillJob } from '../../src/host/train-job';
import { loadRunRecord, saveRunIn } from '../../src/core/runs/run-record';
import type { TrainProgress } from '../../src/core/training/progress';
import { writeTokenData } from '../helpers/data';

const WORKER = path.resolve(__dirname, '../../dist/worker.js');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-distill-job-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TEACHER = path.join(dir, 'teacher.onnx');
const DATA = writeTokenData(path.join(dir, 'train.jsonl'), 128, 4);
writeModel(TEACHER, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));

test('a distill job streams steps with their loss terms and stage, and ends with a record naming the student, stages and layer map', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(WORKER), 'dist/worker.js is built (npm run build)');
  const events: TrainProgress[] = [];
  const job = startDistillJob(WORKER, { recipe: 'tinybert', teacher: TEACHER, data: DATA, eval: DATA, out: path.join(dir, 'student.onnx'), layers: 1, hidden: 16, stage1Steps: 5, maxSteps: 5, batchSize: 16, threads: 1, cacheDir: path.join(dir, 'cache') }, { onProgress: (p) => events.push(p) });
  const record = await job.done;
  assert.equal(record.status, 'complete', record.error);
  assert.equal(record.kind, 'distill');
  assert.equal(record.model.path, TEACHER, 'the record is about the teacher that was compressed');
  const steps = events.flatMap((e) => (e.type === 'steps' ? e.steps : []));
  assert.deepEqual(steps.map((s) => s.stage), [...Array(5).fill('intermediate'), ...Array(5).fill('prediction')]);
  assert.deepEqual(record.result.stages?.map((s) => [s.name, s.startStep, s.steps]), [['intermediate', 0, 5], ['prediction', 5, 5]]);
  assert.equal(record.result.student?.config.hiddenSize, 16);
  assert.deepEqual(record.result.layerMap?.links.map((l) => [l.student, l.teacher]), [[0, 0], [1, 2]]);
  assert.ok(record.result.evals.some((e) => e.agreement !== undefined));
  assert.equal(record.result.history.length, 10);
  const file = saveRunIn(path.join(dir, 'runs'), record);
  assert.equal(loadRunRecord(file).kind, 'distill');
});

test('cancel a distill job: it stops at the next step and keeps its checkpoint', { timeout: 120_000 }, async () => {
  let first: () => void = () => {};
  const stepping = new Promise<void>((r) => { first = r; });
  const ckpt = path.join(dir, 'stop.ckpt.safetensors');
  const job = startDistillJob(WORKER, { recipe: 'distilbert', teacher: TEACHER, data: DATA, out: path.join(dir, 'stop.onnx'), layers: 1, maxSteps: 100_000, batchSize: 8, threads: 1, checkpoint: ckpt, cacheDir: path.join(dir, 'cache') }, { onProgress: (p) => { if (p.type === 'steps') first(); } });
  await stepping;
  job.cancel();
  const record = await job.done;
  assert.equal(record.status, 'cancelled');
  assert.ok(existsSync(ckpt) && existsSync(path.join(dir, 'stop.onnx')));
});
