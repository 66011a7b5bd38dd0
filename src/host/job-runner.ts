// The host's side of every job (no vscode import: the extension and the CLI both use it). Each
// job gets a fresh worker process: its peak RSS is the job's own, and killing it (cancel past the
// grace period, timeout) touches no other work. The job always ends, and says how: the worker's
// own answer, its structured error, or why it never answered (killed, crashed, timed out), with
// the last lines it wrote to stderr.
import { fork } from 'node:child_process';
import type { JobKind, JobParams, JobProgress, JobResult, JobStatus } from '../core/jobs/kinds';
import { Endpoint, type JobAnswer, type Message, type WorkerEvents, type WorkerMethods } from '../shared/protocol';

export interface JobOptions<K extends JobKind> {
  onProgress?: (progress: JobProgress<K>) => void;
  /** Wall-clock limit for the whole job: past it the worker is killed and the job ends 'timeout'. */
  timeoutMs?: number;
  /** How long a cancelled job may take to stop on its own before its worker is killed. */
  graceMs?: number;
  /** Lines the worker writes to stderr (onnxruntime's errors, a crash's stack). */
  onLog?: (line: string) => void;
}

export interface JobEnd<K extends JobKind> {
  status: JobStatus;
  /** The worker's answer (complete, or cancelled with what it had done). */
  result?: JobResult<K>;
  /** Why the job failed: the worker's error (a UserError when it was the user's input), or what happened to it. */
  error?: Error;
  /** How the worker process ended when it did not answer: 'SIGKILL', 'exit code 1'. */
  exit?: string;
  /** Its last lines on stderr. */
  stderrTail: string[];
}

export interface JobHandle<K extends JobKind> {
  /** Resolves (never rejects) once the job has ended and its worker process is gone. */
  done: Promise<JobEnd<K>>;
  /** Asks the worker to stop at its next check; kills it if it has not stopped within the grace period. */
  cancel(): void;
  /** Ends the job now: the worker is killed (a second Ctrl-C). */
  kill(): void;
  pid: number | undefined;
}

export const DEFAULT_GRACE_MS = 2000;
/** Node's timers take at most 2^31 - 1 ms; a job without a timeout waits that long for its answer. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;
/** After 'exit', how long to wait for 'close' (stdio drained) before ending the job anyway. */
const CLOSE_WAIT_MS = 250;
const STDERR_LINES_KEPT = 20;

type HostEndpoint = Endpoint<WorkerMethods, Record<string, never>, Record<string, never>, WorkerEvents>;

export function startJob<K extends JobKind>(workerPath: string, kind: K, params: JobParams<K>, options: JobOptions<K> = {}): JobHandle<K> {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const child = fork(workerPath, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
  const endpoint: HostEndpoint = new Endpoint((m: Message) => { if (child.connected) child.send(m); }, NO_TIMEOUT_MS);
  const stderrTail: string[] = [];
  let answer: JobAnswer | undefined;
  let failure: Error | undefined;
  let stopping: 'cancel' | 'timeout' | 'kill' | undefined;
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

  const jobId = endpoint.peekNextId();
  endpoint.on('jobProgress', (e) => {
    if (e.jobId === jobId && !answer) options.onProgress?.(e.progress as JobProgress<K>);
  });
  const settle = () => {
    // The worker exits when its channel closes; one busy in native code is killed after the grace period.
    if (child.connected) child.disconnect();
    killAfterGrace();
  };
  endpoint.request('job', { kind, params } as never, NO_TIMEOUT_MS).then(
    (a) => { answer = a; settle(); },
    (e: Error) => { if (!ended) { failure = e; settle(); } },
  );

  const timeout = options.timeoutMs !== undefined
    ? setTimeout(() => { if (!answer && !failure) { stopping = 'timeout'; kill(); } }, options.timeoutMs)
    : undefined;

  const done = new Promise<JobEnd<K>>((resolve) => {
    const end = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      endpoint.failAll(new Error('the worker process has exited'));
      if (answer) { resolve({ status: answer.status, result: answer.result as JobResult<K>, stderrTail }); return; }
      if (failure) { resolve({ status: 'failed', error: failure, stderrTail }); return; }
      const exit = signal ?? `exit code ${code}`;
      const status: JobStatus = stopping === 'timeout' ? 'timeout' : stopping ? 'cancelled' : 'failed';
      resolve({ status, exit, stderrTail, ...(status === 'failed' ? { error: new Error(`${howItEnded(kind, exit)}${lastOutput(stderrTail)}`) } : {}) });
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
      if (answer || failure || ended || stopping) return;
      stopping = 'cancel';
      endpoint.request('cancel', { jobId }, graceMs).catch(() => { /* killed below if it does not stop */ });
      killAfterGrace();
    },
    kill() {
      if (ended) return;
      stopping ??= 'kill';
      kill();
    },
  };
}

const WHAT: Record<JobKind, string> = { benchmark: 'benchmark', train: 'training', distill: 'distillation', quantize: 'quantization' };

/** How a worker that never answered ended, in words a user can act on. */
export function howItEnded(kind: JobKind, exit: string): string {
  if (exit.startsWith('exit code')) return `the ${WHAT[kind]} process exited unexpectedly (${exit})`;
  return `the ${WHAT[kind]} process was killed (${exit})${exit === 'SIGKILL' ? ' (by a user, or by the system when memory ran out)' : ''}`;
}

/** The worker's last stderr lines, as a clause to end a message with. */
export function lastOutput(stderrTail: readonly string[]): string {
  const last = stderrTail.slice(-3).join(' | ');
  return last ? `; its last output: ${last}` : '';
}

/** How long the job ran past its limit, for messages. */
export function timeoutWords(timeoutMs: number | undefined): string {
  return `${((timeoutMs ?? 0) / 1000).toFixed(1)} s`;
}
