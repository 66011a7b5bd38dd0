// Hugging Face config.json <-> the builder's EncoderConfig. A config.json says what the weights
// cannot (heads, activation, normalisation) and what transformers will build; its keys differ by
// family (hidden_size / dim), and options the builder does not emit are refused here by name, so a
// model is never converted into a graph that computes something else.
import { UnsupportedModelError } from '../errors';
import { toHfConfig, type BuildFamily, type EncoderConfig } from '../onnx/bert-builder';

export const FAMILIES: readonly BuildFamily[] = ['bert', 'distilbert', 'albert', 'mobilebert'];

/** transformers' sequence-classification class per family: config.json's `architectures`. */
export const ARCHITECTURES: Record<BuildFamily, string> = {
  bert: 'BertForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
  albert: 'AlbertForSequenceClassification',
  mobilebert: 'MobileBertForSequenceClassification',
};

/** What a config.json says, in the builder's terms; sizes it leaves out stay undefined. */
export interface HfSettings {
  family?: BuildFamily;
  values: Partial<EncoderConfig>;
  /** Keys of `values` the config set explicitly (the rest are the family's Hugging Face defaults). */
  explicit: Set<keyof EncoderConfig>;
  /** id2label in id order, when the config lists one per label. */
  labels?: string[];
  warnings: string[];
}

/** Activations by their Hugging Face names; the tanh approximations are one function. */
const ACTIVATIONS: Record<string, EncoderConfig['hiddenAct']> = {
  gelu: 'gelu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', gelu_fast: 'gelu_new', relu: 'relu',
};

/** What transformers assumes when config.json leaves a behaviour out. */
const DEFAULT_ACT: Record<BuildFamily, NonNullable<EncoderConfig['hiddenAct']>> = { bert: 'gelu', distilbert: 'gelu', albert: 'gelu_new', mobilebert: 'relu' };

/**
 * Reads a Hugging Face config.json (or the builder's metadata copy of one). `file` names it in
 * errors. Throws UnsupportedModelError for a model_type outside the four families or an option
 * the builder's graph does not compute (relative positions, ALBERT inner groups, MobileBERT
 * without its bottleneck, ...).
 */
export function settingsFromHfConfig(hf: Record<string, unknown>, file: string, fallbackFamily?: BuildFamily): HfSettings {
  const modelType = typeof hf.model_type === 'string' ? hf.model_type.toLowerCase() : undefined;
  if (modelType !== undefined && !(FAMILIES as readonly string[]).includes(modelType)) {
    throw new UnsupportedModelError(file, `model_type '${modelType}' is not one the converter handles (${FAMILIES.join(', ')})`);
  }
  const family = (modelType as BuildFamily | undefined) ?? fallbackFamily;
  const values: Partial<EncoderConfig> = {};
  const explicit = new Set<keyof EncoderConfig>();
  const warnings: string[] = [];
  const num = (key: string): number | undefined => {
    const v = hf[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UnsupportedModelError(file, `${key} is ${JSON.stringify(v)}, not a number`);
    return v;
  };
  const set = <K extends keyof EncoderConfig>(field: K, v: EncoderConfig[K] | undefined): void => {
    if (v === undefined) return;
    values[field] = v;
    explicit.add(field);
  };
  const refuse = (key: string, why: string): never => { throw new UnsupportedModelError(file, `${key} ${JSON.stringify(hf[key])}: ${why}`); };
  const requireValue = (key: string, ok: unknown, why: string): void => { if (hf[key] !== undefined && hf[key] !== ok) refuse(key, why); };

  set('vocabSize', num('vocab_size'));
  set('maxPositions', num('max_position_embeddings'));
  const labels = labelsOf(hf);
  set('numLabels', num('num_labels') ?? labels?.length);
  if (labels && values.numLabels !== labels.length) warnings.push(`${file}: num_labels ${values.numLabels} but id2label lists ${labels.length} labels; the labels are left out`);

  const actKey = family === 'distilbert' ? 'activation' : 'hidden_act';
  const act = hf[actKey];
  if (act !== undefined) {
    const a = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
    if (!a) refuse(actKey, `the builder computes ${Object.keys(ACTIVATIONS).join(', ')}`);
    set('hiddenAct', a);
  } else if (family) values.hiddenAct = DEFAULT_ACT[family];
  if (family !== 'distilbert') set('layerNormEps', num('layer_norm_eps'));

  if (family === 'distilbert') {
    set('hiddenSize', num('dim'));
    set('numLayers', num('n_layers'));
    set('numHeads', num('n_heads'));
    set('intermediateSize', num('hidden_dim'));
    values.typeVocabSize = 0;
  } else {
    set('hiddenSize', num('hidden_size'));
    set('numLayers', num('num_hidden_layers'));
    set('numHeads', num('num_attention_heads'));
    set('intermediateSize', num('intermediate_size'));
    set('typeVocabSize', num('type_vocab_size'));
    requireValue('position_embedding_type', 'absolute', 'the builder emits absolute position embeddings only');
    requireValue('is_decoder', false, 'the builder emits encoders only');
    requireValue('add_cross_attention', false, 'the builder emits encoders only');
  }
  if (family === 'albert' || family === 'mobilebert') set('embeddingSize', num('embedding_size'));
  if (family === 'albert') {
    set('numHiddenGroups', num('num_hidden_groups'));
    const inner = num('inner_group_num');
    if (inner !== undefined && inner !== 1) refuse('inner_group_num', 'the builder emits one layer per ALBERT group');
  }
  if (family === 'mobilebert') {
    set('bottleneckSize', num('intra_bottleneck_size'));
    set('numFeedforwardNetworks', num('num_feedforward_networks'));
    const norm = hf.normalization_type;
    if (norm === 'no_norm' || norm === 'layer_norm') set('normalization', norm);
    else if (norm !== undefined) refuse('normalization_type', 'the builder computes no_norm or layer_norm');
    else values.normalization = 'no_norm';
    requireValue('trigram_input', true, 'the builder emits MobileBERT with trigram input');
    requireValue('use_bottleneck', true, 'the builder emits MobileBERT with its bottleneck');
    requireValue('key_query_shared_bottleneck', true, 'the builder shares the query/key bottleneck');
    requireValue('use_bottleneck_attention', false, 'the builder does not use bottleneck attention');
    requireValue('classifier_activation', true, 'the builder pools with a tanh dense layer');
  }
  return { family, values, explicit, labels: labels && values.numLabels === labels.length ? labels : undefined, warnings };
}

/** id2label as a list in id order, when it names ids 0..n-1 once each. */
function labelsOf(hf: Record<string, unknown>): string[] | undefined {
  const m = hf.id2label;
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const entries = Object.entries(m as Record<string, unknown>);
  const out: string[] = new Array<string>(entries.length);
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string' || out[i] !== undefined) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * The config.json of a Hugging Face folder holding this model: toHfConfig plus what transformers
 * reads to pick and load the class (architectures, labels, dtype) and the pad id of the tokenizer
 * that goes with it.
 */
export function hfConfigJson(config: EncoderConfig, extra: { labels?: string[]; padTokenId?: number; file?: string } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { architectures: [ARCHITECTURES[config.family]], ...toHfConfig(config) };
  if (config.family === 'distilbert' && config.layerNormEps !== undefined && config.layerNormEps !== 1e-12) {
    throw new UnsupportedModelError(extra.file ?? 'config.json', `DistilBERT's Hugging Face config has no layer norm epsilon (transformers fixes it at 1e-12), so ${config.layerNormEps} cannot be written`);
  }
  if (extra.labels) {
    if (extra.labels.length !== config.numLabels) throw new Error(`${extra.labels.length} labels for a ${config.numLabels}-label classifier`);
    out.id2label = Object.fromEntries(extra.labels.map((l, i) => [String(i), l]));
    out.label2id = Object.fromEntries(extra.labels.map((l, i) => [l, i]));
  }
  if (extra.padTokenId !== undefined) out.pad_token_id = extra.padTokenId;
  out.torch_dtype = 'float32';
  return out;
}
