// Quantization as a job with the real worker: its stages streamed, a record that loads back, a
// user error arriving structured, and a killed worker ending the job at once with where it was.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { startQuantizeJob } from '../../src/host/quantize-job';
import { loadRunRecord, saveRunIn, worthRecording } from '../../src/core/runs/run-record';
import type { QuantizeProgress } from '../../src/core/quantize/quantize-model';
import { writeTokenData } from '../helpers/data';

const WORKER = path.resolve(__dirname, '../../dist/worker.js');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-quantize-job-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = path.join(dir, 'model.onnx');
writeModel(MODEL, buildEncoderClassifier({ family: 'distilbert', vocabSize: 500, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));
const DEV = writeTokenData(path.join(dir, 'dev.jsonl'), 64, 2);

test('a quantize job streams its stages and ends with a record of what was quantized', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(WORKER), 'dist/worker.js is built (npm run build)');
  const events: QuantizeProgress[] = [];
  const job = startQuantizeJob(WORKER, { model: MODEL, out: path.join(dir, 'model.int8.onnx'), eval: DEV, threads: 1 }, { onProgress: (p) => events.push(p) });
  const record = await job.done;
  assert.equal(record.status, 'complete', record.error);
  assert.equal(record.kind, 'quantize');
  assert.equal(record.model.path, MODEL);
  assert.equal(record.model.params, record.result.params?.before);
  assert.deepEqual(events.filter((e) => e.type === 'stage').map((e) => e.type === 'stage' && e.stage), ['reading', 'quantizing', 'writing', 'checking', 'evaluating']);
  assert.ok(events.some((e) => e.type === 'eval' && e.done === e.total));
  // 12 MatMuls and the word embeddings.
  assert.equal(record.result.report?.quantized.length, 13);
  assert.equal(record.result.report?.quantized.filter((q) => q.op === 'Gather').length, 1);
  assert.equal(record.result.evaluation?.examples, 64);
  assert.equal(record.settings.model, MODEL);
  const file = saveRunIn(path.join(dir, 'runs'), record);
  const back = loadRunRecord(file);
  assert.equal(back.kind, 'quantize');
  // model.onnx is named by its folder, as for every kind.
  assert.match(path.basename(file), /-quantize-mcl-quantize-job-\w+\.json$/);
});

test('a user error crosses structured; a job that failed before any work is not a run', { timeout: 60_000 }, async () => {
  const record = await startQuantizeJob(WORKER, { model: MODEL, out: path.join(dir, 'x.onnx'), exclude: ['nothing.by.this.name'] }).done;
  assert.equal(record.status, 'failed');
  assert.equal(record.errorInfo?.code, 'bad-option');
  assert.equal(record.errorInfo?.option, 'exclude');
  assert.equal(worthRecording(record), false);
});

test('a killed quantize worker ends the job at once, saying so', { timeout: 60_000 }, async () => {
  let started: () => void = () => {};
  const reading = new Promise<void>((r) => { started = r; });
  const job = startQuantizeJob(WORKER, { model: MODEL, out: path.join(dir, 'killed.onnx'), eval: DEV }, { onProgress: (p) => { if (p.type === 'stage') started(); } });
  await reading;
  process.kill(job.pid!, 'SIGKILL');
  const t0 = Date.now();
  const record = await job.done;
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(record.status, 'failed');
  assert.match(record.error ?? '', /the quantization process was killed \(SIGKILL\)[^]* while (reading|quantizing|writing|checking|evaluating)/);
});
