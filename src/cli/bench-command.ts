// `compression-lab bench`: latency of one or more models over batch sizes x sequence lengths x
// thread counts, each model in its own worker process (the numbers are the worker's).
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { csvField } from '../core/benchmark/compare';
import { benchmarkRecord, runFileName, saveRun } from '../core/runs/run-record';
import { recordRun } from './job-terminal';
import type { BenchmarkPlan, BenchmarkRun, ConfigResult } from '../core/benchmark/types';
import { parseArgs, UsageError } from './args';
import { ALL_CORES, PLAN_FLAGS, planFromFlags, positiveList, reportOutcome, runJob, runsDirFromFlags, timeoutFromFlags } from './bench-options';
import { formatBytes, formatCount } from '../core/format';
import { table } from './format';

export interface BenchCommand {
  plans: BenchmarkPlan[];
  output: 'text' | 'json' | 'csv';
  /** A run file (one model), or a folder for one run file per model. */
  out?: string;
  /** Without --out, runs are recorded here (undefined: not at all). */
  runsDir?: string;
  timeoutMs?: number;
}

export function parseBench(argv: string[]): BenchCommand {
  const { positional, flags } = parseArgs(argv, { ...PLAN_FLAGS, batch: 'string', seq: 'string', threads: 'string', json: 'boolean', csv: 'boolean', out: 'string' });
  if (positional.length === 0) throw new UsageError('bench takes one or more model paths');
  if (flags.json && flags.csv) throw new UsageError('give --json or --csv, not both');
  const sizes = {
    batches: positiveList(flags.batch, 'batch', [1]),
    seqs: positiveList(flags.seq, 'seq', [128]),
    threads: positiveList(flags.threads, 'threads', [ALL_CORES]),
  };
  return {
    plans: positional.map((m) => planFromFlags(m, flags, sizes)),
    output: flags.json ? 'json' : flags.csv ? 'csv' : 'text',
    out: typeof flags.out === 'string' ? flags.out : undefined,
    runsDir: runsDirFromFlags(flags),
    timeoutMs: timeoutFromFlags(flags),
  };
}

/** One configuration as `--json` prints it (one object per line) and `--csv` as a row. */
export interface ResultRecord {
  model: string; path: string; sha256: string;
  batch: number; seq: number; threads: number; runs: number;
  p50: number; p90: number; p95: number; p99: number; mean: number; std: number; min: number; max: number; cv: number;
  /** Sequences per second. */
  throughput: number; tokensPerSec: number;
  peakRssMb: number; sessionCreateMs: number; firstRunMs: number;
  noisy: boolean; warnings: string[];
}

const CSV_COLUMNS: Array<keyof ResultRecord> = [
  'model', 'path', 'sha256', 'batch', 'seq', 'threads', 'runs', 'p50', 'p90', 'p95', 'p99', 'mean', 'std', 'min', 'max', 'cv',
  'throughput', 'tokensPerSec', 'peakRssMb', 'sessionCreateMs', 'firstRunMs', 'noisy', 'warnings',
];

export function resultRecord(run: BenchmarkRun, r: ConfigResult): ResultRecord {
  const { runs, p50, p90, p95, p99, mean, std, min, max, cv } = r.stats;
  return {
    model: run.model.name, path: run.model.path, sha256: run.model.sha256,
    batch: r.batch, seq: r.seq, threads: r.threads, runs,
    p50, p90, p95, p99, mean, std, min, max, cv,
    throughput: r.throughput.sequencesPerSec, tokensPerSec: r.throughput.tokensPerSec,
    peakRssMb: r.peakRssMb, sessionCreateMs: r.sessionCreateMs, firstRunMs: r.firstRunMs,
    noisy: r.noisy, warnings: r.warnings,
  };
}

function csvRow(record: ResultRecord): string {
  return CSV_COLUMNS.map((k) => { const v = record[k]; return csvField(Array.isArray(v) ? v.join('; ') : v); }).join(',');
}

function textReport(run: BenchmarkRun): string {
  const m = run.model;
  const e = run.environment;
  const s = run.plan.session;
  const about = [m.family, m.params !== undefined ? `${formatCount(m.params)} parameters` : undefined, formatBytes(m.bytes)].filter(Boolean).join(', ');
  const measure = run.plan.durationSec ? `${run.plan.durationSec} s per configuration` : `${run.plan.runs} runs`;
  const lines = [
    `${m.name}  ${m.path}`,
    `  ${about}; sha256 ${m.sha256.slice(0, 16)}...`,
    `  onnxruntime ${e.onnxruntime} ${s.executionProvider}, optimization ${s.graphOptimizationLevel}, ${s.executionMode}, memory arena ${s.enableCpuMemArena ? 'on' : 'off'}; ` +
      `${run.plan.warmup} warm-up + ${measure}; inputs ${run.plan.inputs.kind === 'text' ? path.basename(run.plan.inputs.textFile) : 'synthetic'}`,
    `  ${e.cpuModel}, ${e.cores} cores, ${e.os}, node ${e.node}, ${e.timestamp}`,
    '',
  ];
  const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);
  const rows = run.results.map((r) => [
    String(r.batch), String(r.seq), String(r.threads), ms(r.stats.p50), ms(r.stats.p90), ms(r.stats.p95), ms(r.stats.p99), ms(r.stats.mean),
    `${(r.stats.cv * 100).toFixed(1)}%${r.noisy ? '!' : ''}`, r.throughput.sequencesPerSec.toFixed(1), Math.round(r.throughput.tokensPerSec).toString(),
    r.peakRssMb.toFixed(0), ms(r.firstRunMs), ms(r.sessionCreateMs),
  ]);
  if (rows.length) {
    lines.push(table(['batch', 'seq', 'threads', 'p50 ms', 'p90 ms', 'p95 ms', 'p99 ms', 'mean ms', 'cv', 'seq/s', 'tokens/s', 'peak RSS MB', 'first run ms', 'session ms'], rows, [true, true, true, true, true, true, true, true, true, true, true, true, true, true]));
  }
  const warnings = [...new Set(run.results.flatMap((r) => r.warnings.map((w) => `  warning (batch ${r.batch}, seq ${r.seq}, threads ${r.threads}): ${w}`)))];
  if (warnings.length) lines.push('', ...warnings);
  return lines.join('\n');
}

/** --out is a folder (one run file per model inside) when it says so or exists as one; else the run file of the one model. */
function outIsFolder(out: string, models: number): boolean {
  const isDir = out.endsWith('/') || out.endsWith(path.sep) || (existsSync(out) && statSync(out).isDirectory());
  if (!isDir && models > 1) throw new UsageError(`with several models, --out must be a folder (${out} is not one)`);
  return isDir;
}

export async function runBench(cmd: BenchCommand, write: (s: string) => void): Promise<number> {
  const folder = cmd.out !== undefined && outIsFolder(cmd.out, cmd.plans.length); // a usage error before any work
  const runs: BenchmarkRun[] = [];
  if (cmd.output === 'csv') write(CSV_COLUMNS.join(','));
  for (const plan of cmd.plans) {
    const run = await runJob(plan, cmd.timeoutMs);
    runs.push(run);
    if (cmd.output === 'json') for (const r of run.results) write(JSON.stringify(resultRecord(run, r)));
    else if (cmd.output === 'csv') for (const r of run.results) write(csvRow(resultRecord(run, r)));
    else if (run.results.length || run.status === 'complete') write(textReport(run) + '\n');
    if (run.status === 'cancelled') break;
  }
  // The outcome first: a failure's message is the first thing on stderr.
  const code = reportOutcome(runs);
  if (cmd.out !== undefined) {
    for (const run of runs) {
      const file = folder ? path.join(cmd.out, runFileName(run)) : cmd.out;
      saveRun(file, run);
      process.stderr.write(`saved ${file}\n`);
    }
  } else if (cmd.runsDir) {
    for (const run of runs) recordRun(benchmarkRecord(run), cmd.runsDir);
  }
  return code;
}
