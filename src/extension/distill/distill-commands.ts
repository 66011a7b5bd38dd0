// Compression Lab: Distill...: the form (on the explorer's or the card's teacher, or one picked in
// it), then the 'distill' job through the training runner (the live run panel, with the layer
// map its start report announces), and at the end the teacher and the student benchmarked with
// the benchmark settings and compared, accuracy columns from the run's record.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { RECIPES, type DistillOptions, type Recipe } from '../../core/distill/distill-options';
import { UserError } from '../../core/errors';
import { startDistillJob, resolvedOptions } from '../../host/train-job';
import type { JobFormValues } from '../../shared/protocol';
import type { BenchmarkCommands } from '../benchmark/benchmark-commands';
import type { WorkerClient } from '../worker-client';
import { modelEntry } from '../train/interim-record';
import { JobFormPanel, type JobFormController } from '../train/job-form-panel';
import { findData, targetModel } from '../train/targets';
import { browseField } from '../train/browse-field';
import { isFile } from '../train/form-checks';
import { modelNote, type ModelFacts, type TrainDefaults } from '../train/train-form';
import { trainDefaultsFromSettings, trainThreadsFromSettings, trainTimeoutMsFromSettings } from '../train/train-settings';
import type { TrainingRunner } from '../train/training-runner';
import {
  defaultStudentPath, defaultsForTeacher, DISTILL_FIELDS, distillFormSpec, distillOptionsFromForm, initialDistillValues, isTeacherPath, lrFor,
  recipeValues, RECIPE_NOTES, teacherLayersNote,
} from './distill-form';

const DATA_FILTER = { 'Data (TSV, CSV, JSONL)': ['tsv', 'csv', 'jsonl', 'ndjson'] };
const FILTERS: Record<string, Record<string, string[]>> = {
  teacher: { 'ONNX models': ['onnx'] }, out: { 'ONNX models': ['onnx'] },
  data: DATA_FILTER, eval: DATA_FILTER, tokenizer: { 'Tokenizer (tokenizer.json)': ['json'] },
};

const recipeOf = (v: JobFormValues): Recipe => ((RECIPES as readonly string[]).includes(v.recipe ?? '') ? (v.recipe as Recipe) : 'distilbert');

export class DistillCommands {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly runner: TrainingRunner,
    private readonly worker: WorkerClient,
    private readonly benchmarks: BenchmarkCommands,
  ) {}

  private get workerPath(): string {
    return vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'worker.js').fsPath;
  }

  register(): vscode.Disposable[] {
    return [vscode.commands.registerCommand('compressionLab.distillModel', (arg?: unknown) => this.open(arg))];
  }

  open(arg?: unknown): void {
    JobFormPanel.open(this.context, this.form(targetModel(arg)));
  }

  private form(teacher: string | undefined): JobFormController {
    const d = trainDefaultsFromSettings();
    const threads = trainThreadsFromSettings();
    const base: Partial<DistillOptions> = threads ? { threads } : {};
    // What the worker last said about the teacher the form names: the shape checks and defaults read it.
    let facts: { teacher: string; facts?: ModelFacts } | undefined;
    const factsFor = (v: JobFormValues) => (facts && facts.teacher === (v.teacher ?? '').trim() ? facts.facts : undefined);
    const values = {
      ...initialDistillValues(d, { teacher, ...findData(teacher) }),
      ...(teacher ? defaultsForTeacher(teacher, 'distilbert', undefined, d) : {}),
    };
    return {
      spec: distillFormSpec(teacher ? modelEntry(teacher).name : undefined),
      values,
      primaryField: 'teacher',
      notes: { recipe: RECIPE_NOTES.distilbert },
      derive: async (field, v) => {
        const r = await this.derive(field, v, d, factsFor(v));
        if (r?.facts) facts = r.facts;
        return r && { values: r.values, notes: r.notes };
      },
      check: (v) => distillOptionsFromForm(v, base, factsFor(v)).problems,
      browse: (field, v) => this.browse(field, v),
      start: async (v) => {
        const c = distillOptionsFromForm(v, base, factsFor(v));
        if (!c.options) return c.problems;
        this.startDistill(c.options).catch((e: Error) => { void vscode.window.showErrorMessage(`Distillation could not start: ${e.message}`); });
        return undefined;
      },
    };
  }

  private async derive(field: string, v: JobFormValues, d: TrainDefaults, known: ModelFacts | undefined): Promise<{ values: JobFormValues; notes: Record<string, string>; facts?: { teacher: string; facts?: ModelFacts } } | undefined> {
    const recipe = recipeOf(v);
    const teacher = (v.teacher ?? '').trim();
    switch (field) {
      case 'optimizer': return { values: { lr: lrFor(v.optimizer ?? '', d) }, notes: {} };
      case 'out': {
        const out = (v.out ?? '').trim();
        return { values: {}, notes: { out: out && isFile(out) ? 'This file exists: the run will replace it.' : '' } };
      }
      case 'layers': return { values: {}, notes: { teacherLayers: teacherLayersNote(known, v.layers ?? '') } };
      case 'recipe': {
        // The student's file is named after its recipe while the user has not named it.
        const values: JobFormValues = { ...recipeValues(recipe, known), ...(teacher && isTeacherPath(teacher) ? { out: defaultStudentPath(teacher, recipe) } : {}) };
        return { values, notes: { recipe: RECIPE_NOTES[recipe], teacherLayers: teacherLayersNote(known, values.layers ?? '') } };
      }
      case 'teacher': break;
      default: return undefined;
    }
    if (!teacher || !isTeacherPath(teacher)) return { values: {}, notes: { teacher: '' }, facts: { teacher } };
    let facts: ModelFacts | undefined;
    let note: string;
    try {
      const card = await this.worker.request('inspect', { path: teacher, seq: d.maxLength }, { timeoutMs: 60_000 });
      const a = card.architecture;
      facts = { family: card.family, layers: a.layers, hiddenSize: a.hiddenSize, numHeads: a.numHeads, numLabels: a.numLabels, vocabSize: a.vocabSize, maxPositions: a.maxPositions };
      note = modelNote(facts);
    } catch (e) {
      note = `Could not be read: ${e instanceof UserError ? e.problem : (e as Error).message}`;
    }
    const values = defaultsForTeacher(teacher, recipe, facts, d);
    return {
      values,
      notes: { teacher: note, out: existsSync(values.out) ? 'This file exists: the run will replace it.' : '', recipe: RECIPE_NOTES[recipe], teacherLayers: teacherLayersNote(facts, values.layers ?? '') },
      facts: { teacher, facts },
    };
  }

  private async browse(field: string, v: JobFormValues): Promise<string | undefined> {
    const spec = DISTILL_FIELDS[field];
    if (!spec || spec.type !== 'file') return undefined;
    return browseField({ label: spec.label, save: spec.save, filters: FILTERS[field], ...(field === 'hfOut' ? { folder: 'Write the student here' } : {}) }, (v[field] ?? '').trim(), (v.teacher ?? '').trim());
  }

  private async startDistill(options: DistillOptions): Promise<void> {
    const settings = resolvedOptions(options);
    const timeoutMs = trainTimeoutMsFromSettings();
    const teacherName = modelEntry(settings.teacher).name;
    await this.runner.run({
      kind: 'distill', title: `Distill ${teacherName}`, model: settings.teacher, out: settings.out, settings, doneVerb: 'Distilled',
      comparison: { original: settings.teacher, output: settings.out },
      start: (jobOptions) => startDistillJob(this.workerPath, settings, { ...jobOptions, ...(timeoutMs ? { timeoutMs } : {}) }),
      onEnd: (record, runFile) => {
        // A Hugging Face folder as the teacher has no ONNX file to benchmark.
        if (record.status !== 'complete' || !existsSync(settings.out) || !/\.onnx$/i.test(settings.teacher) || !existsSync(settings.teacher)) return;
        // Teacher first: the baseline whose speed, size and accuracy the student is read against.
        void this.benchmarks.compareFiles([settings.teacher, settings.out], undefined, {
          title: `Compare: ${teacherName} vs ${modelEntry(settings.out).name}`, ...(runFile ? { accuracyRuns: [runFile] } : {}),
        });
      },
    });
  }
}
