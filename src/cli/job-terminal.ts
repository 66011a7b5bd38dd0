// What every job run from the CLI shares: Ctrl-C, and where its run is recorded.
import { saveRunIn, worthRecording, type AnyRunRecord } from '../core/runs/run-record';

// A job run from a terminal: the first Ctrl-C asks it to stop (cooperatively: the engine stops at
// its next check and keeps what it did), a second one kills its worker at once.
export function withInterrupt<T>(job: { cancel(): void; kill?(): void; done: Promise<T> }, stopping: string): Promise<T> {
  let presses = 0;
  const onInterrupt = () => {
    presses++;
    if (presses === 1) {
      process.stderr.write(`\n${stopping}${job.kill ? ' (Ctrl-C again to stop at once)' : ''}\n`);
      job.cancel();
    } else job.kill?.();
  };
  process.on('SIGINT', onInterrupt);
  return job.done.finally(() => process.off('SIGINT', onInterrupt));
}

/** Where run records go unless told otherwise: the current folder's .compression-lab/runs. */
export const DEFAULT_RUNS_DIR = '.compression-lab/runs';

/** Saves the record (when asked) and says where. */
export function recordRun(record: AnyRunRecord, runsDir: string | undefined): string | undefined {
  if (!runsDir || !worthRecording(record)) return undefined;
  const file = saveRunIn(runsDir, record);
  process.stderr.write(`run recorded in ${file}\n`);
  return file;
}

