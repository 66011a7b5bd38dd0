import type { StepLog } from '../../src/core/training/training-loop';

/** A step as a training job reports it: `terms` are its loss terms, the loss their sum. */
export function step(n: number, extra: Partial<StepLog> = {}, terms: Record<string, number> = { ce: 1 / n }): StepLog {
  const loss = Object.values(terms).reduce((a, b) => a + b, 0);
  return { step: n, epoch: 0, loss, losses: terms, lr: 1e-3 * Math.min(1, n / 10), gradNorm: 1, examples: 8, tokens: 64, ms: 50, examplesPerSec: 160, ...extra };
}
