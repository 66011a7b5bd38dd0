import * as vscode from 'vscode';
import { MODEL_CARD_VIEW, MODEL_CARD_VIEW_BIN, ModelCardEditorProvider } from './model-card-editor';
import { WorkerClient } from './worker-client';
import { BenchmarkCommands } from './benchmark/benchmark-commands';
import { RunsStore } from './benchmark/runs-store';
import { RunsTreeProvider } from './benchmark/runs-tree';
import { TrainCommands } from './train/train-commands';
import { DistillCommands } from './distill/distill-commands';
import { QuantizeCommands } from './quantize/quantize-commands';
import { REPORT_VIEW, ReportPanel } from './report/report-panel';

const MODEL_FILTERS = { 'Model files': ['onnx', 'safetensors', 'bin', 'pt', 'pth', 'json'] };

/** Registers commands and editors only: no file is read until the user opens one. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Compression Lab');
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, (l) => log.appendLine(l));
  const provider = new ModelCardEditorProvider(context, worker, log);
  const options = { webviewOptions: { retainContextWhenHidden: true }, supportsMultipleEditorsPerDocument: true };
  context.subscriptions.push(
    log,
    { dispose: () => worker.dispose() },
    vscode.window.registerCustomEditorProvider(MODEL_CARD_VIEW, provider, options),
    vscode.window.registerCustomEditorProvider(MODEL_CARD_VIEW_BIN, provider, options),
    vscode.commands.registerCommand('compressionLab.inspectModel', async (uri?: vscode.Uri) => {
      let target = uri instanceof vscode.Uri ? uri : undefined;
      if (!target) {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFiles: true, canSelectFolders: false, filters: MODEL_FILTERS, title: 'Inspect Model' });
        target = picked?.[0];
      }
      if (!target) return;
      await vscode.commands.executeCommand('vscode.openWith', target, target.path.toLowerCase().endsWith('.bin') ? MODEL_CARD_VIEW_BIN : MODEL_CARD_VIEW);
    }),
  );
  const runs = new RunsStore(context);
  const training = new TrainCommands(context, runs, worker, log);
  const benchmarks = new BenchmarkCommands(context, runs, log, (file) => training.openRun(file));
  context.subscriptions.push(
    ...training.register(),
    ...benchmarks.register(),
    ...new DistillCommands(context, training.runner, worker, benchmarks).register(),
    ...new QuantizeCommands(context, runs, log).register(),
    vscode.commands.registerCommand('compressionLab.compressionReport', () => ReportPanel.show(context, runs)),
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW, {
      deserializeWebviewPanel: async (panel) => { ReportPanel.revive(panel, context, runs); },
    }),
    vscode.window.registerTreeDataProvider('compressionLab.runs', new RunsTreeProvider(runs, (file) => training.live.get(file) !== undefined)),
  );
  if (context.extensionMode === vscode.ExtensionMode.Test) {
    context.subscriptions.push(vscode.commands.registerCommand('compressionLab.test.lastSent', (uri: vscode.Uri) => provider.lastSent.get(uri.toString())));
  }
}

export function deactivate(): void {}
