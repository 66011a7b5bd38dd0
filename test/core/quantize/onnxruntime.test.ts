// The quantized models in onnxruntime-node: every shared PyTorch export and a builder model of
// each family run and stay close to their float logits, and the optimized graph onnxruntime
// writes (optimizedModelFilePath) holds the fused com.microsoft kernels and none of the chain.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildEncoderClassifier, type BuildFamily, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { forwardSpecFromModel } from '../../../src/core/onnx/forward-spec';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import type { ModelSpec } from '../../../src/core/onnx/model-spec';
import { openModel } from '../../../src/core/open-model';
import { quantizeDynamic, type QuantizeOptions } from '../../../src/core/quantize/quantize-dynamic';
import { checkFusion } from '../../../src/core/quantize/fusion';
import { quantizeDefaults } from '../../../src/core/quantize/cpu';
import { BERT_FAMILY, BERT_MODELS, requireShared } from '../../helpers/paths';

requireShared();
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-quant-ort-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function builderConfig(family: BuildFamily): EncoderConfig {
  return {
    family, vocabSize: 300, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 64, numLabels: 3, seed: 11,
    ...(family === 'albert' ? { embeddingSize: 32 } : {}), ...(family === 'mobilebert' ? { embeddingSize: 32, bottleneckSize: 16 } : {}),
  };
}

const MODELS: Array<{ name: string; spec: () => Promise<ModelSpec> }> = [
  ...BERT_MODELS.map((m) => ({ name: m, spec: async () => forwardSpecFromModel(await openModel(path.join(BERT_FAMILY, m, 'model.onnx'))) })),
  ...(['bert', 'distilbert', 'albert', 'mobilebert'] as const).map((f) => ({ name: `builder-${f}`, spec: async () => buildEncoderClassifier(builderConfig(f)) })),
];

function feeds(session: ort.InferenceSession, batch: number, seq: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  const n = batch * seq;
  for (const name of session.inputNames) {
    const v = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      if (name === 'input_ids') v[i] = BigInt(1 + ((i * 37 + 11) % 290));
      else if (name === 'attention_mask') v[i] = i % seq < seq - 2 || i < seq ? 1n : 0n;
      else if (name === 'token_type_ids') v[i] = i % seq >= seq / 2 ? 1n : 0n;
    }
    out[name] = new ort.Tensor('int64', v, [batch, seq]);
  }
  return out;
}

async function logits(file: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    return (await s.run(feeds(s, 3, 12)))[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

for (const m of MODELS) {
  test(`${m.name}: the int8 model runs in onnxruntime-node, close to the float one; onnxruntime fuses every quantized MatMul`, { timeout: 60_000 }, async () => {
    const spec = await m.spec();
    const fp = path.join(dir, `${m.name}.onnx`);
    writeModel(fp, spec);
    // 8-bit weights saturate the int16 pair sums of onnxruntime's u8 x s8 kernel on x86 without
    // VNNI (albert-mini's per-channel logits move by 0.08 on an AVX2-only EPYC), so the weight range
    // is this CPU's default, as the quantize command picks it.
    const { reduceRange } = quantizeDefaults();
    for (const options of [{ reduceRange }, { perChannel: true, reduceRange }, { excludeHead: false, reduceRange: true }] as QuantizeOptions[]) {
      const { spec: q, report } = quantizeDynamic(spec, options);
      assert.ok(report.quantized.length >= 6, `${report.quantized.length} quantized`);
      const file = path.join(dir, `${m.name}.int8.onnx`);
      writeModel(file, q);
      const a = await logits(fp);
      const b = await logits(file);
      assert.equal(b.length, a.length);
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) {
        assert.ok(Number.isFinite(b[i]));
        maxAbs = Math.max(maxAbs, Math.abs(a[i]));
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      }
      assert.ok(maxDiff <= 0.02 + 0.1 * maxAbs, `${JSON.stringify(options)}: logits differ by ${maxDiff} (largest ${maxAbs})`);

      const fused = await checkFusion(file);
      const float = await checkFusion(fp);
      assert.equal(fused.unfused, 0, 'no MatMulInteger left');
      assert.equal(fused.dynamicQuantizeMatMul + fused.matMulIntegerToFloat, report.quantized.length, `${JSON.stringify(fused.ops)}`);
      assert.ok(fused.dynamicQuantizeMatMul > 0);
      // The Cast and the two Muls of each chain are gone: as many as the float model runs.
      for (const op of [':Cast', ':Mul']) assert.equal(fused.ops[op] ?? 0, float.ops[op] ?? 0, `${op} in ${JSON.stringify(fused.ops)}`);
      // What is left of DynamicQuantizeLinear feeds MatMulIntegerToFloat only (Q, K, V sharing one input).
      assert.ok((fused.ops[':DynamicQuantizeLinear'] ?? 0) <= fused.matMulIntegerToFloat);
      if (fused.matMulIntegerToFloat === 0) assert.equal(fused.ops[':DynamicQuantizeLinear'] ?? 0, 0);
    }
  });
}

test('the fused kernels take the bias: DynamicQuantizeMatMul reads the layer\'s .bias (builder and exporter)', { timeout: 60_000 }, async () => {
  for (const [name, spec] of [['builder', buildEncoderClassifier(builderConfig('bert'))], ['bert-mini', forwardSpecFromModel(await openModel(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx')))]] as const) {
    const file = path.join(dir, `${name}-bias.int8.onnx`);
    writeModel(file, quantizeDynamic(spec).spec);
    const optimized = path.join(dir, `${name}-bias.opt.onnx`);
    await (await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 })).release();
    const nodes = (await openModel(optimized)).onnx!.nodes.filter((n) => n.opType === 'DynamicQuantizeMatMul' || n.opType === 'MatMulIntegerToFloat');
    assert.ok(nodes.length > 0);
    for (const n of nodes) {
      assert.equal(n.domain, 'com.microsoft');
      const bias = n.inputs[n.opType === 'DynamicQuantizeMatMul' ? 4 : 6];
      assert.match(bias ?? '', /\.bias$/, `${name} ${n.opType} ${n.name}: ${n.inputs.join(', ')}`);
    }
  }
});
