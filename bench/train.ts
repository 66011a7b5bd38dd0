// npm run bench:train — training throughput of a 4-layer, hidden-256 encoder classifier at batch 32,
// sequence 128 (forward + backward in onnxruntime-node, AdamW in TypeScript), against the same
// machine's MatMul throughput measured through onnxruntime-node in the same run. The ratio of
// achieved model FLOP/s to MatMul FLOP/s is the model-FLOPs utilisation (MFU). Target: >= 30%.
import * as ort from 'onnxruntime-node';
import { buildEncoderClassifier } from '../src/core/onnx/bert-builder';
import { serializeModel, writeModel } from '../src/core/onnx/onnx-writer';
import { type ModelSpec } from '../src/core/onnx/model-spec';
import { buildTrainingGraph, initialParameters, trainableCandidates, TrainingSession } from '../src/core/training/autodiff';
import { AdamW } from '../src/core/training/optim/adamw';
import { analyzeModel } from '../src/core/analysis/model-card';
import { openModel } from '../src/core/open-model';
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { cpus, tmpdir } from 'node:os';

const BATCH = 32;
const SEQ = 128;
const STEPS = Number(process.env.STEPS ?? 8);
const WARMUP = 2;

async function matmulGflops(m: number, k: number, n: number): Promise<number> {
  const rand = (len: number) => Float32Array.from({ length: len }, (_, i) => Math.sin(i) * 0.1);
  const spec: ModelSpec = {
    graph: {
      name: 'matmul', nodes: [{ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
      inputs: [{ name: 'a', dtype: 'float32', shape: [m, k] }], outputs: [{ name: 'c', dtype: 'float32', shape: [m, n] }],
      initializers: [{ name: 'b', dtype: 'float32', dims: [k, n], values: rand(k * n) }],
    },
    opsets: [{ domain: '', version: 17 }],
  };
  const s = await ort.InferenceSession.create(serializeModel(spec), { intraOpNumThreads: cpus().length });
  const a = new ort.Tensor('float32', rand(m * k), [m, k]);
  for (let i = 0; i < 3; i++) await s.run({ a });
  const times: number[] = [];
  for (let i = 0; i < 10; i++) { const t0 = process.hrtime.bigint(); await s.run({ a }); times.push(Number(process.hrtime.bigint() - t0) / 1e9); }
  times.sort((x, y) => x - y);
  await s.release();
  return (2 * m * k * n) / times[Math.floor(times.length / 2)] / 1e9;
}

async function main(): Promise<void> {
  const config = { family: 'bert' as const, vocabSize: 30522, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 512, numLabels: 2 };
  const forward = buildEncoderClassifier(config);
  const graph = await buildTrainingGraph(forward, { trainable: trainableCandidates(forward), loss: { kind: 'cross-entropy', logits: 'logits' } });
  const session = await TrainingSession.create(graph, { threads: cpus().length });
  const params = initialParameters(forward, graph.paramInputs);
  const optimizer = new AdamW({ weightDecay: 0.01 });
  let seed = 1;
  const ids = BigInt64Array.from({ length: BATCH * SEQ }, () => BigInt(1000 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 20000)));
  const feeds = {
    input_ids: new ort.Tensor('int64', ids, [BATCH, SEQ]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(BATCH * SEQ).fill(1n), [BATCH, SEQ]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(BATCH * SEQ), [BATCH, SEQ]),
    labels: new ort.Tensor('int64', BigInt64Array.from({ length: BATCH }, (_, i) => BigInt(i % 2)), [BATCH]),
  };

  // Interleave: the MatMul reference before and after the training steps, same process.
  const mm1 = await matmulGflops(BATCH * SEQ, 256, 1024);
  const stepTimes: number[] = [];
  const optTimes: number[] = [];
  let loss = 0;
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const t0 = process.hrtime.bigint();
    const r = await session.run(feeds, params);
    const t1 = process.hrtime.bigint();
    optimizer.step(params, r.grads, 1e-4);
    const t2 = process.hrtime.bigint();
    loss = r.loss;
    if (i >= WARMUP) { stepTimes.push(Number(t2 - t0) / 1e9); optTimes.push(Number(t2 - t1) / 1e9); }
  }
  const mm2 = await matmulGflops(BATCH * SEQ, 256, 1024);
  await session.release();

  // Model FLOPs: the card's multiply-adds per sequence (matrix products) x 2 FLOPs x 3 (forward,
  // and a backward pass that costs twice the forward), for every sequence of the batch.
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-train-'));
  writeModel(path.join(dir, 'model.onnx'), forward);
  const card = analyzeModel(await openModel(path.join(dir, 'model.onnx')), { seq: SEQ });
  rmSync(dir, { recursive: true, force: true });
  const flopsPerStep = card.flops.total * 2 * 3 * BATCH;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const step = median(stepTimes);
  const achieved = flopsPerStep / step / 1e9;
  const mm = (mm1 + mm2) / 2;
  const mfu = achieved / mm;
  console.log(`command: npm run bench:train   (${STEPS} measured steps after ${WARMUP}; ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, node ${process.version}, onnxruntime-node)`);
  console.log(`model: BERT encoder classifier, 4 layers, hidden 256, FFN 1024, vocab 30522 (${card.params.total.toLocaleString('en-US')} parameters), batch ${BATCH}, seq ${SEQ}`);
  console.log(`step (forward + backward + AdamW)  ${(step * 1000).toFixed(1)} ms   (AdamW ${(median(optTimes) * 1000).toFixed(1)} ms of it)   loss ${loss.toFixed(4)}`);
  console.log(`throughput                         ${(1 / step).toFixed(2)} steps/s   ${((BATCH * SEQ) / step).toFixed(0)} tokens/s`);
  console.log(`model FLOPs per step               ${(flopsPerStep / 1e9).toFixed(1)} GFLOP (3 x 2 x ${(card.flops.total / 1e6).toFixed(1)} M multiply-adds x ${BATCH} sequences)`);
  console.log(`achieved                           ${achieved.toFixed(1)} GFLOP/s`);
  console.log(`MatMul [${BATCH * SEQ}x256]x[256x1024] same run  ${mm1.toFixed(1)} / ${mm2.toFixed(1)} GFLOP/s (before / after)`);
  console.log(`model-FLOPs utilisation            ${(100 * mfu).toFixed(1)}%   (target >= 30%)`);
  console.log(mfu >= 0.3 ? 'PASS' : 'MISS');
  process.exitCode = mfu >= 0.3 ? 0 : 1;
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
