import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildEncoderClassifier, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { serializeModel, writeModel } from '../../../src/core/onnx/onnx-writer';
import { type ModelSpec } from '../../../src/core/onnx/model-spec';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { safetensorsReader } from '../../../src/core/readers/safetensors-reader';
import { loadTensor } from '../../../src/core/tensor-values';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { openModel } from '../../../src/core/open-model';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';

requireShared();
const refs = JSON.parse(readFileSync(path.join(BERT_FAMILY, 'refs.json'), 'utf8')) as Record<string, { params: number; components: Record<string, number> }>;

/** The builder's configs for the four shared models, read off their config.json. */
const CORPUS_CONFIGS: Record<string, EncoderConfig> = {
  'bert-mini': { family: 'bert', vocabSize: 500, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 256, maxPositions: 64, numLabels: 3 },
  'distilbert-mini': { family: 'distilbert', vocabSize: 500, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 256, maxPositions: 64, numLabels: 2 },
  'albert-mini': { family: 'albert', vocabSize: 500, hiddenSize: 64, embeddingSize: 16, numLayers: 3, numHeads: 2, intermediateSize: 256, maxPositions: 64, numLabels: 2 },
  // Its export normalises with LayerNorm although config.json leaves normalization_type out.
  'mobilebert-mini': { family: 'mobilebert', normalization: 'layer_norm', vocabSize: 500, hiddenSize: 64, embeddingSize: 16, bottleneckSize: 16, numFeedforwardNetworks: 2, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 2 },
};

function feeds(session: ort.InferenceSession, batch: number, seq: number, vocab: number, seed = 1): Record<string, ort.Tensor> {
  let s = seed;
  const ids = BigInt64Array.from({ length: batch * seq }, () => BigInt((s = (s * 1103515245 + 12345) % 2 ** 31) % vocab));
  const mask = BigInt64Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (i < seq ? 0 : 2) ? 1n : 0n));
  const f: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [batch, seq]), attention_mask: new ort.Tensor('int64', mask, [batch, seq]) };
  if (session.inputNames.includes('token_type_ids')) f.token_type_ids = new ort.Tensor('int64', BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(i % seq >= seq / 2 ? 1 : 0)), [batch, seq]);
  return f;
}

for (const [name, config] of Object.entries(CORPUS_CONFIGS)) {
  test(`builder: ${name}'s config gives PyTorch's parameter count`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcl-build-'));
    const file = path.join(dir, 'model.onnx');
    writeModel(file, buildEncoderClassifier(config));
    const card = analyzeModel(await openModel(file));
    assert.equal(card.params.total, refs[name].params);
    for (const [c, n] of Object.entries(refs[name].components)) assert.equal(card.params.byComponent[c as 'encoder'], n, c);
  });

  test(`builder: ${name} with the checkpoint's weights computes the exporter's logits`, async () => {
    // Same weights, two graphs: PyTorch's export and ours. Equal logits mean the builder's
    // architecture is the Hugging Face one, op for op.
    const spec = buildEncoderClassifier(config);
    const st = await safetensorsReader.read(path.join(BERT_FAMILY, name, 'model.safetensors'));
    const byName = new Map(st.tensors.map((t) => [t.name, t]));
    for (const init of spec.graph.initializers) {
      const src = byName.get(init.name);
      assert.ok(src, `checkpoint has ${init.name}`);
      assert.deepEqual(src.shape, init.dims, init.name);
      init.values = loadTensor(src).values;
    }
    assert.equal(spec.graph.initializers.length, byName.size, 'every checkpoint tensor is used');
    const ours = await ort.InferenceSession.create(serializeModel(spec));
    const theirs = await ort.InferenceSession.create(path.join(BERT_FAMILY, name, 'model.onnx'));
    const f = feeds(theirs, 2, 11, config.vocabSize);
    const a = (await ours.run(f)).logits.data as Float32Array;
    const b = (await theirs.run(f)).logits.data as Float32Array;
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `logit ${i}: ${a[i]} vs ${b[i]}`);
  });
}

test('writer round trip: inline and external data read back identically and run', async () => {
  const spec: ModelSpec = buildEncoderClassifier({ ...CORPUS_CONFIGS['albert-mini'], seed: 7 });
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-rt-'));
  const inline = path.join(dir, 'inline.onnx');
  const external = path.join(dir, 'external.onnx');
  writeModel(inline, spec);
  const w = writeModel(external, spec, { externalDataThreshold: 1024 });
  assert.ok(w.dataFile && statSync(w.dataFile).size > 0);
  assert.ok(statSync(external).size < statSync(inline).size / 4, 'weights moved out of the model file');
  const outputs: Float32Array[] = [];
  for (const file of [inline, external]) {
    const m = await onnxReader.read(file);
    const inits = m.tensors.filter((t) => t.origin === 'initializer');
    assert.deepEqual(inits.map((t) => t.name), spec.graph.initializers.map((t) => t.name));
    for (const t of inits) {
      const s = spec.graph.initializers.find((x) => x.name === t.name)!;
      assert.deepEqual(t.shape, s.dims);
      assert.equal(t.dtype, s.dtype);
      assert.deepEqual(loadTensor(t).values, s.values, t.name);
    }
    assert.deepEqual(m.onnx!.nodes.map((n) => n.opType), spec.graph.nodes.map((n) => n.opType));
    assert.deepEqual(m.onnx!.inputs.map((i) => [i.name, i.elemType, i.shape]), spec.graph.inputs.map((i) => [i.name, i.dtype, i.shape]));
    assert.deepEqual(m.onnx!.opsetImports, [{ domain: '', version: 17 }]);
    assert.ok(m.onnx!.metadata['compression_lab.config']);
    const session = await ort.InferenceSession.create(file);
    outputs.push((await session.run(feeds(session, 1, 9, 500))).logits.data as Float32Array);
  }
  assert.deepEqual(outputs[0], outputs[1]);
});

test('builder is deterministic for a seed and different across seeds', () => {
  const a = serializeModel(buildEncoderClassifier({ ...CORPUS_CONFIGS['bert-mini'], seed: 3 }));
  const b = serializeModel(buildEncoderClassifier({ ...CORPUS_CONFIGS['bert-mini'], seed: 3 }));
  const c = serializeModel(buildEncoderClassifier({ ...CORPUS_CONFIGS['bert-mini'], seed: 4 }));
  assert.ok(a.equals(b));
  assert.ok(!a.equals(c));
});

test('builder refuses impossible configs with a clear message', () => {
  assert.throws(() => buildEncoderClassifier({ ...CORPUS_CONFIGS['bert-mini'], numHeads: 3 }), /not divisible by 3 heads/);
  assert.throws(() => buildEncoderClassifier({ ...CORPUS_CONFIGS['bert-mini'], numLayers: 0 }), /numLayers must be a positive integer/);
});
