import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEncoderClassifier, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { serializeModel } from '../../../src/core/onnx/onnx-writer';
import { UnsupportedModelError } from '../../../src/core/errors';
import { builderShapes, buildFromStateDict } from '../../../src/core/convert/from-state-dict';
import type { StateDict } from '../../../src/core/convert/state-dict';

const CONFIGS: EncoderConfig[] = [
  { family: 'bert', vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 24, maxPositions: 20, numLabels: 3 },
  { family: 'distilbert', vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 24, maxPositions: 20, numLabels: 2 },
  { family: 'albert', vocabSize: 50, hiddenSize: 16, embeddingSize: 8, numLayers: 4, numHiddenGroups: 2, numHeads: 2, intermediateSize: 24, maxPositions: 20, numLabels: 2 },
  { family: 'mobilebert', vocabSize: 50, hiddenSize: 16, embeddingSize: 8, bottleneckSize: 8, numFeedforwardNetworks: 3, numLayers: 2, numHeads: 2, intermediateSize: 12, maxPositions: 20, numLabels: 2, normalization: 'layer_norm' },
];

const stateDictOf = (config: EncoderConfig): StateDict =>
  new Map(buildEncoderClassifier({ ...config, seed: 11 }).graph.initializers.map((t) => [t.name, { dims: [...t.dims], values: t.values as Float32Array }]));

for (const config of CONFIGS) {
  test(`${config.family}: builderShapes lists the builder's initializers; a full state dict rebuilds the same model`, () => {
    const spec = buildEncoderClassifier({ ...config, seed: 11 });
    assert.deepEqual([...builderShapes(config)], spec.graph.initializers.map((t) => [t.name, t.dims]));
    const warnings: string[] = [];
    const rebuilt = buildFromStateDict({ ...config, seed: 11 }, stateDictOf(config), { warnings });
    assert.deepEqual(warnings, []);
    assert.ok(serializeModel(rebuilt).equals(serializeModel(spec)));
  });
}

test('every initializer must be given with its shape; extra tensors are a warning', () => {
  const config = CONFIGS[0];
  const missing = stateDictOf(config);
  missing.delete('bert.pooler.dense.weight');
  missing.delete('classifier.bias');
  assert.throws(() => buildFromStateDict(config, missing, { source: 'teacher.safetensors' }), (e: unknown) =>
    e instanceof UnsupportedModelError && e.file === 'teacher.safetensors' && /2 tensor\(s\) the graph needs are missing: bert\.pooler\.dense\.weight, classifier\.bias$/.test(e.message));

  const wrong = stateDictOf(config);
  wrong.set('classifier.weight', { dims: [2, 16], values: new Float32Array(32) });
  wrong.set('bert.embeddings.LayerNorm.bias', { dims: [16], values: new Float32Array(15) });
  assert.throws(() => buildFromStateDict(config, wrong), /2 tensor\(s\) have the wrong shape: bert\.embeddings\.LayerNorm\.bias: \[16\] with 15 values where the graph needs \[16\], classifier\.weight: \[2, 16\] where the graph needs \[3, 16\]/);

  const extra = stateDictOf(config);
  extra.set('cls.predictions.bias', { dims: [50], values: new Float32Array(50) });
  const warnings: string[] = [];
  buildFromStateDict(config, extra, { warnings });
  assert.deepEqual(warnings, ['1 tensor(s) are not used by the bert graph: cls.predictions.bias']);

  assert.throws(() => buildFromStateDict({ ...config, numHeads: 3 }, stateDictOf(config)), (e: unknown) =>
    e instanceof UnsupportedModelError && /the config cannot be built: attention width 16 is not divisible by 3 heads/.test(e.message));
});
