// Quantization jobs: the engine checks the cancel flag between its stages and evaluation batches;
// a stop before the model is written leaves nothing behind, one after it keeps the written model.
import { registerJobKind } from '../job-registry';

registerJobKind('quantize', async (options, ctx) => {
  const { quantizeModel } = await import('../../core/quantize/quantize-model');
  const result = await quantizeModel(options, ctx);
  return { status: result.cancelled ? 'cancelled' : 'complete', result };
});
