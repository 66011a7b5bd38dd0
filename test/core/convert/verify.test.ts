import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../../src/core/open-model';
import { serializeModel } from '../../../src/core/onnx/onnx-writer';
import { readStateDict } from '../../../src/core/convert/state-dict';
import { buildFromStateDict } from '../../../src/core/convert/from-state-dict';
import { compareLogits } from '../../../src/core/convert/verify';
import { buildEncoderClassifier } from '../../../src/core/onnx/bert-builder';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';

requireShared();

test('compareLogits: a faithful conversion agrees with its source; the wrong normalisation does not', async () => {
  const source = path.join(BERT_FAMILY, 'mobilebert-mini', 'model.onnx');
  const sd = readStateDict(await openModel(source));
  const good = await compareLogits(source, serializeModel(buildFromStateDict(sd.config, sd.tensors)), sd.config);
  assert.ok(good.checked && good.maxAbsDiff < 1e-4, JSON.stringify(good));
  assert.deepEqual(good.checked && [good.batch, good.seq], [2, 16]);
  const wrong = { ...sd.config, normalization: 'no_norm' as const };
  const bad = await compareLogits(source, serializeModel(buildFromStateDict(wrong, sd.tensors)), wrong);
  assert.ok(bad.checked && bad.maxAbsDiff > 1e-2, JSON.stringify(bad));
});

test('compareLogits says why when the graphs cannot be compared', async () => {
  const config = { family: 'bert' as const, vocabSize: 50, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 8, maxPositions: 16, numLabels: 2 };
  const other = buildEncoderClassifier({ ...config, numLabels: 3 });
  const r = await compareLogits(serializeModel(other), serializeModel(buildEncoderClassifier(config)), config);
  assert.deepEqual(r, { checked: false, reason: "the source graph's output is float32 [2, 3], not [2, 2] logits" });
});
