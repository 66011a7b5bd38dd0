// The comparison panel's content, computed from saved runs: which configurations they share, the
// rows at one of them against a baseline, and latency against sequence length.
import { NOISY_CV } from './stats';
import { compareRows, pickResult, type CompareEntry, type CompareRow } from './compare';
import type { BenchmarkConfig, BenchmarkRun, EnvironmentRecord, RunStatus } from './types';

/** What the comparison panel shows: computed by the host from saved runs. */
export type CompareView = {
  /** The configuration the rows compare (batch, seq, threads). */
  config: BenchmarkConfig;
  /** Configurations every compared run measured: the panel offers them. */
  configs: BenchmarkConfig[];
  baseline: number;
  rows: CompareRow[];
  models: Array<{
    name: string;
    path: string;
    runFile?: string;
    status: RunStatus;
    error?: string;
    family?: string;
    environment: EnvironmentRecord;
  }>;
  /** p50/p95 per sequence length at the view's batch and threads, one series per model. */
  latencyVsSeq: Array<{ model: string; points: Array<{ seq: number; p50: number; p95: number }> }>;
  warnings: string[];
  /** The coefficient of variation above which a configuration is flagged noisy. */
  noisyCv: number;
  /** Names the host's saved state for this panel, which the webview keeps across reloads. */
  restoreKey?: string;
};
export interface CompareSource {
  run: BenchmarkRun;
  runFile?: string;
  /** The model's accuracy (0..1) from a run that evaluated it (a distillation's record), if any. */
  accuracy?: number;
}

const key = (c: BenchmarkConfig) => `${c.batch}/${c.seq}/${c.threads}`;

/** Configurations measured by every run that has results (so each row compares like with like). */
export function sharedConfigs(runs: readonly BenchmarkRun[]): BenchmarkConfig[] {
  const withResults = runs.filter((r) => r.results.length > 0);
  if (withResults.length === 0) return [];
  const sets = withResults.map((r) => new Set(r.results.map(key)));
  return withResults[0].results
    .filter((c) => sets.every((s) => s.has(key(c))))
    .map(({ batch, seq, threads }) => ({ batch, seq, threads }))
    .filter((c, i, all) => all.findIndex((d) => key(d) === key(c)) === i);
}

export function buildCompareView(sources: readonly CompareSource[], baseline: number, want?: BenchmarkConfig): CompareView {
  const runs = sources.map((s) => s.run);
  const configs = sharedConfigs(runs);
  const warnings: string[] = [];
  const config = (want && configs.some((c) => key(c) === key(want)) ? want : undefined)
    ?? configs.find((c) => c.seq === 128 && c.batch === 1) ?? configs[0]
    ?? { batch: 1, seq: 128, threads: 1 };
  const entries: CompareEntry[] = [];
  const included: number[] = [];
  sources.forEach((s, i) => {
    const result = pickResult(s.run, config);
    if (result) { entries.push({ label: s.runFile ?? s.run.model.path, run: s.run, result, ...(s.accuracy !== undefined ? { accuracy: s.accuracy } : {}) }); included.push(i); }
    else warnings.push(`${s.run.model.name}: no result at batch ${config.batch}, seq ${config.seq}, ${config.threads} threads (${s.run.status}${s.run.error ? `: ${s.run.error}` : ''})`);
  });
  const base = Math.max(0, included.indexOf(Math.min(Math.max(0, baseline), sources.length - 1)));
  const rows = entries.length ? compareRows(entries, base) : [];
  if (configs.length === 0 && sources.length > 0) warnings.push('no configuration was measured by every model');
  const latencyVsSeq = sources.map((s) => ({
    model: s.run.model.name,
    points: s.run.results
      .filter((r) => r.batch === config.batch && r.threads === config.threads)
      .map((r) => ({ seq: r.seq, p50: r.stats.p50, p95: r.stats.p95 }))
      .sort((a, b) => a.seq - b.seq),
  }));
  return {
    config,
    configs,
    baseline: included[base] ?? 0,
    rows,
    models: sources.map((s) => ({
      name: s.run.model.name, path: s.run.model.path, runFile: s.runFile, status: s.run.status, error: s.run.error,
      family: s.run.model.family, environment: s.run.environment,
    })),
    latencyVsSeq,
    warnings,
    noisyCv: NOISY_CV,
  };
}
