// Benchmark plans: their configurations, validation, and the model file and name they mean.
// No onnxruntime here: the host (extension, CLI) uses this as well as the worker.
import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describeEnvironment } from './environment';
import type { BenchmarkConfig, BenchmarkPlan, BenchmarkRun } from './types';

export const DEFAULT_RUNS = 30;

/** Configurations of a plan, in the order they run: batch, then sequence length, then threads. */
export function planConfigs(plan: BenchmarkPlan): BenchmarkConfig[] {
  const configs: BenchmarkConfig[] = [];
  for (const batch of plan.batches) for (const seq of plan.seqs) for (const threads of plan.threads) configs.push({ batch, seq, threads });
  return configs;
}

const positiveInts = (xs: unknown) => Array.isArray(xs) && xs.length > 0 && xs.every((x) => Number.isInteger(x) && x >= 1);

/** What is wrong with a plan (it may come from a saved file or another process), if anything. */
export function planProblem(plan: BenchmarkPlan): string | undefined {
  if (!plan || typeof plan.model !== 'string' || !plan.model) return 'the plan names no model';
  for (const k of ['batches', 'seqs', 'threads'] as const) if (!positiveInts(plan[k])) return `${k} must be a non-empty list of positive whole numbers`;
  if (!Number.isInteger(plan.warmup) || plan.warmup < 0) return 'warmup must be a whole number >= 0';
  if (plan.runs !== undefined && (!Number.isInteger(plan.runs) || plan.runs < 1)) return 'runs must be a positive whole number';
  if (plan.durationSec !== undefined && !(plan.durationSec > 0)) return 'durationSec must be a positive number of seconds';
  const s = plan.session;
  if (!s || !['disabled', 'basic', 'extended', 'all'].includes(s.graphOptimizationLevel)) return 'session.graphOptimizationLevel must be disabled, basic, extended or all';
  if (!['sequential', 'parallel'].includes(s.executionMode)) return 'session.executionMode must be sequential or parallel';
  if (typeof s.enableCpuMemArena !== 'boolean') return 'session.enableCpuMemArena must be true or false';
  if (s.interOpThreads !== undefined && !(Number.isInteger(s.interOpThreads) && s.interOpThreads >= 1)) return 'session.interOpThreads must be a positive whole number';
  const inputs = plan.inputs;
  if (!inputs || (inputs.kind !== 'synthetic' && inputs.kind !== 'text')) return "inputs.kind must be 'synthetic' or 'text'";
  if (inputs.kind === 'text' && (!inputs.textFile || !inputs.tokenizerFile)) return 'text inputs need a textFile and a tokenizerFile';
  return undefined;
}

/** The .onnx file a plan means: the file itself, or the folder's model.onnx (or its only .onnx). */
export function resolveModelFile(model: string): string {
  const abs = path.resolve(model);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new Error(`${abs}: no such file or folder`);
  }
  if (!st.isDirectory()) return abs;
  const onnx = readdirSync(abs).filter((e) => e.toLowerCase().endsWith('.onnx'));
  if (onnx.includes('model.onnx')) return path.join(abs, 'model.onnx');
  if (onnx.length === 1) return path.join(abs, onnx[0]);
  throw new Error(`${abs}: benchmarks run ONNX models, and this folder has ${onnx.length === 0 ? 'no .onnx file' : `several .onnx files (${onnx.join(', ')}); name one`}`);
}

/** A Hugging Face folder's model.onnx is named after its folder; any other file after itself. */
export function modelName(file: string): string {
  const base = path.basename(file);
  return base.toLowerCase() === 'model.onnx' ? path.basename(path.dirname(file)) : base.replace(/\.onnx$/i, '');
}

/** A run with no results yet, for this plan's model. */
export function emptyRun(plan: BenchmarkPlan, id: string): BenchmarkRun {
  const abs = path.resolve(typeof plan?.model === 'string' ? plan.model : '');
  return {
    id,
    model: { path: abs, name: modelName(abs), sha256: '', bytes: 0 },
    plan,
    environment: describeEnvironment(),
    results: [],
    status: 'complete',
  };
}
