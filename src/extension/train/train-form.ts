// The Fine-tune form: its fields, the values it opens with, and the check that turns what the
// user typed into TrainOptions or into problems by field. The core's own checks
// (checkTrainOptions, the output guard) decide what is valid, so the form and the CLI can never
// disagree; this module adds only what a form needs on top: text to numbers, files that must
// exist, and every problem at once rather than the first. No vscode import: tested in Node.
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import * as path from 'node:path';
import type { OptionsError } from '../../core/errors';
import { SCHEDULES } from '../../core/training/optim/schedule';
import { checkTrainOptions, defaultLr, type TrainOptions } from '../../core/training/train-options';
import { isFile, pathProblem, probeOptions, trainingPathProblem } from './form-checks';
import type { JobFormField, JobFormProblems, JobFormSpec, JobFormValues } from '../../shared/protocol';

/** What the `compressionLab.train.*` settings give a new form. */
export interface TrainDefaults {
  optimizer: 'adamw' | 'sgd';
  /** Undefined: the optimizer's own default (5e-5 for AdamW, 1e-2 for SGD). */
  lr?: number;
  schedule: string;
  epochs: number;
  /** 0: train for `epochs`. */
  maxSteps: number;
  batchSize: number;
  maxLength: number;
  warmupRatio: number;
  seed: number;
}

const DATA_HINT = 'TSV, CSV or JSONL: a text column and a label, or pre-tokenized input_ids';

export const TRAIN_FIELDS: Record<string, JobFormField> = {
  model: { id: 'model', label: 'Model (ONNX)', type: 'file', required: true, hint: 'The sequence classifier to fine-tune' },
  data: { id: 'data', label: 'Training data', type: 'file', required: true, hint: DATA_HINT },
  eval: { id: 'eval', label: 'Evaluation data', type: 'file', hint: 'Optional; evaluated after each epoch and at the end' },
  tokenizer: { id: 'tokenizer', label: 'Tokenizer', type: 'file', hint: 'tokenizer.json; not needed for pre-tokenized data' },
  out: { id: 'out', label: 'Output model', type: 'file', required: true, save: true, hint: 'Written at the end, and when the run is cancelled' },
  optimizer: { id: 'optimizer', label: 'Optimizer', type: 'choice', options: [{ value: 'adamw', label: 'AdamW' }, { value: 'sgd', label: 'SGD' }] },
  lr: { id: 'lr', label: 'Learning rate', type: 'number' },
  schedule: { id: 'schedule', label: 'Schedule', type: 'choice', options: SCHEDULES.map((s) => ({ value: s, label: s.replace(/_/g, ' ') })) },
  warmupRatio: { id: 'warmupRatio', label: 'Warm-up ratio', type: 'number', hint: 'Share of the steps spent warming the learning rate up' },
  length: { id: 'length', label: 'Train for', type: 'choice', radio: true, options: [{ value: 'epochs', label: 'Epochs' }, { value: 'maxSteps', label: 'Max steps' }] },
  epochs: { id: 'epochs', label: 'Epochs', type: 'number', showWhen: { field: 'length', value: 'epochs' } },
  maxSteps: { id: 'maxSteps', label: 'Max steps', type: 'number', showWhen: { field: 'length', value: 'maxSteps' } },
  batchSize: { id: 'batchSize', label: 'Batch size', type: 'number' },
  maxLength: { id: 'maxLength', label: 'Max length (tokens)', type: 'number' },
  seed: { id: 'seed', label: 'Seed', type: 'number' },
};

export function trainFormSpec(modelName?: string): JobFormSpec {
  const f = TRAIN_FIELDS;
  return {
    kind: 'train',
    title: modelName ? `Fine-tune ${modelName}` : 'Fine-tune a model',
    intro: 'Trains every weight of an ONNX sequence classifier on labelled data, in a worker process; the run is shown live and saved in the Runs view.',
    submitLabel: 'Start fine-tuning',
    sections: [
      { title: 'Model and data', fields: [f.model, f.data, f.eval, f.tokenizer, f.out] },
      { title: 'Hyperparameters', fields: [f.optimizer, f.lr, f.schedule, f.warmupRatio, f.length, f.epochs, f.maxSteps, f.batchSize, f.maxLength, f.seed] },
    ],
  };
}

/** Numbers as a person would type them: 0.00005 as 5e-05. */
export function numberText(x: number): string {
  return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential().replace(/\.?0+e/, 'e') : String(x);
}

export function initialTrainValues(d: TrainDefaults, files: Partial<Record<'model' | 'data' | 'eval' | 'tokenizer' | 'out', string>> = {}): JobFormValues {
  return {
    model: files.model ?? '', data: files.data ?? '', eval: files.eval ?? '', tokenizer: files.tokenizer ?? '', out: files.out ?? '',
    optimizer: d.optimizer, lr: numberText(d.lr ?? defaultLr(d.optimizer)), schedule: d.schedule, warmupRatio: String(d.warmupRatio),
    length: d.maxSteps > 0 ? 'maxSteps' : 'epochs', epochs: String(d.epochs), maxSteps: String(d.maxSteps > 0 ? d.maxSteps : 1000),
    batchSize: String(d.batchSize), maxLength: String(d.maxLength), seed: String(d.seed),
  };
}

/** What the model card says about a model that the form uses. */
export interface ModelFacts {
  family?: string;
  layers?: number;
  hiddenSize?: number;
  numHeads?: number;
  numLabels?: number;
  vocabSize?: number;
  maxPositions?: number;
}

export function modelNote(f: ModelFacts): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    f.family, f.layers !== undefined ? `${f.layers} layer${f.layers === 1 ? '' : 's'}` : undefined,
    f.hiddenSize !== undefined ? `hidden ${f.hiddenSize}` : undefined,
    f.numHeads !== undefined ? `${f.numHeads} head${f.numHeads === 1 ? '' : 's'}` : undefined,
    f.numLabels !== undefined ? `${f.numLabels} label${f.numLabels === 1 ? '' : 's'} (0..${f.numLabels - 1})` : undefined,
    f.vocabSize !== undefined ? `vocabulary ${n(f.vocabSize)}` : undefined,
    f.maxPositions !== undefined ? `${n(f.maxPositions)} positions` : undefined,
  ].filter(Boolean).join(' · ');
}

/** `bert-mini/model.onnx` -> `bert-mini/bert-mini-finetuned.onnx`; never a file that exists. */
export function defaultOutPath(model: string, exists: (file: string) => boolean = existsSync): string {
  const dir = path.dirname(model);
  const base = path.basename(model).toLowerCase() === 'model.onnx' ? path.basename(dir) : path.basename(model).replace(/\.onnx$/i, '');
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${base}-finetuned${i === 1 ? '' : `-${i}`}.onnx`);
    if (!exists(file)) return file;
  }
}

/** Values that follow from the model: the output beside it, its tokenizer, a max length it can take. */
export function defaultsForModel(model: string, facts: ModelFacts | undefined, d: TrainDefaults, exists: (file: string) => boolean = existsSync): JobFormValues {
  const out: JobFormValues = { out: defaultOutPath(model, exists) };
  const tokenizer = path.join(path.dirname(model), 'tokenizer.json');
  if (exists(tokenizer)) out.tokenizer = tokenizer;
  if (facts?.maxPositions) out.maxLength = String(Math.min(d.maxLength, facts.maxPositions));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checking

const NUMBER_FIELDS = ['lr', 'warmupRatio', 'epochs', 'maxSteps', 'batchSize', 'maxLength', 'seed'] as const;
const FILE_FIELDS = ['model', 'data', 'eval', 'tokenizer', 'out'] as const;

function labelOf(id: string): string {
  return TRAIN_FIELDS[id]?.label ?? id;
}

/** The core says `option 'lr' must be...`; beside the field the name is already there. */
export function reword(e: OptionsError): string {
  const problem = e.problem.replace(new RegExp(`^option '${e.option}' `), '');
  return problem.replace(/option '(\w+)'/g, (_m, id: string) => `"${labelOf(id)}"`);
}

export function parseNumber(text: string): number | undefined | 'bad' {
  const t = text.trim();
  if (!t) return undefined;
  const x = Number(t);
  return Number.isFinite(x) ? x : 'bad';
}


/** The first line of a data file, for a cheap look at what kind of rows it holds. */
export function firstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split(/\r?\n/).find((l) => l.trim()) ?? '';
  } finally {
    closeSync(fd);
  }
}

export interface FormCheck {
  options?: TrainOptions;
  problems: JobFormProblems;
}

export function hasProblems(p: JobFormProblems): boolean {
  return !!p.form || Object.keys(p.fields).length > 0;
}

/**
 * TrainOptions from the form's text, or every problem found: each field's own (a number that is
 * not one, a file that is not there) and the core's range and conflict checks, by field.
 * `base` holds what the form does not show (threads).
 */
export function trainOptionsFromForm(values: JobFormValues, base: Partial<TrainOptions> = {}): FormCheck {
  const fields: Record<string, string> = {};
  const v = (k: string) => (values[k] ?? '').trim();
  const o: TrainOptions = { ...base, model: v('model'), data: v('data'), out: v('out') } as TrainOptions;
  for (const k of ['eval', 'tokenizer'] as const) if (v(k)) o[k] = v(k);
  if (v('optimizer')) o.optimizer = v('optimizer') as TrainOptions['optimizer'];
  if (v('schedule')) o.schedule = v('schedule') as TrainOptions['schedule'];
  const byEpochs = v('length') !== 'maxSteps';
  for (const k of NUMBER_FIELDS) {
    if ((k === 'epochs' && !byEpochs) || (k === 'maxSteps' && byEpochs)) continue;
    const x = parseNumber(v(k));
    if (x === 'bad') fields[k] = `must be a number (got '${v(k)}')`;
    else if (x !== undefined) o[k] = x;
  }

  for (const k of FILE_FIELDS) {
    const file = v(k);
    if (!file) {
      if (TRAIN_FIELDS[k].required) fields[k] = 'is required';
      continue;
    }
    const problem = pathProblem(file, k === 'out' ? { output: 'the output' } : k === 'data' || k === 'eval' ? 'data' : k === 'tokenizer' ? 'tokenizer' : 'input');
    if (problem) fields[k] = problem;
    else if (k === 'model' && !/\.onnx$/i.test(file)) fields[k] = 'fine-tuning takes an ONNX model (.onnx)';
  }
  // Text rows need a tokenizer; pre-tokenized ones (input_ids) do not. The job would say so too,
  // but only after the model is read: say it here, beside the field.
  if (!o.tokenizer && !fields.data && !fields.tokenizer && isFile(o.data) && !/input_ids/.test(firstLine(o.data))) {
    fields.tokenizer = 'the training data holds text (no input_ids column): give the tokenizer.json to tokenize it';
  }

  let form: string | undefined;
  // The core stops at the first problem; taking each problem's option out and asking again lists them all.
  const probe: Record<string, unknown> = { ...o };
  for (const k of ['model', 'data', 'out']) if (!probe[k]) probe[k] = `/required/${k}`;
  for (const k of Object.keys(fields)) if (!['model', 'data', 'out'].includes(k)) delete probe[k];
  const other = probeOptions(probe, (x) => checkTrainOptions(x as unknown as TrainOptions), (e) => {
    fields[e.option] ??= reword(e);
    return true;
  });
  if (other) form = other.message;
  if (!form && !fields.model && !fields.data && !fields.out && !fields.eval && !fields.tokenizer) {
    form = trainingPathProblem(o, [{ role: 'the model', file: o.model }], fields);
  }
  const problems: JobFormProblems = { fields, ...(form ? { form } : {}) };
  return hasProblems(problems) ? { problems } : { options: o, problems };
}
