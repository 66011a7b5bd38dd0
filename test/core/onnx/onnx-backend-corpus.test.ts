import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { decodeTensorBytes } from '../../../src/core/onnx/tensor-proto';
import { toOrtTensor } from '../../../src/core/ort/ort-tensors';
import type { LoadedTensor } from '../../../src/core/tensor-values';
import { ONNX_BACKEND, requireShared, walkFiles } from '../../helpers/paths';

requireShared();
const models = walkFiles(ONNX_BACKEND, (p) => p.endsWith('.onnx'));

test('the corpus has the ONNX backend models', () => {
  assert.ok(models.length >= 150, `found ${models.length}`);
});

/** Test data beside a model: test_data_set_0/ for folders, *_output_0.pb beside the light models. */
function testData(model: string): { inputs: string[]; outputs: string[] } {
  const dir = path.join(path.dirname(model), 'test_data_set_0');
  if (existsSync(dir)) {
    const files = readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    return {
      inputs: files.filter((f) => f.startsWith('input_')).map((f) => path.join(dir, f)),
      outputs: files.filter((f) => f.startsWith('output_')).map((f) => path.join(dir, f)),
    };
  }
  const out = model.replace(/\.onnx$/, '_output_0.pb');
  return { inputs: [], outputs: existsSync(out) ? [out] : [] };
}

function close(actual: ort.Tensor, expected: LoadedTensor, where: string): void {
  assert.deepEqual([...actual.dims], expected.shape, `${where}: shape`);
  const a = actual.data as ArrayLike<unknown>;
  const e = expected.values as ArrayLike<unknown>;
  assert.equal(a.length, e.length, `${where}: length`);
  for (let i = 0; i < e.length; i++) {
    const x = a[i];
    const y = e[i];
    if (typeof y === 'number' && typeof x === 'number' && expected.dtype.startsWith('float')) {
      if (Number.isNaN(y)) { assert.ok(Number.isNaN(x), `${where}[${i}]: expected NaN`); continue; }
      const tol = 1e-3 + 1e-3 * Math.abs(y);
      assert.ok(Math.abs(x - y) <= tol, `${where}[${i}]: ${x} vs ${y}`);
    } else {
      assert.equal(x, y, `${where}[${i}]`);
    }
  }
}

for (const model of models) {
  const rel = path.relative(ONNX_BACKEND, model);
  test(`reads and runs ${rel}`, async () => {
    const m = await onnxReader.read(model);
    assert.equal(m.format, 'onnx');
    assert.ok(m.onnx && m.onnx.opsetImports.length > 0, 'opset imports read');
    const { inputs, outputs } = testData(model);
    assert.ok(outputs.length > 0, 'has expected outputs');
    const feeds: Record<string, ort.Tensor> = {};
    const graphInputs = m.onnx.inputs.filter((i) => !m.tensors.some((t) => t.name === i.name && t.origin === 'initializer'));
    inputs.forEach((file, i) => {
      const t = decodeTensorBytes(file, readFileSync(file));
      feeds[graphInputs[i].name] = toOrtTensor(t);
    });
    const session = await ort.InferenceSession.create(model);
    try {
      const result = await session.run(feeds);
      outputs.forEach((file, i) => {
        const expected = decodeTensorBytes(file, readFileSync(file));
        const name = m.onnx!.outputs[i].name;
        close(result[name], expected, `${rel} output ${name}`);
      });
    } finally {
      await session.release();
    }
  });
}
