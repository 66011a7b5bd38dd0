// The Quantize form on real files with the core's own checks (checkQuantizeOptions, its output
// guard): the output beside the model, the choices as options, every problem beside its field;
// and the end message from a run record: sizes, the fusion, the agreement when evaluated.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RunRecord } from '../../src/core/runs/run-record';
import type { JobFormValues } from '../../src/shared/protocol';
import { defaultQuantizedPath, fusionSummary, initialQuantizeValues, quantizeFormSpec, quantizeMessage, quantizeOptionsFromForm } from '../../src/extension/quantize/quantize-form';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-quantize-form-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = path.join(dir, 'tiny', 'model.onnx');
mkdirSync(path.dirname(model));
writeFileSync(model, 'not read by the form');
const dev = path.join(dir, 'dev.tsv');
writeFileSync(dev, 'sentence\tlabel\ngood\t1\n');
const tokens = path.join(dir, 'dev.jsonl');
writeFileSync(tokens, '{"input_ids":[101,7,102],"label":1}\n');

test('the form opens on the model with the output beside it, int8 per tensor, the head and embeddings as the CLI defaults', () => {
  const v = initialQuantizeValues(model, () => false);
  assert.equal(v.out, path.join(dir, 'tiny', 'model.int8.onnx'));
  assert.deepEqual([v.weightType, v.perChannel, v.head, v.embeddings], ['int8', 'tensor', 'keep', 'quantize']);
  assert.equal(defaultQuantizedPath(model, (f) => f.endsWith('model.int8.onnx')), path.join(dir, 'tiny', 'model.int8-2.onnx'));
  assert.equal(quantizeFormSpec('tiny').title, 'Quantize tiny');
  const o = quantizeOptionsFromForm(v, { threads: 1 }).options!;
  assert.deepEqual(o, { threads: 1, model, out: v.out });
});

test('choices become options; evaluation rows, with a tokenizer when they hold text', () => {
  const v: JobFormValues = { ...initialQuantizeValues(model, () => false), weightType: 'uint8', perChannel: 'channel', head: 'quantize', embeddings: 'keep', eval: tokens };
  assert.deepEqual(quantizeOptionsFromForm(v).options, { model, out: v.out, weightType: 'uint8', perChannel: true, excludeHead: false, embeddings: false, eval: tokens });
  assert.match(quantizeOptionsFromForm({ ...v, eval: dev }).problems.fields.tokenizer, /holds text/);
});

test('problems beside their fields: missing files, a relative path, an output that is the model, a tokenizer without rows', () => {
  const base = initialQuantizeValues(model, () => false);
  const p = quantizeOptionsFromForm({ ...base, model: path.join(dir, 'nope.onnx'), out: 'x.onnx' }).problems.fields;
  assert.deepEqual(p, { model: 'no such file', out: 'give the full path (or use Browse…)' });
  assert.match(quantizeOptionsFromForm({ ...base, out: model }).problems.fields.out, /model/);
  assert.equal(quantizeOptionsFromForm({ ...base, out: path.join(dir, 'x.bin') }).problems.fields.out, 'the output is an ONNX model: end the name with .onnx');
  assert.equal(quantizeOptionsFromForm({ ...base, tokenizer: tokens }).problems.fields.tokenizer, 'give a tokenizer.json');
  const tok = path.join(dir, 'tokenizer.json');
  writeFileSync(tok, '{}');
  assert.equal(quantizeOptionsFromForm({ ...base, tokenizer: tok }).problems.fields.tokenizer, `is only used with "Evaluation data" (the rows to compare the models on)`);
});

function record(change: Partial<RunRecord<'quantize'>> = {}, result: Partial<RunRecord<'quantize'>['result']> = {}): RunRecord<'quantize'> {
  return {
    schema: 'compression-lab.run/1', kind: 'quantize', id: 'x', created: '2026-01-01T00:00:00.000Z', model: { path: model, name: 'tiny', sha256: 'a', bytes: 2_000_000 },
    settings: { model, out: path.join(dir, 'tiny', 'model.int8.onnx') }, environment: {} as RunRecord['environment'], status: 'complete',
    result: {
      out: path.join(dir, 'tiny', 'model.int8.onnx'), files: { before: 2_000_000, after: 600_000 },
      report: { quantized: [{}, {}, {}] as never, skipped: [], settings: { weightType: 'int8', perChannel: false, reduceRange: false, excludeHead: true, exclude: [] }, bytes: { before: 1, after: 1 } },
      fusion: { ops: {}, dynamicQuantizeMatMul: 8, matMulIntegerToFloat: 6, unfused: 0 },
      ...result,
    },
    ...change,
  };
}

test('the end message: sizes before and after, what onnxruntime fuses, and the agreement when evaluated', () => {
  assert.deepEqual(quantizeMessage(record()), { level: 'info', text: 'Quantized tiny: 1.91 MB → 586 KB (30% of the float model), 3 weights as int8; onnxruntime fuses it into 8 DynamicQuantizeMatMul + 6 MatMulIntegerToFloat.' });
  const ev = quantizeMessage(record({}, { evaluation: { examples: 64, accuracy: { before: 0.9, after: 0.890625 }, agreement: 0.984375, maxLogitDiff: 0.1, meanLogitDiff: 0.01 } }));
  assert.match(ev.text, / Argmax agrees with the float model on 98\.44% of 64 rows \(accuracy 90\.0% → 89\.1%\)\.$/);
  assert.equal(fusionSummary({ dynamicQuantizeMatMul: 0, matMulIntegerToFloat: 2, unfused: 1 }), 'onnxruntime fuses it into 2 MatMulIntegerToFloat, 1 MatMulInteger left unfused');
  assert.equal(quantizeMessage(record({ status: 'failed', error: 'the model is already quantized' }, {})).level, 'error');
  assert.match(quantizeMessage(record({ status: 'cancelled' }, { files: undefined })).text, /cancelled; nothing was written/);
});
