// The options of a training job, checked before any work: every range, every conflict, and the
// outputs against the inputs. Messages name the option (the core's names: the CLI turns them
// into its flags, the editor into its form fields).
import * as path from 'node:path';
import { OptionsError } from '../errors';
import { checkOutputs } from '../io/output-guard';
import { SCHEDULES, type ScheduleKind } from './optim/schedule';

/** What every training job shares: data, optimizer, schedule, batching, checkpoints, logging. */
export interface TrainingSettings {
  data: string;
  out: string;
  tokenizer?: string;
  textColumn?: string;
  labelColumn?: string;
  maxLength?: number;
  optimizer?: 'sgd' | 'adamw';
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  schedule?: ScheduleKind;
  batchSize?: number;
  epochs?: number;
  maxSteps?: number;
  seed?: number;
  shuffle?: boolean;
  warmupRatio?: number;
  /** Global-norm clipping; 0 turns it off. */
  clipNorm?: number;
  gradAccumulation?: number;
  /** Length buckets (in batches) to cut padding; 0 turns them off. */
  bucketBatches?: number;
  eval?: string;
  log?: string;
  /** Where the resumable checkpoint goes (at the end, on cancel, and every `checkpointEvery` steps). */
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: string;
  threads?: number;
}

export interface TrainOptions extends TrainingSettings {
  model: string;
  /** Dropout ratio for the model's Dropout nodes during training (the model must have them). */
  dropout?: number;
}

export const TRAIN_DEFAULTS = {
  maxLength: 128, batchSize: 32, epochs: 1, seed: 42, warmupRatio: 0.1, clipNorm: 1, gradAccumulation: 1, bucketBatches: 20,
  schedule: 'linear' as ScheduleKind,
};

export function defaultLr(kind: 'sgd' | 'adamw'): number {
  return kind === 'adamw' ? 5e-5 : 1e-2;
}

/** Beside the output model: `student.onnx` -> `student.ckpt.safetensors`. */
export function defaultCheckpointPath(out: string): string {
  return out.replace(/\.onnx$/i, '') + '.ckpt.safetensors';
}

/** The maximum length to tokenize to: the option, which must fit the model's positions, or the default cut to them. */
export function fitMaxLength(maxLength: number | undefined, positions: number | undefined, whose: string): number {
  if (maxLength !== undefined && positions !== undefined && maxLength > positions) throw new OptionsError('maxLength', `is ${maxLength}, past the ${whose}'s ${positions} positions`);
  return maxLength ?? Math.min(TRAIN_DEFAULTS.maxLength, positions ?? TRAIN_DEFAULTS.maxLength);
}

const isInt = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x);

function intAtLeast(o: object, key: string, min: number): void {
  const v = (o as Record<string, unknown>)[key];
  if (v !== undefined && !(isInt(v) && (v as number) >= min)) throw new OptionsError(key, `must be a whole number >= ${min} (got ${String(v)})`);
}

function numberIn(o: object, key: string, min: number, max: number, maxOpen = false): void {
  const v = (o as Record<string, unknown>)[key];
  if (v === undefined) return;
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && (maxOpen ? v < max : v <= max);
  if (!ok) throw new OptionsError(key, `must be a number from ${min} to ${max === Infinity ? 'any size' : `${maxOpen ? 'below ' : ''}${max}`} (got ${String(v)})`);
}

function requirePath(o: object, key: string): void {
  const v = (o as Record<string, unknown>)[key];
  if (typeof v !== 'string' || !v) throw new OptionsError(key, 'is required (a file path)');
}

/** Range and conflict checks for the settings every training job shares. */
export function checkTrainingSettings(o: TrainingSettings): void {
  requirePath(o, 'data');
  requirePath(o, 'out');
  if (o.epochs !== undefined && o.maxSteps !== undefined) throw new OptionsError('maxSteps', "cannot go with option 'epochs': give one of them");
  if (o.optimizer !== undefined && o.optimizer !== 'sgd' && o.optimizer !== 'adamw') throw new OptionsError('optimizer', `must be 'sgd' or 'adamw' (got '${String(o.optimizer)}')`);
  if (o.schedule !== undefined && !SCHEDULES.includes(o.schedule)) throw new OptionsError('schedule', `must be ${SCHEDULES.join(', ')} (got '${String(o.schedule)}')`);
  if (o.momentum !== undefined && o.optimizer !== 'sgd') throw new OptionsError('momentum', 'applies to the sgd optimizer only');
  intAtLeast(o, 'maxLength', 2);
  intAtLeast(o, 'batchSize', 1);
  intAtLeast(o, 'epochs', 1);
  intAtLeast(o, 'maxSteps', 1);
  intAtLeast(o, 'seed', 0);
  intAtLeast(o, 'gradAccumulation', 1);
  intAtLeast(o, 'bucketBatches', 0);
  intAtLeast(o, 'checkpointEvery', 1);
  intAtLeast(o, 'threads', 1);
  numberIn(o, 'lr', 0, Infinity);
  numberIn(o, 'momentum', 0, 1, true);
  numberIn(o, 'weightDecay', 0, Infinity);
  numberIn(o, 'warmupRatio', 0, 1);
  numberIn(o, 'clipNorm', 0, Infinity);
  if (o.checkpointEvery !== undefined && !o.checkpoint) throw new OptionsError('checkpointEvery', "needs option 'checkpoint' (the file to write)");
}

/** Everything a training job reads and writes, for the output guard. */
export function checkTrainingPaths(o: TrainingSettings, reads: Array<{ role: string; file: string } | undefined>, checkpoint: string): void {
  checkOutputs(
    [
      ...reads,
      { role: 'the training data', file: o.data },
      o.eval ? { role: 'the evaluation data', file: o.eval } : undefined,
      o.tokenizer ? { role: 'the tokenizer', file: o.tokenizer } : undefined,
    ],
    [
      { role: 'the output model', file: o.out },
      // Resuming from the very checkpoint the run keeps updating is what a user means by resume.
      o.resume && path.resolve(o.resume) === path.resolve(checkpoint) ? undefined : { role: 'the checkpoint', file: checkpoint },
      o.log ? { role: 'the log', file: o.log } : undefined,
    ],
  );
  if (o.resume) checkOutputs([{ role: 'the checkpoint to resume from', file: o.resume }], [{ role: 'the output model', file: o.out }, o.log ? { role: 'the log', file: o.log } : undefined]);
}

export function checkTrainOptions(o: TrainOptions): void {
  requirePath(o, 'model');
  checkTrainingSettings(o);
  numberIn(o, 'dropout', 0, 1, true);
}
