// Runs one training-like job from the editor: the job in its worker, a live run panel, a
// notification with Cancel, the run record rewritten every few seconds while it runs (so a
// window closed mid-run still leaves its curve) and replaced by the job's own at the end, and
// then an offer to compare the output with the original. What differs between fine-tuning and
// distillation is only how the job starts, what the record's settings are and the layer map.
import { mkdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatCount, formatDuration } from '../../core/format';
import { worthRecording, type RunRecord } from '../../core/runs/run-record';
import type { TrainOptions } from '../../core/training/train-options';
import type { TrainProgress } from '../../core/training/progress';
import type { JobOptions } from '../../host/job-runner';
import type { RunLayerMap } from '../../shared/protocol';
import { interimBase, interimFile, interimRecord } from './interim-record';
import { LiveRun, type LiveRuns } from './live-run';
import { RunPanel, type RunPanelDeps } from './run-panel';
import { panelTitle } from './saved-run';

/** How often the running job's record is rewritten. */
export const INTERIM_EVERY_MS = 3000;
/** How often the notification's text may change. */
const NOTIFY_EVERY_MS = 500;

/** What a running job gives back: the job layer's TrainJob (startTrainJob, and Distill's). */
export interface TrainingJobHandle {
  done: Promise<RunRecord<'train'>>;
  cancel(): void;
  kill(): void;
}

export interface TrainingRunSpec {
  kind: 'train';
  /** "Fine-tune bert-mini". */
  title: string;
  /** What the run record's settings will hold (resolved paths): model, out and the rest. */
  settings: TrainOptions;
  /** Teacher -> student layers, for distillation. */
  layerMap?: RunLayerMap;
  /** Starts the job in its worker. */
  start(jobOptions: JobOptions<'train'>): TrainingJobHandle;
  /** The words for the end message: "Fine-tuned", "Distilled". */
  doneVerb: string;
}

function describeProgress(run: LiveRun): string {
  const s = run.lastStep;
  if (!s) return run.phase ?? 'Starting';
  const total = run.plan?.totalSteps;
  return `Step ${formatCount(s.step)}${total ? ` of ${formatCount(total)}` : ''} · loss ${s.loss.toPrecision(4)}`;
}

export class TrainingRunner implements vscode.Disposable {
  private readonly running = new Set<{ run: LiveRun; job?: TrainingJobHandle; flush(): void }>();
  private closing = false;

  constructor(private readonly deps: RunPanelDeps & { log: vscode.OutputChannel }, private readonly liveRuns: LiveRuns = deps.live) {}

  /** Runs the job to its end; resolves with its record (undefined when it failed before doing any work). */
  async run(spec: TrainingRunSpec): Promise<RunRecord<'train'> | undefined> {
    const { store, log } = this.deps;
    const base = interimBase(spec.settings);
    const file = interimFile(store.folder, base);
    const out = spec.settings.out;
    const run = new LiveRun({
      kind: spec.kind, title: panelTitle({ kind: spec.kind, model: base.model.name }), model: base.model.name, modelPath: base.model.path, out, runFile: file, status: 'starting', live: true,
    }, spec.layerMap);
    this.liveRuns.add(file, run);
    RunPanel.show(this.deps, { live: run });
    log.appendLine(`${spec.kind} ${base.model.path} -> ${out}: ${JSON.stringify(spec.settings)}`);

    let changed = true;
    const writeInterim = () => {
      if (!changed) return;
      changed = false;
      try { store.saveAt(file, interimRecord(base, run)); } catch (e) { log.appendLine(`could not save ${file}: ${(e as Error).message}`); }
    };
    const entry: { run: LiveRun; job?: TrainingJobHandle; flush(): void } = { run, flush: () => { changed = true; writeInterim(); } };
    this.running.add(entry);

    const record = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: spec.title, cancellable: true }, async (progress, token) => {
      let lastNotice = 0;
      let lastFraction = 0;
      const onProgress = (p: TrainProgress) => {
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
    this.running.delete(entry);
    // The window is closing: the interim record (written on the way out) is the run's last word.
    if (this.closing) return undefined;

    const kept = worthRecording(record);
    if (kept) store.saveAt(file, record); else store.remove(file);
    const outExists = existsSync(out);
    run.setHeader({
      status: record.status, live: false, ...(record.error ? { error: record.error } : {}),
      runFile: kept ? file : undefined,
      ...(outExists && record.status !== 'failed' ? { compare: { label: 'Compare with the original' } } : {}),
    });
    this.liveRuns.delete(file, run);
    log.appendLine(`  ${record.status}${record.error ? `: ${record.error}` : ''}${kept ? `; saved ${file}` : ''}`);
    void this.announce(spec, record, outExists);
    return kept ? record : undefined;
  }

  private async announce(spec: TrainingRunSpec, record: RunRecord<'train'>, outExists: boolean): Promise<void> {
    const r = record.result;
    const last = r.history[r.history.length - 1];
    const acc = r.evals[r.evals.length - 1]?.accuracy;
    const where = vscode.workspace.asRelativePath(spec.settings.out);
    const compare = 'Compare with the original';
    let choice: string | undefined;
    if (record.status === 'complete') {
      const took = r.durationSec !== undefined ? ` in ${formatDuration(r.durationSec)}` : '';
      choice = await vscode.window.showInformationMessage(
        `${spec.doneVerb} ${record.model.name}${took}${acc !== undefined ? `: accuracy ${(100 * acc).toFixed(1)}%` : ''}. Saved ${where}.`,
        ...(outExists ? [compare] : []));
    } else if (record.status === 'cancelled') {
      choice = await vscode.window.showWarningMessage(
        `${spec.title} was cancelled${last ? ` after step ${formatCount(last.step)}` : ''}.${outExists ? ` The model as trained so far is in ${where}.` : ''}`,
        ...(outExists ? [compare] : []));
    } else {
      void vscode.window.showErrorMessage(`${spec.title} ${record.status === 'timeout' ? 'timed out' : 'failed'}: ${record.error ?? 'unknown error'}`);
    }
    if (choice === compare) this.deps.compare(spec.settings.model, spec.settings.out);
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
