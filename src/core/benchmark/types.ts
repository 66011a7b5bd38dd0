// What a latency benchmark is asked to do and what it records. Shared by the engine (in the
// worker process), the host's job runner, the CLI, the saved run files and the comparison panel.

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** onnxruntime session settings a user can choose (intra-op threads vary per configuration). */
export interface SessionSettings {
  graphOptimizationLevel: GraphOptimizationLevel;
  executionMode: 'sequential' | 'parallel';
  enableCpuMemArena: boolean;
  /** 'cpu' here; others ('cuda', 'dml', ...) where installed. */
  executionProvider: string;
  interOpThreads?: number;
}

/** Where inputs come from: synthesized from the model's declared inputs, or real text. */
export type InputSource =
  | { kind: 'synthetic'; seed?: number }
  | { kind: 'text'; textFile: string; tokenizerFile: string };

export interface BenchmarkPlan {
  /** Path to an .onnx file (or a folder holding model.onnx). */
  model: string;
  batches: number[];
  seqs: number[];
  threads: number[];
  warmup: number;
  /** A fixed number of measured runs, or a duration per configuration (seconds). */
  runs?: number;
  durationSec?: number;
  session: SessionSettings;
  inputs: InputSource;
}

export interface BenchmarkConfig {
  batch: number;
  seq: number;
  threads: number;
}

/** Milliseconds. Percentiles by nearest rank. */
export interface LatencyStats {
  runs: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  /** Coefficient of variation, std / mean. */
  cv: number;
}

export interface ConfigResult extends BenchmarkConfig {
  sessionCreateMs: number;
  firstRunMs: number;
  stats: LatencyStats;
  throughput: { sequencesPerSec: number; tokensPerSec: number };
  /** Per-run wall times, ms, in the order measured. */
  samplesMs: number[];
  /** The worker's peak resident set so far, MB. */
  peakRssMb: number;
  /** True when the coefficient of variation says the machine was noisy. */
  noisy: boolean;
  warnings: string[];
}

export interface EnvironmentRecord {
  cpuModel: string;
  cores: number;
  os: string;
  node: string;
  onnxruntime: string;
  timestamp: string;
}

export type RunStatus = 'complete' | 'cancelled' | 'failed' | 'timeout';

/** One benchmark job's outcome (saved as a 'benchmark' run record, core/runs/run-record.ts). */
export interface BenchmarkRun {
  id: string;
  model: { path: string; name: string; sha256: string; bytes: number; params?: number; flops?: number; family?: string };
  plan: BenchmarkPlan;
  environment: EnvironmentRecord;
  /** Configurations completed, in order; a cancelled or failed job keeps what finished. */
  results: ConfigResult[];
  status: RunStatus;
  error?: string;
}

/** Progress the engine reports, per configuration and per run. */
export interface BenchmarkProgress {
  configIndex: number;
  configCount: number;
  config: BenchmarkConfig;
  phase: 'session' | 'first-run' | 'warmup' | 'measure' | 'done';
  run?: number;
  runs?: number;
  /** Set with phase 'done': the finished configuration. */
  result?: ConfigResult;
}
