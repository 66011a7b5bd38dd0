// The teacher's weights under Hugging Face names, for the students that start from them, and the
// student's way out as a Hugging Face folder.
import { UnsupportedModelError } from '../errors';
import { SIGNALS_METADATA, type EncoderConfig } from '../onnx/bert-builder';
import type { ModelSpec } from '../onnx/model-spec';
import type { StateDict } from './students';
import type { Teacher } from './teacher';

/** The builder's EncoderConfig back from the Hugging Face config it wrote into the model's metadata. */
export function encoderConfigFromHf(hf: Record<string, unknown>): EncoderConfig | undefined {
  const n = (k: string) => (typeof hf[k] === 'number' ? (hf[k] as number) : undefined);
  const family = hf.model_type;
  if (family === 'distilbert') {
    return { family, vocabSize: n('vocab_size')!, hiddenSize: n('dim')!, numLayers: n('n_layers')!, numHeads: n('n_heads')!, intermediateSize: n('hidden_dim')!, maxPositions: n('max_position_embeddings')!, numLabels: n('num_labels') ?? 2 };
  }
  if (family !== 'bert' && family !== 'albert' && family !== 'mobilebert') return undefined;
  const c: EncoderConfig = {
    family, vocabSize: n('vocab_size')!, hiddenSize: n('hidden_size')!, numLayers: n('num_hidden_layers')!, numHeads: n('num_attention_heads')!,
    intermediateSize: n('intermediate_size')!, maxPositions: n('max_position_embeddings')!, numLabels: n('num_labels') ?? 2,
    typeVocabSize: n('type_vocab_size'), embeddingSize: n('embedding_size'), numHiddenGroups: n('num_hidden_groups'),
    bottleneckSize: n('intra_bottleneck_size'), numFeedforwardNetworks: n('num_feedforward_networks'),
    ...(typeof hf.normalization_type === 'string' ? { normalization: hf.normalization_type as 'no_norm' | 'layer_norm' } : {}),
    ...(typeof hf.hidden_act === 'string' && ['gelu', 'gelu_new', 'relu'].includes(hf.hidden_act) ? { hiddenAct: hf.hidden_act as 'gelu' | 'gelu_new' | 'relu' } : {}),
  };
  const required = [c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.intermediateSize, c.maxPositions];
  return required.every((v) => Number.isInteger(v) && v > 0) ? c : undefined;
}

/** A graph the project's builder made, with the config it was made from. */
function builderConfig(spec: ModelSpec): EncoderConfig | undefined {
  const md = spec.metadata ?? {};
  if (!md[SIGNALS_METADATA] || !md['compression_lab.config']) return undefined;
  try {
    return encoderConfigFromHf(JSON.parse(md['compression_lab.config']) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/**
 * The teacher's config, and (when `withWeights`) its weights by Hugging Face name. A builder
 * graph's initializers already carry those names and layouts.
 */
export async function teacherStateDict(t: Teacher, withWeights: boolean): Promise<StateDict> {
  const config = builderConfig(t.spec);
  if (config) {
    const tensors = new Map<string, { dims: number[]; values: Float32Array }>();
    if (withWeights) for (const i of t.spec.graph.initializers) if (i.dtype === 'float32') tensors.set(i.name, { dims: i.dims, values: i.values as Float32Array });
    return { config, tensors };
  }
  if (withWeights) throw new UnsupportedModelError(t.file, 'the teacher was not made by this project\'s builder; convert it first (compression-lab convert)');
  return { config: configFromCard(t), tensors: new Map() };
}

/** What a fresh student needs to know of a teacher it does not copy: its sizes, read off its weights. */
function configFromCard(t: Teacher): EncoderConfig {
  const a = t.card.architecture;
  const family = ({ BERT: 'bert', DistilBERT: 'distilbert', ALBERT: 'albert', MobileBERT: 'mobilebert' } as Record<string, EncoderConfig['family']>)[t.card.family] ?? 'bert';
  const missing = (['vocabSize', 'hiddenSize', 'intermediateSize', 'maxPositions'] as const).filter((k) => !a[k]);
  if (missing.length) throw new UnsupportedModelError(t.file, `cannot read the teacher's ${missing.join(', ')} off its weights`);
  return {
    family, vocabSize: a.vocabSize!, hiddenSize: a.hiddenSize!, numLayers: a.layers, numHeads: a.numHeads ?? t.heads, intermediateSize: a.intermediateSize!,
    maxPositions: a.maxPositions!, numLabels: t.numLabels, typeVocabSize: a.typeVocabSize ?? (family === 'distilbert' ? 0 : 2),
  };
}

/** Writes the student as a Hugging Face folder; returns the folder. */
export async function writeStudentFolder(dir: string, spec: ModelSpec, config: EncoderConfig, tokenizer: string | undefined): Promise<string> {
  void spec; void config; void tokenizer;
  throw new UnsupportedModelError(dir, 'Hugging Face folder export is not available in this build');
}
