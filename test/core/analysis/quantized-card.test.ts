// The inspector on quantized models: int8 weights count as the parameters they replace (once, a
// shared one once), their scales and zero points not at all; family, layers, sizes and FLOPs read
// the same as the float model's; the card's quantization section has the bytes the quantizer saved.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { analyzeModel, type ModelCard } from '../../../src/core/analysis/model-card';
import { buildEncoderClassifier, type BuildFamily } from '../../../src/core/onnx/bert-builder';
import { forwardSpecFromModel } from '../../../src/core/onnx/forward-spec';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import type { ModelSpec } from '../../../src/core/onnx/model-spec';
import { openModel } from '../../../src/core/open-model';
import { quantizeDynamic, type QuantizeReport } from '../../../src/core/quantize/quantize-dynamic';
import { BERT_FAMILY, BERT_MODELS, requireShared } from '../../helpers/paths';

requireShared();
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-quant-card-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cards(name: string, spec: ModelSpec, perChannel = false): Promise<{ fp: ModelCard; q: ModelCard; report: QuantizeReport }> {
  const fpFile = path.join(dir, `${name}.onnx`);
  const qFile = path.join(dir, `${name}${perChannel ? '.pc' : ''}.int8.onnx`);
  writeModel(fpFile, spec);
  const { spec: qs, report } = quantizeDynamic(spec, { perChannel, excludeHead: false });
  writeModel(qFile, qs);
  return { fp: analyzeModel(await openModel(fpFile)), q: analyzeModel(await openModel(qFile)), report };
}

const withoutHeads = (a: ModelCard['architecture']) => ({ ...a, numHeads: undefined, numHeadsSource: undefined });

const MODELS: Array<{ name: string; spec: () => Promise<ModelSpec> }> = [
  ...BERT_MODELS.map((m) => ({ name: m, spec: async () => forwardSpecFromModel(await openModel(path.join(BERT_FAMILY, m, 'model.onnx'))) })),
  ...(['bert', 'distilbert', 'albert', 'mobilebert'] as BuildFamily[]).map((family) => ({
    name: `builder-${family}`,
    spec: async () => buildEncoderClassifier({ family, vocabSize: 300, hiddenSize: 64, numLayers: 3, numHeads: 2, intermediateSize: 128, maxPositions: 64, numLabels: 3, ...(family === 'albert' ? { embeddingSize: 32 } : {}), ...(family === 'mobilebert' ? { embeddingSize: 32, bottleneckSize: 16 } : {}) }),
  })),
];

for (const m of MODELS) {
  for (const perChannel of [false, true]) {
    test(`${m.name}${perChannel ? ' (per channel)' : ''}: the quantized card counts the float card's parameters, family and layers; bytes smaller by 3 per quantized element`, async () => {
      const { fp, q, report } = await cards(m.name, await m.spec(), perChannel);
      assert.equal(q.family, fp.family);
      assert.equal(q.params.total, fp.params.total);
      assert.equal(q.params.executed, fp.params.executed);
      assert.equal(q.params.shared, fp.params.shared);
      assert.deepEqual(q.params.byComponent, fp.params.byComponent);
      assert.deepEqual(q.params.integerConstants, fp.params.integerConstants, 'zero points are not integer constants either');
      assert.equal(q.params.scalarConstants, fp.params.scalarConstants, 'nor scales scalar constants');
      assert.deepEqual(q.layers, fp.layers);
      assert.deepEqual(withoutHeads(q.architecture), withoutHeads(fp.architecture));
      assert.deepEqual(q.flops, fp.flops);

      // Each float weight became one integer tensor: 4 bytes an element down to 1.
      const unique = report.quantized.filter((e) => !e.sharedWith);
      const elements = unique.reduce((s, e) => s + e.dims[0] * e.dims[1], 0);
      assert.equal(fp.bytes.weights - q.bytes.weights, 3 * elements);
      const s = q.quantization!;
      assert.ok(s, 'the card has a quantization section');
      assert.equal(fp.quantization, undefined);
      assert.equal(s.total.quantized, unique.length);
      assert.equal(s.params.quantized, elements);
      assert.equal(s.params.quantized + s.params.float, q.params.total);
      assert.equal(s.perChannel, perChannel);
      assert.deepEqual(s.weightTypes, ['int8']);
      assert.equal(s.bytes.before, unique.reduce((t, e) => t + e.bytesBefore, 0));
      assert.equal(s.bytes.after, unique.reduce((t, e) => t + e.bytesAfter, 0));
      assert.equal(s.bytes.saved, s.bytes.before - s.bytes.after);
      assert.equal(s.quantParams.tensors, 2 * unique.length, 'one scale and one zero point per quantized weight');
      assert.equal(s.settings?.method, 'dynamic');

      // Rows: an integer weight under its float weight's name and layout; its scale and zero point
      // placed with it, not parameters.
      const fpRows = new Map(fp.tensors.map((r) => [r.name, r]));
      for (const e of unique) {
        const row = q.tensors.find((r) => r.name === e.quantizedWeight)!;
        const was = fpRows.get(e.weight)!;
        assert.equal(row.isParam, true);
        assert.equal(row.quantization?.role, 'weight');
        assert.equal(row.resolvedName, was.resolvedName, e.weight);
        assert.equal(row.component, was.component);
        assert.deepEqual(row.layers, was.layers);
        assert.equal(row.layout, 'in-out');
        for (const p of q.tensors.filter((r) => r.quantization?.of === e.quantizedWeight)) {
          assert.equal(p.isParam, false);
          assert.equal(p.component, was.component);
          assert.match(p.resolvedName, /_(scale|zero_point)$/);
        }
      }
      // Per layer: every weight matrix of every executed layer is quantized.
      assert.equal(s.byLayer.length, q.layers.length);
      for (const l of s.byLayer) assert.ok(l.quantized > 0 && l.float === 0, `layer ${l.index}: ${l.quantized}/${l.float}`);
    });
  }
}

test('ALBERT\'s shared layer: its integers, scales and zero points counted once, though three layers run them', async () => {
  const { fp, q, report } = await cards('albert-shared', buildEncoderClassifier({ family: 'albert', vocabSize: 300, hiddenSize: 64, numLayers: 3, numHeads: 2, intermediateSize: 128, maxPositions: 64, numLabels: 2, embeddingSize: 32 }));
  const s = q.quantization!;
  assert.equal(report.quantized.filter((e) => e.sharedWith).length, 12, 'six matrices reused by two more layers');
  assert.equal(q.params.total, fp.params.total);
  assert.equal(q.params.executed, fp.params.executed);
  assert.equal(q.uniqueLayers, 1);
  assert.deepEqual(s.byLayer.map((l) => l.quantized), [6, 6, 6]);
  const unique = report.quantized.filter((e) => !e.sharedWith);
  assert.equal(s.quantParams.tensors, 2 * unique.length);
  assert.equal(s.bytes.after, unique.reduce((t, e) => t + e.bytesAfter, 0));
  // The components' bytes add up to the whole: nothing counted twice.
  const parts = Object.values(s.byComponent);
  assert.equal(parts.reduce((t, c) => t + c.bytesAfter, 0), s.bytes.after);
  assert.equal(parts.reduce((t, c) => t + c.quantized, 0), s.total.quantized);
});

test('the head kept float shows as float matrices in the head component', async () => {
  const spec = buildEncoderClassifier({ family: 'distilbert', vocabSize: 300, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 64, numLabels: 3 });
  const file = path.join(dir, 'distil-headless.int8.onnx');
  writeModel(file, quantizeDynamic(spec).spec);
  const s = analyzeModel(await openModel(file)).quantization!;
  assert.deepEqual(s.byComponent.head, { quantized: 0, float: 2, bytesBefore: 0, bytesAfter: 0 });
  assert.equal(s.total.float, 2);
});
