// The job kinds the run panel and the training runner serve: those that report TrainProgress and
// keep a step history and evaluations in their record. Today 'train'; a 'distill' kind declared
// with the same progress and a result of that shape joins without a change here.
import type { JobKind, JobParams, JobProgress } from '../../core/jobs/kinds';
import type { RunRecord, RunResults } from '../../core/runs/run-record';
import type { TrainProgress } from '../../core/training/progress';
import type { EvalLog, StepLog } from '../../core/training/training-loop';

export type TrainingKind = {
  [K in JobKind]: JobProgress<K> extends TrainProgress ? (RunResults[K] extends { history: StepLog[]; evals: EvalLog[] } ? K : never) : never;
}[JobKind];

export type TrainingRecord = { [K in TrainingKind]: RunRecord<K> }[TrainingKind];

/** What the run panel reads of a training-like job's settings, whichever kind it is. */
export function settingsOf<K extends TrainingKind>(settings: JobParams<K>): { out?: string; maxSteps?: number } {
  const s = settings as { out?: unknown; maxSteps?: unknown };
  return {
    ...(typeof s.out === 'string' ? { out: s.out } : {}),
    ...(typeof s.maxSteps === 'number' ? { maxSteps: s.maxSteps } : {}),
  };
}
