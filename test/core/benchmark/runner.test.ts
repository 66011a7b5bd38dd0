// The engine in-process (the worker runs exactly this): method, progress, cancel, failures.
import { benchmarkRecord } from '../../../src/core/runs/run-record';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runBenchmark } from '../../../src/core/benchmark/runner';
import { modelName, planConfigs, planProblem, resolveModelFile } from '../../../src/core/benchmark/plan';
import type { BenchmarkPlan, BenchmarkProgress } from '../../../src/core/benchmark/types';
import { BERT_FAMILY, ONNX_BACKEND, requireShared } from '../../helpers/paths';

requireShared();

function plan(model: string, extra: Partial<BenchmarkPlan> = {}): BenchmarkPlan {
  return {
    model, batches: [1], seqs: [16], threads: [1], warmup: 2, runs: 5,
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' },
    inputs: { kind: 'synthetic' },
    ...extra,
  };
}

test('configurations: batch x seq x threads, in that nesting order', () => {
  assert.deepEqual(planConfigs(plan('m', { batches: [1, 8], seqs: [32, 128], threads: [1, 2] })).map((c) => [c.batch, c.seq, c.threads]), [
    [1, 32, 1], [1, 32, 2], [1, 128, 1], [1, 128, 2], [8, 32, 1], [8, 32, 2], [8, 128, 1], [8, 128, 2],
  ]);
  assert.equal(planProblem(plan('m')), undefined);
  assert.match(planProblem(plan('m', { batches: [] }))!, /batches must be a non-empty list/);
  assert.match(planProblem(plan('m', { seqs: [0] }))!, /seqs must be/);
  assert.match(planProblem(plan('m', { warmup: -1 }))!, /warmup/);
  assert.match(planProblem(plan('m', { session: { ...plan('m').session, graphOptimizationLevel: 'max' as never } }))!, /graphOptimizationLevel/);
});

test('model files and names: a folder means its model.onnx and is named after the folder', () => {
  const folder = path.join(BERT_FAMILY, 'bert-mini');
  assert.equal(resolveModelFile(folder), path.join(folder, 'model.onnx'));
  assert.equal(modelName(path.join(folder, 'model.onnx')), 'bert-mini');
  assert.equal(modelName('/x/student-4L.onnx'), 'student-4L');
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-runner-'));
  try {
    mkdirSync(path.join(dir, 'two'));
    writeFileSync(path.join(dir, 'two', 'a.onnx'), '');
    writeFileSync(path.join(dir, 'two', 'b.onnx'), '');
    assert.throws(() => resolveModelFile(path.join(dir, 'two')), /several \.onnx files \(a\.onnx, b\.onnx\); name one/);
    assert.throws(() => resolveModelFile(dir), /no \.onnx file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bert-family folder: results per configuration, model identity and environment recorded', async () => {
  const events: BenchmarkProgress[] = [];
  const run = await runBenchmark(plan(path.join(BERT_FAMILY, 'distilbert-mini'), { batches: [1, 2], runs: 7 }), { onProgress: (p) => events.push(p) });
  assert.equal(run.status, 'complete', run.error);
  const record = benchmarkRecord(run);
  assert.deepEqual([record.schema, record.kind, record.created], ['compression-lab.run/1', 'benchmark', run.environment.timestamp]);
  const file = path.join(BERT_FAMILY, 'distilbert-mini', 'model.onnx');
  assert.equal(run.model.path, file);
  assert.equal(run.model.name, 'distilbert-mini');
  assert.equal(run.model.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
  assert.equal(run.model.family, 'DistilBERT');
  assert.equal(run.model.params, 140482);
  assert.ok(run.model.flops! > 0);
  assert.equal(run.results.length, 2);
  for (const r of run.results) {
    assert.equal(r.samplesMs.length, 7);
    assert.equal(r.stats.runs, 7);
    assert.equal(r.stats.min, Math.min(...r.samplesMs));
    assert.ok(Math.abs(r.throughput.sequencesPerSec - (r.batch * 1000) / r.stats.mean) < 1e-9);
    assert.ok(Math.abs(r.throughput.tokensPerSec - r.throughput.sequencesPerSec * 16) < 1e-6);
  }
  const env = run.environment;
  assert.ok(env.cpuModel && env.cores >= 1 && env.os && env.node === process.version && env.onnxruntime === '1.30.0');
  assert.ok(!Number.isNaN(Date.parse(env.timestamp)));
  const phases = events.filter((e) => e.configIndex === 0 && (e.phase !== 'measure' && e.phase !== 'warmup')).map((e) => e.phase);
  assert.deepEqual(phases, ['session', 'first-run', 'done']);
  assert.ok(events.some((e) => e.phase === 'measure' && e.run === 7 && e.runs === 7), 'the last measured run is reported');
});

test('duration mode: runs until the time is up', async () => {
  const t0 = Date.now();
  const run = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini'), { runs: undefined, durationSec: 0.3, warmup: 0 }));
  assert.equal(run.status, 'complete', run.error);
  assert.ok(run.results[0].stats.runs > 5, `${run.results[0].stats.runs} runs in 0.3 s`);
  assert.ok(run.results[0].samplesMs.reduce((a, b) => a + b, 0) <= 300 + 50);
  assert.ok(Date.now() - t0 < 5000);
});

test('cancel between runs: status cancelled, finished configurations kept, the current one dropped', async () => {
  let done = 0;
  let polls = 0;
  const run = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini'), { seqs: [8, 16, 32], runs: 20 }), {
    onProgress: (p) => { if (p.phase === 'done') done++; },
    isCancelled: () => done >= 1 && ++polls > 3,
  });
  assert.equal(run.status, 'cancelled');
  assert.equal(run.error, undefined);
  assert.deepEqual(run.results.map((r) => r.seq), [8]);
});

test('a legacy opset-6 model is upgraded in memory and benchmarked, with a note', async () => {
  const run = await runBenchmark(plan(path.join(ONNX_BACKEND, 'pytorch-converted', 'test_AvgPool2d', 'model.onnx'), { batches: [2] }));
  assert.equal(run.status, 'complete', run.error);
  assert.match(run.results[0].warnings.join('\n'), /upgraded in memory \(opset import ai\.onnx: 6 -> 7\)/);
  assert.match(run.results[0].warnings.join('\n'), /no input has a symbolic batch dimension: .*batch 2 was not applied/);
});

test('failures end the run with status failed and the file named; nothing runs past a bad sequence length', async () => {
  const tooLong = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini'), { seqs: [16, 128] }));
  assert.equal(tooLong.status, 'failed');
  assert.equal(tooLong.results.length, 0, 'checked before the first configuration');
  assert.equal(tooLong.error, `${path.join(BERT_FAMILY, 'bert-mini', 'model.onnx')}: sequence length 128 is longer than the model's 64 positions (max_position_embeddings); choose a length of at most 64`);
  const badPlan = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini'), { threads: [0] }));
  assert.equal(badPlan.status, 'failed');
  assert.match(badPlan.error!, /invalid benchmark plan: threads must be/);
  const provider = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini'), { session: { ...plan('').session, executionProvider: 'nope' } }));
  assert.match(provider.error!, /execution provider 'nope' is not available in this onnxruntime-node install \(available: cpu/);
  const safetensors = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors')));
  assert.equal(safetensors.status, 'failed');
  assert.ok(safetensors.error!.startsWith(path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors')), safetensors.error);
  const text = await runBenchmark(plan(path.join(BERT_FAMILY, 'bert-mini'), { inputs: { kind: 'text', textFile: '/nonexistent/dev.tsv', tokenizerFile: '/nonexistent/tokenizer.json' } }));
  assert.equal(text.status, 'failed');
  assert.match(text.error!, /\/nonexistent\/tokenizer\.json: cannot read the tokenizer/);
});
