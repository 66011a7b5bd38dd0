// The options of a distillation job: the recipe, the teacher, the student's shape, the loss
// weights, and every training setting `train` takes (same names, same meanings). Checked before
// any work, with messages naming the option.
import { OptionsError } from '../errors';
import { HIDDEN_ACTS, type HiddenAct } from '../onnx/bert-builder';
import { checkTrainingSettings, type TrainingSettings } from '../training/train-options';

export const RECIPES = ['distilbert', 'tinybert', 'albert', 'mobilebert'] as const;
export type Recipe = (typeof RECIPES)[number];

export interface DistillOptions extends TrainingSettings {
  recipe: Recipe;
  /** An ONNX sequence classifier, or a Hugging Face folder (converted with the builder). */
  teacher: string;
  /** Student layers (DistilBERT-style default: half the teacher's; TinyBERT-style likewise). */
  layers?: number;
  /** DistilBERT-style: the teacher layers (from 0) the student keeps and starts from. */
  teacherLayers?: number[];
  /** TinyBERT-style: the student's width, heads and feed-forward size. */
  hidden?: number;
  heads?: number;
  intermediate?: number;
  /**
   * TinyBERT-style: the student's feed-forward activation (default gelu, BERT's). relu is nearly free
   * at run time and leaves int8 more to win; MobileBERT chose it for latency.
   */
  activation?: HiddenAct;
  temperature?: number;
  /** DistilBERT-style loss weights. */
  alphaKd?: number;
  alphaCe?: number;
  alphaCos?: number;
  /** ALBERT- and MobileBERT-style: the factorised embedding width E. */
  embedding?: number;
  /** ALBERT-style: layer groups (one shared set of weights each), and how a shared layer starts. */
  groups?: number;
  shareInit?: 'mean' | 'first';
  /** ALBERT-style: the weight of the hidden-state MSE at the mapped layers. */
  alphaHidden?: number;
  /** MobileBERT-style: the bottleneck width, stacked feed-forward networks, and layer-by-layer transfer. */
  bottleneck?: number;
  ffns?: number;
  progressive?: boolean;
  /** TinyBERT- and MobileBERT-style: the first (layer-wise) stage's length, and its learning rate. */
  stage1Epochs?: number;
  stage1Steps?: number;
  stage1Lr?: number;
  /** Distil from the logits alone, when the teacher's layer signals cannot be found. */
  logitsOnly?: boolean;
  /** Also write the student as a Hugging Face folder here. */
  hfOut?: string;
  /** Where the teacher's outputs are cached (default: the user's cache folder). */
  cacheDir?: string;
  /** Largest teacher-output cache, MB; past it, layer signals are computed each step (logits are always cached). */
  cacheBudgetMb?: number;
}

/** Defaults, documented: DistilBERT's published T = 2 and a task distillation's 0.5 / 0.5 / 1. */
export const DISTILL_DEFAULTS = {
  distilbert: { temperature: 2, alphaKd: 0.5, alphaCe: 0.5, alphaCos: 1 },
  tinybert: { temperature: 1 },
  albert: { temperature: 2, alphaKd: 0.5, alphaCe: 0.5, alphaHidden: 1 },
  mobilebert: { temperature: 1, alphaKd: 0.5, alphaCe: 0.5 },
  cacheBudgetMb: 4096,
};

/** Which recipes each student-shape and loss option means something to. */
const APPLIES: Partial<Record<keyof DistillOptions, readonly Recipe[]>> = {
  teacherLayers: ['distilbert'],
  alphaCos: ['distilbert'],
  alphaKd: ['distilbert', 'albert', 'mobilebert'],
  alphaCe: ['distilbert', 'albert', 'mobilebert'],
  alphaHidden: ['albert'],
  hidden: ['tinybert'],
  heads: ['tinybert'],
  intermediate: ['tinybert', 'mobilebert'],
  activation: ['tinybert'],
  embedding: ['albert', 'mobilebert'],
  groups: ['albert'],
  shareInit: ['albert'],
  bottleneck: ['mobilebert'],
  ffns: ['mobilebert'],
  progressive: ['mobilebert'],
  stage1Epochs: ['tinybert', 'mobilebert'],
  stage1Steps: ['tinybert', 'mobilebert'],
  stage1Lr: ['tinybert', 'mobilebert'],
};

const nonNegative = (o: DistillOptions, k: 'alphaKd' | 'alphaCe' | 'alphaCos' | 'alphaHidden') => {
  const v = o[k];
  if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new OptionsError(k, `must be a number >= 0 (got ${String(v)})`);
};

export function checkDistillOptions(o: DistillOptions): void {
  if (!RECIPES.includes(o.recipe)) throw new OptionsError('recipe', `must be ${RECIPES.join(' or ')} (got '${String(o.recipe)}')`);
  if (typeof o.teacher !== 'string' || !o.teacher) throw new OptionsError('teacher', 'is required (an ONNX model or a Hugging Face folder)');
  checkTrainingSettings(o);
  for (const k of ['layers', 'hidden', 'heads', 'intermediate', 'stage1Epochs', 'stage1Steps', 'embedding', 'groups', 'bottleneck', 'ffns'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new OptionsError(k, `must be a whole number >= 1 (got ${String(v)})`);
  }
  if (o.temperature !== undefined && !(Number.isFinite(o.temperature) && o.temperature > 0)) throw new OptionsError('temperature', `must be a number > 0 (got ${o.temperature})`);
  for (const k of ['alphaKd', 'alphaCe', 'alphaCos', 'alphaHidden'] as const) nonNegative(o, k);
  if (o.activation !== undefined && !HIDDEN_ACTS.includes(o.activation)) throw new OptionsError('activation', `must be ${HIDDEN_ACTS.join(', ')} (got '${String(o.activation)}')`);
  if (o.shareInit !== undefined && o.shareInit !== 'mean' && o.shareInit !== 'first') throw new OptionsError('shareInit', `must be mean or first (got '${String(o.shareInit)}')`);
  if (o.stage1Lr !== undefined && !(Number.isFinite(o.stage1Lr) && o.stage1Lr >= 0)) throw new OptionsError('stage1Lr', `must be a number >= 0 (got ${o.stage1Lr})`);
  if (o.stage1Epochs !== undefined && o.stage1Steps !== undefined) throw new OptionsError('stage1Steps', "cannot go with option 'stage1Epochs': give one of them");
  if (o.cacheBudgetMb !== undefined && !(Number.isFinite(o.cacheBudgetMb) && o.cacheBudgetMb >= 0)) throw new OptionsError('cacheBudgetMb', `must be a number >= 0 (got ${o.cacheBudgetMb})`);
  for (const [k, recipes] of Object.entries(APPLIES) as Array<[keyof DistillOptions, readonly Recipe[]]>) {
    if (o[k] !== undefined && !recipes.includes(o.recipe)) throw new OptionsError(k, `applies to the ${recipes.join(' and ')} recipe${recipes.length > 1 ? 's' : ''} only`);
  }
  if (o.recipe === 'distilbert') {
    const a = { ...DISTILL_DEFAULTS.distilbert, ...strip(o) };
    if (a.alphaKd + a.alphaCe + a.alphaCos === 0) throw new OptionsError('alphaKd', "and options 'alphaCe' and 'alphaCos' are all 0: nothing to learn from");
  }
  if (o.teacherLayers !== undefined && !(Array.isArray(o.teacherLayers) && o.teacherLayers.length > 0 && o.teacherLayers.every((l) => Number.isInteger(l) && l >= 0))) {
    throw new OptionsError('teacherLayers', 'must be a list of layer numbers from 0, e.g. 0,2,4');
  }
}

function strip(o: DistillOptions): Partial<Record<'alphaKd' | 'alphaCe' | 'alphaCos', number>> {
  const out: Partial<Record<'alphaKd' | 'alphaCe' | 'alphaCos', number>> = {};
  for (const k of ['alphaKd', 'alphaCe', 'alphaCos'] as const) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
