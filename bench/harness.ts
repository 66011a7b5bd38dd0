// npm run bench:harness: the benchmark harness's p50 against a bare onnxruntime-node loop
// (session.run in a tight loop), same model, inputs, session options and process kind (a forked
// Node process), interleaved in one run: alternating blocks, harness first in even rounds and
// bare first in odd ones, so drift hits both alike. Target: the harness adds at most 3%.
// Environment: ROUNDS (10), RUNS per block (15), WARMUP (3), THREADS (all cores).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildEncoderClassifier } from '../src/core/onnx/bert-builder';
import { writeModel } from '../src/core/onnx/onnx-writer';
import { openModel } from '../src/core/open-model';
import { synthesizeInputs } from '../src/core/benchmark/input-synthesis';
import { sessionOptions } from '../src/core/benchmark/ort-session';
import { latencyStats } from '../src/core/benchmark/stats';
import type { BenchmarkPlan } from '../src/core/benchmark/types';
import { startBenchmarkJob } from '../src/host/benchmark-job';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const RUNS = Number(process.env.RUNS ?? 15);
const WARMUP = Number(process.env.WARMUP ?? 3);
const TARGET = 1.03;
const MIN_RUN_MS = 20;
const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist', 'worker.js');
const BARE = path.join(__dirname, 'harness-bare.js');

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-harness-'));
const model = path.join(dir, 'bert-base.onnx');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<number> {
  const t0 = Date.now();
  writeModel(model, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512, numLabels: 2 }));
  console.log(`built a bert-base-sized model (12 layers, hidden 768): ${(statSync(model).size / 1e6).toFixed(0)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const threads = Number(process.env.THREADS ?? availableParallelism());
  const plan: BenchmarkPlan = {
    model, batches: [1], seqs: [128], threads: [threads], warmup: WARMUP, runs: RUNS,
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' },
    inputs: { kind: 'synthetic' },
  };
  // The very inputs the worker synthesizes (same default seed), written for the bare loop.
  const feeds = synthesizeInputs(await openModel(model), { batch: 1, seq: 128 }).tensors;
  const feedsFile = path.join(dir, 'feeds.json');
  writeFileSync(feedsFile, JSON.stringify(Object.fromEntries(feeds.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, values: Array.from(t.values as BigInt64Array, Number) }]))));
  const options = JSON.stringify(sessionOptions(plan.session, threads));

  const harnessBlock = async (): Promise<number[]> => {
    const run = await startBenchmarkJob(WORKER, plan).done;
    if (run.status !== 'complete') throw new Error(`harness job ${run.status}: ${run.error}`);
    return run.results[0].samplesMs;
  };
  const bareBlock = () => new Promise<number[]>((resolve, reject) => {
    const child = fork(BARE, [model, feedsFile, options, String(WARMUP), String(RUNS)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m) => resolve((m as { samplesMs: number[] }).samplesMs));
    child.on('exit', (code) => { if (code !== 0) reject(new Error(`bare loop exited with code ${code}`)); });
  });

  const harness: number[] = [];
  const bare: number[] = [];
  const roundRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let h: number[];
    let b: number[];
    if (round % 2 === 0) { h = await harnessBlock(); b = await bareBlock(); } else { b = await bareBlock(); h = await harnessBlock(); }
    harness.push(...h);
    bare.push(...b);
    roundRatios.push(median(h) / median(b));
    console.log(`round ${round + 1}/${ROUNDS}: harness p50 ${median(h).toFixed(2)} ms, bare p50 ${median(b).toFixed(2)} ms, ratio ${roundRatios[round].toFixed(3)}`);
  }

  const hs = latencyStats(harness);
  const bs = latencyStats(bare);
  const ratio = hs.p50 / bs.p50;
  console.log('');
  console.log(`command: npm run bench:harness   (${ROUNDS} interleaved rounds x ${RUNS} runs after ${WARMUP} warm-up, batch 1, seq 128, ${threads} thread${threads === 1 ? '' : 's'}, optimization all; ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, node ${process.version})`);
  console.log(`bare session.run loop (baseline)   p50 ${bs.p50.toFixed(2)} ms   p95 ${bs.p95.toFixed(2)} ms   cv ${(bs.cv * 100).toFixed(1)}%   (${bare.length} runs)`);
  console.log(`benchmark harness (worker job)     p50 ${hs.p50.toFixed(2)} ms   p95 ${hs.p95.toFixed(2)} ms   cv ${(hs.cv * 100).toFixed(1)}%   (${harness.length} runs)`);
  console.log(`harness / bare p50 ratio: ${ratio.toFixed(3)} (overhead ${((ratio - 1) * 100).toFixed(1)}%; median of per-round ratios ${median(roundRatios).toFixed(3)})   target <= ${TARGET.toFixed(2)}`);
  const longEnough = bs.p50 >= MIN_RUN_MS;
  if (!longEnough) console.log(`the model ran in under ${MIN_RUN_MS} ms per run here, too short for this comparison`);
  const ok = longEnough && ratio <= TARGET;
  console.log(ok ? 'PASS' : 'MISS');
  return ok ? 0 : 1;
}

main()
  .then((code) => { process.exitCode = code; })
  .catch((e) => { console.error(e); process.exitCode = 1; })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
