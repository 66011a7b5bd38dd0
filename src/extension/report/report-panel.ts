// Compression Lab: Compression Report: one panel with the report built from the workspace's saved
// runs (.compression-lab/runs) and the model files they name, by the core's buildReport, so it
// rebuilds without retraining and says what is missing or stale. Refresh builds it again; the
// exports are the core's renderings, written atomically where the user says. Nothing is kept
// but the panel itself: after a reload VS Code revives it and the report is built again.
import { existsSync, readdirSync } from 'node:fs';
import * as vscode from 'vscode';
import { writeAtomically } from '../../core/io/atomic-write';
import { buildReport, type CompressionReport } from '../../core/report/build-report';
import { reportHtml } from '../../core/report/render-html';
import { reportCsv, reportMarkdown } from '../../core/report/render-text';
import { Endpoint, type HostToReportEvents, type Message, type ReportEvents } from '../../shared/protocol';
import { planFromSettings } from '../benchmark/benchmark-settings';
import type { RunsStore } from '../benchmark/runs-store';
import { PanelHost } from '../panel-host';

export const REPORT_VIEW = 'compressionLab.report';
const TITLE = 'Compression Report';

const FORMATS: Record<'html' | 'markdown' | 'csv', { ext: string; filter: Record<string, string[]>; render: (r: CompressionReport) => string }> = {
  html: { ext: 'html', filter: { HTML: ['html'] }, render: (r: CompressionReport) => reportHtml(r, 'Compression report') },
  markdown: { ext: 'md', filter: { Markdown: ['md'] }, render: reportMarkdown },
  csv: { ext: 'csv', filter: { CSV: ['csv'] }, render: reportCsv },
};

/** The latency the report compares: the first batch size and sequence length the benchmarks are set to measure. */
function reportConfig(): { batch: number; seq: number } {
  const plan = planFromSettings('');
  return { batch: plan.batches[0] ?? 1, seq: plan.seqs[0] ?? 128 };
}

function runCount(folder: string): number {
  try { return readdirSync(folder).filter((f) => f.endsWith('.json')).length; } catch { return 0; }
}

export class ReportPanel {
  private static current?: ReportPanel;
  private readonly endpoint: Endpoint<Record<string, never>, Record<string, never>, HostToReportEvents, ReportEvents>;
  private report?: CompressionReport;
  private disposed = false;
  /** Bumped per build, so a slow build never lands after a newer one. */
  private generation = 0;

  static show(context: vscode.ExtensionContext, store: RunsStore): ReportPanel {
    const open = ReportPanel.current;
    if (open && !open.disposed) {
      open.panel.reveal();
      void open.build();
      return open;
    }
    const panel = vscode.window.createWebviewPanel(REPORT_VIEW, TITLE, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true });
    return new ReportPanel(panel, context, store);
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, store: RunsStore): ReportPanel {
    return new ReportPanel(panel, context, store);
  }

  private readonly host: PanelHost;

  private constructor(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, private readonly store: RunsStore) {
    ReportPanel.current = this;
    panel.title = TITLE;
    this.host = new PanelHost(panel, context.extensionUri, { script: 'report.js', stylesheet: 'report.css' }, {
      message: (m) => this.endpoint.receive(m),
      disposed: () => {
        this.disposed = true;
        if (ReportPanel.current === this) ReportPanel.current = undefined;
      },
    });
    this.endpoint = new Endpoint((m: Message) => this.host.post(m));
    this.endpoint.on('ready', () => void this.build());
    this.endpoint.on('refresh', () => void this.build());
    this.endpoint.on('export', (p) => { if (p?.format === 'html' || p?.format === 'markdown' || p?.format === 'csv') void this.export(p.format); });
  }

  get panel(): vscode.WebviewPanel {
    return this.host.panel;
  }

  /** Builds the report from the runs folder as it is now, and sends it. */
  async build(): Promise<void> {
    const generation = ++this.generation;
    const folder = this.store.folder;
    const count = runCount(folder);
    this.endpoint.emit('busy', { message: count ? `Reading ${count} saved run${count === 1 ? '' : 's'} and the models they name…` : 'Looking for saved runs…' });
    try {
      // Yield first, so the page shows that it is busy before the files are read.
      await new Promise((r) => setTimeout(r, 0));
      const report: CompressionReport = existsSync(folder) && count > 0
        ? await buildReport([folder], reportConfig())
        : { created: new Date().toISOString(), config: reportConfig(), rows: [], warnings: [] };
      if (this.disposed || generation !== this.generation) return;
      this.report = report;
      this.endpoint.emit('report', { report, runsFolder: vscode.workspace.asRelativePath(folder), runCount: count });
    } catch (e) {
      if (this.disposed || generation !== this.generation) return;
      this.endpoint.emit('error', { message: (e as Error).message });
    }
  }

  private async export(format: keyof typeof FORMATS): Promise<void> {
    if (!this.report || !this.report.rows.length) { void vscode.window.showWarningMessage('Nothing to export yet: the report has no rows.'); return; }
    const f = FORMATS[format];
    const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: ws ? vscode.Uri.joinPath(ws, `compression-report.${f.ext}`) : undefined, filters: f.filter, title: 'Export the compression report' });
    if (!target) return;
    writeAtomically(target.fsPath, [Buffer.from(f.render(this.report), 'utf8')]);
    void vscode.window.showInformationMessage(`Compression report saved to ${vscode.workspace.asRelativePath(target)}`);
  }
}
