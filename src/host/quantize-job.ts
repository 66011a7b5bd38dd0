// Quantization as a job on the host: the one job runner, and the run record it ends with,
// whatever way it ended (the model quantized, a user error, a killed worker).
import { randomUUID } from 'node:crypto';
import { describeEnvironment } from '../core/benchmark/environment';
import { UserError } from '../core/errors';
import type { QuantizeJobOptions } from '../core/quantize/quantize-model';
import { RUN_SCHEMA, type RunRecord } from '../core/runs/run-record';
import { modelIdentity } from './model-identity';
import { howItEnded, lastOutput, startJob, timeoutWords, type JobOptions } from './job-runner';
import { resolvedOptions } from './train-job';

export interface QuantizeJob {
  /** Resolves (never rejects) with the run record once the job has ended and its worker is gone. */
  done: Promise<RunRecord<'quantize'>>;
  cancel(): void;
  kill(): void;
  pid: number | undefined;
}


export function startQuantizeJob(workerPath: string, options: QuantizeJobOptions, jobOptions: JobOptions<'quantize'> = {}): QuantizeJob {
  const settings = resolvedOptions(options);
  const created = new Date().toISOString();
  const identity = modelIdentity(settings.model);
  let stage = 'starting';
  const job = startJob(workerPath, 'quantize', settings, {
    ...jobOptions,
    onProgress: (p) => {
      if (p.type === 'stage') stage = p.stage;
      jobOptions.onProgress?.(p);
    },
  });
  const done = job.done.then(async (end): Promise<RunRecord<'quantize'>> => {
    let error: string | undefined;
    if (end.status === 'timeout') error = `the quantization did not finish within ${timeoutWords(jobOptions.timeoutMs)} and was stopped while ${stage}`;
    else if (end.status === 'failed' && end.exit) error = `${howItEnded('quantize', end.exit)} while ${stage}${lastOutput(end.stderrTail)}`;
    else if (end.error) error = end.error.message;
    const model = await identity;
    const result = end.result ?? {};
    return {
      schema: RUN_SCHEMA, kind: 'quantize', id: randomUUID(), created,
      model: { ...model, ...(end.result ? { params: end.result.params.before } : {}) },
      settings, environment: describeEnvironment(), status: end.status,
      ...(error ? { error } : {}),
      ...(end.error instanceof UserError ? { errorInfo: end.error.toInfo() } : {}),
      result,
    };
  });
  return { done, cancel: () => job.cancel(), kill: () => job.kill(), pid: job.pid };
}
