// Synthesized inputs run every model of the shared corpus in onnxruntime-node: one session and one
// run per model, with the benchmark's own session factory (legacy opsets upgraded as it does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { fedInputs, modelLimits, synthesizeInputs } from '../../../src/core/benchmark/input-synthesis';
import { SessionFactory, toFeeds } from '../../../src/core/benchmark/ort-session';
import { CORPUS, requireShared, walkFiles } from '../../helpers/paths';

requireShared();
const models = walkFiles(CORPUS, (p) => p.endsWith('.onnx'));

/** onnxruntime-node (inference only) has no kernel for ai.onnx.preview.training:Gradient. */
const GRADIENT_MODELS = new Set(['onnx-backend/simple/test_gradient_of_add/model.onnx', 'onnx-backend/simple/test_gradient_of_add_and_mul/model.onnx']);
const OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'], logSeverityLevel: 3 };

test('the corpus has 149 onnx-backend models and the 4 bert-family models', () => {
  assert.equal(models.filter((m) => m.includes(`${path.sep}onnx-backend${path.sep}`)).length, 149);
  assert.equal(models.filter((m) => m.includes(`${path.sep}bert-family${path.sep}`)).length, 4);
});

for (const file of models) {
  const rel = path.relative(CORPUS, file).split(path.sep).join('/');
  test(`synthesized inputs run ${rel}`, async () => {
    const model = await openModel(file);
    const card = analyzeModel(model);
    // Batch 2 and 16 tokens: symbolic dims take them; bert-family's 64 positions allow 16.
    const { tensors } = synthesizeInputs(model, { batch: 2, seq: 16, ...modelLimits(model, card) });
    const declared = fedInputs(model);
    assert.deepEqual(tensors.map((t) => t.name), declared.map((i) => i.name), `${rel}: one feed per graph input, initializers skipped`);
    for (const [i, t] of tensors.entries()) {
      assert.equal(t.dtype, declared[i].elemType, `${rel}: '${t.name}' dtype`);
      declared[i].shape!.forEach((d, axis) => {
        if (typeof d === 'number') assert.equal(t.shape[axis], d, `${rel}: '${t.name}' fixed dim ${axis}`);
      });
    }
    const factory = new SessionFactory(file);
    if (GRADIENT_MODELS.has(rel)) {
      await assert.rejects(factory.create(OPTIONS), /Gradient.* is not a registered function\/op/, `${rel}: onnxruntime still refuses Gradient`);
      return;
    }
    const { session } = await factory.create(OPTIONS);
    try {
      const out = await session.run(toFeeds(tensors));
      assert.ok(Object.keys(out).length > 0, `${rel}: produced outputs`);
    } catch (e) {
      assert.fail(`${rel}: onnxruntime rejected the synthesized feed (${tensors.map((t) => `${t.name}:${t.dtype}[${t.shape}]`).join(', ')}): ${(e as Error).message}`);
    } finally {
      await session.release();
    }
  });
}
