// The worker process: all model parsing and onnxruntime work (benchmarks, training) happens here, so a huge or
// hostile file never blocks or crashes the extension host. Spoken to over Node's IPC channel with
// the typed protocol.
import { Endpoint, type JobAnswer, type JobProgressEvent, type Message, type WorkerEvents, type WorkerMethods } from '../shared/protocol';
import { InspectService } from './inspect-service';
import { RunningJobs } from './job-registry';
import './jobs/benchmark-job';
import './jobs/train-job';
import './jobs/distill-job';
import './jobs/quantize-job';

if (!process.send) {
  process.stderr.write('worker.js is started by the extension host with an IPC channel\n');
  process.exit(2);
}

// After the host has gone, replies have nowhere to go: they are dropped.
const send = (m: Message) => { if (process.connected) process.send?.(m, undefined, {}, () => {}); };
const endpoint = new Endpoint<Record<string, never>, WorkerMethods, WorkerEvents, Record<string, never>>(send);
const service = new InspectService();

endpoint.handle('inspect', async ({ path, seq }, requestId) => {
  endpoint.emit('progress', { requestId, message: 'Reading the model header', fraction: 0 });
  const card = await service.inspect(path, seq, (fraction) => endpoint.emit('progress', { requestId, message: 'Reading the model header', fraction }));
  endpoint.emit('progress', { requestId, message: 'Analysing', fraction: 1 });
  return card;
});
endpoint.handle('flops', ({ path, seq }) => service.flops(path, seq));

// Long tasks are jobs: one request per job, progress as 'jobProgress' events with its id.
const jobs = new RunningJobs();
endpoint.handle('job', async (request, jobId) => {
  const { kind, params } = request;
  const answer = await jobs.run(jobId, kind, params, (progress: unknown) => endpoint.emit('jobProgress', { jobId, kind, progress } as JobProgressEvent));
  return { kind, ...answer } as JobAnswer;
});
endpoint.handle('cancel', ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }));

process.on('message', (m) => endpoint.receive(m));
// The host went away (a closed or reloaded window): so does the worker, leaving no orphan. A job
// still running is stopped as if cancelled first, so a training run keeps its checkpoint.
const ORPHAN_STOP_MS = 30_000;
process.on('disconnect', () => {
  if (jobs.count === 0) process.exit(0);
  void jobs.stopAll(ORPHAN_STOP_MS).finally(() => process.exit(0));
});
// A terminal's Ctrl-C reaches the whole process group; the host decides what it means (the CLI
// turns it into a cooperative cancel, then kills this process if it does not stop).
process.on('SIGINT', () => {});
