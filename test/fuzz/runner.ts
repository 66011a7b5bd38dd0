// Runs cases in a worker thread under a watchdog. The main thread hands the worker one case at
// a time; if no answer comes within the time limit, the worker is terminated and the case is run
// once more in a fresh worker, and recorded as a hang if it times out again; a fresh worker then
// takes the next case. A worker that dies (out of memory, a stray exception) costs the case it
// was running, recorded as uncaught.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildCase, planCase } from './cases';
import { loadCorpus } from './corpus';
import type { Corpus } from './corpus';
import type { CaseResult } from './execute';
import type { FromWorker, ToWorker, WorkerInit } from './worker';

export interface RunOptions {
  seed: string;
  indices: readonly number[];
  /** A case taking longer than this is a hang. */
  timeoutMs?: number;
  /** Keep each case's files (for --replay). */
  keep?: boolean;
  /** Scratch folder; a fresh one under os.tmpdir() (removed afterwards) when not given. */
  root?: string;
  onResult?: (r: CaseResult, done: number) => void;
}

export const DEFAULT_TIMEOUT_MS = 1000;
/** Starting a worker transpiles and loads the readers and the corpus; that is not a case's time. */
const STARTUP_TIMEOUT_MS = 60_000;

type Answer = { kind: 'result'; result: CaseResult } | { kind: 'hang'; ms: number } | { kind: 'died'; error: Error };

class WorkerHost {
  private worker: Worker;
  private pending: ((a: Answer) => void) | undefined;
  private dead: Error | undefined;
  readonly ready: Promise<void>;

  constructor(init: WorkerInit) {
    // The worker runs TypeScript: load tsx's CommonJS hook in it before the entry module, since
    // Node 20 does not give a worker's own entry point the --import hooks of its parent.
    const code = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`;
    // A heap cap turns a runaway allocation into a dead worker, not a dead fuzzer. The stack is
    // half a main thread's (a worker's default is 4 MB, which hid an argument spread that
    // overflows the CLI's main thread at 125k nodes), so a recursion or a spread that would
    // overflow in production overflows here at a third of the size: a file small enough to stay
    // inside the time limit. Nothing under test legitimately recurses more than a few hundred
    // frames; the half stack still holds 4000.
    this.worker = new Worker(code, { eval: true, workerData: init, resourceLimits: { maxOldGenerationSizeMb: 2048, stackSizeMb: 0.5 } });
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the fuzz worker did not start')), STARTUP_TIMEOUT_MS);
      this.worker.once('message', (m: FromWorker) => {
        clearTimeout(timer);
        if (m.type === 'ready') resolve();
        else reject(new Error(`unexpected first message from the fuzz worker: ${m.type}`));
      });
      this.worker.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
    this.worker.on('error', (e) => this.die(e));
    this.worker.on('exit', (code) => this.die(new Error(`the fuzz worker exited with code ${code}`)));
  }

  private die(e: Error): void {
    this.dead ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.({ kind: 'died', error: e });
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  run(index: number, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve({ kind: 'hang', ms: performance.now() - t0 });
        void this.terminate();
      }, timeoutMs);
      this.pending = (a) => { clearTimeout(timer); resolve(a); };
      const onMessage = (m: FromWorker) => {
        if (m.type !== 'result') return;
        this.worker.off('message', onMessage);
        const p = this.pending;
        this.pending = undefined;
        p?.({ kind: 'result', result: m.result });
      };
      this.worker.on('message', onMessage);
      this.worker.postMessage({ type: 'run', index } satisfies ToWorker);
    });
  }

  async terminate(): Promise<void> {
    this.dead ??= new Error('terminated');
    await this.worker.terminate();
  }
}

export async function runCases(options: RunOptions): Promise<CaseResult[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const root = options.root ?? mkdtempSync(path.join(tmpdir(), 'mcl-fuzz-'));
  const init: WorkerInit = { seed: options.seed, root, keep: options.keep ?? false };
  const results: CaseResult[] = [];
  let host: WorkerHost | undefined;
  // Loaded only when a worker cannot say what its case was (a hang or a death).
  let corpus: Corpus | undefined;
  const noteOf = (index: number): string => buildCase((corpus ??= loadCorpus()), planCase(options.seed, index)).note;
  const attempt = async (index: number): Promise<CaseResult> => {
    if (!host || !host.alive) {
      host = new WorkerHost(init);
      await host.ready;
    }
    const answer = await host.run(index, timeoutMs);
    const plan = planCase(options.seed, index);
    const base = { id: plan.id, format: plan.format, model: plan.model, kind: plan.kind, target: plan.target, file: path.join(root, `case-${index}`) };
    if (answer.kind === 'result') {
      const r = answer.result;
      // Finished, but too slow: on a quiet machine as bad as never finishing.
      return r.ms > timeoutMs ? { ...r, outcome: 'hang', why: `took ${Math.round(r.ms)} ms (limit ${timeoutMs} ms)` } : r;
    }
    if (answer.kind === 'hang') return { ...base, note: noteOf(index), outcome: 'hang', ms: answer.ms, why: `no answer within ${timeoutMs} ms; the worker was terminated` };
    return { ...base, note: noteOf(index), outcome: 'uncaught', ms: 0, why: 'the worker died', error: { name: answer.error.name, message: answer.error.message, stack: answer.error.stack } };
  };
  try {
    for (const index of options.indices) {
      let r = await attempt(index);
      if (r.outcome === 'hang') {
        // The machine is shared: one slow answer may be another process's doing. A case that
        // is slow again, alone in a fresh worker, is a hang; one that is not is reported as retried.
        await host?.terminate();
        const again = await attempt(index);
        r = again.outcome === 'hang'
          ? { ...again, why: `${r.why}; again on a retry in a fresh worker (${again.why})` }
          : { ...again, retried: r.why };
      }
      results.push(r);
      options.onResult?.(r, results.length);
    }
  } finally {
    await host?.terminate();
    if (!options.root && !options.keep) rmSync(root, { recursive: true, force: true });
  }
  return results;
}
