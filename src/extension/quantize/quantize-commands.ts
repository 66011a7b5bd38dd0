// Compression Lab: Quantize Model...: a small form on the explorer's or the card's model (or one
// picked in it), then the 'quantize' job in its worker with a notification (its stages, Cancel),
// the run record saved, and a message with the sizes, the fusion and the agreement, offering the
// int8 model's card and a latency comparison of the two.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { worthRecording } from '../../core/runs/run-record';
import type { QuantizeJobOptions } from '../../core/quantize/quantize-model';
import { startQuantizeJob } from '../../host/quantize-job';
import { resolvedOptions } from '../../host/train-job';
import type { JobFormValues } from '../../shared/protocol';
import type { RunsStore } from '../benchmark/runs-store';
import { MODEL_CARD_VIEW } from '../model-card-editor';
import { compareModels } from '../train/compare-models';
import { modelEntry } from '../train/interim-record';
import { JobFormPanel, type JobFormController } from '../train/job-form-panel';
import { targetModel } from '../train/targets';
import { browseField } from '../train/browse-field';
import { isFile } from '../train/form-checks';
import { trainThreadsFromSettings } from '../train/train-settings';
import { defaultsForQuantizeModel, initialQuantizeValues, QUANTIZE_FIELDS, quantizeFormSpec, quantizeMessage, quantizeOptionsFromForm } from './quantize-form';

const FILTERS: Record<string, Record<string, string[]>> = {
  model: { 'ONNX models': ['onnx'] }, out: { 'ONNX models': ['onnx'] },
  eval: { 'Data (TSV, CSV, JSONL)': ['tsv', 'csv', 'jsonl', 'ndjson'] }, tokenizer: { 'Tokenizer (tokenizer.json)': ['json'] },
};

export const OPEN_INT8 = 'Open Int8 Model';
export const COMPARE_LATENCY = 'Compare Latency';

export class QuantizeCommands {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly store: RunsStore,
    private readonly log: vscode.OutputChannel,
  ) {}

  private get workerPath(): string {
    return vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'worker.js').fsPath;
  }

  register(): vscode.Disposable[] {
    return [vscode.commands.registerCommand('compressionLab.quantizeModel', (arg?: unknown) => this.open(arg))];
  }

  open(arg?: unknown): void {
    const model = targetModel(arg);
    // The same thread setting as training: both share the machine with the editor.
    const threads = trainThreadsFromSettings();
    const base: Partial<QuantizeJobOptions> = threads ? { threads } : {};
    const controller: JobFormController = {
      spec: quantizeFormSpec(model ? modelEntry(model).name : undefined),
      values: initialQuantizeValues(model),
      derive: async (field, v) => this.derive(field, v),
      check: (v) => quantizeOptionsFromForm(v, base).problems,
      browse: (field, v) => this.browse(field, v),
      start: async (v) => {
        const c = quantizeOptionsFromForm(v, base);
        if (!c.options) return c.problems;
        this.quantize(c.options).catch((e: Error) => { void vscode.window.showErrorMessage(`Quantization could not run: ${e.message}`); });
        return undefined;
      },
    };
    JobFormPanel.open(this.context, controller);
  }

  private async derive(field: string, v: JobFormValues): Promise<{ values: JobFormValues; notes: Record<string, string> } | undefined> {
    const model = (v.model ?? '').trim();
    if (field === 'model') {
      if (!model || !isFile(model) || !/\.onnx$/i.test(model)) return { values: {}, notes: {} };
      const values = defaultsForQuantizeModel(model);
      const tokenizer = path.join(path.dirname(model), 'tokenizer.json');
      if (isFile(tokenizer)) values.tokenizer = tokenizer;
      return { values, notes: { out: '' } };
    }
    if (field === 'out') {
      const out = (v.out ?? '').trim();
      return { values: {}, notes: { out: out && isFile(out) ? 'This file exists: the job will replace it.' : '' } };
    }
    return undefined;
  }

  private async browse(field: string, v: JobFormValues): Promise<string | undefined> {
    const spec = QUANTIZE_FIELDS[field];
    if (!spec || spec.type !== 'file') return undefined;
    return browseField({ label: spec.label, save: spec.save, filters: FILTERS[field] }, (v[field] ?? '').trim(), (v.model ?? '').trim());
  }

  /** Runs the job with its notification, saves the record, and says how it went. */
  async quantize(options: QuantizeJobOptions): Promise<void> {
    const settings = resolvedOptions(options);
    const name = modelEntry(settings.model).name;
    this.log.appendLine(`quantize ${settings.model} -> ${settings.out}: ${JSON.stringify(settings)}`);
    const record = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Quantize ${name}`, cancellable: true }, async (progress, token) => {
      let evalShown = 0;
      const job = startQuantizeJob(this.workerPath, settings, {
        onLog: (l) => this.log.appendLine(`[worker] ${l}`),
        onProgress: (p) => {
          if (p.type === 'stage') { this.log.appendLine(`  ${p.message}`); progress.report({ message: p.message }); return; }
          // Evaluation is the long part on real data: say how far it is, a few times at most.
          const pct = p.total ? Math.floor((100 * p.done) / p.total) : 0;
          if (pct - evalShown >= 10 || p.done === p.total) { evalShown = pct; progress.report({ message: `comparing both models: ${p.done} of ${p.total} batches` }); }
        },
      });
      const sub = token.onCancellationRequested(() => job.cancel());
      try {
        return await job.done;
      } finally {
        sub.dispose();
      }
    });
    const runFile = worthRecording(record) ? this.store.save(record) : undefined;
    this.log.appendLine(`  ${record.status}${record.error ? `: ${record.error}` : ''}${runFile ? `; saved ${runFile}` : ''}`);
    const message = quantizeMessage(record);
    this.log.appendLine(`  ${message.text}`);
    if (message.level === 'error') { void vscode.window.showErrorMessage(message.text); return; }
    if (message.level === 'warning') { void vscode.window.showWarningMessage(message.text); return; }
    const out = record.result.out ?? settings.out;
    const choice = await vscode.window.showInformationMessage(message.text, OPEN_INT8, COMPARE_LATENCY);
    if (choice === OPEN_INT8) await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(out), MODEL_CARD_VIEW);
    // The float model first: the baseline whose latency the int8 one is read against.
    if (choice === COMPARE_LATENCY) compareModels([settings.model, out], runFile ? [runFile] : undefined);
  }
}
