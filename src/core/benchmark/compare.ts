// Comparison of benchmarked models at one configuration, against a baseline: what compression
// bought (speed-up) for what it cost (parameters and size kept). Rows, then Markdown and CSV.
import * as path from 'node:path';
import { formatBytes, formatMacs } from '../format';
import type { BenchmarkConfig, BenchmarkRun, ConfigResult } from './types';

export interface CompareEntry {
  /** What the user named: a model path or a run file. */
  label: string;
  run: BenchmarkRun;
  result: ConfigResult;
  /** Accuracy on evaluation data (0..1), when a run that evaluated the model says: benchmarks do not. */
  accuracy?: number;
}

export interface CompareRow extends BenchmarkConfig {
  model: string;
  path: string;
  baseline: boolean;
  params?: number;
  /** Size on disk: the model file and its external data. */
  bytes: number;
  /** Multiply-adds for one sequence at this row's length, when the run recorded them at it. */
  flops?: number;
  p50: number;
  p95: number;
  sequencesPerSec: number;
  /** Baseline p50 / this p50: 2 means twice as fast. */
  speedup: number;
  /** Parameters and size as a percentage of the baseline's. */
  paramsPct?: number;
  sizePct: number;
  noisy: boolean;
  /** Accuracy (0..1) from the run that evaluated the model, and as a percentage of the baseline's. */
  accuracy?: number;
  accuracyPct?: number;
}

/** The result of a run at this configuration (any field left out matches anything); the first when several match. */
export function pickResult(run: BenchmarkRun, want: Partial<BenchmarkConfig>): ConfigResult | undefined {
  return run.results.find((r) => (want.batch === undefined || r.batch === want.batch) && (want.seq === undefined || r.seq === want.seq) && (want.threads === undefined || r.threads === want.threads));
}

/** Which entry is the baseline: matched by the label given, the model's path or its name; the first when none is asked for. */
export function baselineIndex(entries: readonly CompareEntry[], spec?: string): number {
  if (spec === undefined) return 0;
  const abs = path.resolve(spec);
  const i = entries.findIndex((e) => e.label === spec || path.resolve(e.label) === abs || e.run.model.path === abs || e.run.model.name === spec);
  if (i < 0) throw new Error(`the baseline '${spec}' is none of the compared models (${entries.map((e) => e.run.model.name).join(', ')})`);
  return i;
}

export function compareRows(entries: readonly CompareEntry[], baseline: number): CompareRow[] {
  const base = entries[baseline];
  if (!base) throw new Error('nothing to compare');
  const pct = (x: number | undefined, of: number | undefined) => (x !== undefined && of ? (100 * x) / of : undefined);
  return entries.map((e, i) => {
    const { run, result } = e;
    // run.model.flops was counted at the plan's first sequence length; at another length it does not apply.
    const flops = run.plan.seqs[0] === result.seq ? run.model.flops : undefined;
    return {
      model: run.model.name,
      path: run.model.path,
      baseline: i === baseline,
      batch: result.batch,
      seq: result.seq,
      threads: result.threads,
      params: run.model.params,
      bytes: run.model.bytes,
      flops,
      p50: result.stats.p50,
      p95: result.stats.p95,
      sequencesPerSec: result.throughput.sequencesPerSec,
      speedup: base.result.stats.p50 / result.stats.p50,
      paramsPct: pct(run.model.params, base.run.model.params),
      sizePct: pct(run.model.bytes, base.run.model.bytes) ?? 0,
      noisy: result.noisy,
      ...(e.accuracy !== undefined ? { accuracy: e.accuracy } : {}),
      ...(pct(e.accuracy, base.accuracy) !== undefined ? { accuracyPct: pct(e.accuracy, base.accuracy) } : {}),
    };
  });
}

/** Accuracy columns are added to a table only when some row has an accuracy (the CLI's never do). */
function hasAccuracy(rows: readonly CompareRow[]): boolean {
  return rows.some((r) => r.accuracy !== undefined);
}

function accuracyCells(r: CompareRow): string[] {
  return [r.accuracy !== undefined ? `${(100 * r.accuracy).toFixed(2)}%` : '-', r.accuracyPct !== undefined ? `${r.accuracyPct.toFixed(1)}%` : '-'];
}

export const COMPARE_HEADERS = ['model', 'params', 'size', 'FLOPs', 'p50 ms', 'p95 ms', 'seq/s', 'speed-up', 'params %', 'size %'];

/** One row as display cells, in COMPARE_HEADERS order (the CLI's text table uses them too). */
export function displayCells(r: CompareRow): string[] {
  const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);
  const dash = '-';
  return [
    `${r.model}${r.baseline ? ' (baseline)' : ''}${r.noisy ? ' (noisy)' : ''}`,
    r.params !== undefined ? formatMacs(r.params) : dash,
    formatBytes(r.bytes),
    r.flops !== undefined ? formatMacs(r.flops) : dash,
    ms(r.p50),
    ms(r.p95),
    r.sequencesPerSec.toFixed(r.sequencesPerSec < 100 ? 1 : 0),
    `${r.speedup.toFixed(2)}x`,
    r.paramsPct !== undefined ? `${r.paramsPct.toFixed(1)}%` : dash,
    `${r.sizePct.toFixed(1)}%`,
  ];
}

/** The line under a comparison table: the configuration and what the columns mean. */
export function comparisonNote(rows: readonly CompareRow[]): string {
  const r = rows[0];
  return r
    ? `batch ${r.batch}, sequence length ${r.seq}, ${r.threads} thread${r.threads === 1 ? '' : 's'}; speed-up is the baseline's p50 over each model's; FLOPs are multiply-adds per sequence`
    : '';
}

export function toMarkdown(rows: readonly CompareRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const acc = hasAccuracy(rows);
  const headers = acc ? [...COMPARE_HEADERS, 'accuracy', 'accuracy %'] : COMPARE_HEADERS;
  const lines = [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${[...displayCells(r), ...(acc ? accuracyCells(r) : [])].map(esc).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n\n${comparisonNote(rows)}`;
}

export const CSV_HEADERS = ['model', 'path', 'baseline', 'batch', 'seq', 'threads', 'params', 'bytes', 'flops', 'p50_ms', 'p95_ms', 'sequences_per_sec', 'speedup', 'params_pct', 'size_pct', 'noisy'];

/** RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvField(x: unknown): string {
  const s = x === undefined || x === null ? '' : String(x);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly CompareRow[]): string {
  const acc = hasAccuracy(rows);
  const lines = rows.map((r) => [r.model, r.path, r.baseline, r.batch, r.seq, r.threads, r.params, r.bytes, r.flops, r.p50, r.p95, r.sequencesPerSec, r.speedup, r.paramsPct, r.sizePct, r.noisy, ...(acc ? [r.accuracy, r.accuracyPct] : [])].map(csvField).join(','));
  return [(acc ? [...CSV_HEADERS, 'accuracy', 'accuracy_pct'] : CSV_HEADERS).join(','), ...lines].join('\n');
}
