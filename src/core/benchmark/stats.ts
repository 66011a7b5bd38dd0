// Latency statistics for one benchmark configuration. Pure functions over per-run wall times
// (milliseconds), so the figures can be checked by hand.
import type { LatencyStats } from './types';

/**
 * Above this coefficient of variation (std / mean) a configuration is flagged noisy: on a quiet
 * machine a steady CPU inference varies by a few percent; 10% means something else was running.
 */
export const NOISY_CV = 0.1;

/**
 * The p-th percentile by nearest rank: the smallest sample with at least p% of the samples at or
 * below it, i.e. sorted[ceil(p/100 * n) - 1]. Always an observed value (no interpolation).
 */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100] (got ${p})`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** min, max, mean, sample standard deviation (n - 1; 0 for one run), nearest-rank percentiles, CV. */
export function latencyStats(samplesMs: readonly number[]): LatencyStats {
  const n = samplesMs.length;
  if (n === 0) throw new Error('no samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  let sum = 0;
  for (const x of samplesMs) sum += x;
  const mean = sum / n;
  let squares = 0;
  for (const x of samplesMs) squares += (x - mean) ** 2;
  const std = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
  return {
    runs: n,
    min: sorted[0],
    max: sorted[n - 1],
    mean,
    std,
    p50: nearestRank(sorted, 50),
    p90: nearestRank(sorted, 90),
    p95: nearestRank(sorted, 95),
    p99: nearestRank(sorted, 99),
    cv: mean > 0 ? std / mean : 0,
  };
}

/**
 * Sustained throughput at this batch and sequence length: sequences (and token positions, padding
 * included) processed per second of measured time, i.e. batch / mean latency.
 */
export function throughputOf(meanMs: number, batch: number, seq: number): { sequencesPerSec: number; tokensPerSec: number } {
  if (!(meanMs > 0)) return { sequencesPerSec: 0, tokensPerSec: 0 };
  const sequencesPerSec = (batch * 1000) / meanMs;
  return { sequencesPerSec, tokensPerSec: sequencesPerSec * seq };
}

export function noiseWarning(stats: LatencyStats): string | undefined {
  if (stats.runs < 2 || stats.cv <= NOISY_CV) return undefined;
  const why = stats.mean < 1
    ? 'runs this short (under a millisecond) are dominated by scheduling jitter; measure a larger batch or sequence length, or more runs'
    : 'the machine was probably busy; close other work and rerun, or measure more runs';
  return `latency varied a lot between runs (coefficient of variation ${(stats.cv * 100).toFixed(1)}% > ${NOISY_CV * 100}%): ${why}`;
}
