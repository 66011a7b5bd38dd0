import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { toCsv, toMarkdown } from '../../core/benchmark/compare';
import { buildCompareView } from '../../core/benchmark/compare-view';
import type { BenchmarkConfig } from '../../core/benchmark/types';
import { writeAtomically } from '../../core/io/atomic-write';
import { Endpoint, type CompareEvents, type CompareView, type HostToCompareEvents, type Message } from '../../shared/protocol';
import { PanelHost } from '../panel-host';
import { accuracyByModel, accuracyFor } from './accuracy';
import type { RunsStore } from './runs-store';

export const COMPARE_VIEW = 'compressionLab.compare';

/** What a comparison panel needs to be rebuilt after a window reload. */
export interface ComparePanelState {
  key: string;
  runFiles: string[];
  baseline: number;
  config?: BenchmarkConfig;
  /** Runs that evaluated the compared models (a distillation, a quantization): the accuracy columns. */
  accuracyRuns?: string[];
}

const STATE_PREFIX = 'compressionLab.compare.';

/**
 * The comparison panel: one row per benchmarked model against a baseline, with charts. Its
 * content is always computed from the saved run files, so after a reload it is rebuilt from them
 * (the webview keeps only a key to this panel's state).
 */
export class ComparePanel {
  private readonly endpoint: Endpoint<Record<string, never>, Record<string, never>, HostToCompareEvents, CompareEvents>;
  private view?: CompareView;
  private disposed = false;
  private ready = false;
  private queued: Array<() => void> = [];
  onCancel?: () => void;

  static create(context: vscode.ExtensionContext, store: RunsStore, title: string, runFiles: string[] = [], accuracyRuns?: string[]): ComparePanel {
    const panel = vscode.window.createWebviewPanel(COMPARE_VIEW, title, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true });
    return new ComparePanel(panel, context, store, { key: randomUUID(), runFiles, baseline: 0, ...(accuracyRuns?.length ? { accuracyRuns } : {}) });
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, store: RunsStore, webviewState: unknown): ComparePanel {
    const key = (webviewState as { restoreKey?: unknown } | undefined)?.restoreKey;
    const saved = typeof key === 'string' ? context.workspaceState.get<ComparePanelState>(STATE_PREFIX + key) : undefined;
    // A reload soon after the panel changed can come before workspaceState reached storage, which
    // then holds no state or an older one (the panel is saved when created, before its runs): the
    // page's own state, saved with the editor, names the runs it last showed.
    const files = (webviewState as { runFiles?: unknown } | undefined)?.runFiles;
    const fromPage = Array.isArray(files) ? files.filter((f): f is string => typeof f === 'string') : [];
    const state = saved ?? { key: typeof key === 'string' ? key : randomUUID(), runFiles: [], baseline: 0 };
    if (fromPage.length > state.runFiles.length) state.runFiles = fromPage;
    return new ComparePanel(panel, context, store, state);
  }

  private readonly host: PanelHost;

  private constructor(panel: vscode.WebviewPanel, private readonly context: vscode.ExtensionContext, private readonly store: RunsStore, private state: ComparePanelState) {
    this.host = new PanelHost(panel, context.extensionUri, { script: 'compare.js', stylesheet: 'compare.css' }, {
      message: (m) => this.endpoint.receive(m),
      disposed: () => { this.disposed = true; },
    });
    this.endpoint = new Endpoint((m: Message) => this.host.post(m));
    this.endpoint.on('ready', () => {
      this.ready = true;
      this.refresh();
      for (const q of this.queued.splice(0)) q();
    });
    this.endpoint.on('setBaseline', (p) => {
      if (Number.isInteger(p?.index) && p.index >= 0 && p.index < this.state.runFiles.length) { this.state.baseline = p.index; this.persist(); this.refresh(); }
    });
    this.endpoint.on('setConfig', (c) => {
      if ([c?.batch, c?.seq, c?.threads].every((x) => Number.isInteger(x) && x >= 1)) { this.state.config = { batch: c.batch, seq: c.seq, threads: c.threads }; this.persist(); this.refresh(); }
    });
    this.endpoint.on('export', (p) => { if (p?.format === 'markdown' || p?.format === 'csv') void this.export(p.format); });
    this.endpoint.on('cancel', () => this.onCancel?.());
    this.persist();
  }

  get panel(): vscode.WebviewPanel {
    return this.host.panel;
  }

  get runFiles(): readonly string[] {
    return this.state.runFiles;
  }

  private persist(): void {
    void this.context.workspaceState.update(STATE_PREFIX + this.state.key, this.state);
  }

  /** Sends now, or once the webview has said it is ready. */
  private send(fn: () => void): void {
    if (this.ready) fn(); else this.queued.push(fn);
  }

  addRun(file: string): void {
    this.state.runFiles.push(file);
    this.persist();
    this.refresh();
  }

  progress(message: string, fraction?: number): void {
    this.send(() => this.endpoint.emit('progress', { message, fraction }));
  }

  idle(message?: string): void {
    this.send(() => this.endpoint.emit('idle', { message }));
  }

  refresh(): void {
    if (!this.ready || this.disposed) return;
    const sources = this.state.runFiles.map((f) => this.store.read(f));
    const broken = sources.filter((s) => !s.run);
    const accuracy = accuracyByModel((this.state.accuracyRuns ?? []).map((f) => this.store.read(f)).flatMap((s) => (s.record ? [{ file: s.file, record: s.record }] : [])));
    const stale: string[] = [];
    const good = sources.filter((s) => s.run).map((s) => {
      const a = accuracyFor(accuracy, s.run!.model);
      if (a.stale) stale.push(`${s.run!.model.name}: its accuracy was measured on other bytes of ${s.run!.model.path}; not shown`);
      return { run: s.run!, runFile: s.file, ...(a.accuracy !== undefined ? { accuracy: a.accuracy } : {}) };
    });
    this.view = buildCompareView(good, this.state.baseline, this.state.config);
    this.view.warnings.push(...stale);
    for (const b of broken) this.view.warnings.unshift(b.problem ?? `${b.file}: cannot be read`);
    this.view.restoreKey = this.state.key;
    this.endpoint.emit('view', this.view);
  }

  private async export(format: 'markdown' | 'csv'): Promise<void> {
    if (!this.view || !this.view.rows.length) { void vscode.window.showWarningMessage('Nothing to export yet.'); return; }
    const text = format === 'markdown' ? toMarkdown(this.view.rows) : toCsv(this.view.rows);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `comparison.${format === 'markdown' ? 'md' : 'csv'}`;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: format === 'markdown' ? { Markdown: ['md'] } : { CSV: ['csv'] },
    });
    if (!target) return;
    writeAtomically(target.fsPath, [Buffer.from(text, 'utf8')]);
    void vscode.window.showInformationMessage(`Comparison saved to ${vscode.workspace.asRelativePath(target)}`);
  }
}
