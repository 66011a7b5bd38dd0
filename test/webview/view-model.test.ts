import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { openModel } from '../../src/core/open-model';
import { analyzeModel, type ModelCard } from '../../src/core/analysis/model-card';
import type { TensorRow } from '../../src/core/analysis/rows';
import {
  componentChart, componentRows, configRows, configSummary, dtypeRows, formatBytes, formatCount, formatIndexList,
  formatMacs, formatPercent, formatShape, layerChart, layerMap, parseSeq, quantizationView, setLetter, summaryOf, TensorTable,
} from '../../webview/view-model';
import { forwardSpecFromModel } from '../../src/core/onnx/forward-spec';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { quantizeDynamic } from '../../src/core/quantize/quantize-dynamic';

const CORPUS = path.resolve(__dirname, '../../../shared/corpus/bert-family');
if (!existsSync(CORPUS)) throw new Error(`the shared corpus is missing at ${CORPUS}: clone the repo beside shared/`);

const cards = new Map<string, Promise<ModelCard>>();
function card(name: string): Promise<ModelCard> {
  let c = cards.get(name);
  if (!c) {
    c = openModel(path.join(CORPUS, name)).then((m) => analyzeModel(m));
    cards.set(name, c);
  }
  return c;
}

const headline = (c: ModelCard, id: string) => summaryOf(c).headline.find((f) => f.id === id);
const detail = (c: ModelCard, id: string) => summaryOf(c).details.find((f) => f.id === id);

// ---------------------------------------------------------------------------------------------
// Formatting

test('formatting helpers', () => {
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1000), '1,000');
  assert.equal(formatCount(-64450), '-64,450');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1.2 * 1024 * 1024), '1.20 MB');
  assert.equal(formatBytes(261048), '255 KB');
  assert.equal(formatBytes(12.5 * 1024 ** 3), '12.5 GB');
  assert.equal(formatMacs(16777216), '16.78 M MACs');
  assert.equal(formatMacs(2.5e9), '2.50 G MACs');
  assert.equal(formatMacs(4096), '4.1 K MACs');
  assert.equal(formatMacs(128), '128 MACs');
  assert.equal(formatPercent(49984, 64450), '77.6%');
  assert.equal(formatPercent(1, 1e6), '<0.1%');
  assert.equal(formatPercent(0, 10), '0.0%');
  assert.equal(formatShape([500, 16]), '500 × 16');
  assert.equal(formatShape([]), 'scalar');
  assert.equal(formatIndexList([0, 1, 2, 5, 7, 8]), '0–2, 5, 7, 8');
  assert.equal(formatIndexList([]), '');
  assert.equal(setLetter(0), 'A');
  assert.equal(setLetter(25), 'Z');
  assert.equal(setLetter(26), 'AA');
});

test('sequence length input: whole numbers from 1 to 100,000', () => {
  assert.deepEqual(parseSeq('128'), { ok: true, seq: 128 });
  assert.deepEqual(parseSeq(' 1 '), { ok: true, seq: 1 });
  assert.deepEqual(parseSeq('100000'), { ok: true, seq: 100000 });
  assert.deepEqual(parseSeq('100,000'), { ok: true, seq: 100000 });
  for (const bad of ['', '0', '100001', '-5', '1.5', '12x', 'abc', '1e3', '128 tokens']) {
    const r = parseSeq(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.ok(r.error.length > 0);
  }
});

// ---------------------------------------------------------------------------------------------
// The four corpus models

const TOTALS: Record<string, string> = {
  'bert-mini': '140,675',
  'distilbert-mini': '140,482',
  'albert-mini': '64,450',
  'mobilebert-mini': '38,914',
};
const FAMILIES: Record<string, string> = { 'bert-mini': 'BERT', 'distilbert-mini': 'DistilBERT', 'albert-mini': 'ALBERT', 'mobilebert-mini': 'MobileBERT' };

for (const name of Object.keys(TOTALS)) {
  test(`${name}: summary, components, dtypes`, async () => {
    const c = await card(name);
    const s = summaryOf(c);
    assert.equal(s.family, FAMILIES[name]);
    assert.equal(headline(c, 'family')?.value, FAMILIES[name]);
    assert.equal(headline(c, 'total-params')?.value, TOTALS[name]);
    assert.equal(detail(c, 'unique-params')?.value, TOTALS[name]);
    assert.equal(detail(c, 'executed-params')?.value, formatCount(c.params.executed));
    assert.equal(headline(c, 'size-on-disk')?.value, formatBytes(c.bytes.onDisk));
    assert.equal(headline(c, 'flops-value')?.value, formatMacs(c.flops.total));
    assert.match(headline(c, 'flops-value')?.detail ?? '', /128 tokens/);
    assert.deepEqual(s.evidence, c.familyEvidence);
    assert.ok(s.evidence.length > 0);
    // Every fact has a distinct id (they become data-testids).
    const ids = [...s.headline, ...s.details].map((f) => f.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids.join(',')}`);

    const rows = componentRows(c);
    assert.ok(rows.length >= 3);
    assert.equal(rows.reduce((sum, r) => sum + r.params, 0), c.params.total);
    for (const r of rows) {
      assert.equal(r.params, c.params.byComponent[r.component]);
      assert.equal(r.paramsText, formatCount(r.params));
      assert.equal(r.macs, c.flops.byComponent[r.component]);
    }
    assert.ok(Math.abs(rows.reduce((sum, r) => sum + r.percent, 0) - 100) < 1e-9);
    assert.deepEqual(rows.map((r) => r.component).slice(0, 2), ['embeddings', 'encoder']);
    const chart = componentChart(rows);
    assert.equal(chart.labels.length, chart.values.length);
    assert.ok(chart.values.every((v) => v > 0));

    const dt = dtypeRows(c);
    assert.equal(dt.length, c.dtypes.length);
    assert.equal(dt[0].dtype, 'float32');
    assert.equal(dt[0].elements, TOTALS[name]);
  });
}

test('albert-mini: 3 executed layers, all one shared set', async () => {
  const c = await card('albert-mini');
  const map = layerMap(c);
  assert.equal(map.executed, 3);
  assert.equal(map.unique, 1);
  assert.equal(map.rows.length, 3);
  for (const r of map.rows) {
    assert.equal(r.shared, true);
    assert.equal(r.sharedSet, 'A');
    assert.equal(r.params, 49984);
    assert.equal(r.paramsText, '49,984');
    assert.equal(r.weights, 'group.0.inner.0');
  }
  assert.equal(map.rows[0].sharedText, 'same weights as layers 1, 2 (used 3x)');
  assert.equal(map.rows[1].sharedText, 'same weights as layers 0, 2 (used 3x)');
  assert.equal(map.rows[2].sharedText, 'same weights as layers 0, 1 (used 3x)');
  assert.equal(map.sharedSets.length, 1);
  assert.deepEqual(map.sharedSets[0].layers, [0, 1, 2]);
  assert.match(map.sharedSets[0].text, /shared set A: layers 0–2/);
  const chart = layerChart(map);
  assert.deepEqual(chart.labels, ['L0', 'L1', 'L2']);
  assert.deepEqual(chart.values, [49984, 49984, 49984]);
  assert.deepEqual(chart.sharedSet, [0, 0, 0]);
  assert.deepEqual(chart.marks, ['A', 'A', 'A']);
  assert.equal(headline(c, 'total-params')?.detail, '164,418 as executed');
  assert.equal(detail(c, 'executed-params')?.value, '164,418');
  assert.equal(detail(c, 'layers')?.detail, '1 distinct weight set');
});

for (const name of ['bert-mini', 'distilbert-mini', 'mobilebert-mini']) {
  test(`${name}: layers run weights of their own`, async () => {
    const c = await card(name);
    const map = layerMap(c);
    assert.equal(map.rows.length, 2);
    assert.equal(map.sharedSets.length, 0);
    for (const r of map.rows) {
      assert.equal(r.shared, false);
      assert.equal(r.sharedSet, undefined);
      assert.equal(r.sharedText, '');
      assert.equal(r.macs, c.flops.perLayer[r.index]);
    }
    assert.deepEqual(layerChart(map).sharedSet, [-1, -1]);
  });
}

test('mobilebert-mini: bottleneck 16 inside the 64-wide block', async () => {
  const c = await card('mobilebert-mini');
  const map = layerMap(c);
  for (const r of map.rows) {
    assert.equal(r.bottleneck, 16);
    assert.equal(r.hidden, 64);
    assert.equal(r.widthText, 'bottleneck 16 inside 64');
  }
  assert.equal(detail(c, 'bottleneck')?.value, '16');
  // Other families have no bottleneck column.
  for (const r of layerMap(await card('bert-mini')).rows) assert.equal(r.widthText, undefined);
});

test('FLOPs at another sequence length flow into the summary, components and layers', async () => {
  const c = await card('bert-mini');
  const flops = { ...c.flops, seq: 512, total: 123_456_789, perLayer: c.flops.perLayer.map((x) => x * 4), byComponent: { ...c.flops.byComponent, encoder: 99 } };
  const s = summaryOf(c, flops);
  assert.equal(s.headline.find((f) => f.id === 'flops-value')?.value, '123.46 M MACs');
  assert.match(s.headline.find((f) => f.id === 'flops-value')?.detail ?? '', /512 tokens/);
  assert.equal(componentRows(c, flops).find((r) => r.component === 'encoder')?.macs, 99);
  assert.equal(layerMap(c, flops).rows[0].macs, c.flops.perLayer[0] * 4);
});

// ---------------------------------------------------------------------------------------------
// config.json against the weights

test('config rows: all agree on the corpus models', async () => {
  for (const name of Object.keys(TOTALS)) {
    const c = await card(name);
    const rows = configRows(c.configCheck);
    assert.ok(rows.length > 0, name);
    assert.ok(rows.every((r) => !r.flagged && r.status !== 'disagrees'), name);
    assert.match(configSummary(c), /agrees/);
  }
});

test('config rows: a disagreement is flagged', async () => {
  const c = structuredClone(await card('bert-mini'));
  const i = c.configCheck.findIndex((x) => x.field === 'hidden_size');
  assert.ok(i >= 0);
  c.configCheck[i] = { ...c.configCheck[i], config: 128, agree: false };
  c.configCheck.push({ field: 'intra_bottleneck_size', config: 16, agree: true });
  const rows = configRows(c.configCheck);
  const bad = rows.filter((r) => r.flagged);
  assert.equal(bad.length, 1);
  assert.equal(bad[0].field, 'hidden_size');
  assert.equal(bad[0].config, '128');
  assert.equal(bad[0].weights, '64');
  assert.equal(bad[0].status, 'disagrees');
  const unchecked = rows.find((r) => r.field === 'intra_bottleneck_size');
  assert.equal(unchecked?.status, 'unchecked');
  assert.equal(unchecked?.flagged, false);
  assert.equal(unchecked?.weights, '—');
  assert.match(configSummary(c), /disagrees with the weights on 1 of/);
  const none = { ...c, configPath: undefined, configCheck: [] };
  assert.match(configSummary(none), /No config\.json/);
});

// ---------------------------------------------------------------------------------------------
// The tensor table

test('tensor search: "attention" on bert-mini returns only matching rows', async () => {
  const c = await card('bert-mini');
  const t = new TensorTable(c.tensors);
  const all = t.query();
  assert.equal(all.total, c.tensors.length);
  assert.equal(all.matched, c.tensors.length);
  assert.equal(all.rows.length, c.tensors.length);
  assert.deepEqual(all.rows.map((r) => r.name), c.tensors.map((x) => x.name));

  const page = t.query({ search: 'attention' });
  const expected = c.tensors.filter((x) => `${x.name} ${x.resolvedName}`.toLowerCase().includes('attention'));
  assert.ok(page.matched > 0 && page.matched < c.tensors.length);
  assert.equal(page.matched, expected.length);
  for (const r of page.rows) assert.match(r.name, /attention/i);
  assert.equal(t.query({ search: 'ATTENTION' }).matched, expected.length, 'case-insensitive');

  // Several terms must all match.
  const q = t.query({ search: 'attention query' });
  assert.ok(q.matched > 0);
  for (const r of q.rows) assert.match(r.name, /attention.*query/);

  // By layer, dtype, component.
  const l1 = t.query({ search: 'layer:1' });
  assert.ok(l1.matched > 0);
  for (const r of l1.rows) assert.equal(r.layers, '1');
  assert.equal(t.query({ search: 'dtype:float32' }).matched, c.tensors.length);
  assert.equal(t.query({ search: 'float32' }).matched, c.tensors.length);
  assert.equal(t.query({ search: 'component:pooler' }).matched, c.tensors.filter((x) => x.component === 'pooler').length);
  assert.equal(t.query({ search: 'pooler' }).matched, c.tensors.filter((x) => x.component === 'pooler').length);
  assert.equal(t.query({ search: 'layer:x' }).matched, 0);
  const none = t.query({ search: 'no-such-tensor' });
  assert.equal(none.matched, 0);
  assert.equal(none.rows.length, 0);
  assert.equal(none.first, 0);
  assert.equal(none.pages, 1);
});

test('tensor rows on ALBERT list every layer that runs the tensor', async () => {
  const c = await card('albert-mini');
  const t = new TensorTable(c.tensors);
  const q = t.query({ search: 'query.weight' });
  assert.equal(q.matched, 1);
  assert.equal(q.rows[0].layers, '0–2');
  assert.equal(q.rows[0].shape, '64 × 64');
  assert.equal(q.rows[0].elements, '4,096');
  assert.equal(q.rows[0].bytes, '16.0 KB');
  for (const n of [0, 1, 2]) assert.equal(t.query({ search: `layer:${n}` }).matched, 16);
});

test('tensor sorting', async () => {
  const c = await card('bert-mini');
  const t = new TensorTable(c.tensors);
  const bySize = t.query({ sort: 'elements', dir: 'desc' }).rows;
  assert.equal(bySize[0].name, 'bert.embeddings.word_embeddings.weight');
  const elems = bySize.map((r) => Number(r.elements.replace(/,/g, '')));
  for (let i = 1; i < elems.length; i++) assert.ok(elems[i - 1] >= elems[i]);
  const byName = t.query({ sort: 'name', dir: 'asc' }).rows.map((r) => r.name.toLowerCase());
  assert.deepEqual(byName, [...byName].sort());
  const desc = t.query({ sort: 'name', dir: 'desc' }).rows.map((r) => r.name.toLowerCase());
  assert.deepEqual(desc, [...byName].reverse());
  const byLayer = t.query({ sort: 'layers', dir: 'asc', search: 'encoder' }).rows;
  assert.equal(byLayer[0].layers, '0');
  assert.equal(byLayer[byLayer.length - 1].layers, '1');
});

/** A card with `n` tensors spread over 48 layers (no model file needed). */
function syntheticCard(base: ModelCard, n: number): ModelCard {
  const tensors: TensorRow[] = [];
  const parts = ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense', 'intermediate.dense', 'output.dense'];
  for (let i = 0; i < n; i++) {
    const layer = i % 48;
    const part = parts[Math.floor(i / 48) % parts.length];
    tensors.push({
      name: `bert.encoder.layer.${layer}.${part}.${i % 2 ? 'bias' : 'weight'}_${i}`, resolvedName: `bert.encoder.layer.${layer}.${part}.weight`,
      shape: [64, 64 + (i % 7)], dtype: i % 5 ? 'float32' : 'float16', elements: 64 * (64 + (i % 7)), bytes: 256 * (64 + (i % 7)),
      component: 'encoder', layers: [layer], role: 'query', isParam: true, uses: 1, origin: 'initializer',
    });
  }
  return { ...base, tensors };
}

test('tensor paging over a synthetic 2,500-tensor card is fast', async () => {
  const big = syntheticCard(await card('bert-mini'), 2500);
  const t = new TensorTable(big.tensors);
  const p0 = t.query({ pageSize: 100 });
  assert.equal(p0.total, 2500);
  assert.equal(p0.matched, 2500);
  assert.equal(p0.pages, 25);
  assert.equal(p0.rows.length, 100);
  assert.equal(p0.first, 1);
  assert.equal(p0.last, 100);
  assert.equal(p0.rows[0].order, 0);
  const p3 = t.query({ page: 3 });
  assert.equal(p3.rows[0].order, 300);
  assert.equal(p3.first, 301);
  assert.equal(p3.last, 400);
  const last = t.query({ page: 24 });
  assert.equal(last.rows.length, 100);
  assert.equal(last.last, 2500);
  assert.equal(t.query({ page: 999 }).page, 24, 'clamped to the last page');
  assert.equal(t.query({ page: -3 }).page, 0);
  const odd = t.query({ pageSize: 300, page: 8 });
  assert.equal(odd.pages, 9);
  assert.equal(odd.rows.length, 100);

  const f = t.query({ search: 'layer:7 value' });
  assert.ok(f.matched > 0);
  for (const r of f.rows) { assert.equal(r.layers, '7'); assert.match(r.name, /value/); }

  // Cold: the first query of each sort order also sorts.
  const queries = [
    { search: 'attention', page: 2 },
    { search: 'float16 layer.3', sort: 'elements' as const, dir: 'desc' as const },
    { search: '', sort: 'name' as const, page: 10 },
    { search: 'dense', sort: 'bytes' as const, dir: 'asc' as const, page: 1 },
    { search: 'layer:12' },
    { search: 'zzz-no-match' },
  ];
  for (const q of queries) {
    const t0 = performance.now();
    t.query(q);
    assert.ok(performance.now() - t0 < 50, `cold query ${JSON.stringify(q)}`);
  }
  // Warm: filter + page, as typing in the search box does.
  for (const q of queries) {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      t.query(q);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    assert.ok(times[7] < 5, `median ${times[7].toFixed(2)} ms for ${JSON.stringify(q)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Hostile strings stay text

test('a hostile tensor name and metadata come through unchanged', async () => {
  const hostile = '<img src=x onerror=alert(1)>';
  const c = structuredClone(await card('bert-mini'));
  c.tensors[0] = { ...c.tensors[0], name: hostile, resolvedName: hostile };
  c.tensors[1] = { ...c.tensors[1], name: 'onnx::MatMul_1', resolvedName: `${hostile}.weight`, tiedTo: '<script>x</script>' };
  c.metadata = { note: '<b>meta</b>' };
  c.familyEvidence = [...c.familyEvidence, '<i>evidence</i>'];
  const t = new TensorTable(c.tensors);
  const first = t.query().rows[0];
  assert.equal(first.name, hostile);
  assert.equal(first.resolvedName, undefined);
  const second = t.query().rows[1];
  assert.equal(second.name, 'onnx::MatMul_1');
  assert.equal(second.resolvedName, `${hostile}.weight`);
  assert.equal(second.note, 'tied to <script>x</script>');
  const found = t.query({ search: '<img' });
  assert.equal(found.matched, 2);
  assert.equal(found.rows[0].name, hostile);
  assert.equal(t.query({ search: 'onerror=alert(1)>' }).matched, 2);
  const s = summaryOf(c);
  assert.equal(s.details.find((f) => f.id === 'meta-note')?.value, '<b>meta</b>');
  assert.equal(s.evidence[s.evidence.length - 1], '<i>evidence</i>');
});

// ---------------------------------------------------------------------------------------------
// Quantized models

/** The shared model quantized (head kept float, as by default), and its card. */
async function quantizedCard(name: string, perChannel = false): Promise<ModelCard> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-vm-quant-'));
  try {
    const file = path.join(dir, `${name}.int8.onnx`);
    writeModel(file, quantizeDynamic(forwardSpecFromModel(await openModel(path.join(CORPUS, name, 'model.onnx'))), { perChannel }).spec);
    return analyzeModel(await openModel(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('quantization view: nothing for a float model', async () => {
  for (const name of Object.keys(TOTALS)) assert.equal(quantizationView(await card(name)), undefined, name);
});

test('quantization view of bert-mini int8: facts, components (head kept float), layers, the bytes saved', async () => {
  const c = await quantizedCard('bert-mini');
  const v = quantizationView(c)!;
  assert.ok(v);
  // The card's parameters are the float model's.
  assert.equal(headline(c, 'total-params')?.value, TOTALS['bert-mini']);
  const q = c.quantization!;
  assert.equal(v.headline, `13 weight matrices in int8: ${formatBytes(q.bytes.before)} → ${formatBytes(q.bytes.after)}, ${formatBytes(q.bytes.saved)} saved`);
  const ids = v.facts.map((f) => f.id);
  assert.deepEqual(ids, ['quant-weights', 'quant-params', 'quant-bytes', 'quant-bookkeeping']);
  const summaryIds = new Set([...summaryOf(c).headline, ...summaryOf(c).details].map((f) => f.id));
  for (const id of ids) assert.equal(summaryIds.has(id), false, `${id} is a distinct testid`);
  assert.equal(v.facts[0].value, '13 of 14 weight matrices');
  assert.equal(v.facts[0].detail, 'int8, per tensor');
  assert.equal(v.facts[1].value, formatCount(q.params.quantized));
  assert.match(v.facts[1].detail ?? '', /the head/);
  assert.equal(v.facts[3].value, '26 tensors');
  assert.match(v.facts[3].detail ?? '', /not parameters/);

  assert.deepEqual(v.components.map((r) => [r.key, r.state, r.quantizedText]), [['encoder', 'all', '12 of 12'], ['pooler', 'all', '1 of 1'], ['head', 'none', '0 of 1']]);
  const head = v.components.find((r) => r.key === 'head')!;
  assert.equal(head.savedText, '');
  assert.equal(head.beforeText, '—');
  const enc = q.byComponent.encoder;
  assert.equal(v.components[0].beforeText, formatBytes(enc.bytesBefore));
  assert.equal(v.components[0].savedText, `−${formatPercent(enc.bytesBefore - enc.bytesAfter, enc.bytesBefore)}`);

  assert.equal(v.layers.length, 2);
  for (const l of v.layers) {
    assert.equal(l.state, 'all');
    assert.equal(l.quantizedText, '6 of 6');
    assert.match(l.weights ?? '', /^layer\.\d$/);
    // 4 bytes an element down to 1, plus a 4-byte scale and a 1-byte zero point per matrix: ~75%.
    assert.match(l.savedText, /^−7[45]\.\d%$/);
  }
});

test('quantization view: per channel, and ALBERT\'s shared layer repeated in every executed layer', async () => {
  const pc = quantizationView(await quantizedCard('bert-mini', true))!;
  assert.equal(pc.facts[0].detail, 'int8, per output channel');
  const albert = quantizationView(await quantizedCard('albert-mini'))!;
  assert.equal(albert.layers.length, 3);
  assert.deepEqual(albert.layers.map((l) => l.weights), ['group.0.inner.0', 'group.0.inner.0', 'group.0.inner.0']);
  assert.ok(albert.layers.every((l) => l.quantizedText === albert.layers[0].quantizedText && l.state === 'all'));
});

test('tensor rows of a quantized model say which is the integer weight and whose scale a scale is', async () => {
  const c = await quantizedCard('bert-mini');
  const t = new TensorTable(c.tensors);
  const w = t.query({ search: 'onnx::MatMul_306_quantized' }).rows[0];
  assert.equal(w.note, 'quantized weight');
  assert.equal(w.resolvedName, 'bert.encoder.layer.0.attention.self.query.weight');
  assert.equal(w.dtype, 'int8');
  const scale = t.query({ search: 'onnx::MatMul_306_scale' }).rows[0];
  assert.equal(scale.note, 'scale of onnx::MatMul_306_quantized; not a parameter');
  assert.equal(scale.layers, '0');
  assert.equal(t.query({ search: 'dtype:int8' }).matched, 26, '13 weights and their 13 zero points');
});
