// Stochastic gradient descent, with PyTorch's torch.optim.SGD semantics:
//   g <- grad + weightDecay * p                       (coupled L2 decay, unless excluded)
//   buf <- g on the first step, else momentum * buf + (1 - dampening) * g
//   g <- nesterov ? g + momentum * buf : buf          (when momentum > 0)
//   p <- p - lr * g
import type { Gradients, Optimizer, OptimizerState, Parameter } from '../types';
import { checkHyper, checkLr, copySlots, decayAll, gradientFor, slotFor } from './common';

export interface SgdOptions {
  /** 0 (default) is plain SGD: no state. */
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Coupled L2 weight decay, added to the gradient (default 0). */
  weightDecay?: number;
  /** Parameters left out of weight decay. Default: none (PyTorch's SGD); pass defaultNoDecay for BERT's rule. */
  noDecay?: (name: string, shape: readonly number[]) => boolean;
}

export class Sgd implements Optimizer {
  readonly kind = 'sgd' as const;
  private momentum: number;
  private dampening: number;
  private nesterov: boolean;
  private weightDecay: number;
  private readonly noDecay: (name: string, shape: readonly number[]) => boolean;
  private steps = 0;
  private slots: Record<string, Float32Array> = {};

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    this.noDecay = options.noDecay ?? decayAll;
    this.check();
  }

  private check(): void {
    checkHyper('momentum', this.momentum, 0);
    checkHyper('dampening', this.dampening, 0);
    checkHyper('weight decay', this.weightDecay, 0);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('Nesterov momentum needs momentum > 0 and dampening 0');
  }

  step(params: readonly Parameter[], grads: Gradients, lr: number): void {
    checkLr(lr);
    const mu = this.momentum;
    const damp = 1 - this.dampening;
    for (const p of params) {
      const g = gradientFor(p, grads);
      if (!g) continue;
      const w = p.values;
      const n = w.length;
      const wd = this.weightDecay > 0 && !this.noDecay(p.name, p.shape) ? this.weightDecay : 0;
      if (mu === 0) {
        plainUpdate(w, g, lr, wd);
        continue;
      }
      const { slot: buf, fresh } = slotFor(this.slots, `momentum/${p.name}`, n);
      momentumUpdate(w, g, buf, lr, wd, fresh ? 0 : mu, fresh ? 1 : damp, this.nesterov ? mu : 0);
    }
    this.steps++;
  }

  /** The live state (slots are the optimizer's own arrays, not copies): serialize it before the next step. */
  state(): OptimizerState {
    return {
      kind: 'sgd',
      step: this.steps,
      slots: this.slots,
      hyper: { momentum: this.momentum, dampening: this.dampening, nesterov: this.nesterov ? 1 : 0, weightDecay: this.weightDecay },
    };
  }

  /** Restores step count, momentum buffers (copied) and hyper-parameters from a saved state. */
  load(state: OptimizerState): void {
    const slots = copySlots(state, 'sgd', ['momentum']);
    const h = state.hyper;
    this.momentum = h.momentum ?? this.momentum;
    this.dampening = h.dampening ?? this.dampening;
    this.nesterov = h.nesterov === undefined ? this.nesterov : h.nesterov !== 0;
    this.weightDecay = h.weightDecay ?? this.weightDecay;
    this.check();
    this.slots = slots;
    this.steps = state.step;
  }
}

// The loops are plain functions of typed arrays and numbers, which V8 compiles tightly.

function plainUpdate(w: Float32Array, g: Float32Array, lr: number, wd: number): void {
  const n = w.length;
  for (let i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
}

/**
 * buf <- mu * buf + damp * d (on the first step mu = 0, damp = 1: buf <- d), with d = g + wd * p;
 * p <- p - lr * (d * [nesterov] + nesterovMu * buf + buf * [!nesterov]). The update uses the
 * stored (float32) buffer, as PyTorch does.
 */
function momentumUpdate(w: Float32Array, g: Float32Array, buf: Float32Array, lr: number, wd: number, mu: number, damp: number, nesterovMu: number): void {
  const n = w.length;
  if (nesterovMu === 0) {
    for (let i = 0; i < n; i++) {
      buf[i] = mu * buf[i] + damp * (g[i] + wd * w[i]);
      w[i] -= lr * buf[i];
    }
  } else {
    for (let i = 0; i < n; i++) {
      const d = g[i] + wd * w[i];
      buf[i] = mu * buf[i] + damp * d;
      w[i] -= lr * (d + nesterovMu * buf[i]);
    }
  }
}
