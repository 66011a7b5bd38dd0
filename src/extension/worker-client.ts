import { fork, type ChildProcess } from 'node:child_process';
import { Endpoint, type Message, type WorkerEvents, type WorkerMethods } from '../shared/protocol';

export class WorkerExitedError extends Error {}

/**
 * The extension host's handle on the worker process: started on first use (activation parses
 * nothing), restarted after it exits, killed on dispose.
 */
export class WorkerClient {
  private child?: ChildProcess;
  private endpoint?: Endpoint<WorkerMethods, Record<string, never>, Record<string, never>, WorkerEvents>;
  private progress = new Map<number, (message: string, fraction?: number) => void>();

  constructor(private readonly workerPath: string, private readonly log: (line: string) => void = () => {}) {}

  private ensure(): Endpoint<WorkerMethods, Record<string, never>, Record<string, never>, WorkerEvents> {
    if (this.child && this.endpoint && this.child.connected) return this.endpoint;
    const child = fork(this.workerPath, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    const endpoint = new Endpoint<WorkerMethods, Record<string, never>, Record<string, never>, WorkerEvents>((m: Message) => {
      if (!child.connected) throw new WorkerExitedError('the worker process is not running');
      child.send(m);
    });
    child.on('message', (m) => endpoint.receive(m));
    child.stderr?.on('data', (d: Buffer) => this.log(`[worker] ${d.toString().trimEnd()}`));
    child.on('exit', (code, signal) => {
      this.log(`worker exited (${signal ?? `code ${code}`})`);
      endpoint.failAll(new WorkerExitedError(`the worker process stopped (${signal ?? `exit code ${code}`})`));
      if (this.child === child) { this.child = undefined; this.endpoint = undefined; }
    });
    endpoint.on('progress', (p) => this.progress.get(p.requestId)?.(p.message, p.fraction));
    this.child = child;
    this.endpoint = endpoint;
    this.log(`worker started (pid ${child.pid})`);
    return endpoint;
  }

  async request<M extends keyof WorkerMethods & string>(
    method: M,
    params: WorkerMethods[M]['params'],
    options: { timeoutMs?: number; onProgress?: (message: string, fraction?: number) => void } = {},
  ): Promise<WorkerMethods[M]['result']> {
    const ep = this.ensure();
    const id = ep.peekNextId();
    if (options.onProgress) this.progress.set(id, options.onProgress);
    try {
      return await ep.request(method, params, options.timeoutMs ?? 120_000);
    } finally {
      this.progress.delete(id);
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  dispose(): void {
    this.child?.kill();
    this.child = undefined;
    this.endpoint = undefined;
  }
}
