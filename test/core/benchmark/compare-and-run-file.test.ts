import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { baselineIndex, compareRows, csvField, pickResult, toCsv, toMarkdown, type CompareEntry } from '../../../src/core/benchmark/compare';
import { benchmarkRecord, loadRun, loadRunRecord, RunFileError, runFileName, saveRun } from '../../../src/core/runs/run-record';
import { latencyStats, throughputOf } from '../../../src/core/benchmark/stats';
import type { BenchmarkRun, ConfigResult } from '../../../src/core/benchmark/types';

function result(batch: number, seq: number, threads: number, samplesMs: number[]): ConfigResult {
  const stats = latencyStats(samplesMs);
  return { batch, seq, threads, sessionCreateMs: 10, firstRunMs: 5, stats, throughput: throughputOf(stats.mean, batch, seq), samplesMs, peakRssMb: 100, noisy: false, warnings: [] };
}

function run(name: string, params: number, bytes: number, results: ConfigResult[]): BenchmarkRun {
  return {
    id: `id-${name}`,
    model: { path: `/models/${name}/model.onnx`, name, sha256: 'ab'.repeat(32), bytes, params, flops: params * 128, family: 'BERT' },
    plan: { model: `/models/${name}`, batches: [1], seqs: [128], threads: [2], warmup: 5, runs: 4, session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' }, inputs: { kind: 'synthetic' } },
    environment: { cpuModel: 'AMD EPYC', cores: 2, os: 'Linux', node: 'v20', onnxruntime: '1.30.0', timestamp: '2026-01-02T03:04:05.678Z' },
    results,
    status: 'complete',
  };
}

const teacher = run('teacher', 1000, 4000, [result(1, 128, 2, [40, 40, 40, 40]), result(1, 32, 2, [9, 9, 9, 9])]);
const student = run('student', 250, 1100, [result(1, 128, 2, [10, 10, 10, 10])]);

test('comparison rows: speed-up = baseline p50 / p50; params % and size % of the baseline', () => {
  const entries: CompareEntry[] = [teacher, student].map((r) => ({ label: r.model.path, run: r, result: pickResult(r, { batch: 1, seq: 128 })! }));
  const rows = compareRows(entries, 0);
  assert.equal(rows[0].baseline, true);
  assert.equal(rows[0].speedup, 1);
  assert.equal(rows[1].speedup, 4);
  assert.equal(rows[1].paramsPct, 25);
  assert.equal(rows[1].sizePct, 27.5);
  assert.equal(rows[1].flops, 250 * 128);
  assert.equal(rows[1].sequencesPerSec, 100);
  const other = compareRows(entries, 1);
  assert.equal(other[0].speedup, 0.25);
  assert.equal(other[0].paramsPct, 400);
  // FLOPs were counted at the plan's first length (128): a row at 32 does not claim them.
  assert.equal(compareRows([{ label: 't', run: teacher, result: pickResult(teacher, { seq: 32 })! }], 0)[0].flops, undefined);
});

test('baseline by label, path or name; an unknown one is an error naming the candidates', () => {
  const entries: CompareEntry[] = [teacher, student].map((r) => ({ label: `runs/${r.model.name}.json`, run: r, result: r.results[0] }));
  assert.equal(baselineIndex(entries), 0);
  assert.equal(baselineIndex(entries, 'student'), 1);
  assert.equal(baselineIndex(entries, 'runs/student.json'), 1);
  assert.equal(baselineIndex(entries, '/models/student/model.onnx'), 1);
  assert.throws(() => baselineIndex(entries, 'nope'), /the baseline 'nope' is none of the compared models \(teacher, student\)/);
  assert.equal(pickResult(teacher, { threads: 4 }), undefined);
});

test('Markdown and CSV renderings', () => {
  const entries: CompareEntry[] = [teacher, student].map((r) => ({ label: r.model.name, run: r, result: r.results[0] }));
  const md = toMarkdown(compareRows(entries, 0)).split('\n');
  assert.equal(md[0], '| model | params | size | FLOPs | p50 ms | p95 ms | seq/s | speed-up | params % | size % |');
  assert.equal(md[1], '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  assert.equal(md[2], '| teacher (baseline) | 1.0 K | 3.91 KB | 128.0 K | 40.0 | 40.0 | 25.0 | 1.00x | 100.0% | 100.0% |');
  assert.equal(md[3], '| student | 250 | 1.07 KB | 32.0 K | 10.0 | 10.0 | 100 | 4.00x | 25.0% | 27.5% |');
  assert.match(md[5], /^batch 1, sequence length 128, 2 threads; speed-up is the baseline's p50/);
  const csv = toCsv(compareRows(entries, 0)).split('\n');
  assert.equal(csv[0], 'model,path,baseline,batch,seq,threads,params,bytes,flops,p50_ms,p95_ms,sequences_per_sec,speedup,params_pct,size_pct,noisy');
  assert.equal(csv[2], 'student,/models/student/model.onnx,false,1,128,2,250,1100,32000,10,10,100,4,25,27.5,false');
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField(undefined), '');
});

test('accuracy, when a run that evaluated the models gives it: a share of the baseline\'s, and two more columns in the renderings', () => {
  const entries: CompareEntry[] = [{ label: 't', run: teacher, result: teacher.results[0], accuracy: 0.9 }, { label: 's', run: student, result: student.results[0], accuracy: 0.81 }];
  const rows = compareRows(entries, 0);
  assert.deepEqual([rows[0].accuracy, rows[0].accuracyPct, rows[1].accuracy], [0.9, 100, 0.81]);
  assert.ok(Math.abs(rows[1].accuracyPct! - 90) < 1e-9);
  assert.match(toMarkdown(rows).split('\n')[0], /\| size % \| accuracy \| accuracy % \|$/);
  assert.match(toMarkdown(rows).split('\n')[3], /\| 81\.00% \| 90\.0% \|$/);
  assert.match(toCsv(rows).split('\n')[0], /,noisy,accuracy,accuracy_pct$/);
  // A baseline without an accuracy: no share; rows without any: no columns (the CLI's tables).
  const noBase = compareRows([{ ...entries[0], accuracy: undefined }, entries[1]], 0);
  assert.equal(noBase[1].accuracyPct, undefined);
  assert.doesNotMatch(toCsv(compareRows([{ label: 't', run: teacher, result: teacher.results[0] }], 0)), /accuracy/);
});

test('run files: saved atomically under a sortable name, loaded back identical; broken files named', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-runs-'));
  try {
    assert.equal(runFileName(teacher), '2026-01-02T03-04-05-678Z-teacher.json');
    const file = path.join(dir, 'nested', runFileName(teacher));
    saveRun(file, teacher);
    assert.deepEqual(readdirSync(path.dirname(file)), [path.basename(file)], 'no temporary file left behind');
    assert.deepEqual(loadRun(file), teacher);
    saveRun(file, student);
    assert.equal(loadRun(file).model.name, 'student', 'replaced whole');

    const cut = path.join(dir, 'cut.json');
    writeFileSync(cut, readFileSync(file, 'utf8').slice(0, 200));
    assert.throws(() => loadRun(cut), (e: Error) => e instanceof RunFileError && e.message.startsWith(`${cut}: not valid JSON (`) && /damaged/.test(e.message));
    const other = path.join(dir, 'package.json');
    writeFileSync(other, '{"name": "x"}');
    assert.throws(() => loadRun(other), new RegExp(`^RunFileError: ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a benchmark run`));
    const noStats = path.join(dir, 'no-stats.json');
    writeFileSync(noStats, JSON.stringify({ schema: 'compression-lab.benchmark-run/1', ...teacher, results: [{ ...teacher.results[0], stats: { runs: 1 } }] }));
    assert.throws(() => loadRun(noStats), /no-stats\.json: results\[0\]\.stats: needs runs, min, max/);
    const record = benchmarkRecord(teacher);
    writeFileSync(noStats, JSON.stringify({ ...record, result: { results: [{ ...teacher.results[0], stats: { runs: 1 } }] } }));
    assert.throws(() => loadRun(noStats), /no-stats\.json: results\[0\]\.stats: needs runs, min, max/);
    assert.throws(() => loadRun(path.join(dir, 'missing.json')), /missing\.json: cannot read the run file \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run records: a benchmark run saved before records existed still opens, as a benchmark record', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-legacy-'));
  try {
    const legacy = path.join(dir, 'legacy.json');
    writeFileSync(legacy, JSON.stringify({ schema: 'compression-lab.benchmark-run/1', ...teacher }, null, 2));
    assert.deepEqual(loadRun(legacy), teacher);
    const record = loadRunRecord(legacy);
    assert.deepEqual([record.schema, record.kind, record.created, record.model.sha256], ['compression-lab.run/1', 'benchmark', teacher.environment.timestamp, teacher.model.sha256]);
    const saved = path.join(dir, 'saved.json');
    saveRun(saved, teacher);
    const onDisk = JSON.parse(readFileSync(saved, 'utf8'));
    assert.deepEqual(Object.keys(onDisk).sort(), ['created', 'environment', 'id', 'kind', 'model', 'result', 'schema', 'settings', 'status']);
    assert.equal(onDisk.kind, 'benchmark');
    const train = path.join(dir, 'train.json');
    writeFileSync(train, JSON.stringify({ ...onDisk, kind: 'train', result: { history: [{ step: 1, loss: 0.5 }], evals: [] } }));
    assert.equal(loadRunRecord(train).kind, 'train');
    assert.throws(() => loadRun(train), /train\.json: not a benchmark run \(it is a training run\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
