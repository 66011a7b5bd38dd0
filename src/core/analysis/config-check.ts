import type { Architecture } from './architecture';

export interface ConfigCheck {
  field: string;
  config: number;
  weights?: number;
  agree: boolean;
}

/** config.json fields (any of their Hugging Face spellings) against what the weights say. */
const FIELDS: Array<{ keys: string[]; from: (a: Architecture) => number | undefined }> = [
  { keys: ['vocab_size'], from: (a) => a.vocabSize },
  { keys: ['hidden_size', 'dim'], from: (a) => a.hiddenSize },
  { keys: ['num_hidden_layers', 'n_layers'], from: (a) => a.layers },
  { keys: ['intermediate_size', 'hidden_dim'], from: (a) => a.intermediateSize },
  { keys: ['embedding_size'], from: (a) => a.embeddingSize },
  { keys: ['max_position_embeddings'], from: (a) => a.maxPositions },
  { keys: ['type_vocab_size'], from: (a) => a.typeVocabSize },
  { keys: ['intra_bottleneck_size'], from: (a) => a.bottleneckSize },
  { keys: ['num_labels'], from: (a) => a.numLabels },
];

export function compareConfig(config: Record<string, unknown>, a: Architecture): ConfigCheck[] {
  const out: ConfigCheck[] = [];
  const cfg = { ...config };
  if (cfg.num_labels === undefined && cfg.id2label && typeof cfg.id2label === 'object') cfg.num_labels = Object.keys(cfg.id2label).length;
  for (const f of FIELDS) {
    const key = f.keys.find((k) => typeof cfg[k] === 'number');
    if (!key) continue;
    const value = cfg[key] as number;
    const w = f.from(a);
    out.push({ field: key, config: value, weights: w, agree: w === undefined || w === value });
  }
  return out;
}
