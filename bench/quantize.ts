// npm run bench:quantize: a bert-base-sized classifier (12 layers, hidden 768; --small: 4 layers,
// hidden 256, the SST-2 teacher's shape; --tinybert and --mobilebert: the SST-2 benches' students
// of those recipes) built here, quantized by the quantize job, then fp32 and int8 benchmarked at batch
// 1, seq 128, all cores, in interleaved benchmark jobs (src/host/interleaved-latency.ts) so that
// drift and the machine's other work hit both alike. Latency does not depend
// on the weights, so the model is not trained. Prints size, p50, p95 and the speed-up.
// --profile adds onnxruntime's profile of both by op type (src/core/benchmark/op-profile.ts): the
// share of the float run in MatMuls bounds what int8 can buy.
// Environment: ROUNDS (4), RUNS per block (20), WARMUP (5), THREADS (all cores).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildEncoderClassifier, type EncoderConfig } from '../src/core/onnx/bert-builder';
import type { ModelSpec } from '../src/core/onnx/model-spec';
import { mobilebertStudent, tinybertStudent } from '../src/core/distill/students';
import { studentPlans, teacherPlan } from './pipeline';
import { writeModel } from '../src/core/onnx/onnx-writer';
import { onnxruntimeVersion } from '../src/core/benchmark/environment';
import { measureInterleaved } from '../src/host/interleaved-latency';
import { startQuantizeJob } from '../src/host/quantize-job';
import { detectCpu } from '../src/core/quantize/cpu';
import { matmulShare, profileOps } from '../src/core/benchmark/op-profile';
import { formatBytes, formatMs, formatSpeedup } from '../src/core/format';
import { table } from '../src/cli/format';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const RUNS = Number(process.env.RUNS ?? 20);
const WARMUP = Number(process.env.WARMUP ?? 5);
const THREADS = Number(process.env.THREADS ?? availableParallelism());
// --small and the students are the SST-2 benches' own (bench/pipeline.ts), built as the recipes build them.
const sst2Teacher = teacherPlan(0).config;
const sst2Students = studentPlans('', 0);
const BERT_BASE: EncoderConfig = { family: 'bert', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512, numLabels: 2 };
const built = (config: EncoderConfig) => ({ spec: buildEncoderClassifier(config), config });
const SHAPES: Record<'base' | 'small' | 'tinybert' | 'mobilebert', { what: string; build: () => { spec: ModelSpec; config: EncoderConfig } }> = {
  base: { what: 'bert-base-sized', build: () => built(BERT_BASE) },
  small: { what: 'small (the SST-2 teacher\'s shape)', build: () => built(sst2Teacher) },
  tinybert: { what: 'TinyBERT-style student', build: () => tinybertStudent(sst2Teacher, sst2Students.tinybert.options) },
  mobilebert: { what: 'MobileBERT-style student', build: () => mobilebertStudent(sst2Teacher, sst2Students.mobilebert.options) },
};
const shapeName = (Object.keys(SHAPES) as Array<keyof typeof SHAPES>).find((k) => process.argv.includes(`--${k}`)) ?? 'base';
const named = shapeName !== 'base';
const profile = process.argv.includes('--profile');
const ROOT = path.resolve(__dirname, '..');
const WORKER = path.join(ROOT, 'dist', 'worker.js');


const dir = mkdtempSync(path.join(tmpdir(), 'mcl-bench-quantize-'));

async function main(): Promise<void> {
  const fp32 = path.join(dir, 'fp32.onnx');
  const int8 = path.join(dir, 'int8.onnx');
  let t0 = Date.now();
  const { spec, config } = SHAPES[shapeName].build();
  writeModel(fp32, spec);
  const what = `${config.numLayers} layers, hidden ${config.hiddenSize}, vocab ${config.vocabSize}`;
  console.log(`built a ${SHAPES[shapeName].what} model (${what}): ${formatBytes(statSync(fp32).size)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  t0 = Date.now();
  const q = await startQuantizeJob(WORKER, { model: fp32, out: int8, threads: THREADS }).done;
  if (q.status !== 'complete' || !q.result.fusion) throw new Error(`quantize job ${q.status}: ${q.error ?? ''}`);
  const f = q.result.fusion;
  console.log(`quantized by the quantize job in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${q.result.report?.quantized.length} weights, reduce_range ${q.result.cpu?.reduceRange ? 'on' : 'off'} (${q.result.cpu?.why}); onnxruntime fuses ${f.dynamicQuantizeMatMul} DynamicQuantizeMatMul + ${f.matMulIntegerToFloat} MatMulIntegerToFloat, ${f.unfused} unfused`);

  const load = [loadavg()[0]];
  const measured = await measureInterleaved(WORKER, [fp32, int8], {
    threads: THREADS, rounds: ROUNDS, runs: RUNS, warmup: WARMUP,
    onRound: (round, rounds, p50) => {
      load.push(loadavg()[0]);
      console.log(`round ${round}/${rounds}: fp32 p50 ${formatMs(p50.get(fp32)!)} ms, int8 p50 ${formatMs(p50.get(int8)!)} ms, speed-up ${formatSpeedup(p50.get(fp32)! / p50.get(int8)!)}`);
    },
  });

  const a = measured.runs.get(fp32)!.results[0].stats;
  const b = measured.runs.get(int8)!.results[0].stats;
  const cpu = detectCpu();
  console.log('');
  const env = ['ROUNDS', 'RUNS', 'WARMUP', 'THREADS'].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]} `).join('');
  console.log(`command: ${env}npm run bench:quantize${named || profile ? ` -- ${[named ? `--${shapeName}` : '', profile ? '--profile' : ''].filter(Boolean).join(' ')}` : ''}   (${what}; ${ROUNDS} interleaved rounds x ${RUNS} runs after ${WARMUP} warm-up, batch 1, seq 128, ${THREADS} thread${THREADS === 1 ? '' : 's'}, optimization all)`);
  console.log(`machine: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, VNNI ${cpu.vnni ? 'yes' : 'no'}, AVX2 ${cpu.avx2 ? 'yes' : 'no'}; onnxruntime-node ${onnxruntimeVersion()}, node ${process.version}; 1-min load average ${Math.min(...load).toFixed(2)}-${Math.max(...load).toFixed(2)} during the run`);
  console.log(table(['model', 'size', 'p50 ms', 'p95 ms', 'cv', 'speed-up'], [
    ['fp32 (baseline)', formatBytes(statSync(fp32).size), formatMs(a.p50), formatMs(a.p95), `${(a.cv * 100).toFixed(1)}%`, '1.00x'],
    ['int8 dynamic', formatBytes(statSync(int8).size), formatMs(b.p50), formatMs(b.p95), `${(b.cv * 100).toFixed(1)}%`, formatSpeedup(a.p50 / b.p50)],
  ], [false, true, true, true, true, true]));
  if (profile) await printProfiles(fp32, int8);
}

async function printProfiles(fp32: string, int8: string): Promise<void> {
  const [pa, pb] = await profileOps([fp32, int8], { threads: THREADS, runs: 100 });
  const ops = [...new Set([...pa.ops, ...pb.ops].map((o) => o.op))];
  const ms = (p: typeof pa, op: string): number => p.ops.find((o) => o.op === op)?.ms ?? 0;
  ops.sort((x, y) => Math.max(ms(pb, y), ms(pa, y)) - Math.max(ms(pb, x), ms(pa, x)));
  console.log('');
  console.log(`onnxruntime's profile, ${pa.runs} runs each after 5 warm-up, in turn, ${THREADS} thread${THREADS === 1 ? '' : 's'} (kernel ms per run by op type; the profiler's own overhead included):`);
  console.log(table(['op', 'fp32 ms', 'int8 ms'], [
    ...ops.map((op) => [op, ms(pa, op) ? formatMs(ms(pa, op)) : '-', ms(pb, op) ? formatMs(ms(pb, op)) : '-']),
    ['whole run', formatMs(pa.runMs), formatMs(pb.runMs)],
  ], [false, true, true]));
  const a = matmulShare(pa);
  const b = matmulShare(pb);
  console.log(`MatMul-like kernels: fp32 ${formatMs(a.ms)} ms (${(a.share * 100).toFixed(0)}% of its kernel time), int8 ${formatMs(b.ms)} ms, ${formatSpeedup(a.ms / b.ms)} on those alone; if they cost nothing the fp32 run would be at most ${formatSpeedup(a.bound)} faster (Amdahl)`);
}

main()
  .catch((e) => { console.error(e); process.exitCode = 1; })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
