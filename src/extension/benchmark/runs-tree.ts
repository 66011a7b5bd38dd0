import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunsStore, StoredRun } from './runs-store';

/** The Runs view: every saved benchmark run, newest first; selecting one reopens it. */
export class RunsTreeProvider implements vscode.TreeDataProvider<StoredRun> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly store: RunsStore) {
    store.onDidChange(() => this.changed.fire());
  }

  getChildren(): StoredRun[] {
    return this.store.list();
  }

  getTreeItem(s: StoredRun): vscode.TreeItem {
    const item = new vscode.TreeItem(s.run ? s.run.model.name : path.basename(s.file));
    item.id = s.file;
    item.resourceUri = vscode.Uri.file(s.file);
    if (!s.run) {
      item.description = 'cannot be read';
      item.tooltip = s.problem;
      item.iconPath = new vscode.ThemeIcon('error');
      item.command = { command: 'vscode.open', title: 'Open file', arguments: [vscode.Uri.file(s.file)] };
      return item;
    }
    const r = s.run;
    const best = r.results[0];
    item.description = `${r.environment.timestamp.replace('T', ' ').slice(0, 16)} · ${r.results.length} config${r.results.length === 1 ? '' : 's'}${best ? ` · p50 ${best.stats.p50.toFixed(2)} ms` : ''}${r.status === 'complete' ? '' : ` · ${r.status}`}`;
    item.tooltip = `${r.model.path}\n${r.status}${r.error ? `: ${r.error}` : ''}\n${s.file}`;
    item.iconPath = new vscode.ThemeIcon(r.status === 'complete' ? 'pulse' : 'warning');
    item.contextValue = 'compressionLab.run';
    item.command = { command: 'compressionLab.openRun', title: 'Open Run', arguments: [s.file] };
    return item;
  }
}
