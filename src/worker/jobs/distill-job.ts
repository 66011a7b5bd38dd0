// Distillation jobs: the same loop as training (cancel checked before each step, checkpoint on
// stop), its steps coalesced for the channel the same way.
import { registerJobKind } from '../job-registry';
import { runCoalesced } from './train-job';

registerJobKind('distill', async (options, ctx) => {
  const { distill } = await import('../../core/distill/distill');
  return runCoalesced(ctx, (c) => distill(options, c));
});
