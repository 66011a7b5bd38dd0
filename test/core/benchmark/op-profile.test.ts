// onnxruntime's profiler on a real session: a float model and its int8 version show the kernels
// onnxruntime ran after its fusions, per run, and the warm-up runs are left out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../../src/core/onnx/bert-builder';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import { quantizeDynamic } from '../../../src/core/quantize/quantize-dynamic';
import { matmulShare, profileOps, summarizeTrace } from '../../../src/core/benchmark/op-profile';

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-op-profile-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('profileOps: a float model\'s MatMuls, and its int8 model\'s DynamicQuantizeMatMul in their place, run in turn', { timeout: 60_000 }, async () => {
  const spec = buildEncoderClassifier({ family: 'bert', vocabSize: 200, hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 64, numLabels: 2, seed: 3 });
  const fp = path.join(dir, 'fp32.onnx');
  const q = path.join(dir, 'int8.onnx');
  writeModel(fp, spec);
  writeModel(q, quantizeDynamic(spec, { reduceRange: true }).spec);

  const [a, b] = await profileOps([fp, q], { threads: 1, seq: 32, runs: 7, warmup: 2 });
  assert.equal(a.runs, 7);
  assert.equal(b.runs, 7);
  const ops = (p: typeof a): string[] => p.ops.map((o) => o.op);
  assert.ok(ops(a).includes('MatMul'), ops(a).join(', '));
  assert.ok(!ops(a).includes('DynamicQuantizeMatMul'));
  assert.ok(ops(b).includes('DynamicQuantizeMatMul') || ops(b).includes('MatMulIntegerToFloat'), ops(b).join(', '));
  for (const p of [a, b]) {
    assert.ok(p.runMs > 0);
    const kernels = p.ops.reduce((s, o) => s + o.ms, 0);
    assert.ok(kernels > 0 && kernels <= p.runMs, `kernels ${kernels} ms within a run of ${p.runMs} ms`);
    for (let i = 1; i < p.ops.length; i++) assert.ok(p.ops[i - 1].ms >= p.ops[i].ms, 'slowest first');
  }
  // Two layers of Q, K, V, output and two FFN MatMuls, plus the attention products: eight weight MatMuls at least.
  assert.ok((a.ops.find((o) => o.op === 'MatMul')?.nodes ?? 0) >= 8);
  const share = matmulShare(a);
  assert.ok(share.share > 0 && share.share < 1 && share.bound > 1);
});

test('summarizeTrace: kernel times of the runs after the warm-up, per run, by op type', () => {
  const events = [
    { cat: 'Session', name: 'model_run', ts: 0, dur: 100 },
    { cat: 'Node', name: 'a_kernel_time', ts: 10, dur: 90, args: { op_name: 'MatMul' } },
    { cat: 'Session', name: 'model_run', ts: 1000, dur: 50 },
    { cat: 'Node', name: 'a_kernel_time', ts: 1010, dur: 30, args: { op_name: 'MatMul' } },
    { cat: 'Node', name: 'b_kernel_time', ts: 1040, dur: 10, args: { op_name: 'Add' } },
    { cat: 'Node', name: 'b_fence_before', ts: 1040, dur: 5, args: { op_name: 'Add' } },
    { cat: 'Session', name: 'model_run', ts: 2000, dur: 70 },
    { cat: 'Node', name: 'a_kernel_time', ts: 2010, dur: 50, args: { op_name: 'MatMul' } },
    { cat: 'Node', name: 'b_kernel_time', ts: 2060, dur: 10, args: { op_name: 'Add' } },
  ];
  const p = summarizeTrace(events, 1);
  assert.equal(p.runs, 2);
  assert.equal(p.runMs, 0.06);
  assert.deepEqual(p.ops, [{ op: 'MatMul', ms: 0.04, nodes: 1 }, { op: 'Add', ms: 0.01, nodes: 1 }]);
  const share = matmulShare(p);
  assert.equal(share.ms, 0.04);
  assert.ok(Math.abs(share.share - 0.8) < 1e-12 && Math.abs(share.bound - 5) < 1e-9, JSON.stringify(share));
  assert.throws(() => summarizeTrace(events, 3), /none after the 3 warm-up runs/);
});
