// Latency of several models compared on one machine: each model measured in blocks (a benchmark
// job in its own worker per block), the blocks interleaved over rounds with the order reversed every
// other round, so a slow spell of a shared machine falls on every model alike rather than on
// whichever was being measured then. One merged run per model holds the samples of all its blocks.
// The benches, the demo and anything else that puts p50s side by side measure through this.
import { latencyStats, noiseWarning, throughputOf } from '../core/benchmark/stats';
import { DEFAULT_SESSION_SETTINGS } from '../core/benchmark/ort-session';
import type { BenchmarkPlan, BenchmarkRun } from '../core/benchmark/types';
import { startBenchmarkJob } from './benchmark-job';

export interface InterleavedLatencyOptions {
  threads: number;
  /** Rounds over all the models (default 5). */
  rounds?: number;
  /** Timed runs per block (default 40), after `warmup` untimed ones (default 10). */
  runs?: number;
  warmup?: number;
  batch?: number;
  seq?: number;
  /** After each round, the p50 of that round's block of each model. */
  onRound?: (round: number, rounds: number, p50s: Map<string, number>) => void;
}

export interface InterleavedLatency {
  /** One run per model, its samples those of all its blocks. */
  runs: Map<string, BenchmarkRun>;
  p50: Map<string, number>;
}

export async function measureInterleaved(worker: string, models: string[], o: InterleavedLatencyOptions): Promise<InterleavedLatency> {
  const rounds = o.rounds ?? 5;
  const runs = o.runs ?? 40;
  const batch = o.batch ?? 1;
  const seq = o.seq ?? 128;
  const plan = (model: string): BenchmarkPlan => ({
    model, batches: [batch], seqs: [seq], threads: [o.threads], warmup: o.warmup ?? 10, runs,
    session: DEFAULT_SESSION_SETTINGS, inputs: { kind: 'synthetic' },
  });
  const blocks = new Map<string, BenchmarkRun[]>(models.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    const p50s = new Map<string, number>();
    for (const model of round % 2 === 0 ? models : [...models].reverse()) {
      const run = await startBenchmarkJob(worker, plan(model)).done;
      if (run.status !== 'complete' || !run.results[0]) throw new Error(`benchmark of ${model}: ${run.status}${run.error ? `: ${run.error}` : ''}`);
      blocks.get(model)!.push(run);
      p50s.set(model, run.results[0].stats.p50);
    }
    o.onRound?.(round + 1, rounds, p50s);
  }
  const merged = new Map<string, BenchmarkRun>();
  const p50 = new Map<string, number>();
  for (const [model, runsOf] of blocks) {
    const last = runsOf[runsOf.length - 1];
    const samplesMs = runsOf.flatMap((r) => r.results[0].samplesMs);
    const stats = latencyStats(samplesMs);
    const noise = noiseWarning(stats);
    merged.set(model, {
      ...last,
      plan: { ...last.plan, runs: samplesMs.length },
      results: [{
        ...last.results[0], stats, samplesMs, throughput: throughputOf(stats.mean, batch, seq), noisy: noise !== undefined,
        warnings: [...(models.length > 1 ? [`${rounds} interleaved rounds of ${runs} runs with the other models`] : [`${rounds} blocks of ${runs} runs`]), ...(noise ? [noise] : [])],
      }],
    });
    p50.set(model, stats.p50);
  }
  return { runs: merged, p50 };
}
