// The comparison panel's accuracy columns come from the runs that evaluated the models: a
// distillation's record (teacher and student), a fine-tuning's (the tuned model), a
// quantization's (float and int8 on the same rows); the newest wins, and a figure recorded for
// other bytes than the benchmark ran is left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyRunRecord } from '../../src/core/runs/run-record';
import { accuracyByModel, accuracyFor } from '../../src/extension/benchmark/accuracy';

const env = {} as AnyRunRecord['environment'];
const distill = (created: string, studentAcc: number): AnyRunRecord => ({
  schema: 'compression-lab.run/1', kind: 'distill', id: created, created, model: { path: '/w/tiny/model.onnx', name: 'tiny', sha256: 'T', bytes: 1 },
  settings: { recipe: 'albert', teacher: '/w/tiny/model.onnx', data: '/w/d.jsonl', out: '/w/tiny/tiny-albert.onnx' }, environment: env, status: 'complete',
  result: { history: [], evals: [{ step: 0, epoch: 0, accuracy: 0.3, loss: 1, examples: 8 }, { step: 9, epoch: 1, accuracy: studentAcc, loss: 1, examples: 8 }], teacher: { file: '/w/tiny/model.onnx', sha256: 'T', accuracy: 0.9 }, outSha256: 'S', out: '/w/tiny/tiny-albert.onnx' },
});

test('teacher and student from a distillation: the teacher\'s recorded accuracy, the student\'s last evaluation; the newest run wins', () => {
  const m = accuracyByModel([{ file: '/r/b.json', record: distill('2026-01-02T00:00:00Z', 0.8) }, { file: '/r/a.json', record: distill('2026-01-01T00:00:00Z', 0.5) }]);
  assert.deepEqual(m.get('/w/tiny/model.onnx'), { accuracy: 0.9, sha256: 'T', runFile: '/r/b.json' });
  assert.deepEqual(m.get('/w/tiny/tiny-albert.onnx'), { accuracy: 0.8, sha256: 'S', runFile: '/r/b.json' });
  assert.deepEqual(accuracyFor(m, { path: '/w/tiny/tiny-albert.onnx', sha256: 'S' }), { accuracy: 0.8 });
  assert.deepEqual(accuracyFor(m, { path: '/w/tiny/tiny-albert.onnx', sha256: 'other bytes' }), { stale: true });
  assert.deepEqual(accuracyFor(m, { path: '/w/elsewhere.onnx' }), {});
  // A cancelled run's student is not the model on disk.
  assert.equal(accuracyByModel([{ file: '/r/c.json', record: { ...distill('2026-01-03T00:00:00Z', 0.1), status: 'cancelled' } }]).size, 0);
});

test('a quantization evaluated both models on the same rows', () => {
  const q: AnyRunRecord = {
    schema: 'compression-lab.run/1', kind: 'quantize', id: 'q', created: '2026-01-01T00:00:00Z', model: { path: '/w/m.onnx', name: 'm', sha256: 'F', bytes: 1 },
    settings: { model: '/w/m.onnx', out: '/w/m.int8.onnx' }, environment: env, status: 'complete',
    result: { out: '/w/m.int8.onnx', outSha256: 'Q', evaluation: { examples: 10, accuracy: { before: 0.7, after: 0.6 }, agreement: 0.9, maxLogitDiff: 0, meanLogitDiff: 0 } },
  };
  const m = accuracyByModel([{ file: '/r/q.json', record: q }]);
  assert.equal(m.get('/w/m.onnx')?.accuracy, 0.7);
  assert.equal(m.get('/w/m.int8.onnx')?.accuracy, 0.6);
});
