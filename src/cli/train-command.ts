// `compression-lab train`: fine-tune any ONNX sequence classifier on TSV, CSV or JSONL data, as a
// job in a worker process (the same path the editor takes). Ctrl-C stops it at the next step
// with a resumable checkpoint; the run is recorded under .compression-lab/runs/.
import * as path from 'node:path';
import { SCHEDULES } from '../core/training/optim/schedule';
import type { TrainOptions, TrainingSettings } from '../core/training/train-options';
import { checkTrainOptions } from '../core/training/train-options';
import type { TrainProgress } from '../core/training/progress';
import type { RunRecord } from '../core/runs/run-record';
import { startTrainJob } from '../host/train-job';
import { workerScript } from '../host/worker-path';
import { OptionsError, UserError } from '../core/errors';
import { nonNegative, nonNegativeInt, oneOf, parseArgs, positiveInt, UsageError } from './args';
import { DEFAULT_RUNS_DIR, recordRun, withInterrupt } from './job-terminal';

/** The flags of every training command (train now, distill next): data, optimizer, schedule, checkpoints, log. */
export const TRAINING_FLAGS = {
  data: 'string', out: 'string', tokenizer: 'string', 'text-column': 'string', 'label-column': 'string',
  'max-length': 'string', optimizer: 'string', lr: 'string', momentum: 'string', 'weight-decay': 'string', schedule: 'string',
  'batch-size': 'string', epochs: 'string', 'max-steps': 'string', seed: 'string', 'no-shuffle': 'boolean',
  eval: 'string', log: 'string', 'warmup-ratio': 'string', 'clip-norm': 'string',
  'grad-accumulation': 'string', checkpoint: 'string', 'checkpoint-every': 'string', resume: 'string', threads: 'string',
  'runs-dir': 'string', 'no-run-record': 'boolean', timeout: 'string',
} as const;

const FLAGS = { ...TRAINING_FLAGS, model: 'string', dropout: 'string' } as const;

type Flags = Record<string, string | boolean>;

export interface JobCliSettings {
  /** Where the run record goes; undefined: none. */
  runsDir?: string;
  timeoutMs?: number;
}

export interface TrainCommand extends JobCliSettings {
  options: TrainOptions;
}

const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);

/** The shared training settings from their flags. */
export function trainingSettingsFromFlags(flags: Flags): TrainingSettings {
  const optimizer = oneOf(flags.optimizer, 'optimizer', ['sgd', 'adamw'] as const);
  return {
    data: str(flags.data) as string,
    out: str(flags.out) as string,
    tokenizer: str(flags.tokenizer),
    textColumn: str(flags['text-column']),
    labelColumn: str(flags['label-column']),
    maxLength: flags['max-length'] !== undefined ? positiveInt(flags['max-length'], 'max-length', 128) : undefined,
    optimizer,
    lr: nonNegative(flags.lr, 'lr'),
    momentum: nonNegative(flags.momentum, 'momentum'),
    weightDecay: nonNegative(flags['weight-decay'], 'weight-decay'),
    schedule: oneOf(flags.schedule, 'schedule', SCHEDULES),
    batchSize: flags['batch-size'] !== undefined ? positiveInt(flags['batch-size'], 'batch-size', 32) : undefined,
    epochs: flags.epochs !== undefined ? positiveInt(flags.epochs, 'epochs', 1) : undefined,
    maxSteps: flags['max-steps'] !== undefined ? positiveInt(flags['max-steps'], 'max-steps', 1) : undefined,
    seed: nonNegativeInt(flags.seed, 'seed'),
    shuffle: !flags['no-shuffle'],
    warmupRatio: nonNegative(flags['warmup-ratio'], 'warmup-ratio'),
    clipNorm: nonNegative(flags['clip-norm'], 'clip-norm'),
    gradAccumulation: flags['grad-accumulation'] !== undefined ? positiveInt(flags['grad-accumulation'], 'grad-accumulation', 1) : undefined,
    eval: str(flags.eval),
    log: str(flags.log),
    checkpoint: str(flags.checkpoint),
    checkpointEvery: flags['checkpoint-every'] !== undefined ? positiveInt(flags['checkpoint-every'], 'checkpoint-every', 1) : undefined,
    resume: str(flags.resume),
    threads: flags.threads !== undefined ? positiveInt(flags.threads, 'threads', 1) : undefined,
  };
}

export function jobSettingsFromFlags(flags: Flags): JobCliSettings {
  const timeout = nonNegative(flags.timeout, 'timeout');
  return {
    runsDir: flags['no-run-record'] ? undefined : path.resolve(str(flags['runs-dir']) ?? DEFAULT_RUNS_DIR),
    timeoutMs: timeout ? timeout * 1000 : undefined,
  };
}

/** Core option checks, as usage errors: on the command line a bad option is a bad flag. */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof OptionsError) throw new UsageError(e.message);
    throw e;
  }
}

export function parseTrain(argv: string[]): TrainCommand {
  const { positional, flags } = parseArgs(argv, FLAGS);
  if (positional.length) throw new UsageError(`train takes only options (got '${positional[0]}')`);
  for (const k of ['model', 'data', 'out'] as const) if (typeof flags[k] !== 'string') throw new UsageError(`train needs --${k}`);
  const options: TrainOptions = { ...trainingSettingsFromFlags(flags), model: flags.model as string, dropout: nonNegative(flags.dropout, 'dropout') };
  for (const k of Object.keys(options) as Array<keyof TrainOptions>) if (options[k] === undefined) delete options[k];
  asUsage(() => checkTrainOptions(options));
  return { options, ...jobSettingsFromFlags(flags) };
}

/** One line per step (the first, then every tenth) and per evaluation, as the job reports them. */
export function printTrainingProgress(write: (s: string) => void): (p: TrainProgress) => void {
  return (p) => {
    if (p.type === 'start') write(`training ${p.totalSteps - p.startStep} steps${p.startStep ? ` (resuming at step ${p.startStep})` : ''}: ${p.trainExamples} examples, ${p.stepsPerEpoch} steps an epoch; loss terms ${p.terms.join(', ')}`);
    else if (p.type === 'steps') {
      for (const s of p.steps) {
        if (s.step !== 1 && s.step % 10 !== 0) continue;
        const terms = Object.keys(s.losses).length > 1 ? `  (${Object.entries(s.losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})` : '';
        write(`step ${s.step}  epoch ${s.epoch}${s.stage ? `  ${s.stage}` : ''}  loss ${s.loss.toFixed(4)}${terms}  lr ${s.lr.toExponential(2)}  grad-norm ${s.gradNorm.toFixed(3)}  ${s.examplesPerSec.toFixed(1)} examples/s`);
      }
    } else if (p.type === 'eval') {
      const e = p.eval;
      const vsTeacher = e.agreement !== undefined ? `  agreement with the teacher ${(100 * e.agreement).toFixed(2)}%  KL ${e.kl?.toFixed(4)}` : '';
      write(`eval after step ${e.step}${e.stage ? ` (${e.stage})` : ''}: accuracy ${(100 * e.accuracy).toFixed(2)}%  loss ${e.loss.toFixed(4)}${vsTeacher}  (${e.examples} examples)`);
    }
  };
}

/**
 * The exit code and last words of a training-like job: 0 done, 130 stopped by the user (with where
 * its checkpoint is), 1 failed (the error re-thrown, for main's one-line report).
 */
export function reportTrainingEnd(record: RunRecord<'train'> | RunRecord<'distill'>, write: (s: string) => void, resumeHint: string): number {
  const r = record.result;
  if (record.status === 'complete') {
    write(`trained ${r.steps} steps; last loss ${r.lastLoss?.toFixed(4)}; wrote ${r.out}${r.checkpoint ? ` and ${r.checkpoint}` : ''}`);
    return 0;
  }
  if (record.status === 'cancelled') {
    write(`stopped at step ${r.steps ?? '?'}; wrote the model so far to ${r.out ?? '?'} and the checkpoint ${r.checkpoint ?? '?'}; go on with ${resumeHint} --resume ${r.checkpoint ?? ''}`);
    return 130;
  }
  if (record.errorInfo) throw UserError.fromInfo(record.errorInfo);
  throw new JobFailedError(record.error ?? `the job ${record.status}`);
}

/** A job that failed for a reason other than the user's input (killed, crashed, timed out): one line, no stack. */
export class JobFailedError extends UserError {
  constructor(problem: string) {
    super('job-failed', problem);
    this.name = 'JobFailedError';
  }
}

export async function runTrain(cmd: TrainCommand, write: (s: string) => void): Promise<number> {
  const job = startTrainJob(workerScript(), cmd.options, { timeoutMs: cmd.timeoutMs, onProgress: printTrainingProgress(write), onLog: (l) => process.stderr.write(`[worker] ${l}\n`) });
  const record = await withInterrupt(job, 'stopping after the current step and saving a checkpoint');
  for (const w of record.result.warnings ?? []) write(`warning: ${w}`);
  recordRun(record, cmd.runsDir);
  return reportTrainingEnd(record, write, 'the same command and');
}
