// A benchmark job on the host: the one job runner, plus what a benchmark needs when its worker
// never answered (killed, crashed, timed out): a run made here from the configurations it had
// reported done, so the job always ends with a BenchmarkRun.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { hashFiles } from '../core/benchmark/environment';
import { emptyRun, modelName, planConfigs, resolveModelFile } from '../core/benchmark/plan';
import type { BenchmarkPlan, BenchmarkProgress, BenchmarkRun, ConfigResult } from '../core/benchmark/types';
import { howItEnded, lastOutput, startJob, timeoutWords, type JobEnd } from './job-runner';

export { DEFAULT_GRACE_MS } from './job-runner';

export interface BenchmarkJobOptions {
  onProgress?: (progress: BenchmarkProgress) => void;
  /** Wall-clock limit for the whole job: past it the worker is killed and the run ends 'timeout'. */
  timeoutMs?: number;
  /** How long a cancelled job may take to stop on its own before its worker is killed. Default 2 s. */
  graceMs?: number;
  /** Lines the worker writes to stderr (onnxruntime's errors, a crash's stack). */
  onLog?: (line: string) => void;
}

export interface BenchmarkJob {
  /** Resolves (never rejects) once the job has ended and its worker process is gone. */
  done: Promise<BenchmarkRun>;
  /** Asks the worker to stop after its current run; kills it if it has not stopped within the grace period. */
  cancel(): void;
  /** Kills the worker now. */
  kill(): void;
  pid: number | undefined;
}

export function startBenchmarkJob(workerPath: string, plan: BenchmarkPlan, options: BenchmarkJobOptions = {}): BenchmarkJob {
  const completed: ConfigResult[] = [];
  let configCount: number | undefined;
  const job = startJob(workerPath, 'benchmark', plan, {
    ...options,
    onProgress: (progress) => {
      configCount = progress.configCount;
      if (progress.phase === 'done' && progress.result) completed.push(progress.result);
      options.onProgress?.(progress);
    },
  });
  const done = job.done.then((end) => end.result ?? runWithoutAnswer(plan, completed, describeEnd(end, `${completed.length} of ${configCount ?? plannedConfigs(plan)}`, options.timeoutMs), end.status));
  return { done, cancel: () => job.cancel(), kill: () => job.kill(), pid: job.pid };
}

/** How many configurations the plan asks for ('?' for a plan too malformed to say). */
function plannedConfigs(plan: BenchmarkPlan): number | string {
  try {
    return planConfigs(plan).length;
  } catch {
    return '?';
  }
}

/** Why a worker ended without answering, in words a user can act on. */
function describeEnd(end: JobEnd<'benchmark'>, done: string, timeoutMs: number | undefined): string | undefined {
  const progress = `after ${done} configurations completed`;
  if (end.status === 'cancelled') return undefined;
  if (end.status === 'timeout') return `the benchmark did not finish within ${timeoutWords(timeoutMs)} and was stopped ${progress}`;
  // The worker's own error says what went wrong; an exit says how the process ended, then what was done.
  if (!end.exit) return end.error?.message ?? 'the benchmark process ended without an answer';
  return `${howItEnded('benchmark', end.exit)} ${progress}${lastOutput(end.stderrTail)}`;
}

/** The run a job ends with when its worker never answered: what the host knows, and the configurations reported done. */
async function runWithoutAnswer(plan: BenchmarkPlan, completed: ConfigResult[], error: string | undefined, status: BenchmarkRun['status']): Promise<BenchmarkRun> {
  const run = emptyRun(plan, randomUUID());
  run.results = completed;
  run.status = status;
  if (error) run.error = error;
  try {
    // The host does not parse models (the worker does), so this covers the .onnx file alone, not external data.
    const file = resolveModelFile(plan.model);
    run.model = { ...run.model, path: file, name: modelName(file), sha256: await hashFiles([file]), bytes: statSync(file).size };
  } catch {
    // the model cannot be read here either; the run keeps the path it was given
  }
  return run;
}
