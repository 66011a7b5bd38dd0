// Gradient accumulation: k micro-batches make one optimizer step.
import type { Gradients } from '../types';

export interface AccumulatorOptions {
  /**
   * 'mean' (default): the example-weighted average of the micro-batches' gradients, which equals
   * the gradient of one big batch's mean loss when each micro-batch's loss is a mean over its
   * examples. 'sum': the plain sum.
   */
  reduction?: 'mean' | 'sum';
}

/**
 * Collects gradients over `steps` micro-batches. Typical loop:
 *   if (acc.add(grads, batch.batch)) optimizer.step(params, acc.take(), lr)
 * and at the end of an epoch: if (acc.pending > 0) optimizer.step(params, acc.take(), lr).
 * Buffers are allocated once per parameter and reused: the Gradients returned by take() are
 * valid until the next add(). Checkpoint only right after a step (pending === 0): partial sums
 * are not saved.
 */
export class GradientAccumulator {
  private readonly reduction: 'mean' | 'sum';
  private readonly buffers = new Map<string, Float32Array>();
  private readonly touched = new Set<string>();
  private count = 0;
  private examples = 0;

  constructor(readonly steps: number, options: AccumulatorOptions = {}) {
    if (!Number.isSafeInteger(steps) || steps < 1) throw new Error(`accumulation steps must be an integer >= 1, got ${steps}`);
    this.reduction = options.reduction ?? 'mean';
  }

  /** Micro-batches gathered since the last take(). */
  get pending(): number {
    return this.count;
  }

  /**
   * Adds one micro-batch's gradients (each the gradient of that micro-batch's mean loss, for
   * 'mean'), weighted by its number of examples. Returns true when `steps` micro-batches are in.
   * The arrays in `grads` are only read: they may be reused by the caller afterwards.
   */
  add(grads: Gradients, examples = 1): boolean {
    if (!(examples > 0) || !Number.isFinite(examples)) throw new Error(`micro-batch example count must be > 0, got ${examples}`);
    const w = this.reduction === 'mean' ? examples : 1;
    for (const [name, g] of grads) {
      let buf = this.buffers.get(name);
      if (buf === undefined) {
        buf = new Float32Array(g.length);
        this.buffers.set(name, buf);
      } else if (buf.length !== g.length) {
        throw new Error(`gradient of '${name}' has ${g.length} values, but ${buf.length} in an earlier micro-batch`);
      }
      const n = g.length;
      if (!this.touched.has(name)) {
        this.touched.add(name);
        if (w === 1) buf.set(g);
        else for (let i = 0; i < n; i++) buf[i] = w * g[i];
      } else if (w === 1) {
        for (let i = 0; i < n; i++) buf[i] += g[i];
      } else {
        for (let i = 0; i < n; i++) buf[i] += w * g[i];
      }
    }
    this.count++;
    this.examples += examples;
    return this.count >= this.steps;
  }

  /** The accumulated gradients (averaged for 'mean'), and a fresh start. Throws when nothing was added. */
  take(): Gradients {
    if (this.count === 0) throw new Error('no gradients to take: add() a micro-batch first');
    const out: Gradients = new Map();
    const divisor = this.reduction === 'mean' ? this.examples : 1;
    for (const name of this.touched) {
      const buf = this.buffers.get(name) as Float32Array;
      if (divisor !== 1) for (let i = 0; i < buf.length; i++) buf[i] /= divisor;
      out.set(name, buf);
    }
    this.reset();
    return out;
  }

  /** Drops what was gathered (buffers stay allocated). */
  reset(): void {
    this.touched.clear();
    this.count = 0;
    this.examples = 0;
  }
}

/** Optimizer steps in an epoch of `batches` micro-batches, when a partial accumulation is stepped at its end. */
export function optimizerStepsPerEpoch(batches: number, accumulationSteps: number): number {
  return Math.ceil(batches / accumulationSteps);
}
