// The benchmark engine, run inside the worker process. Per configuration (batch x seq x threads)
// it follows onnxruntime_perf_test's method: create a session with the user's settings (timed), one
// first inference (timed apart: it pays for allocation and kernel selection), warm-up runs, then a
// fixed number of measured runs or runs for a duration, each timed on its own wall clock.
import { randomUUID } from 'node:crypto';
import { analyzeModel, type ModelCard } from '../analysis/model-card';
import type { ModelFile } from '../model';
import { openModel } from '../open-model';
import { hashFiles, peakRssMb } from './environment';
import { modelLimits, synthesizeInputs, type SynthesisOptions } from './input-synthesis';
import { availableProviders, namingFile, SessionFactory, sessionOptions, toFeeds, type OrtFeeds } from './ort-session';
import { DEFAULT_RUNS, emptyRun, modelName, planConfigs, planProblem, resolveModelFile } from './plan';
import { latencyStats, noiseWarning, throughputOf } from './stats';
import { textBatches, tokenizeTexts, type TokenizedTexts } from './text-inputs';
import type { BenchmarkConfig, BenchmarkPlan, BenchmarkProgress, BenchmarkRun, ConfigResult } from './types';

export interface RunnerHooks {
  onProgress?: (progress: BenchmarkProgress) => void;
  /** Polled before every run; true stops the job after the current run. */
  isCancelled?: () => boolean;
}

/** A duration-bound configuration stops here too, so a sub-millisecond model cannot grow the run file without bound. */
export const MAX_RUNS_PER_CONFIG = 100_000;
/** Per-run progress is sent at most this often (phase changes always). */
const PROGRESS_INTERVAL_MS = 100;
/** Real text: this many distinct batches are prepared, and runs cycle through them. */
const TEXT_BATCHES = 16;

const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

class Cancelled extends Error {}

/** Sends progress: phase changes always, run counts at most every PROGRESS_INTERVAL_MS. */
class ProgressThrottle {
  private last = 0;
  constructor(private readonly send: ((p: BenchmarkProgress) => void) | undefined, private readonly base: Omit<BenchmarkProgress, 'phase'>) {}

  phase(phase: BenchmarkProgress['phase'], extra: Partial<BenchmarkProgress> = {}): void {
    this.last = performance.now();
    this.send?.({ ...this.base, phase, ...extra });
  }

  run(phase: 'warmup' | 'measure', run: number, runs: number | undefined): void {
    if (!this.send) return;
    const now = performance.now();
    if (now - this.last < PROGRESS_INTERVAL_MS && run !== runs) return;
    this.last = now;
    this.send({ ...this.base, phase, run, runs });
  }
}

interface JobContext {
  plan: BenchmarkPlan;
  factory: SessionFactory;
  limits: Pick<SynthesisOptions, 'vocabSize' | 'maxPositions'>;
  model: ModelFile;
  text?: TokenizedTexts;
  hooks: RunnerHooks;
}

/** The feeds for one configuration: one synthetic feed, or several batches of real text. */
function feedsFor(ctx: JobContext, config: BenchmarkConfig): { feeds: OrtFeeds[]; warnings: string[] } {
  const base = { batch: config.batch, seq: config.seq, seed: ctx.plan.inputs.kind === 'synthetic' ? ctx.plan.inputs.seed : undefined, ...ctx.limits };
  if (!ctx.text) {
    const s = synthesizeInputs(ctx.model, base);
    return { feeds: [toFeeds(s.tensors)], warnings: s.warnings };
  }
  const { batches, warnings } = textBatches(ctx.text, { batch: config.batch, seq: config.seq, vocabSize: ctx.limits.vocabSize, maxBatches: TEXT_BATCHES });
  const feeds: OrtFeeds[] = [];
  for (const text of batches) {
    const s = synthesizeInputs(ctx.model, { ...base, text });
    feeds.push(toFeeds(s.tensors));
    if (feeds.length === 1) warnings.push(...s.warnings);
  }
  return { feeds, warnings };
}

async function runConfig(ctx: JobContext, config: BenchmarkConfig, index: number, count: number): Promise<ConfigResult> {
  const { plan, hooks } = ctx;
  const progress = new ProgressThrottle(hooks.onProgress, { configIndex: index, configCount: count, config });
  const stopIfCancelled = () => { if (hooks.isCancelled?.()) throw new Cancelled(); };

  progress.phase('session');
  const { feeds, warnings } = feedsFor(ctx, config);
  const { session, ms: sessionCreateMs } = await ctx.factory.create(sessionOptions(plan.session, config.threads));
  if (ctx.factory.upgraded.length) warnings.push(`onnxruntime has no kernels for this model's opset; it ran upgraded in memory (${ctx.factory.upgraded[0]})`);
  const samplesMs: number[] = [];
  let firstRunMs: number;
  try {
    stopIfCancelled();
    progress.phase('first-run');
    const run = async (k: number) => { await session.run(feeds[k % feeds.length]); };
    let t0 = performance.now();
    await run(0);
    firstRunMs = performance.now() - t0;

    if (plan.warmup > 0) progress.phase('warmup', { run: 0, runs: plan.warmup });
    for (let i = 1; i <= plan.warmup; i++) {
      await yieldToEvents(); // lets IPC in (a cancel request) between runs
      stopIfCancelled();
      await run(i);
      progress.run('warmup', i, plan.warmup);
    }

    const runs = plan.durationSec ? undefined : plan.runs ?? DEFAULT_RUNS;
    const deadline = plan.durationSec ? performance.now() + plan.durationSec * 1000 : Infinity;
    progress.phase('measure', { run: 0, runs });
    while (runs !== undefined ? samplesMs.length < runs : (samplesMs.length === 0 || performance.now() < deadline) && samplesMs.length < MAX_RUNS_PER_CONFIG) {
      await yieldToEvents();
      stopIfCancelled();
      t0 = performance.now();
      await run(samplesMs.length);
      samplesMs.push(performance.now() - t0);
      progress.run('measure', samplesMs.length, runs);
    }
    if (runs === undefined && samplesMs.length >= MAX_RUNS_PER_CONFIG) warnings.push(`stopped at ${MAX_RUNS_PER_CONFIG} runs before the ${plan.durationSec} s were up`);
  } finally {
    await session.release();
  }

  const stats = latencyStats(samplesMs);
  const noise = noiseWarning(stats);
  if (noise) warnings.push(noise);
  return {
    ...config,
    sessionCreateMs,
    firstRunMs,
    stats,
    throughput: throughputOf(stats.mean, config.batch, config.seq),
    samplesMs,
    peakRssMb: peakRssMb(),
    noisy: noise !== undefined,
    warnings,
  };
}

function tryAnalyze(model: ModelFile, seq: number): ModelCard | undefined {
  try {
    return analyzeModel(model, { seq });
  } catch {
    return undefined; // params and FLOPs are a bonus: a model the card cannot analyse still benchmarks
  }
}

/**
 * Runs a plan. Never throws: a model that fails to load, a bad plan or an onnxruntime error ends
 * the run with status 'failed' and the error (naming the file); a cancel ends it with 'cancelled'.
 * Either way the configurations that completed are kept.
 */
export async function runBenchmark(plan: BenchmarkPlan, hooks: RunnerHooks = {}): Promise<BenchmarkRun> {
  const run = emptyRun(plan, randomUUID());
  try {
    const problem = planProblem(plan);
    if (problem) throw new Error(`invalid benchmark plan: ${problem}`);
    const file = resolveModelFile(plan.model);
    run.model.name = modelName(file);
    const model = await openModel(file, { format: 'onnx' });
    const card = tryAnalyze(model, plan.seqs[0]);
    run.model = {
      path: file,
      name: run.model.name,
      sha256: await hashFiles(model.files.map((f) => f.path)),
      bytes: model.files.reduce((sum, f) => sum + f.bytes, 0),
      ...(card ? { params: card.params.total, flops: card.flops.total, family: card.family } : {}),
    };
    const providers = availableProviders();
    if (!providers.includes(plan.session.executionProvider)) {
      throw new Error(`execution provider '${plan.session.executionProvider}' is not available in this onnxruntime-node install (available: ${providers.join(', ')})`);
    }
    const limits = modelLimits(model, card);
    // Fail before any configuration runs when the longest sequence cannot be fed (past the position table).
    synthesizeInputs(model, { batch: 1, seq: Math.max(...plan.seqs), ...limits });
    const inputs = plan.inputs;
    const ctx: JobContext = {
      plan,
      factory: new SessionFactory(file),
      limits,
      model,
      // Enough texts for the distinct batches of the largest batch size, tokenized once per job.
      text: inputs.kind === 'text' ? tokenizeTexts(inputs.textFile, inputs.tokenizerFile, TEXT_BATCHES * Math.max(...plan.batches)) : undefined,
      hooks,
    };
    const configs = planConfigs(plan);
    for (const [i, config] of configs.entries()) {
      if (hooks.isCancelled?.()) throw new Cancelled();
      const result = await runConfig(ctx, config, i, configs.length);
      run.results.push(result);
      hooks.onProgress?.({ configIndex: i, configCount: configs.length, config, phase: 'done', result });
    }
  } catch (e) {
    if (e instanceof Cancelled) run.status = 'cancelled';
    else {
      run.status = 'failed';
      run.error = namingFile(run.model.path, e).message;
    }
  }
  return run;
}
