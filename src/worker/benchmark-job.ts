// The host's side of a benchmark job (no vscode import: the extension and the CLI both use it).
// Every job gets a fresh worker process: its peak RSS is the job's own, and killing it (cancel,
// timeout) touches no other work. The job always ends with a BenchmarkRun: the worker's own
// answer, or, when the worker did not answer (killed, crashed, timed out), one made here from
// the configurations it reported done.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { hashFiles } from '../core/benchmark/environment';
import { emptyRun, modelName, planConfigs, resolveModelFile } from '../core/benchmark/plan';
import type { BenchmarkPlan, BenchmarkProgress, BenchmarkRun, ConfigResult } from '../core/benchmark/types';
import { Endpoint, type Message, type WorkerEvents, type WorkerMethods } from '../shared/protocol';

export interface BenchmarkJobOptions {
  onProgress?: (progress: BenchmarkProgress) => void;
  /** Wall-clock limit for the whole job: past it the worker is killed and the run ends 'timeout'. */
  timeoutMs?: number;
  /** How long a cancelled job may take to stop on its own before its worker is killed. Default 2 s. */
  graceMs?: number;
  /** Lines the worker writes to stderr (onnxruntime's errors, a crash's stack). */
  onLog?: (line: string) => void;
}

export interface BenchmarkJob {
  /** Resolves (never rejects) once the job has ended and its worker process is gone. */
  done: Promise<BenchmarkRun>;
  /** Asks the worker to stop after its current run; kills it if it has not stopped within the grace period. */
  cancel(): void;
  pid: number | undefined;
}

export const DEFAULT_GRACE_MS = 2000;
/** Node's timers take at most 2^31 - 1 ms; a job without a timeout waits that long for its answer. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;
/** After 'exit', how long to wait for 'close' (stdio drained) before ending the job anyway. */
const CLOSE_WAIT_MS = 250;
const STDERR_LINES_KEPT = 20;

type HostEndpoint = Endpoint<WorkerMethods, Record<string, never>, Record<string, never>, WorkerEvents>;

export function startBenchmarkJob(workerPath: string, plan: BenchmarkPlan, options: BenchmarkJobOptions = {}): BenchmarkJob {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const child = fork(workerPath, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  const endpoint: HostEndpoint = new Endpoint((m: Message) => { if (child.connected) child.send(m); }, NO_TIMEOUT_MS);
  const completed: ConfigResult[] = [];
  const stderrTail: string[] = [];
  let answer: BenchmarkRun | undefined;
  let stopping: 'cancel' | 'timeout' | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let ended = false;

  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  const killAfterGrace = () => { killTimer ??= setTimeout(kill, graceMs); };

  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter((l) => l.trim())) {
      options.onLog?.(line);
      stderrTail.push(line);
      if (stderrTail.length > STDERR_LINES_KEPT) stderrTail.shift();
    }
  });
  child.on('message', (m) => endpoint.receive(m));

  const requestId = endpoint.peekNextId();
  let configCount: number | undefined;
  endpoint.on('benchmarkProgress', ({ requestId: id, progress }) => {
    if (id !== requestId) return;
    configCount = progress.configCount;
    if (progress.phase === 'done' && progress.result) completed.push(progress.result);
    options.onProgress?.(progress);
  });
  endpoint.request('benchmark', { plan }, NO_TIMEOUT_MS).then(
    (run) => {
      answer = run;
      // The worker exits when its channel closes; one busy in native code is killed after the grace period.
      if (child.connected) child.disconnect();
      killAfterGrace();
    },
    () => { /* the worker is gone: the exit handler reports it */ },
  );

  const timeout = options.timeoutMs !== undefined
    ? setTimeout(() => { if (!answer) { stopping = 'timeout'; kill(); } }, options.timeoutMs)
    : undefined;

  const done = new Promise<BenchmarkRun>((resolve) => {
    const end = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      endpoint.failAll(new Error('the benchmark process has exited'));
      if (answer) resolve(answer);
      else void runWithoutAnswer(plan, completed, describeEnd(`${completed.length} of ${configCount ?? plannedConfigs(plan)}`, code, signal, stopping, options.timeoutMs, stderrTail), stopping).then(resolve);
    };
    // 'close' (stdio drained) normally follows 'exit' at once, but not always when the worker is
    // killed with a message in flight: then the job ends on this timer instead.
    child.on('exit', (code, signal) => { setTimeout(() => end(code, signal), CLOSE_WAIT_MS); });
    child.on('close', (code, signal) => end(code, signal));
    child.on('error', (e) => {
      // fork failed outright (no process to wait for), or a send/kill failed on a live one.
      if (child.pid === undefined) { stderrTail.push(e.message); end(null, null); }
    });
  });

  return {
    done,
    pid: child.pid,
    cancel() {
      if (answer || ended || stopping) return;
      stopping = 'cancel';
      endpoint.request('cancel', { requestId }, graceMs).catch(() => { /* killed below if it does not stop */ });
      killAfterGrace();
    },
  };
}

/** How many configurations the plan asks for ('?' for a plan too malformed to say). */
function plannedConfigs(plan: BenchmarkPlan): number | string {
  try {
    return planConfigs(plan).length;
  } catch {
    return '?';
  }
}

/** Why a worker ended without answering, in words a user can act on. */
function describeEnd(done: string, code: number | null, signal: NodeJS.Signals | null, stopping: 'cancel' | 'timeout' | undefined, timeoutMs: number | undefined, stderrTail: string[]): string | undefined {
  const progress = `after ${done} configurations completed`;
  if (stopping === 'cancel') return undefined;
  if (stopping === 'timeout') return `the benchmark did not finish within ${((timeoutMs ?? 0) / 1000).toFixed(1)} s and was stopped ${progress}`;
  const how = signal
    ? `the benchmark process was killed (${signal})${signal === 'SIGKILL' ? ' (by a user, or by the system when memory ran out)' : ''}`
    : `the benchmark process exited unexpectedly (exit code ${code})`;
  const last = stderrTail.slice(-3).join(' | ');
  return `${how} ${progress}${last ? `; its last output: ${last}` : ''}`;
}

/** The run a job ends with when its worker never answered: what the host knows, and the configurations reported done. */
async function runWithoutAnswer(plan: BenchmarkPlan, completed: ConfigResult[], error: string | undefined, stopping: 'cancel' | 'timeout' | undefined): Promise<BenchmarkRun> {
  const run = emptyRun(plan, randomUUID());
  run.results = completed;
  run.status = stopping === 'cancel' ? 'cancelled' : stopping === 'timeout' ? 'timeout' : 'failed';
  if (error) run.error = error;
  try {
    // The host does not parse models (the worker does), so this covers the .onnx file alone, not external data.
    const file = resolveModelFile(plan.model);
    run.model = { ...run.model, path: file, name: modelName(file), sha256: await hashFiles([file]), bytes: statSync(file).size };
  } catch {
    // the model cannot be read here either; the run keeps the path it was given
  }
  return run;
}
