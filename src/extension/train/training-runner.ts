// Runs one training-like job from the editor: the job in its worker, a live run panel, a
// notification with Cancel, the run record rewritten every few seconds while it runs (so a
// window closed mid-run still leaves its curve) and replaced by the job's own at the end, and
// then an offer to compare the output with the original. What differs between fine-tuning and
// distillation is only how the job starts, what the record's settings are and the layer map.
import { mkdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatCount, formatDuration } from '../../core/format';
import type { JobParams, JobProgress } from '../../core/jobs/kinds';
import { worthRecording, type AnyRunRecord, type RunRecord } from '../../core/runs/run-record';
import type { TrainProgress } from '../../core/training/progress';
import type { JobOptions } from '../../host/job-runner';
import type { RunLayerMap } from '../../shared/protocol';
import { interimBase, interimFile, interimRecord } from './interim-record';
import { LiveRun, type LiveRuns } from './live-run';
import { RunPanel, type RunPanelDeps } from './run-panel';
import { compareLabel, panelTitle } from './saved-run';
import type { TrainingKind } from './training-kind';

/** How often the running job's record is rewritten. */
export const INTERIM_EVERY_MS = 3000;
/** How often the notification's text may change. */
const NOTIFY_EVERY_MS = 500;

/** What a running job gives back: the job layer's TrainJob (startTrainJob, and Distill's). */
export interface TrainingJobHandle<K extends TrainingKind> {
  done: Promise<RunRecord<K>>;
  cancel(): void;
  kill(): void;
}

export interface TrainingRunSpec<K extends TrainingKind> {
  kind: K;
  /** "Fine-tune bert-mini": the notification's title. */
  title: string;
  /** The model the record is about (fine-tuning: the model tuned). */
  model: string;
  /** Where the job writes its model. */
  out: string;
  /** What the run record's settings hold (resolved paths). */
  settings: JobParams<K>;
  /** Teacher -> student layers, for distillation. */
  layerMap?: RunLayerMap;
  /** Starts the job in its worker. */
  start(jobOptions: JobOptions<K>): TrainingJobHandle<K>;
  /** "Compare with the original": these two, the first the baseline (fine-tuning: model and output; Distill: teacher and student). */
  comparison: { original: string; output: string };
  /** The words for the end message: "Fine-tuned", "Distilled". */
  doneVerb: string;
  /**
   * After the job's record is saved (`runFile` undefined when there was nothing worth keeping):
   * Distill opens its comparison from here, and then does not offer it in the end message.
   */
  onEnd?(record: RunRecord<K>, runFile: string | undefined): void;
}

function describeProgress(run: LiveRun): string {
  const s = run.lastStep;
  if (!s) return run.phase ?? 'Starting';
  const total = run.plan?.totalSteps;
  return `Step ${formatCount(s.step)}${total ? ` of ${formatCount(total)}` : ''} · loss ${s.loss.toPrecision(4)}`;
}

export class TrainingRunner implements vscode.Disposable {
  private readonly running = new Set<{ run: LiveRun; job?: { kill(): void }; flush(): void }>();
  private closing = false;

  constructor(private readonly deps: RunPanelDeps & { log: vscode.OutputChannel }) {}

  private get liveRuns(): LiveRuns {
    return this.deps.live;
  }

  /** Runs the job to its end; resolves with its record (undefined when it failed before doing any work). */
  async run<K extends TrainingKind>(spec: TrainingRunSpec<K>): Promise<RunRecord<K> | undefined> {
    const { store, log } = this.deps;
    const base = interimBase(spec.kind, spec.model, spec.settings);
    const file = interimFile(store.folder, base);
    const out = spec.out;
    const run = new LiveRun({
      kind: spec.kind, title: panelTitle({ kind: spec.kind, model: base.model.name }), model: base.model.name, modelPath: base.model.path, out, runFile: file, status: 'starting', live: true,
    }, spec.layerMap);
    run.comparison = spec.comparison;
    this.liveRuns.add(file, run);
    RunPanel.show(this.deps, { live: run });
    log.appendLine(`${spec.kind} ${base.model.path} -> ${out}: ${JSON.stringify(spec.settings)}`);

    let changed = true;
    const writeInterim = () => {
      if (!changed) return;
      changed = false;
      try { store.saveAt(file, interimRecord(base, run) as AnyRunRecord); } catch (e) { log.appendLine(`could not save ${file}: ${(e as Error).message}`); }
    };
    const entry: { run: LiveRun; job?: { kill(): void }; flush(): void } = { run, flush: () => { changed = true; writeInterim(); } };
    this.running.add(entry);

    let record: RunRecord<K>;
    try {
      record = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: spec.title, cancellable: true }, async (progress, token) => {
        let lastNotice = 0;
        let lastFraction = 0;
        // Training-like kinds report TrainProgress (TrainingKind says so).
        const onProgress = (reported: JobProgress<K>) => {
          const p = reported as TrainProgress;
          run.progress(p);
          changed = true;
          if (p.type === 'eval') log.appendLine(`  eval at step ${p.eval.step}: accuracy ${(100 * p.eval.accuracy).toFixed(2)}%, loss ${p.eval.loss.toFixed(4)}`);
          if (p.type === 'phase') log.appendLine(`  ${p.message}`);
          const now = Date.now();
          if (now - lastNotice < NOTIFY_EVERY_MS && p.type === 'steps') return;
          lastNotice = now;
          const total = run.plan?.totalSteps;
          const fraction = total && run.lastStep ? Math.min(1, run.lastStep.step / total) : lastFraction;
          progress.report({ message: describeProgress(run), increment: Math.max(0, (fraction - lastFraction) * 100) });
          lastFraction = fraction;
        };
        mkdirSync(path.dirname(out), { recursive: true });
        writeInterim();
        const job = spec.start({ onProgress, onLog: (l) => log.appendLine(`[worker] ${l}`) });
        entry.job = job;
        run.onCancel = () => job.cancel();
        const sub = token.onCancellationRequested(() => run.cancel());
        const timer = setInterval(writeInterim, INTERIM_EVERY_MS);
        try {
          return await job.done;
        } finally {
          clearInterval(timer);
          sub.dispose();
        }
      });
    } catch (e) {
      // The job could not even start (its output folder cannot be made, no worker): no run to keep.
      this.running.delete(entry);
      this.liveRuns.delete(file, run);
      store.remove(file);
      const message = (e as Error).message;
      run.setHeader({ status: 'failed', live: false, error: message, runFile: undefined });
      log.appendLine(`  could not start: ${message}`);
      void vscode.window.showErrorMessage(`${spec.title} could not start: ${message}`);
      return undefined;
    }
    this.running.delete(entry);
    // The window is closing: the interim record (written on the way out) is the run's last word.
    if (this.closing) return undefined;

    const kept = worthRecording(record as AnyRunRecord);
    if (kept) store.saveAt(file, record as AnyRunRecord); else store.remove(file);
    const outExists = existsSync(out);
    run.setHeader({
      status: record.status, live: false, ...(record.error ? { error: record.error } : {}),
      runFile: kept ? file : undefined,
      ...(outExists && record.status !== 'failed' ? { compare: { label: compareLabel(spec.kind) } } : {}),
    });
    this.liveRuns.delete(file, run);
    log.appendLine(`  ${record.status}${record.error ? `: ${record.error}` : ''}${kept ? `; saved ${file}` : ''}`);
    void this.announce(spec, record, outExists, kept ? file : undefined);
    spec.onEnd?.(record, kept ? file : undefined);
    return kept ? record : undefined;
  }

  private async announce<K extends TrainingKind>(spec: TrainingRunSpec<K>, record: RunRecord<K>, outExists: boolean, runFile: string | undefined): Promise<void> {
    const r = record.result;
    const last = r.history[r.history.length - 1];
    const acc = r.evals[r.evals.length - 1]?.accuracy;
    const where = vscode.workspace.asRelativePath(spec.out);
    const compare = compareLabel(spec.kind);
    // A job that opens its own comparison when it completes does not offer it again.
    const offer = outExists && !(spec.onEnd && record.status === 'complete');
    const took = 'durationSec' in r && typeof r.durationSec === 'number' ? ` in ${formatDuration(r.durationSec)}` : '';
    let choice: string | undefined;
    if (record.status === 'complete') {
      choice = await vscode.window.showInformationMessage(
        `${spec.doneVerb} ${record.model.name}${took}${acc !== undefined ? `: accuracy ${(100 * acc).toFixed(1)}%` : ''}. Saved ${where}.`,
        ...(offer ? [compare] : []));
    } else if (record.status === 'cancelled') {
      choice = await vscode.window.showWarningMessage(
        `${spec.title} was cancelled${last ? ` after step ${formatCount(last.step)}` : ''}.${outExists ? ` The model as trained so far is in ${where}.` : ''}`,
        ...(offer ? [compare] : []));
    } else {
      void vscode.window.showErrorMessage(`${spec.title} ${record.status === 'timeout' ? 'timed out' : 'failed'}: ${record.error ?? 'unknown error'}`);
    }
    if (choice === compare) this.deps.compare(spec.comparison.original, spec.comparison.output, runFile);
  }

  /** The extension host is going away (window closed or reloaded): leave each running job's record as it stands. */
  dispose(): void {
    this.closing = true;
    for (const e of this.running) {
      e.flush();
      e.job?.kill();
    }
  }
}
