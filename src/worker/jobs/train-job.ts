// Training jobs: the trainer checks the cancel flag before each step, and on cancel saves its
// resumable checkpoint and the model as trained so far. Its per-step progress is coalesced here
// into batches (at most one message per STEP_FLUSH_MS), so a fast run does not flood the channel
// and a live chart gets each step once.
import type { StepLog } from '../../core/training/trainer';
import type { TrainProgress } from '../../core/training/progress';
import { registerJobKind } from '../job-registry';

const STEP_FLUSH_MS = 100;

/** Buffers 'steps' reports and sends them together; any other report flushes the buffer first. */
export function coalesceSteps(send: (p: TrainProgress) => void, flushMs = STEP_FLUSH_MS): { report(p: TrainProgress): void; flush(): void } {
  let pending: StepLog[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    if (pending.length) { const steps = pending; pending = []; send({ type: 'steps', steps }); }
  };
  return {
    report(p) {
      if (p.type !== 'steps') { flush(); send(p); return; }
      pending.push(...p.steps);
      timer ??= setTimeout(flush, flushMs);
    },
    flush,
  };
}

/** A training-like engine as a job: its steps coalesced for the channel, its cancel as the answer's status. */
export async function runCoalesced<R extends { cancelled: boolean }>(ctx: { report(p: TrainProgress): void; isCancelled(): boolean }, run: (c: { report(p: TrainProgress): void; isCancelled(): boolean }) => Promise<R>): Promise<{ status: 'complete' | 'cancelled'; result: R }> {
  const progress = coalesceSteps(ctx.report);
  try {
    const result = await run({ report: progress.report, isCancelled: ctx.isCancelled });
    return { status: result.cancelled ? 'cancelled' : 'complete', result };
  } finally {
    progress.flush();
  }
}

registerJobKind('train', async (options, ctx) => {
  const { train } = await import('../../core/training/trainer');
  return runCoalesced(ctx, (c) => train(options, c));
});
