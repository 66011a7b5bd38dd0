// Learning-rate schedules, indexed by 0-based optimizer step (not micro-batch).
import type { LrSchedule } from '../types';

export interface LinearScheduleOptions {
  /** The learning rate at the end of warm-up. */
  peakLr: number;
  warmupSteps: number;
  /** Optimizer steps in the whole run: the rate reaches 0 here. */
  totalSteps: number;
}

/** The checks every warm-up-then-decay schedule makes of its options; returns them. */
function checkWarmupDecay(options: LinearScheduleOptions): LinearScheduleOptions {
  checkRate(options.peakLr);
  checkCount('totalSteps', options.totalSteps, 1);
  checkCount('warmupSteps', options.warmupSteps, 0);
  if (options.warmupSteps > options.totalSteps) throw new Error(`warmupSteps (${options.warmupSteps}) cannot exceed totalSteps (${options.totalSteps})`);
  return options;
}

/**
 * Linear warm-up from 0 to peakLr over warmupSteps, then linear decay to 0 at totalSteps, exactly
 * as Hugging Face's get_linear_schedule_with_warmup: lr(s) = peak * s / warmup while s < warmup,
 * then peak * (total - s) / (total - warmup), and 0 from totalSteps on. Note lr(0) is 0 when
 * there is warm-up: the first update does nothing, as in the reference.
 */
export function linearWarmupDecay(options: LinearScheduleOptions): LrSchedule {
  const { peakLr, warmupSteps, totalSteps } = checkWarmupDecay(options);
  return {
    lrAt(step: number): number {
      checkStep(step);
      if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
      return (peakLr * Math.max(0, totalSteps - step)) / Math.max(1, totalSteps - warmupSteps);
    },
  };
}

/** A constant rate, after an optional linear warm-up from 0 (Hugging Face's get_constant_schedule_with_warmup). */
export function constantLr(lr: number, warmupSteps = 0): LrSchedule {
  checkRate(lr);
  checkCount('warmupSteps', warmupSteps, 0);
  return {
    lrAt(step: number): number {
      checkStep(step);
      return step < warmupSteps ? (lr * step) / warmupSteps : lr;
    },
  };
}

/**
 * Linear warm-up, then a half cosine from peakLr down to 0 at totalSteps: Hugging Face's
 * get_cosine_schedule_with_warmup with num_cycles 0.5, lr(s) = peak * 0.5 * (1 + cos(pi * p)) where
 * p = (s - warmup) / (total - warmup).
 */
export function cosineWarmupDecay(options: LinearScheduleOptions): LrSchedule {
  const { peakLr, warmupSteps, totalSteps } = checkWarmupDecay(options);
  return {
    lrAt(step: number): number {
      checkStep(step);
      if (step < warmupSteps) return (peakLr * step) / Math.max(1, warmupSteps);
      const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
      return peakLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    },
  };
}

/** The schedules by Hugging Face's names (SchedulerType): `constant` has no warm-up, as there. */
export const SCHEDULES = ['linear', 'cosine', 'constant', 'constant_with_warmup'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export function makeSchedule(kind: ScheduleKind, options: LinearScheduleOptions): LrSchedule {
  switch (kind) {
    case 'linear': return linearWarmupDecay(options);
    case 'cosine': return cosineWarmupDecay(options);
    case 'constant': return constantLr(options.peakLr);
    case 'constant_with_warmup': return constantLr(options.peakLr, options.warmupSteps);
  }
}

/** Warm-up steps for a warm-up given as a fraction of the run (Hugging Face's warmup_ratio): ceil(ratio * total). */
export function warmupStepsFromRatio(ratio: number, totalSteps: number): number {
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new Error(`warm-up ratio must be in [0, 1], got ${ratio}`);
  return Math.ceil(ratio * totalSteps);
}

function checkRate(lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`learning rate must be a finite number >= 0, got ${lr}`);
}

function checkCount(name: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${n}`);
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(`schedule step must be an integer >= 0, got ${step}`);
}
