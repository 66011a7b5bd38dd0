// Where a model's run time goes, by operator type, from onnxruntime's own profiler: the kernel time
// of every node summed per op type (after onnxruntime's fusions, so an int8 model shows
// DynamicQuantizeMatMul rather than its chain), averaged over the timed runs. This is what explains
// a speed-up, or its absence: int8 only makes the quantized MatMuls cheaper, so the share of the
// float run spent elsewhere bounds what quantization can buy (Amdahl).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openModel } from '../open-model';
import { modelLimits, synthesizeInputs } from './input-synthesis';
import type * as ort from 'onnxruntime-node';
import { DEFAULT_SESSION_SETTINGS, SessionFactory, sessionOptions, toFeeds, type OrtFeeds } from './ort-session';

export interface OpProfileOptions {
  threads: number;
  batch?: number;
  seq?: number;
  /** Timed runs (default 50), after `warmup` profiled but discarded ones (default 5). */
  runs?: number;
  warmup?: number;
}

export interface OpTime {
  op: string;
  /** Mean kernel milliseconds per run, all nodes of this type together. */
  ms: number;
  /** Nodes of this type that ran, per run. */
  nodes: number;
}

export interface OpProfile {
  runs: number;
  /** Mean milliseconds of a whole run as the profiler saw it (its own overhead included). */
  runMs: number;
  /** Slowest first. */
  ops: OpTime[];
}

interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

/** The ops' share of the timed runs, from the profiler's trace (Chrome trace format, as onnxruntime writes it). */
export function summarizeTrace(events: TraceEvent[], warmup: number): OpProfile {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const timed = runs.slice(warmup);
  if (timed.length === 0) throw new Error(`the profile holds ${runs.length} runs, none after the ${warmup} warm-up runs`);
  const start = timed[0].ts ?? 0;
  const byOp = new Map<string, { us: number; count: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || (e.ts ?? 0) < start) continue;
    const op = e.args?.op_name ?? '?';
    const entry = byOp.get(op) ?? { us: 0, count: 0 };
    entry.us += e.dur ?? 0;
    entry.count++;
    byOp.set(op, entry);
  }
  const n = timed.length;
  const ops = [...byOp].map(([op, v]) => ({ op, ms: v.us / n / 1000, nodes: Math.round(v.count / n) })).sort((a, b) => b.ms - a.ms);
  return { runs: n, runMs: timed.reduce((s, e) => s + (e.dur ?? 0), 0) / n / 1000, ops };
}

/**
 * Runs each file with onnxruntime's profiler on (the default benchmark session settings, synthetic inputs) and sums
 * its kernel times by op type. Several files are run in one process, run by run in turn, so that a
 * slow spell of a shared machine falls on all of them alike (one after the other, a float model's
 * Transposes were seen to take twice its int8 model's identical ones).
 */
export async function profileOps(files: string[], o: OpProfileOptions): Promise<OpProfile[]> {
  const warmup = o.warmup ?? 5;
  const runs = o.runs ?? 50;
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-op-profile-'));
  const sessions: Array<{ session: ort.InferenceSession; feeds: OrtFeeds; prefix: string }> = [];
  try {
    for (const [i, file] of files.entries()) {
      const model = await openModel(file, { format: 'onnx' });
      const inputs = synthesizeInputs(model, { batch: o.batch ?? 1, seq: o.seq ?? 128, seed: 1, ...modelLimits(model) });
      const prefix = `profile${i}`;
      const { session } = await new SessionFactory(file).create({
        ...sessionOptions(DEFAULT_SESSION_SETTINGS, o.threads), enableProfiling: true, profileFilePrefix: path.join(dir, prefix),
      });
      sessions.push({ session, feeds: toFeeds(inputs.tensors), prefix });
    }
    for (let r = 0; r < warmup + runs; r++) for (const s of sessions) await s.session.run(s.feeds);
    for (const s of sessions) s.session.endProfiling();
    return sessions.map((s, i) => {
      const trace = readdirSync(dir).find((f) => f.startsWith(`${s.prefix}_`) && f.endsWith('.json'));
      if (!trace) throw new Error(`${files[i]}: onnxruntime wrote no profile`);
      return summarizeTrace(JSON.parse(readFileSync(path.join(dir, trace), 'utf8')) as TraceEvent[], warmup);
    });
  } finally {
    for (const s of sessions) await s.session.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** MatMul-like kernels: the float ones int8 replaces, and the int8 ones that replace them. */
export const MATMUL_OPS = ['MatMul', 'FusedMatMul', 'Gemm', 'FusedGemm', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'MatMulInteger', 'DynamicQuantizeLinear'];

/** The share of a run spent in MatMul-like kernels, and the speed-up if they cost nothing. */
export function matmulShare(p: OpProfile): { ms: number; share: number; bound: number } {
  const ms = p.ops.filter((o) => MATMUL_OPS.includes(o.op)).reduce((s, o) => s + o.ms, 0);
  const total = p.ops.reduce((s, o) => s + o.ms, 0);
  const share = total > 0 ? ms / total : 0;
  return { ms, share, bound: share < 1 ? 1 / (1 - share) : Infinity };
}
