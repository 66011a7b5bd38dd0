// The worker process: all model parsing (and, later, onnxruntime work) happens here, so a huge or
// hostile file never blocks or crashes the extension host. Spoken to over Node's IPC channel with
// the typed protocol.
import { Endpoint, type Message, type WorkerEvents, type WorkerMethods } from '../shared/protocol';
import { InspectService } from './inspect-service';

if (!process.send) {
  process.stderr.write('worker.js is started by the extension host with an IPC channel\n');
  process.exit(2);
}

const send = (m: Message) => { process.send?.(m); };
const endpoint = new Endpoint<Record<string, never>, WorkerMethods, WorkerEvents, Record<string, never>>(send);
const service = new InspectService();

endpoint.handle('inspect', async ({ path, seq }, requestId) => {
  endpoint.emit('progress', { requestId, message: 'Reading the model header', fraction: 0 });
  const card = await service.inspect(path, seq, (fraction) => endpoint.emit('progress', { requestId, message: 'Reading the model header', fraction }));
  endpoint.emit('progress', { requestId, message: 'Analysing', fraction: 1 });
  return card;
});
endpoint.handle('flops', ({ path, seq }) => service.flops(path, seq));

// Benchmark jobs: the engine polls `cancelled` between runs, and yields to the event loop there, so
// a 'cancel' request is handled while a job runs; the job then answers with status 'cancelled'.
const runningJobs = new Set<number>();
const cancelledJobs = new Set<number>();
endpoint.handle('benchmark', async ({ plan }, requestId) => {
  runningJobs.add(requestId);
  try {
    // onnxruntime loads only when a benchmark runs, so inspecting never depends on its native binary.
    const { runBenchmark } = await import('../core/benchmark/runner');
    return await runBenchmark(plan, {
      onProgress: (progress) => endpoint.emit('benchmarkProgress', { requestId, progress }),
      isCancelled: () => cancelledJobs.has(requestId),
    });
  } finally {
    runningJobs.delete(requestId);
    cancelledJobs.delete(requestId);
  }
});
endpoint.handle('cancel', ({ requestId }) => {
  const running = runningJobs.has(requestId);
  if (running) cancelledJobs.add(requestId);
  return { cancelled: running };
});

process.on('message', (m) => endpoint.receive(m));
// The host went away: so does the worker, leaving no orphan.
process.on('disconnect', () => process.exit(0));
// A terminal's Ctrl-C reaches the whole process group; the host decides what it means (the CLI
// turns it into a cooperative cancel, then kills this process if it does not stop).
process.on('SIGINT', () => {});
