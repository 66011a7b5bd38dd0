// A training job on the host: the one job runner, the step history gathered from the streamed
// progress (so a killed worker still leaves its curve), and the run record the job ends with,
// whatever way it ended.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { describeEnvironment, hashFiles } from '../core/benchmark/environment';
import { UserError } from '../core/errors';
import type { TrainOptions } from '../core/training/train-options';
import type { EvalLog, StepLog } from '../core/training/trainer';
import type { TrainProgress } from '../core/training/progress';
import { RUN_SCHEMA, thinHistory, type RunModel, type RunRecord } from '../core/runs/run-record';
import { howItEnded, lastOutput, startJob, timeoutWords, type JobOptions } from './job-runner';

/** A training step may take seconds and the stop writes a checkpoint and the model: wait this long before killing. */
export const TRAIN_GRACE_MS = 30_000;

export interface TrainJob {
  /** Resolves (never rejects) with the run record once the job has ended and its worker is gone. */
  done: Promise<RunRecord<'train'>>;
  cancel(): void;
  kill(): void;
  pid: number | undefined;
}

/** Absolute paths, so the record means the same files wherever it is read from. */
export function resolvedTrainOptions(o: TrainOptions): TrainOptions {
  const out: TrainOptions = { ...o };
  for (const k of ['model', 'data', 'out', 'tokenizer', 'eval', 'log', 'checkpoint', 'resume'] as const) {
    const v = out[k];
    if (v !== undefined) out[k] = path.resolve(v);
  }
  // A record is JSON: what is not set is not there.
  for (const k of Object.keys(out) as Array<keyof TrainOptions>) if (out[k] === undefined) delete out[k];
  return out;
}

async function modelIdentity(file: string): Promise<RunModel> {
  const name = path.basename(file).toLowerCase() === 'model.onnx' ? path.basename(path.dirname(file)) : path.basename(file).replace(/\.onnx$/i, '');
  try {
    return { path: file, name, sha256: await hashFiles([file]), bytes: statSync(file).size };
  } catch {
    return { path: file, name, sha256: '', bytes: 0 };
  }
}

export function startTrainJob(workerPath: string, options: TrainOptions, jobOptions: JobOptions<'train'> = {}): TrainJob {
  const settings = resolvedTrainOptions(options);
  const created = new Date().toISOString();
  const identity = modelIdentity(settings.model);
  const steps: StepLog[] = [];
  const evals: EvalLog[] = [];
  let totalSteps: number | undefined;
  let lastCheckpoint: { file: string; step: number } | undefined;
  const job = startJob(workerPath, 'train', settings, {
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
  const done = job.done.then(async (end): Promise<RunRecord<'train'>> => {
    const at = steps.length ? steps[steps.length - 1].step : 0;
    let error: string | undefined;
    if (end.status === 'timeout') error = `the training did not finish within ${timeoutWords(jobOptions.timeoutMs)} and was stopped after step ${at}`;
    else if (end.status === 'failed' && end.exit) {
      const ckpt = lastCheckpoint ? `; the last checkpoint is ${lastCheckpoint.file} (step ${lastCheckpoint.step}): resume from it` : '; no checkpoint was written';
      error = `${howItEnded('train', end.exit)} after step ${at}${totalSteps ? ` of ${totalSteps}` : ''}${ckpt}${lastOutput(end.stderrTail)}`;
    } else if (end.error) error = end.error.message;
    const result = end.result;
    return {
      schema: RUN_SCHEMA, kind: 'train', id: randomUUID(), created, model: await identity, settings,
      environment: describeEnvironment(), status: end.status,
      ...(error ? { error } : {}),
      ...(end.error instanceof UserError ? { errorInfo: end.error.toInfo() } : {}),
      result: {
        // A worker that never answered leaves only its streamed steps and its last periodic checkpoint.
        ...(result ?? (lastCheckpoint ? { checkpoint: lastCheckpoint.file } : {})),
        history: thinHistory(steps), evals: result?.evals ?? evals,
      },
    };
  });
  return { done, cancel: () => job.cancel(), kill: () => job.kill(), pid: job.pid };
}
