// AdamW (Loshchilov & Hutter), with PyTorch's torch.optim.AdamW semantics: decoupled weight
// decay applied to the weights before the Adam update, and bias-corrected moments.
//   t <- t + 1
//   p <- p * (1 - lr * weightDecay)                   (unless the parameter is excluded)
//   m <- beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g^2
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)
// Arithmetic is in float64 per element; m, v and p are stored as float32.
import type { Gradients, Optimizer, OptimizerState, Parameter } from '../types';
import { checkHyper, checkLr, copySlots, defaultNoDecay, gradientFor, slotFor } from './common';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (default 0.01, as PyTorch). */
  weightDecay?: number;
  /** Parameters left out of weight decay. Default: defaultNoDecay (biases, LayerNorm weights, any rank <= 1 tensor). */
  noDecay?: (name: string, shape: readonly number[]) => boolean;
}

export class AdamW implements Optimizer {
  readonly kind = 'adamw' as const;
  private beta1: number;
  private beta2: number;
  private eps: number;
  private weightDecay: number;
  private readonly noDecay: (name: string, shape: readonly number[]) => boolean;
  private steps = 0;
  private slots: Record<string, Float32Array> = {};

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    this.noDecay = options.noDecay ?? defaultNoDecay;
    this.check();
  }

  private check(): void {
    checkHyper('beta1', this.beta1, 0, 1);
    checkHyper('beta2', this.beta2, 0, 1);
    checkHyper('eps', this.eps, 0);
    checkHyper('weight decay', this.weightDecay, 0);
  }

  /**
   * One update. Parameters without a gradient in `grads` are skipped (their moments are kept);
   * bias correction uses the optimizer's step count, which every call advances.
   */
  step(params: readonly Parameter[], grads: Gradients, lr: number): void {
    checkLr(lr);
    const t = this.steps + 1;
    const stepSize = lr / (1 - this.beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - this.beta2 ** t);
    for (const p of params) {
      const g = gradientFor(p, grads);
      if (!g) continue;
      const w = p.values;
      const n = w.length;
      const m = slotFor(this.slots, `m/${p.name}`, n).slot;
      const v = slotFor(this.slots, `v/${p.name}`, n).slot;
      const decay = this.weightDecay > 0 && !this.noDecay(p.name, p.shape) ? 1 - lr * this.weightDecay : 1;
      adamUpdate(w, g, m, v, decay, stepSize, 1 / bc2Sqrt, this.beta1, this.beta2, this.eps);
    }
    this.steps = t;
  }

  /** The live state (slots are the optimizer's own arrays, not copies): serialize it before the next step. */
  state(): OptimizerState {
    return {
      kind: 'adamw',
      step: this.steps,
      slots: this.slots,
      hyper: { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay },
    };
  }

  /** Restores step count, moments (copied) and hyper-parameters from a saved state. */
  load(state: OptimizerState): void {
    const slots = copySlots(state, 'adamw', ['m', 'v']);
    const h = state.hyper;
    this.beta1 = h.beta1 ?? this.beta1;
    this.beta2 = h.beta2 ?? this.beta2;
    this.eps = h.eps ?? this.eps;
    this.weightDecay = h.weightDecay ?? this.weightDecay;
    this.check();
    this.slots = slots;
    this.steps = state.step;
  }
}

/**
 * The element loop, a plain function of typed arrays and numbers (which V8 compiles tightly):
 * m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2; p <- p * decay - stepSize * m / (sqrt(v) / sqrt(bc2) + eps).
 * The update reads back the stored (float32) moments, as PyTorch does.
 */
function adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, decay: number, stepSize: number, invBc2Sqrt: number, b1: number, b2: number, eps: number): void {
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    m[i] = b1 * m[i] + c1 * gi;
    v[i] = b2 * v[i] + c2 * gi * gi;
    w[i] = w[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) * invBc2Sqrt + eps);
  }
}
