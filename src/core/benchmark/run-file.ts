// Saved benchmark runs: one BenchmarkRun per JSON file, written atomically (a crash never leaves a
// half-written run where a good one was) and validated on load, with errors naming the file.
import { UserError } from '../errors';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from '../io/atomic-write';
import type { BenchmarkRun } from './types';

export const RUN_SCHEMA = 'compression-lab.benchmark-run/1';

/** A run file that cannot be used; the message names the file and the problem. */
export class RunFileError extends UserError {
  declare readonly file: string;
  constructor(file: string, problem: string) {
    super('run-file', problem, file);
    this.name = 'RunFileError';
  }
}

/** `<UTC time>-<model name>.json`, sortable by time, as kept under .compression-lab/runs/. */
export function runFileName(run: BenchmarkRun): string {
  const time = run.environment.timestamp.replace(/[:.]/g, '-');
  const name = run.model.name.replace(/[^A-Za-z0-9._-]+/g, '_') || 'model';
  return `${time}-${name}.json`;
}

/** Writes the run to `file` (temp file, fsync, rename), creating the folder when needed. */
export function saveRun(file: string, run: BenchmarkRun): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeAtomically(file, [Buffer.from(JSON.stringify(run, null, 2) + '\n', 'utf8')]);
}

const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

/** Structural check of a parsed run; returns the first problem found, if any. */
export function runProblem(x: unknown): string | undefined {
  if (!isObj(x)) return 'not a JSON object';
  if (x.schema !== RUN_SCHEMA) return `not a benchmark run (schema is ${JSON.stringify(x.schema)}, expected "${RUN_SCHEMA}")`;
  const model = x.model;
  if (!isObj(model) || typeof model.path !== 'string' || typeof model.name !== 'string' || typeof model.sha256 !== 'string' || !isNum(model.bytes)) return 'model: needs path, name, sha256 and bytes';
  if (!isObj(x.plan)) return 'plan is missing';
  const env = x.environment;
  if (!isObj(env) || typeof env.timestamp !== 'string' || typeof env.onnxruntime !== 'string') return 'environment is missing or incomplete';
  if (!['complete', 'cancelled', 'failed', 'timeout'].includes(x.status as string)) return `status ${JSON.stringify(x.status)} is not complete, cancelled, failed or timeout`;
  if (!Array.isArray(x.results)) return 'results is not a list';
  for (const [i, r] of x.results.entries()) {
    if (!isObj(r) || !isNum(r.batch) || !isNum(r.seq) || !isNum(r.threads)) return `results[${i}]: needs batch, seq and threads`;
    const s = r.stats;
    if (!isObj(s) || !['runs', 'min', 'max', 'mean', 'std', 'p50', 'p90', 'p95', 'p99', 'cv'].every((k) => isNum(s[k]))) return `results[${i}].stats: needs runs, min, max, mean, std, p50, p90, p95, p99 and cv`;
    if (!isObj(r.throughput) || !isNum(r.throughput.sequencesPerSec)) return `results[${i}].throughput is missing`;
  }
  return undefined;
}

export function loadRun(file: string): BenchmarkRun {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RunFileError(file, `cannot read the run file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new RunFileError(file, `not valid JSON (${(e as Error).message}); the run file is damaged`);
  }
  const problem = runProblem(parsed);
  if (problem) throw new RunFileError(file, problem);
  return parsed as BenchmarkRun;
}
