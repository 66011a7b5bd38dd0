// The compression report from real runs: a teacher trained, a student distilled, both benchmarked;
// rows, percentages and the frontier; a changed file marked stale, a missing figure said missing;
// the HTML one self-contained file with every model string escaped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../../src/core/onnx/bert-builder';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import { train } from '../../../src/core/training/trainer';
import { distill } from '../../../src/core/distill/distill';
import { runBenchmark } from '../../../src/core/benchmark/runner';
import { benchmarkRecord, RUN_SCHEMA, saveRunIn, type RunRecord } from '../../../src/core/runs/run-record';
import { describeEnvironment, hashFiles } from '../../../src/core/benchmark/environment';
import { buildReport, markPareto, type ReportRow } from '../../../src/core/report/build-report';
import { reportHtml } from '../../../src/core/report/render-html';
import { reportCsv, reportMarkdown } from '../../../src/core/report/render-text';
import { writeTokenData } from '../../helpers/data';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-report-'));
const runs = path.join(dir, 'runs');
let teacherFile = '';
let studentFile = '';
after(() => rmSync(dir, { recursive: true, force: true }));

async function bench(model: string): Promise<void> {
  const run = await runBenchmark({ model, batches: [1], seqs: [32], threads: [1], warmup: 1, runs: 5, session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' }, inputs: { kind: 'synthetic' } });
  saveRunIn(runs, benchmarkRecord(run));
}

function record<K extends 'train' | 'distill'>(kind: K, model: string, settings: RunRecord<K>['settings'], result: RunRecord<K>['result']): RunRecord<K> {
  return { schema: RUN_SCHEMA, kind, id: `${kind}-${Math.random()}`, created: new Date().toISOString(), model: { path: model, name: path.basename(model), sha256: '', bytes: 0 }, settings, environment: describeEnvironment(), status: 'complete', result } as RunRecord<K>;
}

before(async () => {
  const data = writeTokenData(path.join(dir, 'train.jsonl'), 128, 3);
  const init = path.join(dir, 'init.onnx');
  writeModel(init, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 4, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));
  const t = { model: init, data, eval: data, out: path.join(dir, 'teacher.onnx'), epochs: 2, batchSize: 16, lr: 3e-3, threads: 1 };
  const tr = await train(t);
  teacherFile = tr.out;
  saveRunIn(runs, record('train', init, t, { ...tr, history: [], evals: tr.evals }));
  const d = { recipe: 'tinybert' as const, teacher: teacherFile, data, eval: data, out: path.join(dir, 'student <b>&.onnx'), layers: 1, hidden: 16, stage1Steps: 3, maxSteps: 3, batchSize: 16, threads: 1, cacheDir: path.join(dir, 'cache') };
  const dr = await distill(d);
  studentFile = dr.out;
  const rec = record('distill', teacherFile, d, { ...dr, history: [], evals: dr.evals });
  rec.model.sha256 = await hashFiles([teacherFile]);
  saveRunIn(runs, rec);
  await bench(teacherFile);
  await bench(studentFile);
}, { timeout: 120_000 });

test('rows: the teacher and its student, with percentages of the teacher, technique, training time and the frontier', async () => {
  const report = await buildReport([runs], { batch: 1, seq: 32 });
  assert.deepEqual(report.rows.map((r) => [r.role, r.technique]), [['teacher', 'baseline'], ['student', 'layer-wise distillation']]);
  const [t, s] = report.rows;
  assert.equal(t.paramsPct, 100);
  assert.ok(s.paramsPct! < 100 && s.speedup! > 0 && s.accuracyPct !== undefined && s.trainingSec! > 0 && t.trainingSec! > 0);
  assert.ok(s.layerMap && s.layerMap.links.length === 2);
  assert.ok(t.p50! > 0 && s.p50! > 0);
  assert.ok(report.rows.some((r) => r.pareto));
  assert.deepEqual(report.rows.flatMap((r) => r.notes), []);
});

test('the frontier: a model both less accurate and slower than another is off it', () => {
  const rows = [{ accuracy: 0.9, p50: 10 }, { accuracy: 0.85, p50: 4 }, { accuracy: 0.8, p50: 6 }, { accuracy: 0.9, p50: 12 }].map((x, i) => ({ ...x, name: String(i) }) as ReportRow);
  markPareto(rows);
  assert.deepEqual(rows.map((r) => r.pareto), [true, true, false, false]);
});

test('a student file changed since its runs: its latency and its accuracy are marked stale; a file never benchmarked is marked missing', async () => {
  const copy = path.join(dir, 'other.onnx');
  writeModel(copy, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64, numLabels: 3 }));
  // Rewrite the student: same path, other bytes.
  writeModel(studentFile, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64, numLabels: 3, seed: 99 }));
  const report = await buildReport([runs, copy], { batch: 1, seq: 32 });
  const s = report.rows.find((r) => r.path === studentFile)!;
  assert.ok(s.notes.some((n) => /latency stale/.test(n)), s.notes.join('; '));
  assert.ok(s.notes.some((n) => /accuracy stale/.test(n)), s.notes.join('; '));
  const o = report.rows.find((r) => r.path === copy)!;
  assert.ok(o.notes.some((n) => /latency missing/.test(n)) && o.notes.some((n) => /accuracy missing/.test(n)));
  assert.match(reportMarkdown(report), /Notes:\n- .*latency stale/);
});

test('the HTML is one self-contained file (no script, nothing fetched) with model names escaped; Markdown and CSV carry the same rows', async () => {
  const report = await buildReport([runs], { batch: 1, seq: 32 });
  report.rows[1].name = '<script>alert(1)</script>';
  const html = reportHtml(report);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)=/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  for (const part of ['Accuracy against latency', 'Parameters per component', 'Layer maps', '<svg']) assert.ok(html.includes(part), part);
  assert.equal(reportCsv(report).trim().split('\n').length, 3);
  assert.equal(reportMarkdown(report).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| model') && !l.startsWith('| ---')).length, 2);
});

test('a teacher retrained in place: its figures come from the run about the file as it is now, not from runs about its older bytes', async () => {
  const runs2 = path.join(dir, 'runs-retrained');
  cpSync(runs, runs2, { recursive: true });
  const good = await buildReport([runs], { batch: 1, seq: 32 });
  const t0 = good.rows.find((r) => r.role === 'teacher')!;
  const older = record('train', teacherFile, { model: teacherFile, data: '', out: teacherFile } as never, { out: teacherFile, outSha256: 'a'.repeat(64), durationSec: 999, evals: [{ step: 1, accuracy: 0.123, loss: 1, examples: 1 }], history: [] } as never);
  older.created = '2999-01-01T00:00:00.000Z'; // newest of all, but about other bytes
  older.id = 'older-train';
  saveRunIn(runs2, older);
  const other = record('distill', teacherFile, { recipe: 'tinybert', teacher: teacherFile, data: '', out: path.join(dir, 'gone.onnx') } as never, { out: path.join(dir, 'gone.onnx'), teacher: { file: teacherFile, sha256: 'b'.repeat(64), accuracy: 0.456 }, evals: [], history: [] } as never);
  other.model.sha256 = 'b'.repeat(64);
  other.created = '2000-01-01T00:00:00.000Z'; // the first file in the folder
  other.id = 'newer-distill';
  saveRunIn(runs2, other);
  const t = (await buildReport([runs2], { batch: 1, seq: 32 })).rows.find((r) => r.role === 'teacher')!;
  assert.equal(t.accuracy, t0.accuracy);
  assert.equal(t.trainingSec, t0.trainingSec);
  assert.ok(!t.notes.some((n) => /stale/.test(n)), t.notes.join('; '));
});
