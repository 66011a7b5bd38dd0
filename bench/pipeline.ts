// What bench:distill and bench:report share: a teacher trained from the builder on the task data,
// students distilled from it, latency measured, each step a job in its own worker (as the CLI and
// the editor run them), its run recorded under <out>/runs. A step whose output and complete run
// record are already there is not done again, so bench:report after bench:distill reuses the
// teacher and the two students it made.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { buildEncoderClassifier, type EncoderConfig } from '../src/core/onnx/bert-builder';
import { writeModel } from '../src/core/onnx/onnx-writer';
import { startDistillJob, startTrainJob } from '../src/host/train-job';
import { measureInterleaved } from '../src/host/interleaved-latency';
import { workerScript } from '../src/host/worker-path';
import { benchmarkRecord, loadRunRecord, saveRunIn, type AnyRunRecord, type RunRecord } from '../src/core/runs/run-record';
import { hashFiles } from '../src/core/benchmark/environment';
import type { DistillOptions } from '../src/core/distill/distill-options';
import type { TrainOptions } from '../src/core/training/train-options';
import type { TrainProgress } from '../src/core/training/progress';

export const ROOT = path.resolve(__dirname, '..');

export function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** The task data, the tokenizer, the output folder and the step counts both SST-2 benches take. */
export function sst2Inputs(outName: string): { train: string; dev: string; tokenizer: string; out: string; teacherSteps: number; studentSteps: number; quick: boolean } {
  const quick = process.argv.includes('--quick');
  const dataDir = path.resolve(arg('data', path.join(ROOT, '../shared/data/sst2'))!);
  return {
    train: path.resolve(arg('train', path.join(dataDir, 'train.tsv'))!),
    dev: path.resolve(arg('dev', path.join(dataDir, 'dev.tsv'))!),
    tokenizer: path.resolve(arg('tokenizer', path.join(ROOT, '../shared/tokenizers/bert-base-uncased/tokenizer.json'))!),
    out: path.resolve(arg('out', path.join(ROOT, '.tmp', outName))!),
    teacherSteps: Number(arg('teacher-steps', quick ? '60' : '3000')),
    studentSteps: Number(arg('student-steps', quick ? '40' : '2000')),
    quick,
  };
}

export interface Pipeline {
  out: string;
  runs: string;
  worker: string;
  threads: number;
  /** Interleaved latency rounds (--latency-rounds; default LATENCY_ROUNDS). */
  latencyRounds: number;
  common: { data: string; eval: string; tokenizer: string; maxLength: number; batchSize: number; optimizer: 'adamw'; threads: number; cacheDir: string };
}

export function pipeline(out: string, data: { train: string; dev: string; tokenizer: string }, maxLength: number): Pipeline {
  for (const f of [data.train, data.dev, data.tokenizer]) if (!existsSync(f)) throw new Error(`${f}: missing (give --data DIR with train.tsv and dev.tsv, or --train/--dev, and --tokenizer)`);
  mkdirSync(out, { recursive: true });
  const threads = availableParallelism();
  // Latency is always measured on every core; --train-threads lets two training runs share the machine.
  const trainThreads = Number(arg('train-threads', String(threads)));
  const latencyRounds = Number(arg('latency-rounds', String(LATENCY_ROUNDS)));
  if (!Number.isInteger(latencyRounds) || latencyRounds < 1) throw new Error(`--latency-rounds: a whole number >= 1 (got ${arg('latency-rounds')})`);
  return {
    out, runs: path.join(out, 'runs'), worker: workerScript(), threads, latencyRounds,
    common: { data: data.train, eval: data.dev, tokenizer: data.tokenizer, maxLength, batchSize: 32, optimizer: 'adamw', threads: trainThreads, cacheDir: path.join(out, 'teacher-cache') },
  };
}

function progress(name: string): (p: TrainProgress) => void {
  return (p) => {
    if (p.type === 'eval') {
      const e = p.eval;
      process.stderr.write(`${name}: eval at step ${e.step}${e.stage ? ` (${e.stage})` : ''}: accuracy ${(100 * e.accuracy).toFixed(2)}%${e.agreement !== undefined ? `, agreement ${(100 * e.agreement).toFixed(2)}%` : ''}\n`);
    } else if (p.type === 'phase') process.stderr.write(`${name}: ${p.message}\n`);
  };
}

/**
 * A complete record of this kind that made `out` (the file as it is now) with the plan's settings,
 * when there is one; for a student, only one distilled from the teacher as it is now (a retrained
 * teacher is another), and a changed plan (another MobileBERT shape, another rate) is redone.
 */
async function existing<K extends 'train' | 'distill'>(p: Pipeline, kind: K, out: string, plan: object, teacher?: string): Promise<RunRecord<K> | undefined> {
  if (!existsSync(out) || !existsSync(p.runs)) return undefined;
  const sha = await hashFiles([out]);
  const teacherSha = teacher ? await hashFiles([teacher]) : undefined;
  for (const f of readdirSync(p.runs).sort().reverse()) {
    try {
      const r = loadRunRecord(path.join(p.runs, f));
      const sameTeacher = !teacherSha || (r.kind === 'distill' && r.result.teacher?.sha256 === teacherSha);
      const settings = (r.settings ?? {}) as unknown as Record<string, unknown>;
      const samePlan = Object.entries(plan).every(([k, v]) => k === 'teacher' || JSON.stringify(settings[k]) === JSON.stringify(v));
      if (r.kind === kind && r.status === 'complete' && path.resolve(r.result.out ?? '') === path.resolve(out) && r.result.outSha256 === sha && sameTeacher && samePlan) return r as RunRecord<K>;
    } catch {
      // not a run record of ours
    }
  }
  return undefined;
}

function need(p: Pipeline, record: AnyRunRecord, what: string): void {
  if (record.status !== 'complete') throw new Error(`${what}: ${record.kind} job ${record.status}: ${record.error ?? ''}`);
  saveRunIn(p.runs, record);
}

export async function teacher(p: Pipeline, config: EncoderConfig, train: Omit<TrainOptions, 'model' | 'out' | keyof Pipeline['common']>): Promise<{ file: string; record: RunRecord<'train'>; reused: boolean }> {
  const file = path.join(p.out, 'teacher', 'model.onnx');
  const done = await existing(p, 'train', file, train);
  if (done) return { file, record: done, reused: true };
  const init = path.join(p.out, 'teacher-init.onnx');
  writeModel(init, buildEncoderClassifier(config));
  const record = await startTrainJob(p.worker, { ...p.common, model: init, out: file, log: path.join(p.out, 'teacher.jsonl'), ...train }, { onProgress: progress('teacher') }).done;
  need(p, record, 'training the teacher');
  return { file, record, reused: false };
}

export async function student(p: Pipeline, name: string, options: Omit<DistillOptions, keyof Pipeline['common'] | 'out'>): Promise<{ file: string; record: RunRecord<'distill'>; reused: boolean }> {
  const file = path.join(p.out, name, 'model.onnx');
  const done = await existing(p, 'distill', file, options, options.teacher);
  if (done) return { file, record: done, reused: true };
  const record = await startDistillJob(p.worker, { ...p.common, ...options, out: file, log: path.join(p.out, `${name}.jsonl`) } as DistillOptions, { onProgress: progress(name) }).done;
  need(p, record, `distilling ${name}`);
  return { file, record, reused: false };
}

// Short blocks, many rounds: this VM's slow spells last seconds (a model's p50 at 2 threads can
// move from 3.5 to 5.7 ms between one block and the next), so a round must pass over every model
// quicker than a spell for the spells to fall on all of them alike. The small students' blocks also
// flip between two levels (TinyBERT-style fp32 about 1.3 and 1.9 ms): over 10 rounds their int8
// speed-up came out anywhere from 1.34x to 1.94x, over 30 within 1.51x to 1.74x.
export const LATENCY_ROUNDS = 30;
export const LATENCY_RUNS = 20;

/** p50 at batch 1, seq 128, all cores, of every model, in interleaved rounds; one record per model. */
export async function latencies(p: Pipeline, models: string[]): Promise<Map<string, number>> {
  const measured = await measureInterleaved(p.worker, models, { threads: p.threads, rounds: p.latencyRounds, runs: LATENCY_RUNS, onRound: (r, n) => process.stderr.write(`latency: round ${r} of ${n}\n`) });
  for (const run of measured.runs.values()) saveRunIn(p.runs, benchmarkRecord(run));
  return measured.p50;
}

export const finalAccuracy = (r: RunRecord<'train'> | RunRecord<'distill'>) => r.result.evals[r.result.evals.length - 1]?.accuracy ?? NaN;

/** The SST-2 teacher both benches use, and how it is trained (--teacher-dropout, --teacher-weight-decay, --teacher-lr to vary it). */
export function teacherPlan(steps: number): { config: EncoderConfig; training: Omit<TrainOptions, 'model' | 'out' | keyof Pipeline['common']> } {
  // Dropout off: on SST-2 from scratch, 0.2 gave 80.39%, 0.1 81.65% and 81.77%, 0.05 82.45%, 0 82.57%.
  const dropout = Number(arg('teacher-dropout', '0'));
  return {
    config: { family: 'bert', vocabSize: 30522, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 128, numLabels: 2, dropout, seed: 1 },
    training: { lr: Number(arg('teacher-lr', '3e-4')), maxSteps: steps, warmupRatio: 0.06, dropout, weightDecay: Number(arg('teacher-weight-decay', '0.01')), schedule: 'linear' },
  };
}

export type StudentName = 'distilbert' | 'tinybert' | 'albert' | 'mobilebert';

/** --students a,b: only these (e.g. two benches sharing the machine, each training some); default all given. */
export function chosenStudents(all: StudentName[]): StudentName[] {
  const asked = arg('students')?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!asked) return all;
  for (const a of asked) if (!all.includes(a as StudentName)) throw new Error(`--students: '${a}' is not one of ${all.join(', ')}`);
  return all.filter((s) => asked.includes(s));
}

/** The students, as both benches distil them (steps for each training stage). */
export function studentPlans(teacherFile: string, steps: number): Record<StudentName, { label: string; options: Omit<DistillOptions, keyof Pipeline['common'] | 'out'> }> {
  return {
    distilbert: { label: 'DistilBERT-style (2 of 4 layers, copied)', options: { recipe: 'distilbert', teacher: teacherFile, layers: 2, lr: 1e-4, maxSteps: steps, warmupRatio: 0.06 } },
    tinybert: { label: 'TinyBERT-style (2 layers, width 128, FFN 896, ReLU)', options: { recipe: 'tinybert', teacher: teacherFile, layers: 2, hidden: 128, heads: 4, intermediate: 896, activation: 'relu', stage1Steps: steps, stage1Lr: 1e-3, lr: 5e-4, maxSteps: steps, warmupRatio: 0.06 } },
    albert: { label: 'ALBERT-style (1 shared layer, E = 128)', options: { recipe: 'albert', teacher: teacherFile, embedding: 128, lr: 1e-4, maxSteps: steps, warmupRatio: 0.06 } },
    mobilebert: { label: 'MobileBERT-style (2 layers, bottleneck 96, 2 FFNs)', options: { recipe: 'mobilebert', teacher: teacherFile, layers: 2, bottleneck: 96, ffns: 2, intermediate: 384, stage1Steps: steps, stage1Lr: 1e-3, lr: 5e-4, maxSteps: steps, warmupRatio: 0.06 } },
  };
}

/** The model as dynamic int8 beside it (`model.int8.onnx`), compared with its float self on the dev rows; recorded. */
export async function int8(p: Pipeline, model: string): Promise<{ file: string; record: RunRecord<'quantize'> }> {
  const { startQuantizeJob } = await import('../src/host/quantize-job');
  const file = model.replace(/\.onnx$/i, '.int8.onnx');
  const record = await startQuantizeJob(p.worker, { model, out: file, eval: p.common.eval, tokenizer: p.common.tokenizer, maxLength: p.common.maxLength, threads: p.threads }).done;
  if (record.status !== 'complete') throw new Error(`quantizing ${model}: ${record.error ?? record.status}`);
  saveRunIn(p.runs, record);
  return { file, record };
}
