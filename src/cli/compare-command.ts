// `compression-lab compare`: models (benchmarked now, each in its own worker process) or saved run
// files side by side at one configuration, against a baseline.
import * as path from 'node:path';
import { baselineIndex, COMPARE_HEADERS, compareRows, comparisonNote, displayCells, pickResult, toCsv, toMarkdown, type CompareEntry } from '../core/benchmark/compare';
import { modelName } from '../core/benchmark/plan';
import { benchmarkRecord, loadRun } from '../core/runs/run-record';
import { recordRun } from './job-terminal';
import type { BenchmarkConfig, BenchmarkPlan, BenchmarkRun } from '../core/benchmark/types';
import { parseArgs, positiveInt, UsageError } from './args';
import { ALL_CORES, PLAN_FLAGS, planFromFlags, reportOutcome, runJob, runsDirFromFlags, timeoutFromFlags } from './bench-options';
import { table } from './format';

export interface CompareCommand {
  /** Per argument: a saved run file to read, or a plan to benchmark. */
  items: Array<{ label: string; runFile?: string; plan?: BenchmarkPlan }>;
  /** The configuration compared. Saved runs are matched on the fields the user gave (batch and seq default to 1 and 128). */
  want: Partial<BenchmarkConfig>;
  baseline?: string;
  output: 'text' | 'markdown' | 'csv';
  timeoutMs?: number;
  /** Models benchmarked now are recorded here (undefined: not at all). */
  runsDir?: string;
}

const isRunFile = (arg: string) => arg.toLowerCase().endsWith('.json');

export function parseCompare(argv: string[]): CompareCommand {
  const { positional, flags } = parseArgs(argv, { ...PLAN_FLAGS, batch: 'string', seq: 'string', threads: 'string', baseline: 'string', markdown: 'boolean', csv: 'boolean' });
  if (positional.length === 0) throw new UsageError('compare takes models (or saved run .json files) to compare');
  if (flags.markdown && flags.csv) throw new UsageError('give --markdown or --csv, not both');
  const batch = positiveInt(flags.batch, 'batch', 1);
  const seq = positiveInt(flags.seq, 'seq', 128);
  const threads = flags.threads !== undefined ? positiveInt(flags.threads, 'threads', 1) : undefined;
  const sizes = { batches: [batch], seqs: [seq], threads: [threads ?? ALL_CORES] };
  return {
    items: positional.map((arg) => (isRunFile(arg) ? { label: arg, runFile: path.resolve(arg) } : { label: arg, plan: planFromFlags(arg, flags, sizes) })),
    want: { batch, seq, ...(threads !== undefined ? { threads } : {}) },
    baseline: typeof flags.baseline === 'string' ? flags.baseline : undefined,
    output: flags.markdown ? 'markdown' : flags.csv ? 'csv' : 'text',
    timeoutMs: timeoutFromFlags(flags),
    runsDir: runsDirFromFlags(flags),
  };
}

/** What --baseline may call an item: as given, its path, its model name (and a run file's recorded model path). */
function namesOf(label: string, run: BenchmarkRun | undefined): string[] {
  const names = [label, path.resolve(label), modelName(path.resolve(label))];
  if (run) names.push(run.model.name, run.model.path);
  return names;
}

function describe(want: Partial<BenchmarkConfig>): string {
  return [`batch ${want.batch}`, `seq ${want.seq}`, want.threads !== undefined ? `threads ${want.threads}` : undefined].filter(Boolean).join(', ');
}

export async function runCompare(cmd: CompareCommand, write: (s: string) => void): Promise<number> {
  // Read every run file first: a broken one is reported before minutes of benchmarking.
  const loaded = new Map(cmd.items.filter((i) => i.runFile).map((i) => [i.label, loadRun(i.runFile!)]));
  const baseline = cmd.baseline;
  if (baseline !== undefined && !cmd.items.some((i) => namesOf(i.label, loaded.get(i.label)).some((n) => n === baseline || n === path.resolve(baseline)))) {
    throw new UsageError(`--baseline ${baseline} is none of the compared models (${cmd.items.map((i) => i.label).join(', ')})`);
  }
  const entries: CompareEntry[] = [];
  const benchmarked: BenchmarkRun[] = [];
  for (const item of cmd.items) {
    let run = loaded.get(item.label);
    if (!run) {
      run = await runJob(item.plan!, cmd.timeoutMs);
      benchmarked.push(run);
      const code = run.status === 'complete' ? 0 : reportOutcome([run]);
      recordRun(benchmarkRecord(run), cmd.runsDir);
      if (code) return code;
    }
    const result = pickResult(run, cmd.want);
    if (!result) {
      const has = run.results.map((r) => `batch ${r.batch}/seq ${r.seq}/threads ${r.threads}`).join(', ') || 'no results';
      process.stderr.write(`error: ${item.runFile ?? run.model.path}: no result at ${describe(cmd.want)} (it has ${has}); pass --batch/--seq/--threads to match\n`);
      return 1;
    }
    entries.push({ label: item.label, run, result });
  }
  let base: number;
  try {
    base = baselineIndex(entries, cmd.baseline);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const rows = compareRows(entries, base);
  if (cmd.output === 'markdown') write(toMarkdown(rows));
  else if (cmd.output === 'csv') write(toCsv(rows));
  else {
    write(table(COMPARE_HEADERS, rows.map(displayCells), COMPARE_HEADERS.map((_, i) => i > 0)));
    write(`\n${comparisonNote(rows)}`);
  }
  const configs = new Set(rows.map((r) => `${r.batch}/${r.seq}/${r.threads}`));
  if (configs.size > 1) process.stderr.write(`note: the rows were measured at different configurations (batch/seq/threads: ${[...configs].join(', ')})\n`);
  if (rows.some((r) => r.noisy)) process.stderr.write('note: rows marked (noisy) varied by more than 10% between runs; rerun on a quiet machine\n');
  return reportOutcome(benchmarked);
}
