// The run panel's host side: one panel per run file, showing a job attached in this extension
// host (live, through a RunFeed) or the run's saved record. After a window reload VS Code
// revives the panel with the state its page kept (the run file, and the plan and layer map a
// record does not hold); the job, if this host still runs it, is attached again, else the
// saved record is shown.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Endpoint, type HostToRunEvents, type Message, type RunEvents, type RunHeader } from '../../shared/protocol';
import type { RunsStore } from '../benchmark/runs-store';
import { PanelHost } from '../panel-host';
import { RunFeed, type LiveRun, type LiveRuns } from './live-run';
import { panelTitle, runPanelState, savedSnapshot, type RunPanelState } from './saved-run';

export const RUN_VIEW = 'compressionLab.run';
/** The run files panels were opened on, newest last: a revived panel's fallback. */
const RECENT_KEY = 'compressionLab.run.recentPanels';
const RECENT_KEPT = 20;

export interface RunPanelDeps {
  context: vscode.ExtensionContext;
  store: RunsStore;
  live: LiveRuns;
  /** "Compare with the original": the original model first (the baseline), then the run's output; the run's record gives their accuracy. */
  compare(original: string, output: string, runFile?: string): void;
}

export class RunPanel {
  private static readonly open = new Map<string, RunPanel>();
  private readonly endpoint: Endpoint<Record<string, never>, Record<string, never>, HostToRunEvents, RunEvents>;
  private feed?: RunFeed;
  private disposed = false;

  /** Shows the run in its panel (revealing the one already open for it). */
  static show(deps: RunPanelDeps, source: { live: LiveRun } | { file: string }, extra: Omit<RunPanelState, 'runFile'> = {}): RunPanel {
    const file = 'live' in source ? source.live.header.runFile ?? '' : source.file;
    const existing = RunPanel.open.get(file);
    if (existing && !existing.disposed) {
      existing.panel.reveal();
      return existing;
    }
    const title = 'live' in source ? panelTitle(source.live.header) : `Run: ${path.basename(file, '.json')}`;
    const panel = vscode.window.createWebviewPanel(RUN_VIEW, title, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true });
    return new RunPanel(panel, deps, { runFile: file, ...extra });
  }

  static revive(panel: vscode.WebviewPanel, deps: RunPanelDeps, webviewState: unknown): RunPanel {
    // In a browser VS Code may save the panel before its page has said which run it shows (a
    // window reloaded soon after the panel opened): the newest run a panel opened on, and that
    // none shows yet, is then the one.
    const recent = deps.context.workspaceState.get<string[]>(RECENT_KEY, []);
    const fallback = [...recent].reverse().find((f) => !RunPanel.open.has(f) && existsSync(f));
    return new RunPanel(panel, deps, runPanelState(webviewState) ?? { runFile: fallback ?? '' });
  }

  private readonly host: PanelHost;

  private constructor(panel: vscode.WebviewPanel, private readonly deps: RunPanelDeps, private readonly state: RunPanelState) {
    this.host = new PanelHost(panel, deps.context.extensionUri, { script: 'run.js', stylesheet: 'run.css' }, {
      message: (m) => this.endpoint.receive(m),
      disposed: () => {
        this.disposed = true;
        this.feed?.dispose();
        if (RunPanel.open.get(state.runFile) === this) RunPanel.open.delete(state.runFile);
      },
    });
    this.endpoint = new Endpoint((m: Message) => this.host.post(m));
    if (state.runFile) {
      RunPanel.open.set(state.runFile, this);
      const recent = deps.context.workspaceState.get<string[]>(RECENT_KEY, []).filter((f) => f !== state.runFile);
      void deps.context.workspaceState.update(RECENT_KEY, [...recent, state.runFile].slice(-RECENT_KEPT));
    }
    // Every page load (a new panel, a restored one) starts from a snapshot.
    this.endpoint.on('ready', () => this.load());
    this.endpoint.on('cancel', () => deps.live.get(state.runFile)?.cancel());
    this.endpoint.on('compare', () => {
      const h = this.header();
      // A live job knows its pair (Distill: teacher and student); a saved run compares its model with its output.
      const pair = this.attached?.comparison ?? (h?.out ? { original: h.modelPath, output: h.out } : undefined);
      if (pair && existsSync(pair.original) && existsSync(pair.output)) deps.compare(pair.original, pair.output, this.header()?.runFile);
      else void vscode.window.showWarningMessage('This run left no model to compare.');
    });
  }

  get panel(): vscode.WebviewPanel {
    return this.host.panel;
  }

  /** The job this page was last attached to; it keeps its final header after the job has ended. */
  private attached?: LiveRun;
  private lastHeader?: RunHeader;

  private header(): RunHeader | undefined {
    return this.deps.live.get(this.state.runFile)?.header ?? this.attached?.header ?? this.lastHeader;
  }

  private load(): void {
    this.feed?.dispose();
    this.feed = undefined;
    const live = this.deps.live.get(this.state.runFile);
    this.attached = live;
    if (live) {
      this.panel.title = panelTitle(live.header);
      this.feed = new RunFeed(live, { emit: (type, payload) => this.endpoint.emit(type, payload) });
      return;
    }
    if (!this.state.runFile) {
      this.endpoint.emit('snapshot', { header: this.missing('This panel does not know which run it showed.'), steps: [], evals: [], elapsedMs: 0 });
      return;
    }
    const s = this.deps.store.read(this.state.runFile);
    if (!s.record || s.record.kind === 'benchmark' || s.record.kind === 'quantize') {
      const problem = s.problem ?? `${this.state.runFile}: a ${s.record?.kind === 'quantize' ? 'quantization run, with no training curve' : 'benchmark run, shown in the comparison panel'}`;
      this.endpoint.emit('snapshot', { header: this.missing(problem), steps: [], evals: [], elapsedMs: 0 });
      return;
    }
    const snapshot = savedSnapshot(this.state.runFile, s.record, this.state);
    this.lastHeader = snapshot.header;
    this.panel.title = snapshot.header.title;
    this.endpoint.emit('snapshot', snapshot);
  }

  private missing(problem: string): RunHeader {
    return { kind: 'train', title: 'Run not found', model: path.basename(this.state.runFile || 'run'), modelPath: '', runFile: this.state.runFile || undefined, status: 'failed', error: problem, live: false };
  }
}
