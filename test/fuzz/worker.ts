// The worker thread that runs cases, one at a time, as the runner asks. It lives in a thread
// of its own so that the runner's watchdog can terminate it when a case never returns: a
// synchronous infinite loop cannot be interrupted from the thread it runs on.
import { parentPort, workerData } from 'node:worker_threads';
import { planCase } from './cases';
import { loadCorpus } from './corpus';
import { executeCase } from './execute';
import type { CaseResult } from './execute';

export interface WorkerInit {
  seed: string;
  root: string;
  keep: boolean;
}
export type ToWorker = { type: 'run'; index: number };
export type FromWorker = { type: 'ready' } | { type: 'result'; result: CaseResult };

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');
const init = workerData as WorkerInit;
const corpus = loadCorpus();
port.on('message', (msg: ToWorker) => {
  void executeCase(corpus, planCase(init.seed, msg.index), init.root, init.keep).then((result) => {
    port.postMessage({ type: 'result', result } satisfies FromWorker);
  });
});
port.postMessage({ type: 'ready' } satisfies FromWorker);
