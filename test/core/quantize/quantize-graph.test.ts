// What quantizeDynamic emits: the chain onnxruntime's quantizer writes, transposes folded into the
// integer weights, Gemm turned into the chain and an Add, the head and named nodes kept float,
// shared weights quantized once, and the integer arithmetic itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { buildEncoderClassifier, type EncoderConfig } from '../../../src/core/onnx/bert-builder';
import { forwardSpecFromModel } from '../../../src/core/onnx/forward-spec';
import type { ModelSpec, NodeSpec, TensorSpec } from '../../../src/core/onnx/model-spec';
import { openModel } from '../../../src/core/open-model';
import { quantizeDynamic, QUANTIZATION_METADATA } from '../../../src/core/quantize/quantize-dynamic';
import { quantizeMatrix, roundHalfEven, scaleAndZeroPoint, transposeMatrix, weightRange } from '../../../src/core/quantize/weights';
import { detectCpu, quantizeDefaults } from '../../../src/core/quantize/cpu';
import { OptionsError, UserError } from '../../../src/core/errors';
import { BERT_FAMILY, requireShared } from '../../helpers/paths';

requireShared();
const BERT: EncoderConfig = { family: 'bert', vocabSize: 200, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 32, numLabels: 3, seed: 5 };

const byOutput = (spec: ModelSpec) => new Map(spec.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
const inits = (spec: ModelSpec) => new Map(spec.graph.initializers.map((t) => [t.name, t]));
const readers = (spec: ModelSpec, value: string) => spec.graph.nodes.filter((n) => n.inputs.includes(value));
const exported = async (name: string) => forwardSpecFromModel(await openModel(path.join(BERT_FAMILY, name, 'model.onnx')));

/** The nodes that replaced the MatMul or Gemm whose output was `out`, walking back from it. */
function chainInto(spec: ModelSpec, out: string): { mul: NodeSpec; cast: NodeSpec; mmi: NodeSpec; scales: NodeSpec; dql: NodeSpec; add?: NodeSpec } {
  const p = byOutput(spec);
  let last = p.get(out)!;
  let add: NodeSpec | undefined;
  if (last.opType === 'Add') { add = last; last = p.get(last.inputs[0])!; }
  assert.equal(last.opType, 'Mul');
  const cast = p.get(last.inputs[0])!;
  const scales = p.get(last.inputs[1])!;
  const mmi = p.get(cast.inputs[0])!;
  const dql = p.get(mmi.inputs[0])!;
  assert.deepEqual([cast.opType, scales.opType, mmi.opType, dql.opType], ['Cast', 'Mul', 'MatMulInteger', 'DynamicQuantizeLinear']);
  return { mul: last, cast, mmi, scales, dql, add };
}

test('a builder Linear (MatMul(x, Transpose(W)) + bias) becomes DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul, W transposed into the integers', () => {
  const spec = buildEncoderClassifier(BERT);
  const { spec: q, report } = quantizeDynamic(spec);
  const name = 'bert.encoder.layer.0.intermediate.dense.weight';
  const entry = report.quantized.find((e) => e.weight === name)!;
  assert.ok(entry, 'the intermediate dense is quantized');
  assert.equal(entry.transposed, true);
  assert.deepEqual(entry.dims, [64, 32]);
  // The MatMul's output keeps its name: the bias Add and everything after are untouched.
  const mm = spec.graph.nodes.find((n) => n.opType === 'MatMul' && n.name === entry.node)!;
  const { mul, cast, mmi, scales, dql } = chainInto(q, mm.outputs[0]);
  assert.deepEqual(dql.inputs, [mm.inputs[0]]);
  assert.equal(dql.outputs.length, 3);
  assert.deepEqual(mmi.inputs, [dql.outputs[0], `${name}_quantized`, dql.outputs[2], `${name}_zero_point`]);
  assert.equal(cast.attributes?.to?.type === 'int' && cast.attributes.to.value, 1);
  assert.deepEqual(scales.inputs, [dql.outputs[1], `${name}_scale`]);
  assert.deepEqual(mul.inputs, [cast.outputs[0], scales.outputs[0]]);
  assert.equal(readers(q, mm.outputs[0])[0].opType, 'Add');

  const t = inits(q);
  assert.equal(t.has(name), false, 'the float weight is gone');
  const w = inits(spec).get(name)!;
  const qw = t.get(`${name}_quantized`)!;
  const scale = t.get(`${name}_scale`)!;
  const zp = t.get(`${name}_zero_point`)!;
  assert.equal(qw.dtype, 'int8');
  assert.deepEqual(qw.dims, [32, 64], 'stored [in, out], as MatMulInteger reads B');
  assert.deepEqual(scale.dims, [], 'one scale per tensor by default');
  assert.deepEqual([...(zp.values as Int8Array)], [0], 'symmetric: zero point 0');
  // Dequantized, each integer is within half a step of W transposed.
  const s = (scale.values as Float32Array)[0];
  const wt = transposeMatrix(w.values as Float32Array, 64, 32);
  const ints = qw.values as Int8Array;
  for (let i = 0; i < wt.length; i++) assert.ok(Math.abs(ints[i] * s - wt[i]) <= s / 2 + 1e-9, `element ${i}`);
  assert.ok(Math.max(...ints.map(Math.abs)) === 127, 'the largest weight uses the whole range');
  // No Transpose of a quantized weight is left behind.
  for (const n of q.graph.nodes) if (n.opType === 'Transpose') assert.ok(!n.inputs[0].endsWith('.weight') || !report.quantized.some((e) => e.weight === n.inputs[0]), n.inputs[0]);
  const meta = JSON.parse(q.metadata?.[QUANTIZATION_METADATA] ?? '{}') as Record<string, unknown>;
  assert.equal(meta.weightType, 'int8');
  assert.equal(meta.quantized, report.quantized.length);
});

test('only MatMul/Gemm weights change: the other ops are the same, in the same order', () => {
  const spec = buildEncoderClassifier(BERT);
  const { spec: q, report } = quantizeDynamic(spec);
  const emitted = new Set(['DynamicQuantizeLinear', 'MatMulInteger', 'Cast', 'Mul']);
  const kept = (s: ModelSpec) => s.graph.nodes.filter((n) => n.opType !== 'Transpose' || !n.inputs[0].endsWith('.weight'));
  const before = kept(spec).filter((n) => !(n.opType === 'MatMul' && report.quantized.some((e) => e.node === n.name)));
  const after = kept(q).filter((n) => !emitted.has(n.opType) || spec.graph.nodes.some((o) => o.name === n.name));
  assert.deepEqual(after.map((n) => `${n.opType}:${n.name}`), before.map((n) => `${n.opType}:${n.name}`));
  // Attention's activation x activation products stay float, and are reported.
  assert.equal(report.skipped.filter((s) => /activation x activation/.test(s.why)).length, 2 * BERT.numLayers);
  // The ops of the quantized graph: the emitted ones and those the float graph had.
  const ops = new Set(q.graph.nodes.map((n) => n.opType));
  for (const op of emitted) assert.ok(ops.has(op), op);
  assert.deepEqual(q.graph.inputs, spec.graph.inputs);
  assert.deepEqual(q.graph.outputs, spec.graph.outputs);
});

test('Q, K and V reading one hidden state share one DynamicQuantizeLinear, as in onnxruntime\'s quantizer', () => {
  const { spec: q } = quantizeDynamic(buildEncoderClassifier(BERT));
  const dqls = q.graph.nodes.filter((n) => n.opType === 'DynamicQuantizeLinear');
  const fanOut = dqls.map((d) => readers(q, d.outputs[0]).length).sort();
  // Per layer: one for Q/K/V (3 readers), one each for attention output, intermediate, output; plus the pooler.
  assert.deepEqual(fanOut, [...Array(BERT.numLayers).fill(3), ...Array(3 * BERT.numLayers + 1).fill(1)].sort());
});

test('PyTorch\'s export: MatMul(x, W) weights stay [in, out], Add(bias, y) is turned to Add(y, bias), Gemm(transB) becomes the chain and Add(., C)', async () => {
  const spec = await exported('bert-mini');
  const { spec: q, report } = quantizeDynamic(spec, { excludeHead: false });
  const query = report.quantized.find((e) => e.node === '/bert/layer.0/attention/self/query/MatMul')!;
  assert.equal(query.weight, 'onnx::MatMul_306');
  assert.equal(query.transposed, false);
  assert.deepEqual(inits(q).get('onnx::MatMul_306_quantized')?.dims, [64, 64]);
  const out = spec.graph.nodes.find((n) => n.name === query.node)!.outputs[0];
  const biasAdd = readers(q, out)[0];
  assert.deepEqual(biasAdd.inputs, [out, 'bert.encoder.layer.0.attention.self.query.bias'], 'bias second, where onnxruntime folds it');

  const gemm = spec.graph.nodes.find((n) => n.opType === 'Gemm' && n.inputs[1] === 'bert.pooler.dense.weight')!;
  const pooler = report.quantized.find((e) => e.node === gemm.name)!;
  assert.equal(pooler.op, 'Gemm');
  assert.equal(pooler.transposed, true, 'transB = 1 folded');
  const { add } = chainInto(q, gemm.outputs[0]);
  assert.deepEqual(add?.inputs.slice(1), ['bert.pooler.dense.bias']);
  assert.equal(q.graph.nodes.filter((n) => n.opType === 'Gemm').length, 0);
  assert.equal(q.graph.nodes.filter((n) => n.opType === 'MatMul').length, 4, 'the attention products only');
});

test('the classifier head stays float by default; --quantize-head quantizes it; names exclude nodes or weights', async () => {
  const spec = buildEncoderClassifier(BERT);
  const kept = quantizeDynamic(spec);
  assert.ok(kept.report.skipped.some((s) => /classifier head/.test(s.why)));
  assert.ok(inits(kept.spec).has('classifier.weight'));
  assert.ok(kept.spec.graph.nodes.some((n) => n.opType === 'MatMul' && n.name?.startsWith('classifier/')));
  const all = quantizeDynamic(spec, { excludeHead: false });
  assert.ok(all.report.quantized.some((e) => e.weight === 'classifier.weight'));
  assert.equal(inits(all.spec).has('classifier.weight'), false);
  assert.equal(all.report.quantized.length, kept.report.quantized.length + 1);

  // DistilBERT's head is pre_classifier and classifier: both kept.
  const distil = quantizeDynamic(await exported('distilbert-mini'));
  assert.deepEqual(distil.report.skipped.filter((s) => /head/.test(s.why)).map((s) => s.node), ['/pre_classifier/Gemm', '/classifier/Gemm']);

  const queryNode = spec.graph.nodes.find((n) => n.opType === 'MatMul' && n.name?.startsWith('bert.encoder.layer.0.attention.self.query/'))!.name!;
  const byNode = quantizeDynamic(spec, { exclude: [queryNode] });
  assert.ok(byNode.report.skipped.some((s) => s.why === 'excluded by name' && s.node === queryNode));
  assert.equal(byNode.report.quantized.length, kept.report.quantized.length - 1);
  const byWeight = quantizeDynamic(spec, { exclude: ['bert.encoder.layer.1.output.dense.weight'] });
  assert.ok(inits(byWeight.spec).has('bert.encoder.layer.1.output.dense.weight'));
  assert.equal(byWeight.report.quantized.length, kept.report.quantized.length - 1);
  assert.throws(() => quantizeDynamic(spec, { exclude: ['no.such.node'] }), (e: unknown) => e instanceof OptionsError && /'no\.such\.node'/.test(e.message));
});

test('ALBERT\'s shared layer: each weight quantized once, its integers read by every layer', () => {
  const spec = buildEncoderClassifier({ ...BERT, family: 'albert', numLayers: 3, embeddingSize: 16 });
  const { spec: q, report } = quantizeDynamic(spec);
  const query = report.quantized.filter((e) => e.weight.endsWith('attention.query.weight'));
  assert.equal(query.length, 3);
  assert.equal(query.filter((e) => e.sharedWith).length, 2);
  assert.ok(query.slice(1).every((e) => e.bytesBefore === 0 && e.bytesAfter === 0 && e.sharedWith === query[0].node));
  const qname = query[0].quantizedWeight;
  assert.equal(q.graph.nodes.filter((n) => n.opType === 'MatMulInteger' && n.inputs[1] === qname).length, 3);
  assert.equal(q.graph.initializers.filter((t) => t.name.startsWith('albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight')).length, 3, 'integers, scale, zero point: once');
});

test('per-channel scales along the output axis; uint8 weights are asymmetric; reduce_range keeps 7 bits', () => {
  const spec = buildEncoderClassifier(BERT);
  const name = 'bert.encoder.layer.1.intermediate.dense.weight';
  const pc = inits(quantizeDynamic(spec, { perChannel: true }).spec);
  assert.deepEqual(pc.get(`${name}_scale`)?.dims, [64], 'one per output column');
  assert.deepEqual(pc.get(`${name}_zero_point`)?.dims, [64]);
  const w = transposeMatrix(inits(spec).get(name)!.values as Float32Array, 64, 32);
  const scales = pc.get(`${name}_scale`)!.values as Float32Array;
  for (let c = 0; c < 64; c++) {
    let m = 0;
    for (let r = 0; r < 32; r++) m = Math.max(m, Math.abs(w[r * 64 + c]));
    assert.ok(Math.abs(scales[c] - m / 127) < 1e-9, `column ${c}`);
  }

  const u8 = inits(quantizeDynamic(spec, { weightType: 'uint8' }).spec);
  assert.equal(u8.get(`${name}_quantized`)?.dtype, 'uint8');
  const zp = (u8.get(`${name}_zero_point`)!.values as Uint8Array)[0];
  assert.ok(zp > 0 && zp < 255, `zero point ${zp} inside the range`);

  const rr = inits(quantizeDynamic(spec, { reduceRange: true }).spec);
  const ints = rr.get(`${name}_quantized`)!.values as Int8Array;
  assert.equal(Math.max(...ints), 64);
  assert.ok(Math.min(...ints) >= -64);
});

test('the integer arithmetic: ranges, rounding half to even, scale and zero point', () => {
  assert.deepEqual(weightRange('int8', false), { qmin: -127, qmax: 127 });
  assert.deepEqual(weightRange('int8', true), { qmin: -64, qmax: 64 });
  assert.deepEqual(weightRange('uint8', false), { qmin: 0, qmax: 255 });
  assert.deepEqual(weightRange('uint8', true), { qmin: 0, qmax: 127 });
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, -3]);
  assert.deepEqual(scaleAndZeroPoint(-1, 2, -127, 127, true), { scale: Math.fround(4 / 254), zeroPoint: 0 });
  // Asymmetric: [-1, 3] over 0..255, zero where -rmin/scale lands.
  const a = scaleAndZeroPoint(-1, 3, 0, 255, false);
  assert.equal(a.scale, Math.fround(4 / 255));
  assert.equal(a.zeroPoint, 64);
  // A range that excludes zero is widened to hold it; an all-zero weight gets scale 1.
  assert.equal(scaleAndZeroPoint(1, 2, 0, 255, false).zeroPoint, 0);
  assert.deepEqual(scaleAndZeroPoint(0, 0, -127, 127, true), { scale: 1, zeroPoint: 0 });
  const q = quantizeMatrix(Float32Array.from([1, -0.5, 0.25, 0]), 2, 2, { type: 'int8', perChannel: false, reduceRange: false });
  assert.deepEqual([...q.values], [127, -64, 32, 0]);
  assert.throws(() => quantizeMatrix(Float32Array.from([1, NaN]), 1, 2, { type: 'int8', perChannel: false, reduceRange: false }), /NaN/);
});

test('defaults per CPU: VNNI and ARM dot products get 8-bit weights, AVX2 without VNNI and unknown CPUs 7-bit', () => {
  const flags = (f: string) => `processor\t: 0\nflags\t\t: fpu sse2 ${f}\n`;
  const vnni = detectCpu(flags('avx2 avx512f avx512bw avx512_vnni'), 'x64');
  assert.equal(vnni.vnni, true);
  assert.equal(quantizeDefaults(vnni).reduceRange, false);
  const avx2 = detectCpu(flags('avx avx2 fma'), 'x64');
  assert.equal(avx2.avx2 && !avx2.vnni, true);
  assert.equal(quantizeDefaults(avx2).reduceRange, true);
  assert.match(quantizeDefaults(avx2).why, /VPMADDUBSW/);
  assert.equal(quantizeDefaults(detectCpu(flags('avx2 avx512f avx512bw'), 'x64')).reduceRange, true, 'AVX-512 before VNNI saturates too');
  assert.equal(quantizeDefaults(detectCpu(flags('avx2 avx_vnni'), 'x64')).reduceRange, false);
  assert.equal(quantizeDefaults(detectCpu('processor\t: 0\nFeatures\t: fp asimd asimddp\n', 'arm64')).reduceRange, false);
  const unknown = detectCpu('', 'x64');
  assert.equal(unknown.source, 'unknown');
  assert.equal(quantizeDefaults(unknown).reduceRange, true);
  // This machine: whatever it is, the choice follows its flags.
  const here = detectCpu();
  assert.equal(quantizeDefaults(here).reduceRange, !(here.vnni || here.armDot));
});

test('models it cannot quantize are refused by what is wrong', () => {
  const spec = buildEncoderClassifier(BERT);
  assert.throws(() => quantizeDynamic({ ...spec, opsets: [{ domain: '', version: 10 }] }), (e: unknown) => e instanceof UserError && /opset is 10; dynamic quantization needs opset 11/.test(e.message));
  // A float16 weight is reported, not quantized.
  const half: ModelSpec = structuredClone(spec);
  const t = half.graph.initializers.find((x) => x.name === 'bert.encoder.layer.0.output.dense.weight') as TensorSpec;
  t.dtype = 'float16';
  t.values = new Uint16Array((t.values as Float32Array).length);
  const r = quantizeDynamic(half).report;
  assert.ok(r.skipped.some((s) => /float16; only float32 weights are quantized/.test(s.why)));
  // The input spec is never changed.
  const copy = structuredClone(spec);
  quantizeDynamic(spec, { perChannel: true });
  assert.deepEqual(spec, copy);
});
