import * as vscode from 'vscode';
import { SCHEDULES } from '../../core/training/optim/schedule';
import { TRAIN_DEFAULTS } from '../../core/training/train-options';
import type { TrainDefaults } from './train-form';

/** The form's starting values from `compressionLab.train.*`, each fallen back to the core's default when out of range. */
export function trainDefaultsFromSettings(): TrainDefaults {
  const c = vscode.workspace.getConfiguration('compressionLab.train');
  const int = (k: string, d: number, min: number) => {
    const x = c.get<number>(k, d);
    return Number.isSafeInteger(x) && x >= min ? x : d;
  };
  const optimizer = c.get<string>('optimizer', 'adamw') === 'sgd' ? 'sgd' : 'adamw';
  const lr = c.get<number | null>('learningRate', null);
  const schedule = c.get<string>('schedule', TRAIN_DEFAULTS.schedule);
  const warmup = c.get<number>('warmupRatio', TRAIN_DEFAULTS.warmupRatio);
  return {
    optimizer,
    lr: typeof lr === 'number' && Number.isFinite(lr) && lr > 0 ? lr : undefined,
    schedule: (SCHEDULES as readonly string[]).includes(schedule) ? schedule : TRAIN_DEFAULTS.schedule,
    epochs: int('epochs', TRAIN_DEFAULTS.epochs, 1),
    maxSteps: int('maxSteps', 0, 0),
    batchSize: int('batchSize', TRAIN_DEFAULTS.batchSize, 1),
    maxLength: int('maxLength', TRAIN_DEFAULTS.maxLength, 2),
    warmupRatio: typeof warmup === 'number' && warmup >= 0 && warmup <= 1 ? warmup : TRAIN_DEFAULTS.warmupRatio,
    seed: int('seed', TRAIN_DEFAULTS.seed, 0),
  };
}

/** onnxruntime threads for a training job; undefined lets it use every core. */
export function trainThreadsFromSettings(): number | undefined {
  const x = vscode.workspace.getConfiguration('compressionLab.train').get<number>('threads', 0);
  return Number.isSafeInteger(x) && x >= 1 ? x : undefined;
}

/** The job's wall-clock limit; undefined (the default, 0) for none: a fine-tuning may take hours. */
export function trainTimeoutMsFromSettings(): number | undefined {
  const x = vscode.workspace.getConfiguration('compressionLab.train').get<number>('timeoutMinutes', 0);
  return typeof x === 'number' && x > 0 ? x * 60_000 : undefined;
}
