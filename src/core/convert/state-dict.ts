// Any recognised BERT-family model as a Hugging Face state dict: the weights under the names and
// layouts of transformers' sequence classifiers (which are the graph builder's), in float32, and
// the EncoderConfig that describes them. The same model read from its ONNX export, its
// safetensors or its pytorch_model.bin gives the same tensors, bit for bit.
import type { DType, ModelFile, TensorInfo } from '../model';
import { UnsupportedModelError } from '../errors';
import { analyzeModel } from '../analysis/model-card';
import type { Family } from '../analysis/family';
import type { TensorRow } from '../analysis/rows';
import { loadTensor, type TensorValues } from '../tensor-values';
import type { BuildFamily, EncoderConfig } from '../onnx/bert-builder';
import { settingsFromHfConfig, type HfSettings } from './hf-config';
import { builderShapes, list } from './from-state-dict';

export interface StateDictTensor {
  dims: number[];
  values: Float32Array;
}

/** Hugging Face name -> tensor, [out, in] for Linear weights. */
export type StateDict = Map<string, StateDictTensor>;

export interface StateDictResult {
  config: EncoderConfig;
  tensors: StateDict;
  warnings: string[];
  /** id2label of the source's config, in id order, when it has one. */
  labels?: string[];
}

/** What the weights cannot say and the caller knows better than the model's config.json. */
export type ConfigOverrides = Partial<Pick<EncoderConfig, 'numHeads' | 'hiddenAct' | 'normalization' | 'layerNormEps'>>;

export interface ReadStateDictOptions {
  overrides?: ConfigOverrides;
}

const BY_FAMILY: Partial<Record<Family, BuildFamily>> = { BERT: 'bert', 'TinyBERT-like': 'bert', DistilBERT: 'distilbert', ALBERT: 'albert', MobileBERT: 'mobilebert' };

/** The modules a base model (saved without its `bert.` prefix) starts its names with. */
const BASE_MODULES: Record<BuildFamily, string[]> = {
  bert: ['embeddings', 'encoder', 'pooler'],
  distilbert: ['embeddings', 'transformer'],
  albert: ['embeddings', 'encoder', 'pooler'],
  mobilebert: ['embeddings', 'encoder', 'pooler'],
};

/**
 * A checkpoint's name as the builder spells it: DataParallel's `module.` dropped, TensorFlow-era
 * LayerNorm `gamma`/`beta` renamed (as transformers does on load), a base model's names put under
 * the family's prefix.
 */
export function hfName(name: string, family: BuildFamily): string {
  let n = name;
  while (n.startsWith('module.')) n = n.slice('module.'.length);
  n = n.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  if (n.startsWith(`${family}.`)) return n;
  return BASE_MODULES[family].includes(n.split('.')[0]) ? `${family}.${n}` : n;
}

/** Buffers transformers recomputes (position and token-type id ranges): not weights. */
const BUFFERS = /^[a-z]+\.embeddings\.(position_ids|token_type_ids)$/;

/** Where a field's value lives in each family's config.json, for messages. */
const CONFIG_KEYS: Partial<Record<keyof EncoderConfig, [string, string]>> = {
  vocabSize: ['vocab_size', 'vocab_size'], hiddenSize: ['hidden_size', 'dim'], numLayers: ['num_hidden_layers', 'n_layers'],
  numHeads: ['num_attention_heads', 'n_heads'], intermediateSize: ['intermediate_size', 'hidden_dim'],
  maxPositions: ['max_position_embeddings', 'max_position_embeddings'], numLabels: ['num_labels', 'num_labels'],
  typeVocabSize: ['type_vocab_size', 'type_vocab_size'], embeddingSize: ['embedding_size', 'embedding_size'],
  numHiddenGroups: ['num_hidden_groups', 'num_hidden_groups'], bottleneckSize: ['intra_bottleneck_size', 'intra_bottleneck_size'],
  numFeedforwardNetworks: ['num_feedforward_networks', 'num_feedforward_networks'],
};
const keyOf = (field: keyof EncoderConfig, family: BuildFamily): string => CONFIG_KEYS[field]?.[family === 'distilbert' ? 1 : 0] ?? field;

/**
 * Reads every weight of a BERT, DistilBERT, ALBERT or MobileBERT model (the builder's ONNX,
 * PyTorch's export, safetensors, a torch.save checkpoint, a Hugging Face folder) under Hugging
 * Face names and layouts. The config comes from config.json (or the builder's metadata), checked
 * against the weights, which settle every size they hold; what neither tells is refused by name.
 * Tensors outside the classifier (an MLM head, TinyBERT's fit_dense) are left out with a warning;
 * an unknown tensor inside the encoder, a tied pair or a quantized weight is refused.
 */
export function readStateDict(model: ModelFile, options: ReadStateDictOptions = {}): StateDictResult {
  const file = model.weightsPath;
  const card = analyzeModel(model);
  const warnings = [...model.warnings];
  const settings = configSettings(model, card.family, warnings);
  const family = settings?.family ?? BY_FAMILY[card.family];
  if (!family) throw new UnsupportedModelError(file, `not a BERT, DistilBERT, ALBERT or MobileBERT model: ${card.familyEvidence.slice(-1)[0] ?? 'no family recognised'}`);

  // The weights: an ONNX graph's initializers (its Constant nodes are graph structure), a checkpoint's every tensor.
  const isOnnx = model.format === 'onnx';
  const rows: Array<{ row: TensorRow; info: TensorInfo; name: string }> = [];
  const ignored: string[] = [];
  model.tensors.forEach((info, i) => {
    const row = card.tensors[i];
    if (isOnnx && (info.origin !== 'initializer' || (info.scope ?? '') !== '')) {
      if (info.origin === 'sparse-initializer') ignored.push(info.name);
      return;
    }
    const name = hfName(row.resolvedName, family);
    if (!BUFFERS.test(name)) rows.push({ row, info, name });
  });
  if (ignored.length) warnings.push(`sparse initializers are not read: ${list(ignored)}`);

  const config = deriveConfig(model, family, settings, card.architecture, rows.map((r) => r.name), options.overrides ?? {}, warnings);
  let expected: Map<string, number[]>;
  try {
    expected = builderShapes(config);
  } catch (e) {
    throw new UnsupportedModelError(file, `the model's config cannot be built: ${(e as Error).message}`);
  }

  const tensors: StateDict = new Map();
  const from = new Map<string, string>();
  const storages = new Map<string, string>();
  const unknown: string[] = [];
  const unused: string[] = [];
  for (const { row, info, name } of rows) {
    if (!expected.has(name)) {
      (name.startsWith(`${family}.`) ? unknown : unused).push(row.resolvedName === info.name ? info.name : `${info.name} (${row.resolvedName})`);
      continue;
    }
    const earlier = from.get(name);
    if (earlier !== undefined) throw new UnsupportedModelError(file, `'${earlier}' and '${info.name}' both read as ${name}; the model holds it twice`);
    from.set(name, info.name);
    if (info.storageKey !== undefined) {
      // Views at other offsets of one storage are distinct numbers; the same view twice is a tie.
      const key = `${info.storageKey}@${info.storageOffset ?? 0}:${info.shape.join('x')}`;
      const tied = storages.get(key);
      if (tied !== undefined) throw new UnsupportedModelError(file, `'${info.name}' is tied to '${tied}' (one storage); the builder keeps every weight apart, so tied weights cannot be converted`);
      storages.set(key, info.name);
    }
    tensors.set(name, weightOf(file, info, row, name));
  }
  if (unknown.length) throw new UnsupportedModelError(file, `${unknown.length} tensor(s) are not part of the ${family} classifier the builder emits: ${list(unknown)}`);
  if (unused.length) warnings.push(`${unused.length} tensor(s) outside the ${family} sequence classifier are left out: ${list(unused)}`);
  if (tensors.size === 0) throw new UnsupportedModelError(file, `no tensor is named like a ${family} sequence classifier's (e.g. ${[...expected.keys()][0]})`);
  return { config, tensors, warnings, ...(settings?.labels ? { labels: settings.labels } : {}) };
}

/** The builder's metadata (what an ONNX it built describes itself as) over config.json, which may be stale. */
function configSettings(model: ModelFile, cardFamily: Family, warnings: string[]): HfSettings | undefined {
  const fallback = BY_FAMILY[cardFamily];
  const meta = model.metadata['meta.compression_lab.config'];
  let settings: HfSettings | undefined;
  if (meta !== undefined) {
    let parsed: unknown;
    try { parsed = JSON.parse(meta); } catch { /* reported below */ }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UnsupportedModelError(model.weightsPath, 'its compression_lab.config metadata is not a JSON object');
    settings = settingsFromHfConfig(parsed as Record<string, unknown>, `${model.weightsPath} (compression_lab.config metadata)`, fallback);
    if (model.config && model.config.model_type !== undefined && model.config.model_type !== (parsed as Record<string, unknown>).model_type) {
      warnings.push(`${model.configPath}: model_type ${JSON.stringify(model.config.model_type)} disagrees with the model's own metadata (${settings.family}); the metadata is used`);
    }
  } else if (model.config) {
    settings = settingsFromHfConfig(model.config, model.configPath ?? model.path, fallback);
  }
  if (settings) warnings.push(...settings.warnings);
  return settings;
}

function deriveConfig(model: ModelFile, family: BuildFamily, settings: HfSettings | undefined, arch: ReturnType<typeof analyzeModel>['architecture'], names: string[], overrides: ConfigOverrides, warnings: string[]): EncoderConfig {
  const file = model.weightsPath;
  const cfgFile = settings ? (model.metadata['meta.compression_lab.config'] !== undefined ? `${file} (compression_lab.config metadata)` : model.configPath ?? file) : file;
  const given = settings?.values ?? {};
  const explicit = settings?.explicit ?? new Set<keyof EncoderConfig>();
  const groups = new Set(names.map((n) => /\.albert_layer_groups\.(\d+)\./.exec(n)?.[1]).filter((g) => g !== undefined));
  // Sizes the weights hold. ALBERT checkpoints do not say how many times their layers run; an ONNX graph does.
  const hasLayers = arch.uniqueLayers > 0;
  const fromWeights: Partial<EncoderConfig> = {
    vocabSize: arch.vocabSize, hiddenSize: arch.hiddenSize, intermediateSize: arch.intermediateSize, maxPositions: arch.maxPositions,
    numLabels: arch.numLabels, typeVocabSize: arch.vocabSize !== undefined ? arch.typeVocabSize ?? 0 : undefined,
    numLayers: family === 'albert' && model.format !== 'onnx' ? undefined : hasLayers ? arch.layers : undefined,
  };
  if (family === 'albert' || family === 'mobilebert') fromWeights.embeddingSize = arch.embeddingSize;
  if (family === 'albert' && groups.size) fromWeights.numHiddenGroups = groups.size;
  if (family === 'mobilebert') {
    fromWeights.bottleneckSize = arch.bottleneckSize;
    if (hasLayers) fromWeights.numFeedforwardNetworks = arch.feedForwardsPerLayer ?? 1;
  }

  const config: Partial<EncoderConfig> = { family };
  for (const field of ['vocabSize', 'hiddenSize', 'numLayers', 'intermediateSize', 'maxPositions', 'numLabels', 'typeVocabSize', 'embeddingSize', 'numHiddenGroups', 'bottleneckSize', 'numFeedforwardNetworks'] as const) {
    const w = fromWeights[field];
    const c = given[field];
    if (w !== undefined && c !== undefined && explicit.has(field) && w !== c) {
      throw new UnsupportedModelError(cfgFile, `${keyOf(field, family)} is ${c} but the weights say ${w}`);
    }
    const v = w ?? c;
    if (v !== undefined) config[field] = v;
  }
  if (given.numHeads !== undefined) config.numHeads = given.numHeads;
  if (given.hiddenAct !== undefined) config.hiddenAct = given.hiddenAct;
  if (given.layerNormEps !== undefined) config.layerNormEps = given.layerNormEps;
  if (family === 'mobilebert') {
    const graphNorm = model.onnx ? normalizationOfGraph(model) : undefined;
    if (graphNorm) {
      // The graph is what the model computes; a config.json beside it only describes it.
      if (explicit.has('normalization') && given.normalization !== graphNorm) {
        warnings.push(`${cfgFile}: normalization_type ${given.normalization} but the graph computes ${graphNorm}; the graph's is used`);
      }
      config.normalization = graphNorm;
    } else {
      config.normalization = given.normalization ?? 'no_norm';
      // The two look alike in the weights: say which one the conversion assumed.
      if (!explicit.has('normalization') && overrides.normalization === undefined) {
        warnings.push(`${settings ? cfgFile : file}: normalization_type is not set; Hugging Face's default no_norm is used (what transformers builds from this model)`);
      }
    }
  }
  Object.assign(config, Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)));

  const needed: Array<keyof EncoderConfig> = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'numLabels'];
  const missing = needed.filter((f) => config[f] === undefined);
  if (missing.length) {
    const why = missing.map((f) => keyOf(f, family)).join(', ');
    throw new UnsupportedModelError(file, `the weights do not say ${why}${settings ? ` and ${cfgFile} does not either` : ''}; put a config.json with ${why} beside the model`);
  }
  return config as EncoderConfig;
}

/** MobileBERT's two normalisations look alike in the weights; in a graph LayerNorm computes statistics. */
function normalizationOfGraph(model: ModelFile): EncoderConfig['normalization'] {
  const ops = new Set(model.onnx!.nodes.filter((n) => n.graphPath === '').map((n) => n.opType));
  return ops.has('LayerNormalization') || ops.has('ReduceMean') ? 'layer_norm' : 'no_norm';
}

function weightOf(file: string, info: TensorInfo, row: TensorRow, name: string): StateDictTensor {
  if (!['float32', 'float16', 'bfloat16', 'float64'].includes(info.dtype)) {
    throw new UnsupportedModelError(file, `'${info.name}' (${name}) is ${info.dtype}${info.dtype.startsWith('int') || info.dtype.startsWith('uint') || info.dtype.startsWith('float8') ? ': quantized weights cannot be converted; convert the float model' : ', not a floating-point weight'}`);
  }
  if (info.data.kind === 'none' && info.elements > 0) {
    throw new UnsupportedModelError(file, `'${info.name}' has no readable data (compressed, big-endian or a non-contiguous view in the checkpoint)`);
  }
  let values = toFloat32(loadTensor(info).values, info.dtype);
  let dims = [...info.shape];
  if (dims.length === 2 && row.layout === undefined && info.origin === 'initializer' && !/embeddings\.weight$/.test(name)) {
    throw new UnsupportedModelError(file, `cannot tell whether '${info.name}' (${name}) is stored [in, out] or [out, in]: no MatMul or Gemm in the graph uses it`);
  }
  if (dims.length === 2 && row.layout === 'in-out') {
    values = transpose(values, dims[0], dims[1]);
    dims = [dims[1], dims[0]];
  }
  return { dims, values };
}

/** Half, bfloat16 and double weights as float32 (16-bit floats arrive as their bits). */
export function toFloat32(values: TensorValues, dtype: DType): Float32Array {
  if (dtype === 'float32') return values as Float32Array;
  if (dtype === 'float64') return Float32Array.from(values as Float64Array);
  const bits = values as Uint16Array;
  const out = new Float32Array(bits.length);
  if (dtype === 'bfloat16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
    return out;
  }
  for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]);
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
  return out;
}
