// Distillation jobs: the same loop as training (cancel checked before each step, checkpoint on
// stop), its steps coalesced for the channel the same way.
import { registerJobKind } from '../job-registry';
import { coalesceSteps } from './train-job';

registerJobKind('distill', async (options, ctx) => {
  const { distill } = await import('../../core/distill/distill');
  const progress = coalesceSteps(ctx.report);
  try {
    const result = await distill(options, { report: progress.report, isCancelled: ctx.isCancelled });
    return { status: result.cancelled ? 'cancelled' : 'complete', result };
  } finally {
    progress.flush();
  }
});
