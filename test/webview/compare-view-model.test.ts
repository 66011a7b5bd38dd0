import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompareView } from '../../src/shared/protocol';
import type { CompareRow } from '../../src/core/benchmark/compare';
import type { EnvironmentRecord } from '../../src/core/benchmark/types';
import {
  comparePanel, compareTable, configKey, configLabel, configOptions, environmentSummary, formatMs, formatPct, formatSpeedup,
  formatThroughput, headline, latencyBars, looksLikeCompareView, noisyReason, panelWarnings, rowModelIndices, runStatusLines,
  scatterChart, seqChart, shortLabel, wrapLabel,
} from '../../webview/compare/view-model';

const HOSTILE = '<img src=x onerror=alert(1)>"; DROP TABLE runs; --';

const ENV: EnvironmentRecord = {
  cpuModel: 'AMD Ryzen 7 5800X 8-Core Processor', cores: 16, os: 'Linux 6.1.0 x64', node: 'v20.11.1', onnxruntime: '1.30.0', timestamp: '2025-05-14T09:12:00.000Z',
};

function row(over: Partial<CompareRow> & Pick<CompareRow, 'model' | 'path' | 'p50'>): CompareRow {
  return {
    baseline: false, batch: 1, seq: 128, threads: 2, bytes: 48_000_000, p95: over.p50 * 1.1, sequencesPerSec: 1000 / over.p50,
    speedup: 1, sizePct: 100, noisy: false, ...over,
  };
}

/** A teacher and two students at batch 1 / seq 128 / 2 threads; the second student's run was cancelled before seq 128. */
function view(): CompareView {
  return {
    config: { batch: 1, seq: 128, threads: 2 },
    configs: [
      { batch: 1, seq: 32, threads: 2 },
      { batch: 1, seq: 64, threads: 2 },
      { batch: 1, seq: 128, threads: 2 },
      { batch: 1, seq: 128, threads: 1 },
    ],
    baseline: 0,
    rows: [
      row({ model: 'bert-teacher', path: '/m/bert-teacher/model.onnx', baseline: true, params: 12_000_000, bytes: 48_000_000, flops: 1_512_000_000, p50: 40, p95: 44.8, sequencesPerSec: 24.3, speedup: 1, paramsPct: 100, sizePct: 100 }),
      row({ model: HOSTILE, path: '/m/<script>alert(1)</script>/model.onnx', params: 6_000_000, bytes: 24_000_000, p50: 20, p95: 34, sequencesPerSec: 48.6, speedup: 2, paramsPct: 50, sizePct: 50, noisy: true }),
    ],
    models: [
      { name: 'bert-teacher', path: '/m/bert-teacher/model.onnx', status: 'complete', family: 'BERT', environment: ENV },
      { name: HOSTILE, path: '/m/<script>alert(1)</script>/model.onnx', status: 'complete', family: 'DistilBERT', environment: ENV },
      { name: 'mobilebert-student', path: '/m/mobilebert/model.onnx', status: 'cancelled', error: 'cancelled by the user', family: 'MobileBERT', environment: { ...ENV, onnxruntime: '1.29.0', timestamp: '2025-05-15T10:00:00.000Z' } },
    ],
    latencyVsSeq: [
      { model: 'bert-teacher', points: [{ seq: 128, p50: 40, p95: 44.8 }, { seq: 32, p50: 12, p95: 13 }, { seq: 64, p50: 21, p95: 23 }] },
      { model: HOSTILE, points: [{ seq: 64, p50: 11, p95: 12 }, { seq: 32, p50: 6, p95: 7 }, { seq: 128, p50: 20, p95: 34 }] },
      { model: 'mobilebert-student', points: [{ seq: 64, p50: 6.2, p95: 7 }, { seq: 32, p50: 3.6, p95: 4 }] },
    ],
    warnings: ['mobilebert-student: no result at batch 1, seq 128, 2 threads (cancelled: cancelled by the user)', 'the machine was busy'],
    noisyCv: 0.1,
  };
}

test('formatting', () => {
  assert.equal(formatMs(4.567), '4.57');
  assert.equal(formatMs(40), '40.0');
  assert.equal(formatMs(1234.5), '1,235');
  assert.equal(formatMs(NaN), '—');
  assert.equal(formatSpeedup(2), '2.00x');
  assert.equal(formatSpeedup(40 / 21), '1.90x');
  assert.equal(formatSpeedup(Infinity), '—');
  assert.equal(formatThroughput(47.62), '47.6');
  assert.equal(formatThroughput(1250.4), '1,250');
  assert.equal(formatPct(66.666), '66.7%');
  assert.equal(formatPct(undefined), '—');
});

test('table rows: speed-up, percentages of the baseline, sizes, the baseline and noisy markers', () => {
  const rows = compareTable(view());
  assert.equal(rows.length, 2);
  const [teacher, student] = rows;
  assert.equal(teacher.baseline, true);
  assert.equal(student.baseline, false);
  assert.equal(teacher.index, 0);
  assert.equal(student.index, 1);
  assert.equal(teacher.speedupText, '1.00x');
  assert.equal(teacher.trend, 'same');
  assert.equal(student.speedupText, '2.00x', 'half the p50 is twice as fast');
  assert.equal(student.trend, 'faster');
  assert.equal(student.paramsPctText, '50.0%');
  assert.equal(student.sizePctText, '50.0%');
  assert.equal(teacher.paramsText, '12.00 M');
  assert.equal(teacher.paramsExact, '12,000,000 parameters');
  assert.equal(teacher.sizeText, '45.8 MB');
  assert.equal(teacher.flopsText, '1.51 G');
  assert.equal(student.flopsText, '—', 'no FLOPs at this length');
  assert.equal(teacher.p50Text, '40.0');
  assert.equal(teacher.p95Text, '44.8');
  assert.equal(student.throughputText, '48.6');
  assert.equal(teacher.family, 'BERT');
  assert.equal(teacher.noisy, false);
  assert.equal(teacher.noisyReason, undefined);
  assert.equal(student.noisy, true);
  assert.match(student.noisyReason ?? '', /more than 10% between runs/);
  assert.match(student.noisyReason ?? '', /p95 is 1\.70x p50/);
  assert.equal(noisyReason({ p50: 0, p95: 1 }, 0.1).includes('p95 is'), false);
});

test('a slower model is marked slower', () => {
  const v = view();
  v.rows[1] = { ...v.rows[1], p50: 50, speedup: 0.8 };
  const r = compareTable(v)[1];
  assert.equal(r.speedupText, '0.80x');
  assert.equal(r.trend, 'slower');
  assert.match(headline(v) ?? '', /^No model beats the baseline bert-teacher/);
});

test('rows map to their models in order, skipping models without a result', () => {
  const v = view();
  assert.deepEqual(rowModelIndices(v), [0, 1]);
  // The same model benchmarked twice: each row keeps its own model.
  const twice: CompareView = {
    ...v,
    rows: [v.rows[0], { ...v.rows[0], baseline: false }],
    models: [v.models[0], v.models[2], v.models[0]],
  };
  assert.deepEqual(rowModelIndices(twice), [0, 2]);
});

test('the headline names the fastest model', () => {
  assert.equal(headline(view()), `Fastest: ${HOSTILE}, 2.00x the speed of bert-teacher with 50.0% of its parameters.`);
  assert.equal(headline({ ...view(), rows: [view().rows[0]] }), undefined);
});

test('latency bars: p50 and p95 per row, the baseline marked', () => {
  const bars = latencyBars(compareTable(view()));
  assert.deepEqual(bars.labels, ['bert-teacher', HOSTILE]);
  assert.deepEqual(bars.p50, [40, 20]);
  assert.deepEqual(bars.p95, [44.8, 34]);
  assert.deepEqual(bars.colors, [0, 1]);
  assert.equal(bars.baseline, 0);
  assert.match(bars.description, /bert-teacher p50 40\.0, p95 44\.8/);
  assert.equal(latencyBars([]).description, 'No latencies to chart.');
});

test('latency against sequence length: one line per model, sorted by length, partial runs included', () => {
  const chart = seqChart(view());
  assert.equal(chart.series.length, 3);
  assert.deepEqual(chart.series.map((s) => s.model), ['bert-teacher', HOSTILE, 'mobilebert-student']);
  for (const s of chart.series) {
    const seqs = s.points.map((p) => p.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), s.model);
  }
  assert.deepEqual(chart.series[0].points.map((p) => p.p50), [12, 21, 40]);
  assert.deepEqual(chart.series[2].points.map((p) => p.seq), [32, 64]);
  assert.deepEqual(chart.series.map((s) => s.color), [0, 1, 2]);
  assert.deepEqual(chart.series.map((s) => s.baseline), [true, false, false]);
  assert.deepEqual(chart.seqs, [32, 64, 128]);
  assert.match(chart.description, /batch 1, 2 threads/);
  // A model without points has no line.
  const v = view();
  v.latencyVsSeq[2] = { model: 'mobilebert-student', points: [] };
  assert.deepEqual(seqChart(v).series.map((s) => s.model), ['bert-teacher', HOSTILE]);
});

test('params against latency: one labelled point per model with a parameter count', () => {
  const rows = compareTable(view());
  const s = scatterChart(rows);
  assert.deepEqual(s.points.map((p) => [p.model, p.params, p.p50, p.baseline]), [['bert-teacher', 12_000_000, 40, true], [HOSTILE, 6_000_000, 20, false]]);
  assert.equal(s.points[0].label, 'bert-teacher');
  assert.equal(s.points[1].label, shortLabel(HOSTILE));
  assert.ok([...s.points[1].label].length <= 28);
  assert.ok(s.points[1].label.endsWith('…'));
  assert.deepEqual(s.missing, []);
  const v = view();
  v.rows[1] = { ...v.rows[1], params: undefined, paramsPct: undefined };
  const without = scatterChart(compareTable(v));
  assert.equal(without.points.length, 1);
  assert.deepEqual(without.missing, [HOSTILE]);
  assert.match(without.description, /Without a parameter count/);
  assert.equal(compareTable(v)[1].paramsText, '—');
  assert.equal(compareTable(v)[1].paramsPctText, '—');
});

test('configuration options: labels, keys, the shown one selected', () => {
  const opts = configOptions(view());
  assert.deepEqual(opts.map((o) => o.label), [
    'batch 1 · seq 32 · 2 threads', 'batch 1 · seq 64 · 2 threads', 'batch 1 · seq 128 · 2 threads', 'batch 1 · seq 128 · 1 thread',
  ]);
  assert.deepEqual(opts.map((o) => o.selected), [false, false, true, false]);
  assert.deepEqual(opts[3].config, { batch: 1, seq: 128, threads: 1 });
  assert.equal(opts[0].key, '1/32/2');
  assert.equal(configLabel({ batch: 8, seq: 512, threads: 1 }), 'batch 8 · seq 512 · 1 thread');
  assert.equal(configKey({ batch: 8, seq: 512, threads: 4 }), '8/512/4');
  // A shown configuration the list lacks is offered first; duplicates are dropped.
  const v = { ...view(), config: { batch: 4, seq: 128, threads: 2 }, configs: [{ batch: 1, seq: 32, threads: 2 }, { batch: 1, seq: 32, threads: 2 }] };
  assert.deepEqual(configOptions(v).map((o) => [o.label, o.selected]), [['batch 4 · seq 128 · 2 threads', true], ['batch 1 · seq 32 · 2 threads', false]]);
});

test('status lines for runs that did not complete, with their error', () => {
  const lines = runStatusLines(view());
  assert.equal(lines.length, 1);
  assert.equal(lines[0].model, 'mobilebert-student');
  assert.equal(lines[0].status, 'cancelled');
  assert.equal(lines[0].label, 'Cancelled');
  assert.equal(lines[0].index, 2);
  assert.equal(lines[0].error, 'cancelled by the user');
  assert.match(lines[0].detail, /not in the table/);
  // A cancelled run that did measure this configuration is in the table, and says so.
  const v = view();
  v.models[1] = { ...v.models[1], status: 'timeout', error: 'no answer within 600 s' };
  v.models[2] = { ...v.models[2], status: 'failed', error: undefined };
  const more = runStatusLines(v);
  assert.deepEqual(more.map((l) => [l.model, l.label, l.error]), [[HOSTILE, 'Timed out', 'no answer within 600 s'], ['mobilebert-student', 'Failed', undefined]]);
  assert.match(more[0].detail, /the table shows the configurations it completed/);
  assert.equal(compareTable(v)[1].status, 'timeout');
});

test('warnings: the host\'s, less those a status line already gives', () => {
  assert.deepEqual(panelWarnings(view()), ['the machine was busy']);
  const v = view();
  v.models[2] = { ...v.models[2], status: 'complete' };
  assert.equal(panelWarnings(v).length, 2);
});

test('environment: one line when the runs agree, flagged with per-value models when they differ', () => {
  const differs = environmentSummary(view());
  assert.equal(differs.differs, true);
  assert.deepEqual(differs.differing, ['onnxruntime']);
  assert.match(differs.text, /different environments \(onnxruntime differ/);
  const ort = differs.facts.find((f) => f.id === 'onnxruntime');
  assert.equal(ort?.differs, true);
  assert.deepEqual(ort?.groups, [{ value: '1.30.0', models: ['bert-teacher', HOSTILE] }, { value: '1.29.0', models: ['mobilebert-student'] }]);
  assert.deepEqual(ort?.perModel.map((p) => p.model), ['bert-teacher', HOSTILE, 'mobilebert-student']);
  assert.equal(differs.facts.find((f) => f.id === 'cpu')?.differs, false);
  assert.equal(differs.measured, '2025-05-14 to 2025-05-15');

  const v = view();
  v.models[2] = { ...v.models[2], environment: ENV };
  const same = environmentSummary(v);
  assert.equal(same.differs, false);
  assert.deepEqual(same.differing, []);
  assert.equal(same.text, 'AMD Ryzen 7 5800X 8-Core Processor · 16 cores · Linux 6.1.0 x64 · Node v20.11.1 · onnxruntime 1.30.0');
  assert.equal(same.measured, '2025-05-14');
  assert.deepEqual(same.facts.map((f) => [f.label, f.value]), [
    ['CPU', 'AMD Ryzen 7 5800X 8-Core Processor'], ['Cores', '16'], ['OS', 'Linux 6.1.0 x64'], ['Node', 'v20.11.1'], ['onnxruntime', '1.30.0'],
  ]);
});

test('hostile model names and paths come back unchanged, as text', () => {
  const panel = comparePanel(view());
  assert.equal(panel.rows[1].model, HOSTILE);
  assert.equal(panel.rows[1].path, '/m/<script>alert(1)</script>/model.onnx');
  assert.equal(panel.latency.labels[1], HOSTILE);
  assert.equal(panel.scatter.points[1].model, HOSTILE);
  assert.equal(panel.seq.series[1].model, HOSTILE);
  assert.ok(panel.latency.description.includes(HOSTILE));
  assert.ok(panel.environment.facts.find((f) => f.id === 'onnxruntime')?.groups[0].models.includes(HOSTILE));
  assert.ok(!JSON.stringify(panel).includes('&lt;'), 'nothing is HTML-escaped: the DOM layer sets text');
});

test('the whole panel', () => {
  const panel = comparePanel(view());
  assert.equal(panel.title, 'Comparing 3 models');
  assert.equal(panel.subtitle, 'batch 1 · seq 128 · 2 threads · baseline bert-teacher');
  assert.equal(panel.headers.find((h) => h.id === 'flops')?.label, 'MACs @ 128');
  assert.equal(panel.rows.length, 2);
  assert.equal(panel.statuses.length, 1);
  assert.equal(panel.environment.differs, true);
  const empty = comparePanel({ ...view(), rows: [], latencyVsSeq: [] });
  assert.equal(empty.rows.length, 0);
  assert.equal(empty.headline, undefined);
  assert.equal(empty.subtitle, 'batch 1 · seq 128 · 2 threads');
  assert.equal(empty.statuses.length, 1);
});

test('chart labels wrap at separators and are cut with an ellipsis', () => {
  assert.deepEqual(wrapLabel('bert-base-teacher', 20), ['bert-base-teacher']);
  assert.deepEqual(wrapLabel('distilbert-student', 11), ['distilbert-', 'student']);
  assert.deepEqual(wrapLabel('abcdefghijklmnop', 6), ['abcdef', 'ghijk…']);
  assert.deepEqual(wrapLabel('a b', 1), ['a', 'b']);
  assert.equal(shortLabel('short'), 'short');
  assert.equal(shortLabel('x'.repeat(40), 10), `${'x'.repeat(9)}…`);
});

test('a view is checked before it is shown', () => {
  assert.equal(looksLikeCompareView(view()), true);
  assert.equal(looksLikeCompareView(null), false);
  assert.equal(looksLikeCompareView({ ...view(), rows: [{ model: 1 }] }), false);
  assert.equal(looksLikeCompareView({ ...view(), config: { batch: 1 } }), false);
  assert.equal(looksLikeCompareView({ ...view(), models: undefined }), false);
});

test('accuracy columns: only when a run that evaluated the models gave an accuracy; a share of the baseline\'s', () => {
  const plain = comparePanel(view());
  assert.equal(plain.headers.some((c) => c.id === 'accuracy'), false);
  const v = view();
  v.rows[0] = { ...v.rows[0], accuracy: 0.9, accuracyPct: 100 };
  v.rows[1] = { ...v.rows[1], accuracy: 0.855, accuracyPct: 95 };
  const p = comparePanel(v);
  assert.deepEqual(p.headers.slice(-2).map((c) => c.label), ['Accuracy', 'Accuracy %']);
  assert.deepEqual(p.rows.map((r) => [r.accuracyText, r.accuracyPctText]), [['90.00%', '100.0%'], ['85.50%', '95.0%']]);
  assert.match(p.headline ?? '', /with 50\.0% of its parameters and 95\.0% of its accuracy\.$/);
});
