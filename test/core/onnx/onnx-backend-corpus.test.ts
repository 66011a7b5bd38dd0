import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { expandGradientOps } from '../../../src/core/training/gradient-op';
import { serializeModel } from '../../../src/core/onnx/onnx-writer';

// The opset-6 models make onnxruntime warn that its transpose optimizer skips them: expected noise.
ort.env.logLevel = 'error';
import type { ModelFile } from '../../../src/core/model';
import { product } from '../../../src/core/model';
import { onnxReader } from '../../../src/core/readers/onnx-reader';
import { decodeTensorBytes } from '../../../src/core/onnx/tensor-proto';
import { upgradeLegacyOpset } from '../../../src/core/onnx/legacy-opset-upgrade';
import { toOrtTensor } from '../../../src/core/ort/ort-tensors';
import type { LoadedTensor } from '../../../src/core/tensor-values';
import { emptyValues } from '../../../src/core/tensor-values';
import { ONNX_BACKEND, requireShared, walkFiles } from '../../helpers/paths';

requireShared();
const models = walkFiles(ONNX_BACKEND, (p) => p.endsWith('.onnx'));

test('the corpus has the ONNX backend models', () => {
  assert.ok(models.length >= 149, `found ${models.length}`);
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

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

/**
 * Compares an output with the expected tensor: same dtype and shape; floats within 1e-3 absolute
 * + 1e-3 relative (NaN matches NaN, infinities match exactly); bool, integer and string values exactly.
 */
function close(actual: ort.Tensor, expected: LoadedTensor, where: string): void {
  assert.equal(actual.type, expected.dtype, `${where}: dtype`);
  assert.deepEqual([...actual.dims], expected.shape, `${where}: shape`);
  const a = actual.data as ArrayLike<unknown>;
  const e = expected.values as ArrayLike<unknown>;
  assert.equal(a.length, e.length, `${where}: length`);
  if (FLOAT_TYPES.has(expected.dtype)) {
    const num = expected.dtype === 'float16' ? (v: unknown) => halfToNumber(v as number) : (v: unknown) => v as number;
    for (let i = 0; i < e.length; i++) {
      const x = num(a[i]);
      const y = num(e[i]);
      if (x === y) continue;
      if (Number.isNaN(y)) { assert.ok(Number.isNaN(x), `${where}[${i}]: ${x}, expected NaN`); continue; }
      assert.ok(Math.abs(x - y) <= 1e-3 + 1e-3 * Math.abs(y), `${where}[${i}]: ${x} vs expected ${y}`);
    }
  } else {
    // bool (Uint8Array on both sides), integers (bigint for 64-bit), strings: exact.
    for (let i = 0; i < e.length; i++) {
      if (a[i] !== e[i]) assert.fail(`${where}[${i}]: ${String(a[i])} vs expected ${String(e[i])}`);
    }
  }
}

/** Graph inputs that the caller feeds (IR < 4 models also list their initializers as inputs). */
function fedInputs(m: ModelFile) {
  return m.onnx!.inputs.filter((i) => !m.tensors.some((t) => t.name === i.name && t.origin === 'initializer'));
}

/**
 * Opens a session; a model whose opset predates kernels onnxruntime still has (Add-6, Gemm-6,
 * AveragePool-1...) is upgraded to opset 7 first, the way the extension does for legacy models.
 */
async function openSession(model: string): Promise<{ session: ort.InferenceSession; upgraded: string[] }> {
  try {
    return { session: await ort.InferenceSession.create(model), upgraded: [] };
  } catch (e) {
    const msg = (e as Error).message;
    if (/Failed to construct locale with name:\s*en_US\.UTF-8/.test(msg)) {
      throw new Error(`onnxruntime's StringNormalizer needs the en_US.UTF-8 locale: install the en_US.UTF-8 locale (apt-get install locales; enable en_US.UTF-8 in /etc/locale.gen; locale-gen). ${msg}`);
    }
    if (!msg.includes('Could not find an implementation for')) throw e;
    const { bytes, changes } = upgradeLegacyOpset(readFileSync(model), model);
    assert.ok(changes.length > 0, `onnxruntime has no kernel for an op of ${model} (${msg}), but the upgrader changed nothing`);
    return { session: await ort.InferenceSession.create(bytes), upgraded: changes };
  }
}

/**
 * ai.onnx.preview.training:Gradient is a training-only op: onnxruntime-node (inference) has no
 * kernel for it. These models are read, refused by onnxruntime as they are, then expanded into
 * explicit backward nodes by the project's autodiff (training/gradient-op.ts) and run.
 */
const GRADIENT_MODELS = new Set(['simple/test_gradient_of_add/model.onnx', 'simple/test_gradient_of_add_and_mul/model.onnx']);

for (const model of models) {
  const rel = path.relative(ONNX_BACKEND, model).split(path.sep).join('/');

  if (GRADIENT_MODELS.has(rel)) {
    test(`reads ${rel}; runs it once its Gradient op is expanded by the autodiff`, async () => {
      const m = await onnxReader.read(model);
      const onnx = m.onnx!;
      assert.ok(onnx.opsetImports.some((o) => o.domain === '' && o.version >= 1), 'default domain imported');
      assert.ok(onnx.opsetImports.some((o) => o.domain === 'ai.onnx.preview.training' && o.version === 1), 'preview training domain imported');
      const grads = onnx.nodes.filter((n) => n.opType === 'Gradient');
      assert.equal(grads.length, 1);
      const g = grads[0];
      assert.equal(g.domain, 'ai.onnx.preview.training');
      assert.deepEqual(g.inputs, ['a', 'b']);
      assert.deepEqual(g.attributes.find((a) => a.name === 'xs')?.strings, ['a', 'b']);
      assert.ok(g.attributes.find((a) => a.name === 'y')?.s, 'Gradient names the differentiated output');
      // The forward nodes are read in the default domain.
      assert.ok(onnx.nodes.some((n) => n.opType === 'Add' && n.domain === ''));
      const { inputs, outputs } = testData(model);
      assert.equal(inputs.length, fedInputs(m).length, 'one input .pb per graph input');
      assert.equal(outputs.length, onnx.outputs.length, 'one output .pb per graph output');
      await assert.rejects(ort.InferenceSession.create(model), /ai\.onnx\.preview\.training:Gradient\(-?\d+\) is not a registered function\/op/);
      const session = await ort.InferenceSession.create(serializeModel(await expandGradientOps(m)));
      try {
        const graphInputs = fedInputs(m);
        const feeds: Record<string, ort.Tensor> = {};
        inputs.forEach((file, i) => { feeds[graphInputs[i].name] = toOrtTensor(decodeTensorBytes(file, readFileSync(file))); });
        const result = await session.run(feeds);
        outputs.forEach((file, i) => {
          const name = onnx.outputs[i].name;
          close(result[name], decodeTensorBytes(file, readFileSync(file)), `${rel} output ${name}`);
        });
      } finally {
        await session.release();
      }
    });
    continue;
  }

  test(`reads and runs ${rel}`, async () => {
    const m = await onnxReader.read(model);
    assert.equal(m.format, 'onnx');
    assert.ok(m.onnx && m.onnx.opsetImports.length > 0, 'opset imports read');
    const { inputs, outputs } = testData(model);
    assert.ok(outputs.length > 0, 'has expected outputs');
    const expected = outputs.map((file) => decodeTensorBytes(file, readFileSync(file)));
    const feeds: Record<string, ort.Tensor> = {};
    const graphInputs = fedInputs(m);
    if (inputs.length === 0) {
      // The light/* models ship no input: their weights were replaced by ConstantOfShape, so the
      // output does not depend on the input. Check that premise (a uniform expected output), then
      // feed zeros of each declared input shape (symbolic dims as 1).
      for (const e of expected) {
        const v = e.values as Float32Array;
        assert.ok(v.length > 0 && v.every((x) => Math.abs(x - v[0]) <= 1e-6), `${rel}: expected output is not uniform, so it depends on the input`);
      }
      for (const i of graphInputs) {
        assert.ok(i.elemType && i.shape, `${rel}: input '${i.name}' declares no tensor type`);
        const dims = i.shape.map((d) => (typeof d === 'number' ? d : 1));
        feeds[i.name] = toOrtTensor({ name: i.name, dtype: i.elemType, shape: dims, values: emptyValues(i.elemType, product(dims)) });
      }
    } else {
      assert.equal(inputs.length, graphInputs.length, 'one input .pb per graph input');
      inputs.forEach((file, i) => {
        feeds[graphInputs[i].name] = toOrtTensor(decodeTensorBytes(file, readFileSync(file)));
      });
    }
    const { session } = await openSession(model);
    try {
      const result = await session.run(feeds);
      expected.forEach((e, i) => {
        const name = m.onnx!.outputs[i].name;
        close(result[name], e, `${rel} output ${name}`);
      });
    } finally {
      await session.release();
    }
  });
}
