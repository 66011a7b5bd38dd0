import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobKind } from '../../core/jobs/kinds';
import type { AnyRunRecord } from '../../core/runs/run-record';
import type { RunsStore, StoredRun } from './runs-store';

const KIND: Record<JobKind, { label: string; icon: string }> = {
  benchmark: { label: 'benchmark', icon: 'pulse' },
  train: { label: 'fine-tune', icon: 'mortar-board' },
  distill: { label: 'distil', icon: 'beaker' },
  quantize: { label: 'quantize', icon: 'file-binary' },
};

/** What a run achieved, in a few words for the list. */
function summary(r: AnyRunRecord): string {
  if (r.kind === 'benchmark') {
    const best = r.result.results[0];
    return `${r.result.results.length} config${r.result.results.length === 1 ? '' : 's'}${best ? ` · p50 ${best.stats.p50.toFixed(2)} ms` : ''}`;
  }
  if (r.kind === 'quantize') {
    const q = r.result;
    return q.files?.after ? `${q.report?.quantized.length ?? 0} weights · ${(q.files.after / 1e6).toFixed(1)} MB` : 'no output';
  }
  const last = r.result.history[r.result.history.length - 1];
  const acc = r.result.evals[r.result.evals.length - 1]?.accuracy;
  return `${last ? `${last.step} steps · loss ${last.loss.toFixed(3)}` : 'no steps'}${acc !== undefined ? ` · accuracy ${(100 * acc).toFixed(1)}%` : ''}`;
}

/** The Runs view: every saved run of every kind, newest first, iconed by kind; selecting one reopens it. */
export class RunsTreeProvider implements vscode.TreeDataProvider<StoredRun> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  /** `isRunning(file)`: the run's job is still going in this window (its saved record says 'cancelled' until it ends). */
  constructor(private readonly store: RunsStore, private readonly isRunning: (file: string) => boolean = () => false) {
    store.onDidChange(() => this.changed.fire());
  }

  getChildren(): StoredRun[] {
    return this.store.list();
  }

  getTreeItem(s: StoredRun): vscode.TreeItem {
    const item = new vscode.TreeItem(s.record ? s.record.model.name : path.basename(s.file));
    item.id = s.file;
    item.resourceUri = vscode.Uri.file(s.file);
    if (!s.record) {
      item.description = 'cannot be read';
      item.tooltip = s.problem;
      item.iconPath = new vscode.ThemeIcon('error');
      item.command = { command: 'vscode.open', title: 'Open file', arguments: [vscode.Uri.file(s.file)] };
      return item;
    }
    const r = s.record;
    const kind = KIND[r.kind];
    const running = this.isRunning(s.file);
    const status = running ? 'running' : r.status;
    item.description = `${kind.label} · ${r.created.replace('T', ' ').slice(0, 16)} · ${summary(r)}${status === 'complete' ? '' : ` · ${status}`}`;
    item.tooltip = `${kind.label}: ${r.model.path}\n${running ? 'running' : `${r.status}${r.error ? `: ${r.error}` : ''}`}\n${s.file}`;
    item.iconPath = new vscode.ThemeIcon(running ? 'sync~spin' : r.status === 'complete' || r.status === 'cancelled' ? kind.icon : 'warning');
    item.contextValue = `compressionLab.run.${r.kind}`;
    item.command = { command: 'compressionLab.openRun', title: 'Open Run', arguments: [s.file] };
    return item;
  }
}
