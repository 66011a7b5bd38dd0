// Students built from a teacher: a DistilBERT-style student keeps some of the teacher's layers
// and starts from their weights (embeddings, pooler and head copied too); a TinyBERT-style
// student is narrower and shallower, freshly initialised, and learns the teacher layer by layer.
// Both come out of the project's builder, so their signals and Hugging Face names are known.
import { buildEncoderClassifier, type EncoderConfig } from '../onnx/bert-builder';
import type { ModelSpec } from '../onnx/model-spec';
import { buildFromStateDict } from '../convert/from-state-dict';
import type { StateDict as Tensors } from '../convert/state-dict';
import { OptionsError, UnsupportedModelError } from '../errors';
import { evenlySpacedLayers, tinyLayerMap, type LayerMap } from './layer-map';

/** A model's weights under Hugging Face names and layouts, with the config that describes it. */
export interface StateDict {
  config: EncoderConfig;
  tensors: Tensors;
}

export interface Student {
  spec: ModelSpec;
  config: EncoderConfig;
  layerMap: LayerMap;
  /** DistilBERT-style: the teacher layer (from 0) each student layer was copied from. */
  teacherLayers?: number[];
}

const LAYER_NAME = /(\.layer\.)(\d+)(\.)/;

/**
 * DistilBERT-style: `teacherLayers` (from 0; default evenly spaced, first and last kept) become
 * the student's layers 0..k-1 with their weights; everything outside the layers is copied.
 */
export function distilbertStudent(teacher: StateDict, file: string, options: { layers?: number; teacherLayers?: number[] }): Student {
  const N = teacher.config.numLayers;
  if (teacher.config.family === 'albert') throw new UnsupportedModelError(file, 'the teacher shares one set of layer weights (ALBERT): a student with fewer layers keeps the same weights; use the tinybert recipe for a smaller student');
  const chosen = options.teacherLayers ?? evenlySpacedLayers(N, options.layers ?? Math.max(1, Math.floor(N / 2)));
  if (options.layers !== undefined && options.teacherLayers && options.layers !== options.teacherLayers.length) {
    throw new OptionsError('teacherLayers', `names ${options.teacherLayers.length} layers but option 'layers' asks for ${options.layers}`);
  }
  for (const l of chosen) if (!(Number.isInteger(l) && l >= 0 && l < N)) throw new OptionsError('teacherLayers', `layer ${l} is outside the teacher's layers 0..${N - 1}`);
  if (new Set(chosen).size !== chosen.length) throw new OptionsError('teacherLayers', `names a layer twice (${chosen.join(',')})`);
  if (chosen.some((l, i) => i > 0 && l < chosen[i - 1])) throw new OptionsError('teacherLayers', `must be in increasing order (${chosen.join(',')})`);
  const config: EncoderConfig = { ...teacher.config, numLayers: chosen.length, dropout: undefined };
  const tensors: Tensors = new Map();
  for (const [name, t] of teacher.tensors) {
    const m = LAYER_NAME.exec(name);
    if (!m) { tensors.set(name, t); continue; }
    const to = chosen.indexOf(Number(m[2]));
    if (to >= 0) tensors.set(name.replace(LAYER_NAME, `$1${to}$3`), t);
  }
  const spec = buildFromStateDict(config, tensors, { source: file });
  const layerMap: LayerMap = {
    teacherLayers: N, studentLayers: chosen.length,
    links: [{ student: 0, teacher: 0, role: 'init' }, ...chosen.map((t, i) => ({ student: i + 1, teacher: t + 1, role: 'init' as const }))],
  };
  return { spec, config, layerMap, teacherLayers: chosen };
}

export interface TinyShape {
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  seed?: number;
}

/**
 * TinyBERT-style: a BERT encoder with fewer layers (default: half) and a narrower body (default:
 * half the width, at most the teacher's), freshly initialised; the vocabulary, positions and
 * classes are the teacher's. Student layer m learns teacher layer g(m) (tinyLayerMap).
 */
export function tinybertStudent(teacher: EncoderConfig, shape: TinyShape): Student {
  const N = teacher.numLayers;
  const layers = shape.layers ?? Math.max(1, Math.floor(N / 2));
  if (layers > N) throw new OptionsError('layers', `must be at most the teacher's ${N} layers (got ${layers})`);
  const hidden = shape.hidden ?? Math.max(8, Math.floor(teacher.hiddenSize / 2));
  if (hidden > teacher.hiddenSize) throw new OptionsError('hidden', `must be at most the teacher's width ${teacher.hiddenSize}: the projection W maps the student's hidden states up to the teacher's (got ${hidden})`);
  const heads = shape.heads ?? teacher.numHeads;
  if (hidden % heads !== 0) throw new OptionsError('heads', `must divide the student's width ${hidden} (got ${heads})`);
  const config: EncoderConfig = {
    family: 'bert', vocabSize: teacher.vocabSize, hiddenSize: hidden, numLayers: layers, numHeads: heads,
    intermediateSize: shape.intermediate ?? hidden * 4, maxPositions: teacher.maxPositions, numLabels: teacher.numLabels,
    typeVocabSize: teacher.family === 'distilbert' ? 2 : teacher.typeVocabSize, seed: shape.seed,
  };
  const g = tinyLayerMap(N, layers);
  const layerMap: LayerMap = { teacherLayers: N, studentLayers: layers, links: g.map((t, m) => ({ student: m, teacher: t, role: 'supervise' as const })) };
  return { spec: buildEncoderClassifier(config), config, layerMap };
}
