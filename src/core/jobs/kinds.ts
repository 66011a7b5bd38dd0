// The kinds of long task, each with what it is asked (params), what it reports while it runs
// (progress) and what it answers (result). The worker's registry, the host's runner, the
// protocol and the run records are all typed by this one map; a new kind is one entry here.
import type { BenchmarkPlan, BenchmarkProgress, BenchmarkRun } from '../benchmark/types';
import type { TrainOptions, TrainResult } from '../training/trainer';
import type { TrainProgress } from '../training/progress';
import type { DistillOptions } from '../distill/distill-options';
import type { DistillResult } from '../distill/distill';
import type { QuantizeJobOptions, QuantizeProgress, QuantizeResult } from '../quantize/quantize-model';

export interface JobKinds {
  benchmark: { params: BenchmarkPlan; progress: BenchmarkProgress; result: BenchmarkRun };
  train: { params: TrainOptions; progress: TrainProgress; result: TrainResult };
  distill: { params: DistillOptions; progress: TrainProgress; result: DistillResult };
  quantize: { params: QuantizeJobOptions; progress: QuantizeProgress; result: QuantizeResult };
}

export type JobKind = keyof JobKinds;
export type JobParams<K extends JobKind> = JobKinds[K]['params'];
export type JobProgress<K extends JobKind> = JobKinds[K]['progress'];
export type JobResult<K extends JobKind> = JobKinds[K]['result'];

export const JOB_KINDS: readonly JobKind[] = ['benchmark', 'train', 'distill', 'quantize'];

export function isJobKind(x: unknown): x is JobKind {
  return typeof x === 'string' && (JOB_KINDS as readonly string[]).includes(x);
}

/** How a job ended: it finished, the user stopped it, it broke, or it ran past its time. */
export type JobStatus = 'complete' | 'cancelled' | 'failed' | 'timeout';

/** What an engine running as a job is given: a way to report, and the cancel flag it polls. */
export interface JobContext<K extends JobKind> {
  report(progress: JobProgress<K>): void;
  isCancelled(): boolean;
}
