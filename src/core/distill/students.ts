// Students built from a teacher: a DistilBERT-style student keeps some of the teacher's layers
// and starts from their weights (embeddings, pooler and head copied too); a TinyBERT-style
// student is narrower and shallower, freshly initialised, and learns the teacher layer by layer.
// Both come out of the project's builder, so their signals and Hugging Face names are known.
import { buildEncoderClassifier, type EncoderConfig, type HiddenAct } from '../onnx/bert-builder';
import type { ModelSpec } from '../onnx/model-spec';
import { buildFromStateDict } from '../convert/from-state-dict';
import type { StateDict as Tensors } from '../convert/state-dict';
import { OptionsError, UnsupportedModelError } from '../errors';
import { evenlySpacedLayers, tinyLayerMap, type LayerMap } from './layer-map';
import { project, truncatedSvd } from './svd';

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
  activation?: HiddenAct;
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
    typeVocabSize: teacher.family === 'distilbert' ? 2 : teacher.typeVocabSize, seed: shape.seed, hiddenAct: shape.activation,
  };
  const g = tinyLayerMap(N, layers);
  const layerMap: LayerMap = { teacherLayers: N, studentLayers: layers, links: g.map((t, m) => ({ student: m, teacher: t, role: 'supervise' as const })) };
  return { spec: buildEncoderClassifier(config), config, layerMap };
}

/** Teacher layer weights by their part's name in an ALBERT layer, for BERT and DistilBERT teachers. */
const TO_ALBERT: Record<'bert' | 'distilbert', { prefix: (l: number) => string; parts: Array<[string, string]> }> = {
  bert: {
    prefix: (l) => `bert.encoder.layer.${l}.`,
    parts: [['attention.self.query', 'attention.query'], ['attention.self.key', 'attention.key'], ['attention.self.value', 'attention.value'],
      ['attention.output.dense', 'attention.dense'], ['attention.output.LayerNorm', 'attention.LayerNorm'], ['intermediate.dense', 'ffn'],
      ['output.dense', 'ffn_output'], ['output.LayerNorm', 'full_layer_layer_norm']],
  },
  distilbert: {
    prefix: (l) => `distilbert.transformer.layer.${l}.`,
    parts: [['attention.q_lin', 'attention.query'], ['attention.k_lin', 'attention.key'], ['attention.v_lin', 'attention.value'],
      ['attention.out_lin', 'attention.dense'], ['sa_layer_norm', 'attention.LayerNorm'], ['ffn.lin1', 'ffn'], ['ffn.lin2', 'ffn_output'],
      ['output_layer_norm', 'full_layer_layer_norm']],
  },
};

export interface AlbertShape {
  layers?: number;
  /** Factorised embedding width E (< the teacher's width). */
  embedding?: number;
  /** Layer groups G: each holds one set of weights used numLayers / G times. */
  groups?: number;
  /** How a group's shared layer starts: the mean of the teacher layers it replaces, or the first of them. */
  shareInit?: 'mean' | 'first';
  seed?: number;
}

/**
 * ALBERT-style: the teacher's width and depth, one set of layer weights per group (shared by every
 * layer of the group) and factorised embeddings V x E then E x H. The embeddings start from a
 * truncated SVD of the teacher's (word, position and token-type tables on the same top-E basis;
 * the relative error is reported); each group's layer from the mean of the teacher layers it
 * replaces (or the first of them); pooler and head copied. Teachers other than BERT and DistilBERT
 * give their embeddings and head only.
 */
export function albertStudent(teacher: StateDict, file: string, shape: AlbertShape): Student & { svdError: number } {
  const t = teacher.config;
  const layers = shape.layers ?? t.numLayers;
  const groups = shape.groups ?? 1;
  const E = shape.embedding ?? Math.max(8, Math.floor(t.hiddenSize / 2));
  if (E >= t.hiddenSize) throw new OptionsError('embedding', `must be below the teacher's width ${t.hiddenSize}: factorised embeddings are narrower than the body (got ${E})`);
  if (layers % groups !== 0) throw new OptionsError('groups', `must divide the student's ${layers} layers (got ${groups})`);
  const config: EncoderConfig = {
    family: 'albert', vocabSize: t.vocabSize, hiddenSize: t.hiddenSize, embeddingSize: E, numLayers: layers, numHiddenGroups: groups,
    numHeads: t.numHeads, intermediateSize: t.intermediateSize, maxPositions: t.maxPositions, numLabels: t.numLabels,
    typeVocabSize: t.typeVocabSize || 2, hiddenAct: t.hiddenAct ?? 'gelu', layerNormEps: t.layerNormEps, seed: shape.seed,
  };
  const spec = buildEncoderClassifier(config);
  const fresh: Tensors = new Map(spec.graph.initializers.map((i) => [i.name, { dims: i.dims, values: i.values as Float32Array }]));
  const tensors: Tensors = new Map(fresh);
  const src = (name: string) => teacher.tensors.get(name);
  const root = t.family === 'distilbert' ? 'distilbert' : t.family;

  // Embeddings: the top-E right singular vectors of the word table project all three tables.
  const word = src(`${root}.embeddings.word_embeddings.weight`);
  if (!word) throw new UnsupportedModelError(file, `the teacher has no word embeddings ('${root}.embeddings.word_embeddings.weight') to factorise`);
  const H = t.hiddenSize;
  if (word.dims[1] !== H) throw new UnsupportedModelError(file, `the teacher's word embeddings are ${word.dims.join(' x ')}, not V x ${H}; its embeddings are already factorised`);
  const svd = truncatedSvd(word.values, word.dims[0], H, E);
  tensors.set('albert.embeddings.word_embeddings.weight', { dims: [word.dims[0], E], values: svd.left });
  for (const table of ['position_embeddings', 'token_type_embeddings']) {
    const tt = src(`${root}.embeddings.${table}.weight`);
    if (tt && tensors.has(`albert.embeddings.${table}.weight`)) tensors.set(`albert.embeddings.${table}.weight`, { dims: [tt.dims[0], E], values: project(tt.values, tt.dims[0], H, svd.right, E) });
  }
  // E -> H: back onto the teacher's basis, with its embedding LayerNorm's scale and shift.
  const gamma = src(`${root}.embeddings.LayerNorm.weight`)?.values;
  const beta = src(`${root}.embeddings.LayerNorm.bias`)?.values;
  const mapping = new Float32Array(H * E);
  for (let h = 0; h < H; h++) for (let e = 0; e < E; e++) mapping[h * E + e] = svd.right[h * E + e] * (gamma ? gamma[h] : 1);
  tensors.set('albert.encoder.embedding_hidden_mapping_in.weight', { dims: [H, E], values: mapping });
  if (beta) tensors.set('albert.encoder.embedding_hidden_mapping_in.bias', { dims: [H], values: Float32Array.from(beta) });

  // Each group's shared layer from the teacher layers it stands for.
  const map = TO_ALBERT[t.family as 'bert' | 'distilbert'];
  if (map) {
    for (let g = 0; g < groups; g++) {
      const from = Math.floor((g * t.numLayers) / groups);
      const to = Math.max(from + 1, Math.floor(((g + 1) * t.numLayers) / groups));
      const sources = shape.shareInit === 'first' ? [from] : Array.from({ length: to - from }, (_, i) => from + i);
      for (const [tp, ap] of map.parts) {
        for (const kind of ['weight', 'bias']) {
          const parts = sources.map((l) => src(`${map.prefix(l)}${tp}.${kind}`));
          if (parts.some((p) => !p)) continue;
          const mean = new Float32Array(parts[0]!.values.length);
          for (const p of parts) for (let i = 0; i < mean.length; i++) mean[i] += p!.values[i] / parts.length;
          tensors.set(`albert.encoder.albert_layer_groups.${g}.albert_layers.0.${ap}.${kind}`, { dims: parts[0]!.dims, values: mean });
        }
      }
    }
  }
  for (const [from, to] of [[`${root}.pooler.dense.weight`, 'albert.pooler.weight'], [`${root}.pooler.dense.bias`, 'albert.pooler.bias'], ['classifier.weight', 'classifier.weight'], ['classifier.bias', 'classifier.bias']]) {
    const x = src(from);
    if (x && fresh.get(to)?.dims.join() === x.dims.join()) tensors.set(to, x);
  }
  const shared = Array.from({ length: layers }, (_, l) => Math.floor(l / (layers / groups)));
  const layerMap: LayerMap = {
    teacherLayers: t.numLayers, studentLayers: layers,
    links: [{ student: 0, teacher: 0, role: 'init' }, ...(map ? shared.map((g, l) => ({ student: l + 1, teacher: Math.floor((g * t.numLayers) / groups) + 1, role: 'init' as const })) : [])],
  };
  return { spec: buildFromStateDict(config, tensors, { source: file }), config, layerMap, svdError: svd.relativeError };
}

export interface MobileShape {
  layers?: number;
  embedding?: number;
  bottleneck?: number;
  ffns?: number;
  intermediate?: number;
  seed?: number;
}

/**
 * MobileBERT-style: the teacher's width between blocks (so feature maps transfer without a
 * projection) and heads (so attention maps do), a narrow bottleneck inside each block with F
 * stacked feed-forward networks, trigram embeddings of width E; freshly initialised.
 */
export function mobilebertStudent(teacher: EncoderConfig, shape: MobileShape): Student {
  const H = teacher.hiddenSize;
  const B = shape.bottleneck ?? Math.max(8, Math.floor(H / 4));
  if (B >= H) throw new OptionsError('bottleneck', `must be below the teacher's width ${H} (got ${B})`);
  if (B % teacher.numHeads !== 0) throw new OptionsError('bottleneck', `must be divisible by the teacher's ${teacher.numHeads} heads, which the student keeps for attention transfer (got ${B})`);
  const layers = shape.layers ?? teacher.numLayers;
  if (layers > teacher.numLayers) throw new OptionsError('layers', `must be at most the teacher's ${teacher.numLayers} layers (got ${layers})`);
  const config: EncoderConfig = {
    family: 'mobilebert', vocabSize: teacher.vocabSize, hiddenSize: H, embeddingSize: shape.embedding ?? Math.max(8, Math.floor(H / 2)),
    bottleneckSize: B, numFeedforwardNetworks: shape.ffns ?? 2, numLayers: layers, numHeads: teacher.numHeads,
    intermediateSize: shape.intermediate ?? 4 * B, maxPositions: teacher.maxPositions, numLabels: teacher.numLabels,
    typeVocabSize: teacher.typeVocabSize || 2, seed: shape.seed,
  };
  const map = tinyLayerMap(teacher.numLayers, layers);
  return { spec: buildEncoderClassifier(config), config, layerMap: { teacherLayers: teacher.numLayers, studentLayers: layers, links: map.slice(1).map((tl, m) => ({ student: m + 1, teacher: tl, role: 'supervise' as const })) } };
}
