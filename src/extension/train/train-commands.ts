// Fine-tune Model...: the form (on the explorer's or the card's model, or one picked in it), then
// the job through the training runner, and the run panel for training runs from the Runs view
// and after a window reload.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { UserError } from '../../core/errors';
import { defaultLr, type TrainOptions } from '../../core/training/train-options';
import { resolvedOptions, startTrainJob } from '../../host/train-job';
import type { JobFormValues } from '../../shared/protocol';
import type { RunsStore } from '../benchmark/runs-store';
import type { WorkerClient } from '../worker-client';
import { compareModels } from './compare-models';
import { browseField } from './browse-field';
import { isFile } from './form-checks';
import { findData, targetModel } from './targets';
import { modelEntry } from './interim-record';
import { JobFormPanel, type JobFormController } from './job-form-panel';
import { LiveRuns } from './live-run';
import { RUN_VIEW, RunPanel, type RunPanelDeps } from './run-panel';
import {
  defaultsForModel, initialTrainValues, modelNote, numberText, trainFormSpec, trainOptionsFromForm, TRAIN_FIELDS,
  type ModelFacts, type TrainDefaults,
} from './train-form';
import { trainDefaultsFromSettings, trainThreadsFromSettings, trainTimeoutMsFromSettings } from './train-settings';
import { TrainingRunner } from './training-runner';

const FILTERS: Record<string, Record<string, string[]>> = {
  model: { 'ONNX models': ['onnx'] },
  out: { 'ONNX models': ['onnx'] },
  data: { 'Data (TSV, CSV, JSONL)': ['tsv', 'csv', 'jsonl', 'ndjson'] },
  eval: { 'Data (TSV, CSV, JSONL)': ['tsv', 'csv', 'jsonl', 'ndjson'] },
  tokenizer: { 'Tokenizer (tokenizer.json)': ['json'] },
};

export class TrainCommands {
  readonly live = new LiveRuns();
  readonly deps: RunPanelDeps;
  /** Runs any training-like job with the run panel (Distill's command starts its jobs here). */
  readonly runner: TrainingRunner;

  constructor(
    private readonly context: vscode.ExtensionContext,
    store: RunsStore,
    private readonly worker: WorkerClient,
    log: vscode.OutputChannel,
  ) {
    this.deps = { context, store, live: this.live, compare: (original, output, runFile) => compareModels([original, output], runFile ? [runFile] : undefined) };
    this.runner = new TrainingRunner({ ...this.deps, log });
  }

  private get workerPath(): string {
    return vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'worker.js').fsPath;
  }

  register(): vscode.Disposable[] {
    return [
      this.runner,
      vscode.commands.registerCommand('compressionLab.fineTuneModel', (arg?: unknown) => this.fineTune(arg)),
      vscode.window.registerWebviewPanelSerializer(RUN_VIEW, {
        deserializeWebviewPanel: async (panel, state) => { RunPanel.revive(panel, this.deps, state); },
      }),
    ];
  }

  /** Opens a saved (or running) training run in the run panel. */
  openRun(file: string): void {
    RunPanel.show(this.deps, { file });
  }

  fineTune(arg?: unknown): void {
    JobFormPanel.open(this.context, this.trainForm(targetModel(arg)));
  }

  private trainForm(model: string | undefined): JobFormController {
    const d = trainDefaultsFromSettings();
    const threads = trainThreadsFromSettings();
    const base: Partial<TrainOptions> = threads ? { threads } : {};
    const values = { ...initialTrainValues(d, { model, ...findData(model) }), ...(model ? defaultsForModel(model, undefined, d) : {}) };
    return {
      spec: trainFormSpec(model ? modelEntry(model).name : undefined),
      values,
      derive: (field, v) => this.derive(field, v, d),
      check: (v) => trainOptionsFromForm(v, base).problems,
      browse: (field, v) => this.browse(field, v),
      start: async (v) => {
        const c = trainOptionsFromForm(v, base);
        if (!c.options) return c.problems;
        this.startFineTune(c.options).catch((e: Error) => { void vscode.window.showErrorMessage(`Fine-tuning could not start: ${e.message}`); });
        return undefined;
      },
    };
  }

  private async derive(field: string, v: JobFormValues, d: TrainDefaults): Promise<{ values: JobFormValues; notes: Record<string, string> } | undefined> {
    if (field === 'optimizer') {
      const opt = v.optimizer === 'sgd' ? 'sgd' : 'adamw';
      return { values: { lr: numberText(opt === d.optimizer && d.lr !== undefined ? d.lr : defaultLr(opt)) }, notes: {} };
    }
    if (field === 'out') {
      const out = (v.out ?? '').trim();
      return { values: {}, notes: { out: out && isFile(out) ? 'This file exists: the run will replace it.' : '' } };
    }
    if (field !== 'model') return undefined;
    const model = (v.model ?? '').trim();
    if (!model || !isFile(model) || !model.toLowerCase().endsWith('.onnx')) return { values: {}, notes: { model: '' } };
    let facts: ModelFacts | undefined;
    let note: string;
    try {
      const card = await this.worker.request('inspect', { path: model, seq: d.maxLength }, { timeoutMs: 60_000 });
      const a = card.architecture;
      facts = { family: card.family, layers: a.layers, hiddenSize: a.hiddenSize, numLabels: a.numLabels, vocabSize: a.vocabSize, maxPositions: a.maxPositions };
      note = modelNote(facts);
    } catch (e) {
      note = `Could not be read: ${e instanceof UserError ? e.problem : (e as Error).message}`;
    }
    const out = defaultsForModel(model, facts, d);
    const outNote = existsSync(out.out) ? 'This file exists: the run will replace it.' : '';
    return { values: out, notes: { model: note, out: outNote } };
  }

  private async browse(field: string, v: JobFormValues): Promise<string | undefined> {
    const spec = TRAIN_FIELDS[field];
    if (!spec || spec.type !== 'file') return undefined;
    return browseField({ label: spec.label, save: spec.save, filters: FILTERS[field] }, (v[field] ?? '').trim(), (v.model ?? '').trim());
  }

  private async startFineTune(options: TrainOptions): Promise<void> {
    const settings = resolvedOptions(options);
    const timeoutMs = trainTimeoutMsFromSettings();
    await this.runner.run({
      kind: 'train', title: `Fine-tune ${modelEntry(settings.model).name}`, model: settings.model, out: settings.out, settings, doneVerb: 'Fine-tuned',
      comparison: { original: settings.model, output: settings.out },
      start: (jobOptions) => startTrainJob(this.workerPath, settings, { ...jobOptions, ...(timeoutMs ? { timeoutMs } : {}) }),
    });
  }
}
