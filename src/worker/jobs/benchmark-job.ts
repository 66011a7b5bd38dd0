// Benchmark jobs: the engine measures the plan's configurations, polling the cancel flag between
// runs (and yielding to the event loop there, so the 'cancel' request is heard).
import { registerJobKind } from '../job-registry';

registerJobKind('benchmark', async (plan, ctx) => {
  // onnxruntime loads only when a benchmark runs, so inspecting never depends on its native binary.
  const { runBenchmark } = await import('../../core/benchmark/runner');
  const run = await runBenchmark(plan, { onProgress: ctx.report, isCancelled: ctx.isCancelled });
  return { status: run.status === 'cancelled' ? 'cancelled' : 'complete', result: run };
});
