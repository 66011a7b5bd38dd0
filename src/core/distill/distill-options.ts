// The options of a distillation job: the recipe, the teacher, the student's shape, the loss
// weights, and every training setting `train` takes (same names, same meanings). Checked before
// any work, with messages naming the option.
import { OptionsError } from '../errors';
import { checkTrainingSettings, type TrainingSettings } from '../training/train-options';

export const RECIPES = ['distilbert', 'tinybert'] as const;
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
  temperature?: number;
  /** DistilBERT-style loss weights. */
  alphaKd?: number;
  alphaCe?: number;
  alphaCos?: number;
  /** TinyBERT-style: the intermediate (layer-wise) stage's length, and its learning rate. */
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
  cacheBudgetMb: 4096,
};

const nonNegative = (o: DistillOptions, k: 'alphaKd' | 'alphaCe' | 'alphaCos') => {
  const v = o[k];
  if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new OptionsError(k, `must be a number >= 0 (got ${String(v)})`);
};

export function checkDistillOptions(o: DistillOptions): void {
  if (!RECIPES.includes(o.recipe)) throw new OptionsError('recipe', `must be ${RECIPES.join(' or ')} (got '${String(o.recipe)}')`);
  if (typeof o.teacher !== 'string' || !o.teacher) throw new OptionsError('teacher', 'is required (an ONNX model or a Hugging Face folder)');
  checkTrainingSettings(o);
  for (const k of ['layers', 'hidden', 'heads', 'intermediate', 'stage1Epochs', 'stage1Steps'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new OptionsError(k, `must be a whole number >= 1 (got ${String(v)})`);
  }
  if (o.temperature !== undefined && !(Number.isFinite(o.temperature) && o.temperature > 0)) throw new OptionsError('temperature', `must be a number > 0 (got ${o.temperature})`);
  for (const k of ['alphaKd', 'alphaCe', 'alphaCos'] as const) nonNegative(o, k);
  if (o.stage1Lr !== undefined && !(Number.isFinite(o.stage1Lr) && o.stage1Lr >= 0)) throw new OptionsError('stage1Lr', `must be a number >= 0 (got ${o.stage1Lr})`);
  if (o.stage1Epochs !== undefined && o.stage1Steps !== undefined) throw new OptionsError('stage1Steps', "cannot go with option 'stage1Epochs': give one of them");
  if (o.cacheBudgetMb !== undefined && !(Number.isFinite(o.cacheBudgetMb) && o.cacheBudgetMb >= 0)) throw new OptionsError('cacheBudgetMb', `must be a number >= 0 (got ${o.cacheBudgetMb})`);
  if (o.recipe === 'distilbert') {
    for (const k of ['hidden', 'heads', 'intermediate', 'stage1Epochs', 'stage1Steps', 'stage1Lr'] as const) {
      if (o[k] !== undefined) throw new OptionsError(k, 'applies to the tinybert recipe only (a DistilBERT-style student keeps the teacher\'s width)');
    }
    const a = { ...DISTILL_DEFAULTS.distilbert, ...strip(o) };
    if (a.alphaKd + a.alphaCe + a.alphaCos === 0) throw new OptionsError('alphaKd', "and options 'alphaCe' and 'alphaCos' are all 0: nothing to learn from");
  } else {
    for (const k of ['teacherLayers', 'alphaKd', 'alphaCe', 'alphaCos'] as const) {
      if (o[k] !== undefined) throw new OptionsError(k, 'applies to the distilbert recipe only');
    }
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
