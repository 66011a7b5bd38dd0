import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { loadRun, runFileName, saveRun } from '../../core/benchmark/run-file';
import type { BenchmarkRun } from '../../core/benchmark/types';

export interface StoredRun {
  file: string;
  run?: BenchmarkRun;
  /** Why the file could not be read, when it could not. */
  problem?: string;
}

/**
 * Benchmark runs saved in the workspace under .compression-lab/runs/ (or the extension's storage
 * when no folder is open), one JSON file each, written atomically.
 */
export class RunsStore {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.compression-lab/runs/*.json'));
      context.subscriptions.push(watcher, watcher.onDidCreate(() => this.changed.fire()), watcher.onDidDelete(() => this.changed.fire()), watcher.onDidChange(() => this.changed.fire()));
    }
    context.subscriptions.push(this.changed);
  }

  get folder(): string {
    const ws = vscode.workspace.workspaceFolders?.[0];
    return ws ? path.join(ws.uri.fsPath, '.compression-lab', 'runs') : path.join(this.context.globalStorageUri.fsPath, 'runs');
  }

  save(run: BenchmarkRun): string {
    const file = path.join(this.folder, runFileName(run));
    saveRun(file, run);
    this.changed.fire();
    return file;
  }

  list(): StoredRun[] {
    let names: string[];
    try {
      names = readdirSync(this.folder).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    return names.sort().reverse().map((n) => this.read(path.join(this.folder, n)));
  }

  read(file: string): StoredRun {
    try {
      return { file, run: loadRun(file) };
    } catch (e) {
      return { file, problem: (e as Error).message };
    }
  }
}
