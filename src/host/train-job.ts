// Training-like jobs on the host (fine-tuning, distillation): the one job runner, the step
// history gathered from the streamed progress (so a killed worker still leaves its curve), and
// the run record the job ends with, whatever way it ended.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { describeEnvironment } from '../core/benchmark/environment';
import { UserError } from '../core/errors';
import type { TrainOptions } from '../core/training/train-options';
import type { DistillOptions } from '../core/distill/distill-options';
import type { EvalLog, StepLog } from '../core/training/trainer';
import type { TrainProgress } from '../core/training/progress';
import { RUN_SCHEMA, thinHistory, type RunRecord } from '../core/runs/run-record';
import { modelIdentity } from './model-identity';
import { howItEnded, lastOutput, startJob, timeoutWords, type JobOptions } from './job-runner';

/** A training step may take seconds and the stop writes a checkpoint and the model: wait this long before killing. */
export const TRAIN_GRACE_MS = 30_000;

type TrainingKind = 'train' | 'distill';

export interface TrainingJob<K extends TrainingKind> {
  /** Resolves (never rejects) with the run record once the job has ended and its worker is gone. */
  done: Promise<RunRecord<K>>;
  cancel(): void;
  kill(): void;
  pid: number | undefined;
}

export type TrainJob = TrainingJob<'train'>;
export type DistillJob = TrainingJob<'distill'>;

const PATH_OPTIONS = ['model', 'teacher', 'data', 'out', 'tokenizer', 'eval', 'log', 'checkpoint', 'resume', 'hfOut', 'cacheDir'] as const;

/** Absolute paths, so the record means the same files wherever it is read from. */
export function resolvedOptions<T extends object>(o: T): T {
  const out = { ...o } as Record<string, unknown>;
  for (const k of PATH_OPTIONS) if (typeof out[k] === 'string') out[k] = path.resolve(out[k] as string);
  // A record is JSON: what is not set is not there.
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as T;
}


export function startTrainJob(workerPath: string, options: TrainOptions, jobOptions: JobOptions<'train'> = {}): TrainJob {
  const settings = resolvedOptions(options);
  return startTrainingJob(workerPath, 'train', settings, settings.model, jobOptions);
}

/** A distillation job; its record's model is the teacher (what was compressed), the result names the student. */
export function startDistillJob(workerPath: string, options: DistillOptions, jobOptions: JobOptions<'distill'> = {}): DistillJob {
  const settings = resolvedOptions(options);
  return startTrainingJob(workerPath, 'distill', settings, settings.teacher, jobOptions);
}

function startTrainingJob<K extends TrainingKind>(workerPath: string, kind: K, settings: RunRecord<K>['settings'], model: string, jobOptions: JobOptions<K>): TrainingJob<K> {
  const created = new Date().toISOString();
  const identity = modelIdentity(model);
  const steps: StepLog[] = [];
  const evals: EvalLog[] = [];
  let totalSteps: number | undefined;
  let lastCheckpoint: { file: string; step: number } | undefined;
  const job = startJob(workerPath, kind, settings, {
    graceMs: TRAIN_GRACE_MS,
    ...jobOptions,
    onProgress: (p: TrainProgress) => {
      if (p.type === 'steps') steps.push(...p.steps);
      else if (p.type === 'eval') evals.push(p.eval);
      else if (p.type === 'start') totalSteps = p.totalSteps;
      else if (p.type === 'checkpoint') lastCheckpoint = { file: p.file, step: p.step };
      jobOptions.onProgress?.(p);
    },
  });
  const done = job.done.then(async (end): Promise<RunRecord<K>> => {
    const at = steps.length ? steps[steps.length - 1].step : 0;
    let error: string | undefined;
    if (end.status === 'timeout') error = `the ${kind === 'train' ? 'training' : 'distillation'} did not finish within ${timeoutWords(jobOptions.timeoutMs)} and was stopped after step ${at}`;
    else if (end.status === 'failed' && end.exit) {
      const ckpt = lastCheckpoint ? `; the last checkpoint is ${lastCheckpoint.file} (step ${lastCheckpoint.step}): resume from it` : '; no checkpoint was written';
      error = `${howItEnded(kind, end.exit)} after step ${at}${totalSteps ? ` of ${totalSteps}` : ''}${ckpt}${lastOutput(end.stderrTail)}`;
    } else if (end.error) error = end.error.message;
    const result = end.result;
    return {
      schema: RUN_SCHEMA, kind, id: randomUUID(), created, model: await identity, settings,
      environment: describeEnvironment(), status: end.status,
      ...(error ? { error } : {}),
      ...(end.error instanceof UserError ? { errorInfo: end.error.toInfo() } : {}),
      result: {
        // A worker that never answered leaves only its streamed steps and its last periodic checkpoint.
        ...(result ?? (lastCheckpoint ? { checkpoint: lastCheckpoint.file } : {})),
        history: thinHistory(steps), evals: result?.evals ?? evals,
      },
    } as RunRecord<K>;
  });
  return { done, cancel: () => job.cancel(), kill: () => job.kill(), pid: job.pid };
}
