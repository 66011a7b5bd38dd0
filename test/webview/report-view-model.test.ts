// The compression report panel's view-model: cells with their missing and stale marks (and why,
// in build-report's words), the accuracy-latency points and the frontier line from fastest to
// slowest, parameters per component, the layer maps; model strings passed on unchanged (the DOM
// layer writes them as text), and a malformed payload refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompressionReport, ReportRow } from '../../src/core/report/build-report';
import { componentsChart, layerMaps, looksLikeReport, markCounts, reportRows, subtitle, tradeoffChart } from '../../webview/report/view-model';

const HOSTILE = '<img src=x onerror=alert(1)>';
const comps = (emb: number, enc: number) => ({ embeddings: emb, encoder: enc, pooler: 1000, head: 99, other: 0 });

function row(over: Partial<ReportRow> & Pick<ReportRow, 'name' | 'role'>): ReportRow {
  return { technique: 'baseline', how: 'the model being compressed', path: `/w/${over.name}.onnx`, exists: true, runFiles: [], notes: [], ...over };
}

const report: CompressionReport = {
  created: '2026-01-01T00:00:00.000Z', config: { batch: 1, seq: 32 }, warnings: [],
  rows: [
    row({ name: 'teacher', role: 'teacher', params: 100_000, paramsPct: 100, bytes: 400_000, p50: 4, speedup: 1, accuracy: 0.9, accuracyPct: 100, components: comps(20_000, 79_000), pareto: true }),
    row({ name: HOSTILE, role: 'student', technique: 'sharing and factorisation', params: 40_000, paramsPct: 40, p50: 3.9, speedup: 1.03, accuracy: 0.8, accuracyPct: 88.9, components: comps(10_000, 29_000), pareto: true, trainingSec: 12,
      layerMap: { teacherLayers: 2, studentLayers: 2, links: [{ student: 1, teacher: 1, role: 'both' }] }, notes: ['latency stale: measured on other bytes of x.onnx (2026-01-01); benchmark it again'] }),
    row({ name: 'teacher int8', role: 'quantized', technique: 'quantization', params: 100_000, p50: undefined, accuracy: 0.89, notes: ['latency missing: no benchmark of this file at batch 1, seq 32'] }),
    row({ name: 'slow', role: 'student', p50: 5, accuracy: 0.7, pareto: false, notes: ['accuracy stale: slow.onnx changed after the run that evaluated it; evaluate it again'] }),
  ],
};

test('cells: figures formatted, a missing latency marked with why, a stale one still shown and marked', () => {
  const rows = reportRows(report);
  assert.equal(rows[0].cells.params.text, '100.0 K');
  assert.equal(rows[0].cells.accuracy.text, '90.00%');
  assert.equal(rows[1].name, HOSTILE, 'unchanged: the DOM layer writes it as text');
  assert.deepEqual(rows[1].cells.p50, { text: '3.90', mark: 'stale', title: report.rows[1].notes[0] });
  assert.equal(rows[1].cells.speedup.mark, 'stale');
  assert.deepEqual(rows[2].cells.p50, { text: '—', mark: 'missing', title: 'latency missing: no benchmark of this file at batch 1, seq 32' });
  assert.equal(rows[3].cells.accuracy.mark, 'stale');
  assert.equal(rows[0].cells.p50.mark, undefined);
  assert.deepEqual(markCounts(rows), { missing: 2, stale: 4 });
  assert.equal(subtitle(report, '.compression-lab/runs', 6), '6 runs in .compression-lab/runs · latency p50 at batch 1, seq 32 · percentages of the teacher');
});

test('the trade-off: one point per model with both figures, the frontier from fastest to slowest, the others said', () => {
  const t = tradeoffChart(reportRows(report), report);
  assert.deepEqual(t.points.map((p) => [p.p50, p.accuracy, p.pareto, p.stale]), [[4, 90, true, false], [3.9, 80, true, true], [5, 70, false, true]]);
  assert.deepEqual(t.frontier, [{ p50: 3.9, accuracy: 80 }, { p50: 4, accuracy: 90 }]);
  assert.deepEqual(t.left, ['teacher int8 (no latency)']);
  assert.deepEqual([t.yMin, t.yMax], [67, 92], 'room around the points, within 0..100');
  const top = tradeoffChart(reportRows({ ...report, rows: [{ ...report.rows[0], accuracy: 0.99 }] }), { ...report, rows: [{ ...report.rows[0], accuracy: 0.99 }] });
  assert.equal(top.yMax, 100);
  assert.match(t.description, /teacher 90\.00% at 4\.00 ms \(on the frontier\)/);
});

test('parameters per component (empty components left out), and the layer maps of the students that have one', () => {
  const c = componentsChart(report);
  assert.deepEqual(c.labels, ['teacher', HOSTILE]);
  assert.deepEqual(c.series.map((s) => s.component), ['embeddings', 'encoder', 'pooler', 'head']);
  assert.deepEqual(c.series[0].values, [20_000, 10_000]);
  assert.deepEqual(layerMaps(report).map((m) => m.name), [HOSTILE]);
});

test('a malformed report is refused', () => {
  assert.equal(looksLikeReport(report), true);
  assert.equal(looksLikeReport({ rows: [{ name: 1 }], warnings: [], config: { seq: 1 } }), false);
  assert.equal(looksLikeReport(null), false);
});
