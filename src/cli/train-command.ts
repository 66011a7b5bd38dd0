// `compression-lab train`: fine-tune any ONNX sequence classifier on TSV, CSV or JSONL data.
import { train, type TrainOptions } from '../core/training/trainer';
import { parseArgs, positiveInt, UsageError } from './args';

const FLAGS = {
  model: 'string', data: 'string', out: 'string', tokenizer: 'string', 'text-column': 'string', 'label-column': 'string',
  'max-length': 'string', optimizer: 'string', lr: 'string', momentum: 'string', 'weight-decay': 'string',
  'batch-size': 'string', epochs: 'string', 'max-steps': 'string', seed: 'string', 'no-shuffle': 'boolean',
  dropout: 'string', eval: 'string', log: 'string', 'warmup-ratio': 'string', 'clip-norm': 'string',
  'grad-accumulation': 'string', checkpoint: 'string', 'checkpoint-every': 'string', resume: 'string', threads: 'string',
} as const;

function nonNegative(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number >= 0 (got '${v}')`);
  return n;
}

export function parseTrain(argv: string[]): TrainOptions {
  const { positional, flags } = parseArgs(argv, FLAGS);
  if (positional.length) throw new UsageError(`train takes only options (got '${positional[0]}')`);
  for (const k of ['model', 'data', 'out'] as const) if (typeof flags[k] !== 'string') throw new UsageError(`train needs --${k}`);
  if (flags.epochs !== undefined && flags['max-steps'] !== undefined) throw new UsageError('give --epochs or --max-steps, not both');
  const optimizer = flags.optimizer ?? 'adamw';
  if (optimizer !== 'sgd' && optimizer !== 'adamw') throw new UsageError("--optimizer must be 'sgd' or 'adamw'");
  const dropout = nonNegative(flags.dropout, 'dropout');
  if (dropout !== undefined && dropout >= 1) throw new UsageError('--dropout must be below 1');
  const lr = nonNegative(flags.lr, 'lr');
  return {
    model: flags.model as string,
    data: flags.data as string,
    out: flags.out as string,
    tokenizer: flags.tokenizer as string | undefined,
    textColumn: flags['text-column'] as string | undefined,
    labelColumn: flags['label-column'] as string | undefined,
    maxLength: positiveInt(flags['max-length'], 'max-length', 128),
    optimizer,
    lr: lr === 0 ? undefined : lr,
    momentum: nonNegative(flags.momentum, 'momentum'),
    weightDecay: nonNegative(flags['weight-decay'], 'weight-decay'),
    batchSize: positiveInt(flags['batch-size'], 'batch-size', 32),
    epochs: flags.epochs !== undefined ? positiveInt(flags.epochs, 'epochs', 1) : undefined,
    maxSteps: flags['max-steps'] !== undefined ? positiveInt(flags['max-steps'], 'max-steps', 1) : undefined,
    seed: flags.seed !== undefined ? positiveInt(flags.seed, 'seed', 42) : undefined,
    shuffle: !flags['no-shuffle'],
    warmupRatio: nonNegative(flags['warmup-ratio'], 'warmup-ratio'),
    clipNorm: nonNegative(flags['clip-norm'], 'clip-norm'),
    gradAccumulation: flags['grad-accumulation'] !== undefined ? positiveInt(flags['grad-accumulation'], 'grad-accumulation', 1) : undefined,
    eval: flags.eval as string | undefined,
    log: flags.log as string | undefined,
    checkpoint: flags.checkpoint as string | undefined,
    checkpointEvery: flags['checkpoint-every'] !== undefined ? positiveInt(flags['checkpoint-every'], 'checkpoint-every', 1) : undefined,
    resume: flags.resume as string | undefined,
    threads: flags.threads !== undefined ? positiveInt(flags.threads, 'threads', 1) : undefined,
    dropout,
  };
}

export async function runTrain(o: TrainOptions, write: (s: string) => void): Promise<number> {
  let cancelled = false;
  const onInterrupt = () => { cancelled = true; };
  process.on('SIGINT', onInterrupt);
  try {
    const r = await train(o, {
      isCancelled: () => cancelled,
      onStep: (s) => { if (s.step === 1 || s.step % 10 === 0) write(`step ${s.step}  epoch ${s.epoch}  loss ${s.loss.toFixed(4)}  lr ${s.lr.toExponential(2)}  grad-norm ${s.gradNorm.toFixed(3)}  ${(s.ms / 1000).toFixed(2)} s`); },
      onEval: (e) => write(`eval after step ${e.step}: accuracy ${(100 * e.accuracy).toFixed(2)}%  loss ${e.loss.toFixed(4)}  (${e.examples} examples)`),
    });
    for (const w of r.warnings) write(`warning: ${w}`);
    write(`${cancelled ? 'stopped' : 'trained'} ${r.steps} steps; last loss ${r.lastLoss.toFixed(4)}; wrote ${r.out}${r.checkpoint ? ` and ${r.checkpoint}` : ''}`);
    return cancelled ? 130 : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
