// Saved runs: every job (benchmark, training, distillation, quantization) is one JSON file
// `{schema, kind, id, created, model {path, sha256, ...}, settings, environment, status, result}`,
// written atomically (a crash never leaves a half-written run where a good one was) and
// validated on load, with errors naming the file. Benchmark runs saved before run records
// existed ('compression-lab.benchmark-run/1') still load, as benchmark records.
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from '../io/atomic-write';
import { UserError, type UserErrorInfo } from '../errors';
import { isJobKind, type JobKind, type JobParams, type JobStatus } from '../jobs/kinds';
import type { BenchmarkRun, ConfigResult, EnvironmentRecord } from '../benchmark/types';
import type { EvalLog, StepLog, TrainResult } from '../training/trainer';
import type { DistillResult } from '../distill/distill';
import type { QuantizeResult } from '../quantize/quantize-model';

export const RUN_SCHEMA = 'compression-lab.run/1';
export const LEGACY_BENCHMARK_SCHEMA = 'compression-lab.benchmark-run/1';

export interface RunModel {
  path: string;
  name: string;
  /** Of the model file as the job read it ('' when it could not be read). */
  sha256: string;
  bytes: number;
  params?: number;
  flops?: number;
  family?: string;
}

/** What a run record keeps of each kind's outcome. */
export interface RunResults {
  benchmark: { results: ConfigResult[] };
  train: Partial<TrainResult> & TrainingHistory;
  distill: Partial<DistillResult> & TrainingHistory;
  /** Empty when the job failed before answering. */
  quantize: Partial<QuantizeResult>;
}

export interface TrainingHistory {
  /** Every optimizer step's log, oldest first (a long run keeps every k-th, and the last). */
  history: StepLog[];
  evals: EvalLog[];
}

export interface RunRecord<K extends JobKind = JobKind> {
  schema: typeof RUN_SCHEMA;
  kind: K;
  id: string;
  /** When the job started, ISO 8601 UTC. */
  created: string;
  model: RunModel;
  settings: JobParams<K>;
  environment: EnvironmentRecord;
  status: JobStatus;
  /** Why the job failed or stopped, in words. */
  error?: string;
  /** The same, structured, when it was a user error. */
  errorInfo?: UserErrorInfo;
  result: RunResults[K];
}

export type AnyRunRecord = { [K in JobKind]: RunRecord<K> }[JobKind];

/** A run file that cannot be used; the message names the file and the problem. */
export class RunFileError extends UserError {
  declare readonly file: string;
  constructor(file: string, problem: string) {
    super('run-file', problem, file);
    this.name = 'RunFileError';
  }
}

/** Longest step history a record keeps; past it, every k-th step (and the last) stays. */
export const MAX_HISTORY = 20_000;

export function thinHistory(steps: readonly StepLog[], max = MAX_HISTORY): StepLog[] {
  if (steps.length <= max) return [...steps];
  const stride = Math.ceil(steps.length / max);
  const out = steps.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== steps[steps.length - 1]) out.push(steps[steps.length - 1]);
  return out;
}

/** `<UTC time>-<kind>-<model name>.json` (benchmarks without the kind, as before), sortable by time. */
export function runFileName(of: BenchmarkRun | Pick<AnyRunRecord, 'kind' | 'created' | 'model'>): string {
  const record = 'kind' in of ? of : { kind: 'benchmark', created: of.environment.timestamp, model: of.model };
  const time = record.created.replace(/[:.]/g, '-');
  const name = record.model.name.replace(/[^A-Za-z0-9._-]+/g, '_') || 'model';
  return `${time}-${record.kind === 'benchmark' ? '' : `${record.kind}-`}${name}.json`;
}

/**
 * Whether a run belongs in the record: a job that failed before doing any work (a typo in a path,
 * a bad option) is an error message, not a run.
 */
export function worthRecording(record: AnyRunRecord): boolean {
  if (record.status !== 'failed') return true;
  if (record.kind === 'benchmark') return record.result.results.length > 0;
  if (record.kind === 'quantize') return record.result.report !== undefined;
  return record.result.history.length > 0;
}

/** Writes the record to `file` (temp file, fsync, rename), creating the folder when needed. */
export function saveRunRecord(file: string, record: AnyRunRecord): string {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeAtomically(file, [Buffer.from(JSON.stringify(record, null, 2) + '\n', 'utf8')]);
  return path.resolve(file);
}

/** Saves under `folder` with its own file name; returns the file. */
export function saveRunIn(folder: string, record: AnyRunRecord): string {
  return saveRunRecord(path.join(folder, runFileName(record)), record);
}

// --- benchmark runs as records -------------------------------------------------------------

export function benchmarkRecord(run: BenchmarkRun): RunRecord<'benchmark'> {
  return {
    schema: RUN_SCHEMA, kind: 'benchmark', id: run.id, created: run.environment.timestamp, model: run.model, settings: run.plan,
    environment: run.environment, status: run.status, ...(run.error !== undefined ? { error: run.error } : {}), result: { results: run.results },
  };
}

export function benchmarkRunOf(record: RunRecord<'benchmark'>): BenchmarkRun {
  return {
    id: record.id, model: record.model, plan: record.settings, environment: record.environment, results: record.result.results,
    status: record.status, ...(record.error !== undefined ? { error: record.error } : {}),
  };
}

// --- validation ------------------------------------------------------------------------------

const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);

function benchmarkResultsProblem(results: unknown): string | undefined {
  if (!Array.isArray(results)) return 'results is not a list';
  for (const [i, r] of results.entries()) {
    if (!isObj(r) || !isNum(r.batch) || !isNum(r.seq) || !isNum(r.threads)) return `results[${i}]: needs batch, seq and threads`;
    const s = r.stats;
    if (!isObj(s) || !['runs', 'min', 'max', 'mean', 'std', 'p50', 'p90', 'p95', 'p99', 'cv'].every((k) => isNum(s[k]))) return `results[${i}].stats: needs runs, min, max, mean, std, p50, p90, p95, p99 and cv`;
    if (!isObj(r.throughput) || !isNum(r.throughput.sequencesPerSec)) return `results[${i}].throughput is missing`;
  }
  return undefined;
}

function trainResultProblem(result: unknown): string | undefined {
  if (!isObj(result)) return 'result is missing';
  if (!Array.isArray(result.history)) return 'result.history is not a list';
  for (const [i, s] of result.history.entries()) {
    if (!isObj(s) || !isNum(s.step) || typeof s.loss !== 'number') return `result.history[${i}]: needs step and loss`;
  }
  if (!Array.isArray(result.evals)) return 'result.evals is not a list';
  for (const [i, e] of result.evals.entries()) if (!isObj(e) || !isNum(e.step) || !isNum(e.accuracy)) return `result.evals[${i}]: needs step and accuracy`;
  return undefined;
}

function quantizeResultProblem(result: unknown): string | undefined {
  if (!isObj(result)) return 'result is missing';
  if (result.report === undefined) return undefined;
  const report = result.report;
  if (!isObj(report) || !Array.isArray(report.quantized) || !Array.isArray(report.skipped)) return 'result.report: needs quantized and skipped lists';
  for (const [i, q] of report.quantized.entries()) {
    if (!isObj(q) || typeof q.node !== 'string' || typeof q.weight !== 'string' || !isNum(q.bytesBefore) || !isNum(q.bytesAfter)) return `result.report.quantized[${i}]: needs node, weight, bytesBefore and bytesAfter`;
  }
  if (result.files !== undefined && (!isObj(result.files) || !isNum(result.files.before) || !isNum(result.files.after))) return 'result.files: needs before and after';
  return undefined;
}

const RESULT_PROBLEM: Record<JobKind, (result: unknown) => string | undefined> = {
  benchmark: (r) => (isObj(r) ? benchmarkResultsProblem(r.results) : 'result is missing'),
  train: trainResultProblem,
  distill: trainResultProblem,
  quantize: quantizeResultProblem,
};

function commonProblem(x: Record<string, unknown>): string | undefined {
  const model = x.model;
  if (!isObj(model) || typeof model.path !== 'string' || typeof model.name !== 'string' || typeof model.sha256 !== 'string' || !isNum(model.bytes)) return 'model: needs path, name, sha256 and bytes';
  const env = x.environment;
  if (!isObj(env) || typeof env.timestamp !== 'string' || typeof env.onnxruntime !== 'string') return 'environment is missing or incomplete';
  if (!['complete', 'cancelled', 'failed', 'timeout'].includes(x.status as string)) return `status ${JSON.stringify(x.status)} is not complete, cancelled, failed or timeout`;
  return undefined;
}

const KIND_WORDS: Record<JobKind, string> = { benchmark: 'benchmark', train: 'training', distill: 'distillation', quantize: 'quantization' };

/** Structural check of a parsed run file, either schema; the first problem found, if any. */
export function runProblem(x: unknown, want?: JobKind): string | undefined {
  if (!isObj(x)) return 'not a JSON object';
  if (x.schema === LEGACY_BENCHMARK_SCHEMA) {
    if (!isObj(x.plan)) return 'plan is missing';
    return commonProblem(x) ?? benchmarkResultsProblem(x.results);
  }
  if (x.schema !== RUN_SCHEMA) return `not a ${want ? KIND_WORDS[want] : 'Compression Lab'} run (schema is ${JSON.stringify(x.schema)}, expected "${RUN_SCHEMA}")`;
  if (!isJobKind(x.kind)) return `kind ${JSON.stringify(x.kind)} is not a job kind this version knows`;
  if (typeof x.created !== 'string') return 'created is missing';
  if (!isObj(x.settings)) return 'settings is missing';
  return commonProblem(x) ?? RESULT_PROBLEM[x.kind](x.result);
}

function parseRunFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RunFileError(file, `cannot read the run file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunFileError(file, `not valid JSON (${(e as Error).message}); the run file is damaged`);
  }
}

/** Any run file as a record (a legacy benchmark run becomes a benchmark record). */
export function loadRunRecord(file: string, want?: JobKind): AnyRunRecord {
  const parsed = parseRunFile(file);
  const problem = runProblem(parsed, want);
  if (problem) throw new RunFileError(file, problem);
  const x = parsed as Record<string, unknown>;
  if (x.schema === LEGACY_BENCHMARK_SCHEMA) {
    const { schema: _schema, ...run } = x;
    return benchmarkRecord(run as unknown as BenchmarkRun);
  }
  return parsed as AnyRunRecord;
}

/** A benchmark run file (either schema); a record of another kind is refused by name. */
export function loadRun(file: string): BenchmarkRun {
  const record = loadRunRecord(file, 'benchmark');
  if (record.kind !== 'benchmark') throw new RunFileError(file, `not a benchmark run (it is a ${KIND_WORDS[record.kind]} run)`);
  return benchmarkRunOf(record);
}

/** Saves a benchmark run as a record at `file`. */
export function saveRun(file: string, run: BenchmarkRun): string {
  return saveRunRecord(file, benchmarkRecord(run));
}
