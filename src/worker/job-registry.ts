// The worker's one registry of job kinds and of the jobs running now. A kind registers the
// function that runs it; a running job gets a context whose cancel flag the engine polls between
// units of work (benchmark runs, training steps), so a 'cancel' request is honoured at the next
// one. Engines are imported by their kind's module only when a job of that kind starts.
import type { JobContext, JobKind, JobParams, JobProgress, JobResult } from '../core/jobs/kinds';

export type JobRunner<K extends JobKind> = (params: JobParams<K>, ctx: JobContext<K>) => Promise<{ status: 'complete' | 'cancelled'; result: JobResult<K> }>;

const runners = new Map<JobKind, JobRunner<JobKind>>();

export function registerJobKind<K extends JobKind>(kind: K, run: JobRunner<K>): void {
  if (runners.has(kind)) throw new Error(`job kind '${kind}' is registered twice`);
  runners.set(kind, run as unknown as JobRunner<JobKind>);
}

/** The jobs running in this worker, by the id of the request that started them. */
export class RunningJobs {
  private readonly cancelled = new Set<number>();
  private readonly running = new Set<number>();

  async run<K extends JobKind>(jobId: number, kind: K, params: JobParams<K>, report: (p: JobProgress<K>) => void) {
    const runner = runners.get(kind) as JobRunner<K> | undefined;
    if (!runner) throw new Error(`unknown job kind '${String(kind)}'`);
    this.running.add(jobId);
    try {
      return await runner(params, { report, isCancelled: () => this.cancelled.has(jobId) });
    } finally {
      this.running.delete(jobId);
      this.cancelled.delete(jobId);
    }
  }

  get count(): number {
    return this.running.size;
  }

  /** Asks every running job to stop; resolves when none runs (or after `maxMs`). */
  async stopAll(maxMs: number): Promise<void> {
    for (const id of this.running) this.cancelled.add(id);
    const until = Date.now() + maxMs;
    while (this.running.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  /** Marks a running job cancelled; false when no such job runs. */
  cancel(jobId: number): boolean {
    if (!this.running.has(jobId)) return false;
    this.cancelled.add(jobId);
    return true;
  }
}
