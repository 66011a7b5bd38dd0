// What `bench` and `compare` share: parsing the benchmark flags into a plan, finding the worker
// script, and running one job in a child process with progress on a terminal and Ctrl-C as cancel.
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import type { BenchmarkPlan, BenchmarkRun, GraphOptimizationLevel, SessionSettings } from '../core/benchmark/types';
import { startBenchmarkJob } from '../host/benchmark-job';
import { workerScript } from '../host/worker-path';
import { DEFAULT_RUNS_DIR, withInterrupt } from './job-terminal';
import { nonNegativeInt, oneOf, positiveInt, UsageError } from './args';

/** Flags every benchmarking command takes (for parseArgs). */
export const PLAN_FLAGS = {
  warmup: 'string', runs: 'string', duration: 'string', opt: 'string', mode: 'string', 'no-arena': 'boolean',
  provider: 'string', text: 'string', tokenizer: 'string', timeout: 'string', 'runs-dir': 'string', 'no-run-record': 'boolean',
} as const;

/** The folder benchmark runs are recorded in (undefined: --no-run-record). */
export function runsDirFromFlags(flags: Flags): string | undefined {
  return flags['no-run-record'] ? undefined : path.resolve(typeof flags['runs-dir'] === 'string' ? flags['runs-dir'] : DEFAULT_RUNS_DIR);
}

export const DEFAULT_WARMUP = 5;
export const DEFAULT_BENCH_RUNS = 30;

type Flags = Record<string, string | boolean>;

/** "1,8,32" -> [1, 8, 32]; each a positive whole number. */
export function positiveList(v: string | boolean | undefined, name: string, fallback: number[]): number[] {
  if (v === undefined) return fallback;
  const parts = String(v).split(',').map((s) => s.trim());
  return parts.map((p) => positiveInt(p, name, 0));
}

function positiveSeconds(v: string | boolean, name: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a positive number of seconds (got '${v}')`);
  return n;
}

/** Session settings, measuring and inputs from the flags; sizes (batches, seqs, threads) from the caller. */
export function planFromFlags(model: string, flags: Flags, sizes: Pick<BenchmarkPlan, 'batches' | 'seqs' | 'threads'>): BenchmarkPlan {
  if (flags.runs !== undefined && flags.duration !== undefined) throw new UsageError('give --runs or --duration, not both');
  if ((flags.text === undefined) !== (flags.tokenizer === undefined)) throw new UsageError('--text and --tokenizer go together: a text file and the tokenizer.json to tokenize it with');
  const session: SessionSettings = {
    graphOptimizationLevel: oneOf<GraphOptimizationLevel>(flags.opt, 'opt', ['all', 'extended', 'basic', 'disabled']) ?? 'all',
    executionMode: oneOf(flags.mode, 'mode', ['sequential', 'parallel'] as const) ?? 'sequential',
    enableCpuMemArena: !flags['no-arena'],
    executionProvider: typeof flags.provider === 'string' ? flags.provider : 'cpu',
  };
  return {
    model: path.resolve(model),
    ...sizes,
    warmup: nonNegativeInt(flags.warmup, 'warmup', DEFAULT_WARMUP),
    ...(flags.duration !== undefined ? { durationSec: positiveSeconds(flags.duration, 'duration') } : { runs: positiveInt(flags.runs, 'runs', DEFAULT_BENCH_RUNS) }),
    session,
    inputs: typeof flags.text === 'string'
      ? { kind: 'text', textFile: path.resolve(flags.text), tokenizerFile: path.resolve(String(flags.tokenizer)) }
      : { kind: 'synthetic' },
  };
}

export function timeoutFromFlags(flags: Flags): number | undefined {
  return flags.timeout === undefined ? undefined : positiveSeconds(flags.timeout, 'timeout') * 1000;
}

export const ALL_CORES = availableParallelism();

/**
 * Runs one plan in a fresh worker process. On a terminal, progress goes to stderr on one line;
 * Ctrl-C cancels the job (the run then ends 'cancelled' with what completed).
 */
export async function runJob(plan: BenchmarkPlan, timeoutMs?: number): Promise<BenchmarkRun> {
  const tty = process.stderr.isTTY;
  const name = path.basename(plan.model);
  const job = startBenchmarkJob(workerScript(), plan, {
    timeoutMs,
    onProgress: (p) => {
      if (!tty) return;
      const c = p.config;
      const runs = p.run !== undefined ? ` ${p.run}${p.runs ? `/${p.runs}` : ''}` : '';
      process.stderr.write(`\r\x1b[K${name}  [${p.configIndex + 1}/${p.configCount}] batch ${c.batch} seq ${c.seq} threads ${c.threads}: ${p.phase}${runs}`);
    },
  });
  try {
    return await withInterrupt(job, `stopping the benchmark of ${name} after its current run`);
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

/** The exit code for a set of runs: 0 all complete, 130 cancelled by the user, 1 a failure or timeout (reported on stderr). */
export function reportOutcome(runs: BenchmarkRun[]): number {
  let code = 0;
  for (const run of runs) {
    if (run.status === 'complete') continue;
    if (run.status === 'cancelled') { process.stderr.write(`cancelled: ${run.model.path} (${run.results.length} configuration${run.results.length === 1 ? '' : 's'} completed)\n`); code = code || 130; continue; }
    process.stderr.write(`error: ${run.error ?? `${run.model.path}: ${run.status}`}\n`);
    code = 1;
  }
  return code;
}
