// npm run bench:distill — the product's promise measured end to end on real data: a BERT teacher
// trained here from the builder (no pretrained weights exist offline), a DistilBERT-style and a
// TinyBERT-style student distilled from it, all three benchmarked at batch 1, seq 128, all cores.
// Every job runs as the CLI and the editor run it: a worker process per job through the host's
// job runner. Prints params, % of the teacher, p50, speed-up, dev accuracy, % of the teacher's
// accuracy and training time, against the targets.
//
//   npm run bench:distill [-- --data DIR (train.tsv, dev.tsv) | --train F --dev F] [--tokenizer tokenizer.json]
//                           [--out DIR] [--teacher-steps N] [--student-steps N] [--quick]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildEncoderClassifier, type EncoderConfig } from '../src/core/onnx/bert-builder';
import { writeModel } from '../src/core/onnx/onnx-writer';
import { startDistillJob, startTrainJob } from '../src/host/train-job';
import { startBenchmarkJob } from '../src/host/benchmark-job';
import { workerScript } from '../src/host/worker-path';
import { saveRunIn, type AnyRunRecord } from '../src/core/runs/run-record';
import { formatCount, formatMs } from '../src/core/format';
import { table } from '../src/cli/format';
import type { DistillOptions } from '../src/core/distill/distill-options';
import type { TrainProgress } from '../src/core/training/progress';
import { availableParallelism } from 'node:os';

const ROOT = path.resolve(__dirname, '..');
const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const quick = process.argv.includes('--quick');
const dataDir = path.resolve(arg('data', path.join(ROOT, '../shared/data/sst2'))!);
const TRAIN = path.resolve(arg('train', path.join(dataDir, 'train.tsv'))!);
const DEV = path.resolve(arg('dev', path.join(dataDir, 'dev.tsv'))!);
const TOKENIZER = path.resolve(arg('tokenizer', path.join(ROOT, '../shared/tokenizers/bert-base-uncased/tokenizer.json'))!);
const OUT = path.resolve(arg('out', path.join(ROOT, '.tmp', 'bench-distill'))!);
const TEACHER_STEPS = Number(arg('teacher-steps', quick ? '60' : '3000'));
const STUDENT_STEPS = Number(arg('student-steps', quick ? '40' : '2000'));
const MAX_LENGTH = 64;

const TEACHER: EncoderConfig = { family: 'bert', vocabSize: 30522, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 128, numLabels: 2, dropout: 0.1, seed: 1 };

function progressLine(name: string): (p: TrainProgress) => void {
  let total = 0;
  return (p) => {
    if (p.type === 'start') total = p.totalSteps;
    else if (p.type === 'steps') {
      const s = p.steps[p.steps.length - 1];
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${name}: step ${s.step}/${total} loss ${s.loss.toFixed(4)} ${s.examplesPerSec.toFixed(0)} ex/s`);
    } else if (p.type === 'eval') {
      const e = p.eval;
      process.stderr.write(`\r\x1b[K${name}: eval at step ${e.step}${e.stage ? ` (${e.stage})` : ''}: accuracy ${(100 * e.accuracy).toFixed(2)}%${e.agreement !== undefined ? `, agreement ${(100 * e.agreement).toFixed(2)}%` : ''}\n`);
    } else if (p.type === 'phase') process.stderr.write(`\r\x1b[K${name}: ${p.message}\n`);
  };
}

function need(record: AnyRunRecord): void {
  if (record.status !== 'complete') throw new Error(`${record.kind} job ${record.status}: ${record.error ?? ''}`);
}

async function benchmark(model: string): Promise<{ p50: number; p95: number }> {
  const run = await startBenchmarkJob(workerScript(), {
    model, batches: [1], seqs: [128], threads: [availableParallelism()], warmup: 10, runs: 100,
    session: { graphOptimizationLevel: 'all', executionMode: 'sequential', enableCpuMemArena: true, executionProvider: 'cpu' }, inputs: { kind: 'synthetic' },
  }).done;
  if (run.status !== 'complete' || !run.results[0]) throw new Error(`benchmark of ${model}: ${run.status} ${run.error ?? ''}`);
  saveRunIn(path.join(OUT, 'runs'), (await import('../src/core/runs/run-record')).benchmarkRecord(run));
  return { p50: run.results[0].stats.p50, p95: run.results[0].stats.p95 };
}

async function main(): Promise<void> {
  for (const f of [TRAIN, DEV, TOKENIZER]) if (!existsSync(f)) throw new Error(`${f}: missing (give --data DIR with train.tsv and dev.tsv, or --train/--dev, and --tokenizer)`);
  mkdirSync(OUT, { recursive: true });
  const worker = workerScript();
  const runs = path.join(OUT, 'runs');
  const common = { data: TRAIN, eval: DEV, tokenizer: TOKENIZER, maxLength: MAX_LENGTH, batchSize: 32, optimizer: 'adamw' as const, threads: availableParallelism(), cacheDir: path.join(OUT, 'teacher-cache') };

  // 1. The teacher: built, then fine-tuned on the task.
  const init = path.join(OUT, 'teacher-init.onnx');
  writeModel(init, buildEncoderClassifier(TEACHER));
  const teacherFile = path.join(OUT, 'teacher', 'model.onnx');
  let t0 = Date.now();
  const teacher = await startTrainJob(worker, { ...common, model: init, out: teacherFile, lr: 3e-4, maxSteps: TEACHER_STEPS, warmupRatio: 0.06, dropout: 0.1, schedule: 'linear', log: path.join(OUT, 'teacher.jsonl') }, { onProgress: progressLine('teacher') }).done;
  const teacherSec = (Date.now() - t0) / 1000;
  need(teacher);
  saveRunIn(runs, teacher);
  const teacherAcc = teacher.result.evals[teacher.result.evals.length - 1].accuracy;

  // 2. The students, distilled from it.
  const students: Array<{ label: string; options: DistillOptions }> = [
    { label: 'DistilBERT-style (2 of 4 layers, copied)', options: { ...common, recipe: 'distilbert', teacher: teacherFile, out: path.join(OUT, 'distilbert', 'model.onnx'), layers: 2, lr: 1e-4, maxSteps: STUDENT_STEPS, warmupRatio: 0.06 } },
    { label: 'TinyBERT-style (2 layers, width 128)', options: { ...common, recipe: 'tinybert', teacher: teacherFile, out: path.join(OUT, 'tinybert', 'model.onnx'), layers: 2, hidden: 128, heads: 4, intermediate: 512, stage1Steps: STUDENT_STEPS, stage1Lr: 1e-3, lr: 5e-4, maxSteps: STUDENT_STEPS, warmupRatio: 0.06 } },
  ];
  const rows: Array<{ label: string; file: string; params: number; acc: number; sec: number }> = [];
  const teacherParams = (await import('../src/core/analysis/model-card')).analyzeModel(await (await import('../src/core/open-model')).openModel(teacherFile)).params.total;
  rows.push({ label: 'teacher (BERT, 4 layers, width 256)', file: teacherFile, params: teacherParams, acc: teacherAcc, sec: teacherSec });
  for (const s of students) {
    t0 = Date.now();
    const r = await startDistillJob(worker, s.options, { onProgress: progressLine(s.label.split(' ')[0]) }).done;
    need(r);
    saveRunIn(runs, r);
    rows.push({ label: s.label, file: s.options.out, params: r.result.student!.params, acc: r.result.evals[r.result.evals.length - 1].accuracy, sec: (Date.now() - t0) / 1000 });
  }

  // 3. Latency, each model in its own worker, batch 1, seq 128, all cores.
  const latency: Array<{ p50: number; p95: number }> = [];
  for (const r of rows) latency.push(await benchmark(r.file));

  const base = { params: rows[0].params, p50: latency[0].p50, acc: rows[0].acc };
  const cells = rows.map((r, i) => [
    r.label, formatCount(r.params), `${((100 * r.params) / base.params).toFixed(1)}%`, formatMs(latency[i].p50), `${(base.p50 / latency[i].p50).toFixed(2)}x`,
    `${(100 * r.acc).toFixed(2)}%`, `${((100 * r.acc) / base.acc).toFixed(1)}%`, `${(r.sec / 60).toFixed(1)} min`,
  ]);
  const report = [
    `bench:distill on ${path.relative(process.cwd(), TRAIN)} (dev ${path.relative(process.cwd(), DEV)}), max length ${MAX_LENGTH}, teacher ${TEACHER_STEPS} AdamW steps, students ${STUDENT_STEPS} steps (TinyBERT: ${STUDENT_STEPS} + ${STUDENT_STEPS}); latency batch 1, seq 128, ${availableParallelism()} threads`,
    '',
    table(['model', 'params', '% teacher', 'p50 ms', 'speed-up', 'dev acc', '% teacher acc', 'training'], cells, [false, true, true, true, true, true, true, true]),
    '',
    `targets: teacher >= 82% (${(100 * rows[0].acc).toFixed(2)}%: ${rows[0].acc >= 0.82 ? 'met' : 'NOT met'}); ` +
      `DistilBERT-style >= 97% of the teacher at >= 1.8x (${((100 * rows[1].acc) / base.acc).toFixed(1)}% at ${(base.p50 / latency[1].p50).toFixed(2)}x: ${rows[1].acc / base.acc >= 0.97 && base.p50 / latency[1].p50 >= 1.8 ? 'met' : 'NOT met'}); ` +
      `TinyBERT-style >= 95% at >= 4x (${((100 * rows[2].acc) / base.acc).toFixed(1)}% at ${(base.p50 / latency[2].p50).toFixed(2)}x: ${rows[2].acc / base.acc >= 0.95 && base.p50 / latency[2].p50 >= 4 ? 'met' : 'NOT met'})`,
    `command: npm run bench:distill${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}; run records in ${path.relative(process.cwd(), runs)}`,
  ].join('\n');
  console.log(report);
  writeFileSync(path.join(OUT, 'bench-distill.txt'), report + '\n');
}

main().catch((e) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
