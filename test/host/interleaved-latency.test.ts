// Interleaved latency with the real worker: every model measured once per round, each merged run
// holding the samples of all its blocks, and a model that cannot load failing the whole comparison
// with its name rather than leaving a table with a hole in it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { measureInterleaved } from '../../src/host/interleaved-latency';

const WORKER = path.resolve(__dirname, '../../dist/worker.js');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-interleaved-'));
const A = path.join(dir, 'two-layers.onnx');
const B = path.join(dir, 'one-layer.onnx');

before(() => {
  assert.ok(existsSync(WORKER), 'dist/worker.js is built (npm run build)');
  const config = { family: 'bert' as const, vocabSize: 500, hiddenSize: 32, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 2 };
  writeModel(A, buildEncoderClassifier({ ...config, numLayers: 2 }));
  writeModel(B, buildEncoderClassifier({ ...config, numLayers: 1 }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('every model is measured in every round, and its run merges all its blocks', { timeout: 120_000 }, async () => {
  const rounds: Array<[number, number, string[]]> = [];
  const m = await measureInterleaved(WORKER, [A, B], { threads: 1, rounds: 3, runs: 4, warmup: 1, seq: 16, onRound: (r, n, p50) => rounds.push([r, n, [...p50.keys()].sort()]) });
  assert.deepEqual(rounds, [[1, 3, [B, A].sort()], [2, 3, [B, A].sort()], [3, 3, [B, A].sort()]]);
  for (const model of [A, B]) {
    const run = m.runs.get(model)!;
    assert.equal(run.status, 'complete');
    assert.equal(run.results[0].samplesMs.length, 12);
    assert.equal(run.results[0].stats.runs, 12);
    assert.equal(run.plan.runs, 12);
    assert.equal(run.results[0].seq, 16);
    assert.match(run.results[0].warnings.join(' '), /3 interleaved rounds of 4 runs/);
    assert.equal(m.p50.get(model), run.results[0].stats.p50);
    assert.ok(run.results[0].stats.p50 > 0);
  }
});

test('a model that does not load fails the comparison, naming it', { timeout: 120_000 }, async () => {
  const bad = path.join(dir, 'not-a-model.onnx');
  writeFileSync(bad, 'not an onnx file');
  await assert.rejects(measureInterleaved(WORKER, [A, bad], { threads: 1, rounds: 1, runs: 2, warmup: 0, seq: 16 }), (e: Error) => e.message.includes(bad));
});
