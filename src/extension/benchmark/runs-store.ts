import { readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { benchmarkRunOf, loadRunRecord, saveRunIn, saveRunRecord, benchmarkRecord, type AnyRunRecord } from '../../core/runs/run-record';
import type { BenchmarkRun } from '../../core/benchmark/types';

export interface StoredRun {
  file: string;
  record?: AnyRunRecord;
  /** For benchmark records: the run as the comparison panel reads it. */
  run?: BenchmarkRun;
  /** Why the file could not be read, when it could not. */
  problem?: string;
}

/**
 * Runs of every kind saved in the workspace under .compression-lab/runs/ (or the extension's
 * storage when no folder is open), one JSON file each, written atomically; the CLI writes to the
 * same folder, so runs made in a terminal show up here too.
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

  save(record: AnyRunRecord | BenchmarkRun): string {
    const file = saveRunIn(this.folder, 'kind' in record ? record : benchmarkRecord(record));
    this.changed.fire();
    return file;
  }

  /**
   * Saves at a given file: a running job's record is rewritten there as it goes, and its final
   * record replaces it under the same name.
   */
  saveAt(file: string, record: AnyRunRecord): string {
    const saved = saveRunRecord(file, record);
    this.changed.fire();
    return saved;
  }

  /** Removes a run file (a job that failed before doing any work leaves an error, not a run). */
  remove(file: string): void {
    rmSync(file, { force: true });
    this.changed.fire();
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
      const record = loadRunRecord(file);
      return { file, record, ...(record.kind === 'benchmark' ? { run: benchmarkRunOf(record) } : {}) };
    } catch (e) {
      return { file, problem: (e as Error).message };
    }
  }
}
