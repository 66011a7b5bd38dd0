// npm run bench:quantize: a bert-base-sized classifier (12 layers, hidden 768; --small: 4 layers,
// hidden 256) built here, quantized by the quantize job, then fp32 and int8 benchmarked at batch
// 1, seq 128, all cores, in alternating benchmark jobs (fp32 first in even rounds, int8 first in
// odd ones) so that drift and the machine's other work hit both alike. Latency does not depend
// on the weights, so the model is not trained. Prints size, p50, p95 and the speed-up.
// Environment: ROUNDS (4), RUNS per block (20), WARMUP (5), THREADS (all cores).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildEncoderClassifier, type EncoderConfig } from '../src/core/onnx/bert-builder';
import { writeModel } from '../src/core/onnx/onnx-writer';
import { latencyStats } from '../src/core/benchmark/stats';
import { onnxruntimeVersion } from '../src/core/benchmark/environment';
import type { BenchmarkPlan } from '../src/core/benchmark/types';
import { startBenchmarkJob } from '../src/host/benchmark-job';
import { startQuantizeJob } from '../src/host/quantize-job';
import { detectCpu } from '../src/core/quantize/cpu';
import { formatBytes, formatMs, formatSpeedup } from '../src/core/format';
import { table } from '../src/cli/format';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const RUNS = Number(process.env.RUNS ?? 20);
const WARMUP = Number(process.env.WARMUP ?? 5);
const THREADS = Number(process.env.THREADS ?? availableParallelism());
const small = process.argv.includes('--small');
const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist', 'worker.js');

const CONFIG: EncoderConfig = small
  ? { family: 'bert', vocabSize: 30522, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 512, numLabels: 2 }
  : { family: 'bert', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512, numLabels: 2 };

const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-quantize-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const fp32 = path.join(dir, 'fp32.onnx');
  const int8 = path.join(dir, 'int8.onnx');
  let t0 = Date.now();
  writeModel(fp32, buildEncoderClassifier(CONFIG));
  const what = `${CONFIG.numLayers} layers, hidden ${CONFIG.hiddenSize}, vocab ${CONFIG.vocabSize}`;
  console.log(`built a ${small ? 'small' : 'bert-base-sized'} model (${what}): ${formatBytes(statSync(fp32).size)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  t0 = Date.now();
  const q = await startQuantizeJob(WORKER, { model: fp32, out: int8, threads: THREADS }).done;
  if (q.status !== 'complete' || !q.result.fusion) throw new Error(`quantize job ${q.status}: ${q.error ?? ''}`);
  const f = q.result.fusion;
  console.log(`quantized by the quantize job in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${q.result.report?.quantized.length} weights, reduce_range ${q.result.cpu?.reduceRange ? 'on' : 'off'} (${q.result.cpu?.why}); onnxruntime fuses ${f.dynamicQuantizeMatMul} DynamicQuantizeMatMul + ${f.matMulIntegerToFloat} MatMulIntegerToFloat, ${f.unfused} unfused`);

  const plan = (model: string): BenchmarkPlan => ({
    model, batches: [1], seqs: [128], threads: [THREADS], warmup: WARMUP, runs: RUNS,
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' },
    inputs: { kind: 'synthetic' },
  });
  const block = async (model: string): Promise<number[]> => {
    const run = await startBenchmarkJob(WORKER, plan(model)).done;
    if (run.status !== 'complete' || !run.results[0]) throw new Error(`benchmark of ${model}: ${run.status} ${run.error ?? ''}`);
    return run.results[0].samplesMs;
  };

  const samples = { fp32: [] as number[], int8: [] as number[] };
  const load = [loadavg()[0]];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['fp32', 'int8'] as const) : (['int8', 'fp32'] as const);
    const got: Record<string, number[]> = {};
    for (const k of order) got[k] = await block(k === 'fp32' ? fp32 : int8);
    samples.fp32.push(...got.fp32);
    samples.int8.push(...got.int8);
    load.push(loadavg()[0]);
    console.log(`round ${round + 1}/${ROUNDS}: fp32 p50 ${formatMs(median(got.fp32))} ms, int8 p50 ${formatMs(median(got.int8))} ms, speed-up ${formatSpeedup(median(got.fp32) / median(got.int8))}`);
  }

  const a = latencyStats(samples.fp32);
  const b = latencyStats(samples.int8);
  const cpu = detectCpu();
  console.log('');
  console.log(`command: npm run bench:quantize${small ? ' -- --small' : ''}   (${what}; ${ROUNDS} interleaved rounds x ${RUNS} runs after ${WARMUP} warm-up, batch 1, seq 128, ${THREADS} thread${THREADS === 1 ? '' : 's'}, optimization all)`);
  console.log(`machine: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, VNNI ${cpu.vnni ? 'yes' : 'no'}, AVX2 ${cpu.avx2 ? 'yes' : 'no'}; onnxruntime-node ${onnxruntimeVersion()}, node ${process.version}; 1-min load average ${Math.min(...load).toFixed(2)}-${Math.max(...load).toFixed(2)} during the run`);
  console.log(table(['model', 'size', 'p50 ms', 'p95 ms', 'cv', 'speed-up'], [
    ['fp32 (baseline)', formatBytes(statSync(fp32).size), formatMs(a.p50), formatMs(a.p95), `${(a.cv * 100).toFixed(1)}%`, '1.00x'],
    ['int8 dynamic', formatBytes(statSync(int8).size), formatMs(b.p50), formatMs(b.p95), `${(b.cv * 100).toFixed(1)}%`, formatSpeedup(a.p50 / b.p50)],
  ], [false, true, true, true, true, true]));
}

main()
  .catch((e) => { console.error(e); process.exitCode = 1; })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
