// Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_.
import type { Gradients } from '../types';

/** The L2 norm of all gradients taken together (accumulated in float64). */
export function globalGradNorm(grads: Gradients | Iterable<Float32Array>): number {
  let sum = 0;
  for (const g of grads instanceof Map ? grads.values() : grads) {
    let s0 = 0;
    let s1 = 0;
    const n = g.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const a = g[i];
      const b = g[i + 1];
      s0 += a * a;
      s1 += b * b;
    }
    if (i < n) s0 += g[i] * g[i];
    sum += s0 + s1;
  }
  return Math.sqrt(sum);
}

/**
 * Scales every gradient in place by maxNorm / (norm + 1e-6) when the global norm exceeds maxNorm,
 * and returns the norm before clipping. A non-finite norm (an overflow or NaN in the gradients)
 * is returned as is and nothing is scaled: the caller should skip that step.
 */
export function clipGradNorm(grads: Gradients, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`max gradient norm must be a finite number > 0, got ${maxNorm}`);
  const norm = globalGradNorm(grads);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const g of grads.values()) {
      for (let i = 0; i < g.length; i++) g[i] *= coef;
    }
  }
  return norm;
}
