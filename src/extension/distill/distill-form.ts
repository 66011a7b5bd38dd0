// The Distill form: its fields (teacher, data, output, the recipe and the student shape and loss
// weights that recipe takes, then the training settings), the values it opens with (taken from
// the teacher: half its layers, half its width...), and the check that turns what the user typed
// into DistillOptions or into problems by field. The core decides what is valid
// (checkDistillOptions, the output guard); this adds what a form needs: text to numbers, files
// that must exist, the student's shape against the teacher's (the job would refuse it too, but
// only after reading the teacher), and every problem at once. No vscode import: tested in Node.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { checkDistillOptions, DISTILL_DEFAULTS, RECIPES, type DistillOptions, type Recipe } from '../../core/distill/distill-options';
import { evenlySpacedLayers } from '../../core/distill/layer-map';
import { HIDDEN_ACTS, type HiddenAct } from '../../core/onnx/bert-builder';
import type { OptionsError } from '../../core/errors';
import { defaultLr } from '../../core/training/train-options';
import type { JobFormField, JobFormProblems, JobFormSpec, JobFormValues } from '../../shared/protocol';
import { isFile, pathProblem, probeOptions, trainingPathProblem } from '../train/form-checks';
import {
  firstLine, hasProblems, initialTrainValues, numberText, parseNumber, TRAIN_FIELDS, type ModelFacts, type TrainDefaults,
} from '../train/train-form';

export const RECIPE_LABELS: Record<Recipe, string> = {
  distilbert: 'DistilBERT-style', tinybert: 'TinyBERT-style', albert: 'ALBERT-style', mobilebert: 'MobileBERT-style',
};

const ACTIVATION_LABELS: Record<HiddenAct, string> = { gelu: 'GELU (BERT\'s)', gelu_new: 'GELU, tanh approximation', relu: 'ReLU (cheapest; int8 gains more)' };

/** What each recipe does, under the recipe choice. */
export const RECIPE_NOTES: Record<Recipe, string> = {
  distilbert: 'Keeps some of the teacher\'s layers (copied), trained on its soft targets, the labels and its last hidden states.',
  tinybert: 'A fresh, shallower and narrower student: stage 1 learns the teacher\'s hidden states and attention layer by layer, stage 2 its predictions.',
  albert: 'The teacher\'s depth and width with one set of layer weights per group, shared by every layer in it, and factorised embeddings.',
  mobilebert: 'Narrow bottleneck blocks with stacked feed-forward networks: stage 1 transfers feature maps and attention, stage 2 the predictions.',
};

const only = (...recipes: Recipe[]) => ({ field: 'recipe', value: recipes });

export const DISTILL_FIELDS: Record<string, JobFormField> = {
  teacher: { id: 'teacher', label: 'Teacher (ONNX)', type: 'file', required: true, hint: 'The sequence classifier to compress' },
  data: { ...TRAIN_FIELDS.data, hint: 'TSV, CSV or JSONL: text (or pre-tokenized input_ids) with labels, or without labels to learn from the teacher alone' },
  eval: { ...TRAIN_FIELDS.eval, hint: 'Optional; the student is evaluated against the labels and the teacher before training, after each epoch and at the end' },
  tokenizer: TRAIN_FIELDS.tokenizer,
  out: { ...TRAIN_FIELDS.out, label: 'Student model', hint: 'Written at the end, and when the run is cancelled' },
  hfOut: { id: 'hfOut', label: 'Hugging Face folder', type: 'file', save: true, hint: 'Optional; also writes the student as a folder transformers loads (a new or empty folder)' },
  recipe: { id: 'recipe', label: 'Recipe', type: 'choice', radio: true, options: RECIPES.map((r) => ({ value: r, label: RECIPE_LABELS[r] })) },
  layers: { id: 'layers', label: 'Student layers', type: 'number' },
  teacherLayers: { id: 'teacherLayers', label: 'Teacher layers kept', type: 'text', placeholder: 'evenly spaced', hint: 'Counted from 0, e.g. 0,2,4; empty: evenly spaced, first and last kept', showWhen: only('distilbert') },
  hidden: { id: 'hidden', label: 'Hidden size', type: 'number', showWhen: only('tinybert') },
  heads: { id: 'heads', label: 'Attention heads', type: 'number', hint: 'The teacher\'s, for attention transfer', showWhen: only('tinybert') },
  embedding: { id: 'embedding', label: 'Embedding size', type: 'number', hint: 'Factorised: vocabulary x E, then E x hidden', showWhen: only('albert', 'mobilebert') },
  groups: { id: 'groups', label: 'Layer groups', type: 'number', hint: 'One shared set of layer weights per group', showWhen: only('albert') },
  shareInit: { id: 'shareInit', label: 'Shared layer starts from', type: 'choice', options: [{ value: 'mean', label: 'the mean of its teacher layers' }, { value: 'first', label: 'the first of its teacher layers' }], showWhen: only('albert') },
  bottleneck: { id: 'bottleneck', label: 'Bottleneck width', type: 'number', hint: 'Divisible by the teacher\'s heads', showWhen: only('mobilebert') },
  ffns: { id: 'ffns', label: 'Feed-forward networks', type: 'number', hint: 'Stacked in each block', showWhen: only('mobilebert') },
  intermediate: { id: 'intermediate', label: 'Feed-forward size', type: 'number', showWhen: only('tinybert', 'mobilebert') },
  activation: { id: 'activation', label: 'Feed-forward activation', type: 'choice', options: HIDDEN_ACTS.map((a) => ({ value: a, label: ACTIVATION_LABELS[a] })), showWhen: only('tinybert') },
  progressive: { id: 'progressive', label: 'Stage 1 transfer', type: 'choice', options: [{ value: 'no', label: 'all layers at once' }, { value: 'yes', label: 'progressive: one layer a stage' }], showWhen: only('mobilebert') },
  stage1Length: { id: 'stage1Length', label: 'Stage 1 length', type: 'number', placeholder: 'as the whole run', hint: 'Empty: as long as training below', showWhen: only('tinybert', 'mobilebert') },
  stage1Unit: { id: 'stage1Unit', label: 'Stage 1 counts', type: 'choice', options: [{ value: 'epochs', label: 'epochs' }, { value: 'steps', label: 'steps' }], showWhen: only('tinybert', 'mobilebert') },
  stage1Lr: { id: 'stage1Lr', label: 'Stage 1 learning rate', type: 'number', placeholder: 'as below', showWhen: only('tinybert', 'mobilebert') },
  temperature: { id: 'temperature', label: 'Temperature', type: 'number', hint: 'Softens both models\' logits' },
  alphaKd: { id: 'alphaKd', label: 'Weight: soft targets (KD)', type: 'number', showWhen: only('distilbert', 'albert', 'mobilebert') },
  alphaCe: { id: 'alphaCe', label: 'Weight: labels (CE)', type: 'number', showWhen: only('distilbert', 'albert', 'mobilebert') },
  alphaCos: { id: 'alphaCos', label: 'Weight: hidden cosine', type: 'number', showWhen: only('distilbert') },
  alphaHidden: { id: 'alphaHidden', label: 'Weight: hidden MSE', type: 'number', showWhen: only('albert') },
};

export function distillFormSpec(teacherName?: string): JobFormSpec {
  const f = DISTILL_FIELDS;
  const t = TRAIN_FIELDS;
  return {
    kind: 'distill',
    title: teacherName ? `Distill ${teacherName}` : 'Distill a model',
    intro: 'Trains a smaller student on the teacher\'s outputs, in a worker process; the run is shown live, saved in the Runs view, and the student is then benchmarked against the teacher.',
    submitLabel: 'Start distillation',
    sections: [
      { title: 'Teacher and data', fields: [f.teacher, f.data, f.eval, f.tokenizer, f.out, f.hfOut] },
      { title: 'Recipe and student', fields: [f.recipe, f.layers, f.teacherLayers, f.hidden, f.heads, f.embedding, f.groups, f.shareInit, f.bottleneck, f.ffns, f.intermediate, f.activation, f.progressive, f.stage1Length, f.stage1Unit, f.stage1Lr] },
      { title: 'Loss', fields: [f.temperature, f.alphaKd, f.alphaCe, f.alphaCos, f.alphaHidden] },
      { title: 'Training', fields: [t.optimizer, t.lr, t.schedule, t.warmupRatio, t.length, t.epochs, t.maxSteps, t.batchSize, t.maxLength, t.seed] },
    ],
  };
}

/** `tiny/model.onnx` -> `tiny/tiny-albert.onnx`; never a file that exists. */
export function defaultStudentPath(teacher: string, recipe: Recipe, exists: (file: string) => boolean = existsSync): string {
  const dir = path.dirname(teacher);
  const base = path.basename(teacher).toLowerCase() === 'model.onnx' ? path.basename(dir) : path.basename(teacher).replace(/\.onnx$/i, '');
  for (let i = 1; ; i++) {
    const file = path.join(dir, `${base}-${recipe}${i === 1 ? '' : `-${i}`}.onnx`);
    if (!exists(file)) return file;
  }
}

/** The student's shape the recipe would choose for this teacher (students.ts), as the form's numbers. */
export function shapeDefaults(recipe: Recipe, t: ModelFacts | undefined): JobFormValues {
  const d: Record<string, number | string> = { ...DISTILL_DEFAULTS[recipe] };
  const N = t?.layers;
  const H = t?.hiddenSize;
  const heads = t?.numHeads;
  if (recipe === 'distilbert' || recipe === 'tinybert') { if (N) d.layers = Math.max(1, Math.floor(N / 2)); }
  else if (N) d.layers = N;
  if (recipe === 'tinybert' && H) {
    const hidden = Math.max(8, Math.floor(H / 2));
    d.hidden = hidden;
    if (heads) d.heads = heads;
    d.intermediate = hidden * 4;
    d.activation = 'gelu';
  }
  if (recipe === 'albert') {
    if (H) d.embedding = Math.max(8, Math.floor(H / 2));
    d.groups = 1;
    d.shareInit = 'mean';
  }
  if (recipe === 'mobilebert' && H) {
    const B = Math.max(8, Math.floor(H / 4));
    d.bottleneck = B;
    d.embedding = Math.max(8, Math.floor(H / 2));
    d.intermediate = 4 * B;
    d.ffns = 2;
    d.progressive = 'no';
  }
  const out: JobFormValues = {};
  for (const [k, v] of Object.entries(d)) out[k] = typeof v === 'number' ? numberText(v) : v;
  return out;
}

/** Every recipe-dependent field: switching recipe refills those the user has not typed in. */
export const SHAPE_FIELDS = ['layers', 'hidden', 'heads', 'intermediate', 'activation', 'embedding', 'groups', 'shareInit', 'bottleneck', 'ffns', 'progressive', 'temperature', 'alphaKd', 'alphaCe', 'alphaCos', 'alphaHidden'] as const;

/** The shape defaults for `recipe`, with the fields it does not use emptied. */
export function recipeValues(recipe: Recipe, t: ModelFacts | undefined): JobFormValues {
  const shape = shapeDefaults(recipe, t);
  return Object.fromEntries(SHAPE_FIELDS.map((k) => [k, shape[k] ?? ''])) as JobFormValues;
}

export function initialDistillValues(d: TrainDefaults, files: Partial<Record<'teacher' | 'data' | 'eval' | 'tokenizer' | 'out', string>> = {}, recipe: Recipe = 'distilbert'): JobFormValues {
  const train = initialTrainValues(d, { data: files.data, eval: files.eval, tokenizer: files.tokenizer, out: files.out });
  delete train.model;
  return {
    teacher: files.teacher ?? '', ...train, hfOut: '', recipe, teacherLayers: '', stage1Length: '', stage1Unit: 'epochs', stage1Lr: '',
    ...recipeValues(recipe, undefined),
  };
}

/** Values that follow from the teacher and recipe: the student beside the teacher, its tokenizer, the shape, a max length it takes. */
export function defaultsForTeacher(teacher: string, recipe: Recipe, facts: ModelFacts | undefined, d: TrainDefaults, exists: (file: string) => boolean = existsSync): JobFormValues {
  const out: JobFormValues = { out: defaultStudentPath(teacher, recipe, exists), ...recipeValues(recipe, facts) };
  const tokenizer = path.join(path.dirname(teacher), 'tokenizer.json');
  if (exists(tokenizer)) out.tokenizer = tokenizer;
  if (facts?.maxPositions) out.maxLength = String(Math.min(d.maxLength, facts.maxPositions));
  return out;
}

/** The teacher layers a DistilBERT-style student of `layers` keeps when the field is left empty, in words. */
export function teacherLayersNote(facts: ModelFacts | undefined, layersText: string): string {
  const N = facts?.layers;
  const k = Number(layersText.trim() || (N ? Math.floor(N / 2) : NaN));
  if (!N || !Number.isInteger(k) || k < 1 || k > N) return '';
  return `Empty keeps ${evenlySpacedLayers(N, k).join(', ')} of the teacher's 0..${N - 1}`;
}

// ---------------------------------------------------------------------------------------------
// Checking

/** Form fields of the core's options: the option a core error names -> the field it shows beside. */
const OPTION_FIELD: Record<string, string> = { stage1Epochs: 'stage1Length', stage1Steps: 'stage1Length' };
const NUMBER_OPTIONS = ['layers', 'hidden', 'heads', 'intermediate', 'embedding', 'groups', 'bottleneck', 'ffns', 'temperature', 'alphaKd', 'alphaCe', 'alphaCos', 'alphaHidden', 'stage1Lr'] as const;
const TRAIN_NUMBERS = ['lr', 'warmupRatio', 'epochs', 'maxSteps', 'batchSize', 'maxLength', 'seed'] as const;
const FILE_FIELDS = ['teacher', 'data', 'eval', 'tokenizer', 'out', 'hfOut'] as const;

function labelOf(id: string): string {
  return DISTILL_FIELDS[id]?.label ?? TRAIN_FIELDS[id]?.label ?? id;
}

/** The core says `option 'layers' must be...`; beside the field its name is already there. */
function reword(e: OptionsError): string {
  const problem = e.problem.replace(new RegExp(`^option '${e.option}' `), '');
  const label = (id: string) => `"${labelOf(OPTION_FIELD[id] ?? id)}"`;
  return problem
    .replace(/options '(\w+)' and '(\w+)'/g, (_m, a: string, b: string) => `${label(a)} and ${label(b)}`)
    .replace(/option '(\w+)'/g, (_m, id: string) => label(id));
}

/** Whether a field applies to the chosen recipe (a hidden field's text is not an option). */
function applies(field: string, recipe: string): boolean {
  const when = DISTILL_FIELDS[field]?.showWhen;
  return !when || (typeof when.value === 'string' ? when.value === recipe : when.value.includes(recipe));
}

/**
 * The student's shape against the teacher's, as the recipe's student builder checks it (same
 * words), so a student that cannot be built is said beside its field before any work.
 */
export function shapeProblems(o: DistillOptions, t: ModelFacts | undefined): Record<string, string> {
  const p: Record<string, string> = {};
  if (!t) return p;
  const N = t.layers;
  const H = t.hiddenSize;
  const heads = t.numHeads;
  if (t.family === 'albert' && o.recipe === 'distilbert') p.recipe = 'the teacher shares one set of layer weights (ALBERT): a student with fewer layers keeps the same weights; use the tinybert recipe for a smaller student';
  if (N && o.layers !== undefined && o.layers > N && o.recipe !== 'albert') p.layers = `must be at most the teacher's ${N} layers (got ${o.layers})`;
  if (o.recipe === 'distilbert' && N && o.teacherLayers) {
    const l = o.teacherLayers;
    const out = l.find((x) => x >= N);
    if (out !== undefined) p.teacherLayers = `layer ${out} is outside the teacher's layers 0..${N - 1}`;
    else if (new Set(l).size !== l.length) p.teacherLayers = `names a layer twice (${l.join(',')})`;
    else if (l.some((x, i) => i > 0 && x < l[i - 1])) p.teacherLayers = `must be in increasing order (${l.join(',')})`;
    else if (o.layers !== undefined && o.layers !== l.length) p.teacherLayers = `names ${l.length} layers but "Student layers" asks for ${o.layers}`;
  }
  if (o.recipe === 'tinybert' && H) {
    const hidden = o.hidden ?? Math.max(8, Math.floor(H / 2));
    if (o.hidden !== undefined && o.hidden > H) p.hidden = `must be at most the teacher's width ${H}: the projection W maps the student's hidden states up to the teacher's (got ${o.hidden})`;
    const h = o.heads ?? heads;
    if (h && hidden % h !== 0) p[o.heads !== undefined ? 'heads' : 'hidden'] = o.heads !== undefined ? `must divide the student's width ${hidden} (got ${h})` : `must be a multiple of the ${h} heads`;
  }
  if (o.recipe === 'albert') {
    const layers = o.layers ?? N;
    if (H && o.embedding !== undefined && o.embedding >= H) p.embedding = `must be below the teacher's width ${H}: factorised embeddings are narrower than the body (got ${o.embedding})`;
    if (layers && o.groups !== undefined && layers % o.groups !== 0) p.groups = `must divide the student's ${layers} layers (got ${o.groups})`;
  }
  if (o.recipe === 'mobilebert' && H && o.bottleneck !== undefined) {
    if (o.bottleneck >= H) p.bottleneck = `must be below the teacher's width ${H} (got ${o.bottleneck})`;
    else if (heads && o.bottleneck % heads !== 0) p.bottleneck = `must be divisible by the teacher's ${heads} heads, which the student keeps for attention transfer (got ${o.bottleneck})`;
  }
  return p;
}

export interface DistillFormCheck {
  options?: DistillOptions;
  problems: JobFormProblems;
}

/**
 * DistillOptions from the form's text, or every problem found, each beside its field: numbers
 * that are not, files that are not there, the core's range and conflict checks, the output guard,
 * and the shape against the teacher when its facts are known. Only the chosen recipe's fields
 * become options. `base` holds what the form does not show (threads).
 */
export function distillOptionsFromForm(values: JobFormValues, base: Partial<DistillOptions> = {}, teacher?: ModelFacts): DistillFormCheck {
  const fields: Record<string, string> = {};
  const v = (k: string) => (values[k] ?? '').trim();
  const recipe = (RECIPES as readonly string[]).includes(v('recipe')) ? (v('recipe') as Recipe) : undefined;
  if (!recipe) fields.recipe = `choose one of ${RECIPES.map((r) => RECIPE_LABELS[r]).join(', ')}`;
  const o = { ...base, recipe: recipe ?? 'distilbert', teacher: v('teacher'), data: v('data'), out: v('out') } as DistillOptions;
  for (const k of ['eval', 'tokenizer', 'hfOut'] as const) if (v(k)) o[k] = v(k);
  if (v('optimizer')) o.optimizer = v('optimizer') as DistillOptions['optimizer'];
  if (v('schedule')) o.schedule = v('schedule') as DistillOptions['schedule'];

  const byEpochs = v('length') !== 'maxSteps';
  const numbers = o as unknown as Record<string, number>;
  for (const k of TRAIN_NUMBERS) {
    if ((k === 'epochs' && !byEpochs) || (k === 'maxSteps' && byEpochs)) continue;
    const x = parseNumber(v(k));
    if (x === 'bad') fields[k] = `must be a number (got '${v(k)}')`;
    else if (x !== undefined) numbers[k] = x;
  }
  for (const k of NUMBER_OPTIONS) {
    if (!applies(k, o.recipe)) continue;
    const x = parseNumber(v(k));
    if (x === 'bad') fields[k] = `must be a number (got '${v(k)}')`;
    else if (x !== undefined) numbers[k] = x;
  }
  if (applies('stage1Length', o.recipe) && v('stage1Length')) {
    const x = parseNumber(v('stage1Length'));
    if (x === 'bad') fields.stage1Length = `must be a number (got '${v('stage1Length')}')`;
    else if (x !== undefined) numbers[v('stage1Unit') === 'steps' ? 'stage1Steps' : 'stage1Epochs'] = x;
  }
  if (applies('shareInit', o.recipe) && v('shareInit')) o.shareInit = v('shareInit') as DistillOptions['shareInit'];
  if (applies('activation', o.recipe) && v('activation')) o.activation = v('activation') as DistillOptions['activation'];
  if (applies('progressive', o.recipe) && v('progressive') === 'yes') o.progressive = true;
  if (applies('teacherLayers', o.recipe) && v('teacherLayers')) {
    const parts = v('teacherLayers').split(/[\s,]+/).filter(Boolean);
    const layers = parts.map(Number);
    if (layers.some((l) => !Number.isInteger(l) || l < 0)) fields.teacherLayers = `must be layer numbers from 0, comma-separated, e.g. 0,2,4 (got '${v('teacherLayers')}')`;
    else o.teacherLayers = layers;
  }

  for (const k of FILE_FIELDS) {
    const file = v(k);
    const spec = DISTILL_FIELDS[k];
    if (!file) {
      if (spec.required) fields[k] = 'is required';
      continue;
    }
    if (k === 'hfOut') {
      if (!path.isAbsolute(file)) fields[k] = 'give the full path (or use Browse…)';
      else if (isFile(file)) fields[k] = 'is a file; give a folder (new or empty)';
      continue;
    }
    if (k === 'teacher') {
      if (!path.isAbsolute(file)) fields[k] = 'give the full path (or use Browse…)';
      else if (!existsSync(file)) fields[k] = 'no such file';
      else if (isFile(file) ? !/\.onnx$/i.test(file) : !isFile(path.join(file, 'config.json'))) fields[k] = 'the teacher is an ONNX model (.onnx), or a Hugging Face folder with its config.json';
      continue;
    }
    const problem = pathProblem(file, k === 'out' ? { output: 'the student' } : k === 'data' || k === 'eval' ? 'data' : k === 'tokenizer' ? 'tokenizer' : 'input');
    if (problem) fields[k] = problem;
  }
  if (!o.tokenizer && !fields.data && !fields.tokenizer && isFile(o.data) && !/input_ids/.test(firstLine(o.data))) {
    fields.tokenizer = 'the training data holds text (no input_ids column): give the tokenizer.json to tokenize it';
  }

  let form: string | undefined;
  // The core stops at the first problem; taking each problem's option out and asking again lists them all.
  const probe: Record<string, unknown> = { ...o };
  for (const k of ['teacher', 'data', 'out']) if (!probe[k]) probe[k] = `/required/${k}`;
  const fieldOptions = (field: string) => (field === 'stage1Length' ? ['stage1Epochs', 'stage1Steps'] : [field]);
  for (const k of Object.keys(fields)) if (!['teacher', 'data', 'out', 'recipe'].includes(k)) for (const opt of fieldOptions(k)) delete probe[opt];
  const other = probeOptions(probe, (x) => checkDistillOptions(x as unknown as DistillOptions), (e) => {
    fields[OPTION_FIELD[e.option] ?? e.option] ??= reword(e);
    return true;
  });
  if (other) form = other.message;
  for (const [k, p] of Object.entries(shapeProblems(o, teacher))) fields[k] ??= p;
  if (!form && !fields.teacher && !fields.data && !fields.out && !fields.eval && !fields.tokenizer) {
    form = trainingPathProblem(o, [{ role: 'the teacher', file: o.teacher }], fields);
  }
  if (o.hfOut && !fields.hfOut && [o.teacher, o.data, o.out].some((f) => f && path.resolve(f) === path.resolve(o.hfOut!))) fields.hfOut = 'is one of the job\'s other files; give a folder of its own';
  const problems: JobFormProblems = { fields, ...(form ? { form } : {}) };
  return hasProblems(problems) ? { problems } : { options: o, problems };
}

/** The learning rate the form offers for an optimizer (the settings' when it is theirs). */
export function lrFor(optimizer: string, d: TrainDefaults): string {
  const opt = optimizer === 'sgd' ? 'sgd' : 'adamw';
  return numberText(opt === d.optimizer && d.lr !== undefined ? d.lr : defaultLr(opt));
}

/** Whether a path can be a teacher: an .onnx file, or a Hugging Face folder (its config.json). */
export function isTeacherPath(file: string): boolean {
  try { return statSync(file).isFile() ? /\.onnx$/i.test(file) : existsSync(path.join(file, 'config.json')); } catch { return false; }
}
