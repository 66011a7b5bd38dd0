// `bench` and `compare` as a user runs them: the real bin (needs `npm run build`, which `npm test`
// does), each model benchmarked in a worker process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { loadRun } from '../../src/core/runs/run-record';
import { requireShared, SHARED } from '../helpers/paths';

requireShared();
const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'compression-lab.js');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-cli-'));
const TEACHER = path.join(dir, 'teacher', 'model.onnx');
const STUDENT = path.join(dir, 'student.onnx');

before(() => {
  mkdirSync(path.dirname(TEACHER));
  writeModel(TEACHER, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 128, numLayers: 4, numHeads: 2, intermediateSize: 512, maxPositions: 128, numLabels: 2 }));
  writeModel(STUDENT, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 64, numLayers: 1, numHeads: 2, intermediateSize: 128, maxPositions: 128, numLabels: 2 }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')) && existsSync(path.join(ROOT, 'dist', 'worker.js')), 'dist/ is built (npm run build)');
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bench --json: one object per configuration per line, with the documented fields', () => {
  const r = cli('bench', STUDENT, '--batch', '1,2', '--seq', '16,32', '--threads', '1', '--warmup', '1', '--runs', '5', '--json');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.batch, l.seq, l.threads]), [[1, 16, 1], [1, 32, 1], [2, 16, 1], [2, 32, 1]]);
  for (const l of lines) {
    for (const k of ['model', 'batch', 'seq', 'threads', 'p50', 'p90', 'p95', 'p99', 'mean', 'throughput', 'peakRssMb']) assert.ok(k in l, `field ${k}`);
    assert.equal(l.model, 'student');
    assert.equal(l.runs, 5);
    assert.ok(l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99);
    assert.ok(l.throughput > 0 && l.peakRssMb > 0);
  }
});

test('bench text output and --csv; --out saves the run file; a folder takes one run per model', () => {
  const text = cli('bench', path.dirname(TEACHER), '--seq', '32', '--runs', '5', '--warmup', '0');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^teacher {2}.*model\.onnx\n {2}BERT, [\d,]+ parameters/);
  assert.match(text.stdout, /batch +seq +threads +p50 ms +p90 ms +p95 ms +p99 ms +mean ms/);
  const csv = cli('bench', STUDENT, '--seq', '16', '--runs', '3', '--csv');
  assert.equal(csv.code, 0, csv.stderr);
  const [header, row] = csv.stdout.trim().split('\n');
  assert.match(header, /^model,path,sha256,batch,seq,threads,runs,p50,p90,p95,p99,mean,/);
  assert.match(row, /^student,/);

  const file = path.join(dir, 'student-run.json');
  const saved = cli('bench', STUDENT, '--seq', '16', '--runs', '3', '--json', '--out', file);
  assert.equal(saved.code, 0, saved.stderr);
  const run = loadRun(file);
  assert.equal(run.status, 'complete');
  assert.equal(run.results[0].samplesMs.length, 3);
  const runs = path.join(dir, 'runs');
  const both = cli('bench', STUDENT, path.dirname(TEACHER), '--seq', '16', '--runs', '3', '--json', '--out', runs + path.sep);
  assert.equal(both.code, 0, both.stderr);
  assert.deepEqual(readdirSync(runs).map((f) => f.replace(/^.*Z-/, '')).sort(), ['student.json', 'teacher.json']);
});

test('bench --text with a tokenizer feeds real sentences', () => {
  const r = cli('bench', STUDENT, '--seq', '32', '--runs', '3', '--json', '--text', path.join(SHARED, 'data', 'sst2', 'dev.tsv'), '--tokenizer', path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json'));
  assert.equal(r.code, 0, r.stderr);
  const l = JSON.parse(r.stdout.trim());
  assert.ok(l.warnings.some((w: string) => /texts were longer than 32 tokens/.test(w)), JSON.stringify(l.warnings));
  assert.ok(!l.warnings.some((w: string) => /replaced/.test(w)), 'vocabulary 30522: ids used as they are');
});

test('compare: models benchmarked now and a saved run, against a baseline, as a table and Markdown', () => {
  const saved = path.join(dir, 'teacher-run.json');
  assert.equal(cli('bench', TEACHER, '--seq', '32', '--threads', '1', '--runs', '10', '--json', '--out', saved).code, 0);
  const r = cli('compare', saved, STUDENT, '--seq', '32', '--threads', '1', '--runs', '10');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^model +params +size +FLOPs +p50 ms +p95 ms +seq\/s +speed-up +params % +size %$/);
  assert.match(lines[2], /^teacher \(baseline\).* 1\.00x +100\.0% +100\.0%$/);
  const student = /^student(?: \(noisy\))? +[\d.]+ M +[\d.]+ MB +[\d.]+ M +([\d.]+) +[\d.]+ +\d+ +([\d.]+)x +([\d.]+)% +([\d.]+)%$/.exec(lines[3]);
  assert.ok(student, lines[3]);
  assert.ok(Number(student[2]) > 1, 'the 1-layer student is faster than the 4-layer teacher');
  assert.ok(Number(student[3]) < 100 && Number(student[4]) < 100);
  assert.match(r.stdout, /batch 1, sequence length 32, 1 thread;/);

  const md = cli('compare', saved, STUDENT, '--seq', '32', '--threads', '1', '--runs', '5', '--markdown', '--baseline', 'student');
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /^\| model \| params \| size \| FLOPs \| p50 ms \| p95 ms \| seq\/s \| speed-up \| params % \| size % \|\n\| --- \|/);
  assert.match(md.stdout, /\| student \(baseline\)(?: \(noisy\))? \|.*\| 1\.00x \| 100\.0% \| 100\.0% \|/);
});

test('bad input: exit 1 and a message naming the file; usage errors exit 2', () => {
  const bad = path.join(dir, 'broken.onnx');
  writeFileSync(bad, readFileSync(STUDENT).subarray(0, 1000));
  const r = cli('bench', bad, '--runs', '2');
  assert.equal(r.code, 1);
  assert.ok(r.stderr.startsWith(`error: ${bad}: `), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const brokenRun = path.join(dir, 'broken-run.json');
  writeFileSync(brokenRun, '{"schema": "compression-lab.benchmark-run/1", ');
  const c = cli('compare', brokenRun, STUDENT);
  assert.equal(c.code, 1);
  assert.ok(c.stderr.startsWith(`error: ${brokenRun}: not valid JSON`), c.stderr);

  for (const args of [
    ['bench'],
    ['bench', STUDENT, '--runs', '3', '--duration', '2'],
    ['bench', STUDENT, '--batch', '1,0'],
    ['bench', STUDENT, '--opt', 'max'],
    ['bench', STUDENT, '--text', 'x.txt'],
    ['bench', STUDENT, '--json', '--csv'],
    ['bench', STUDENT, TEACHER, '--out', path.join(dir, 'one-file.json')],
    ['bench', STUDENT, '--frobnicate'],
    ['compare', STUDENT, '--baseline', 'nobody'],
  ]) {
    const u = cli(...args);
    assert.equal(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, /^error: /);
  }
});
