import type { ModelFile } from '../model';
import type { LayerRow, TensorRow } from './rows';
import { numberFrom } from './config-values';

/** Sizes read off the weights (and, for what weights cannot tell, config.json). */
export interface Architecture {
  layers: number;
  uniqueLayers: number;
  sharedLayers: boolean;
  hiddenSize?: number;
  numHeads?: number;
  /** Where numHeads came from: weights cannot tell it. */
  numHeadsSource?: 'config.json' | 'model metadata';
  intermediateSize?: number;
  embeddingSize?: number;
  factorisedEmbeddings: boolean;
  bottleneckSize?: number;
  feedForwardsPerLayer?: number;
  vocabSize?: number;
  maxPositions?: number;
  typeVocabSize?: number;
  numLabels?: number;
}

/** [out, in] of a 2-D weight, whatever layout it is stored in. */
export function outIn(r: TensorRow): [number, number] | undefined {
  if (r.shape.length !== 2) return undefined;
  return r.layout === 'in-out' ? [r.shape[1], r.shape[0]] : [r.shape[0], r.shape[1]];
}

export function architectureOf(model: ModelFile, rows: TensorRow[], layers: LayerRow[], uniqueLayers: number): Architecture {
  const params = rows.filter((r) => r.isParam && !r.tiedTo);
  const first = (role: TensorRow['role']) => params.find((r) => r.role === role);
  const out = (role: TensorRow['role']) => { const r = first(role); return r ? outIn(r)?.[0] : undefined; };
  const inn = (role: TensorRow['role']) => { const r = first(role); return r ? outIn(r)?.[1] : undefined; };

  const word = first('word_embeddings');
  const a: Architecture = { layers: layers.length, uniqueLayers, sharedLayers: layers.some((l) => l.sharedWith), factorisedEmbeddings: false };
  if (word?.shape.length === 2) { a.vocabSize = word.shape[0]; a.embeddingSize = word.shape[1]; }
  const pos = first('position_embeddings');
  if (pos?.shape.length === 2) a.maxPositions = pos.shape[0];
  const types = first('token_type_embeddings');
  if (types?.shape.length === 2) a.typeVocabSize = types.shape[0];
  a.hiddenSize = out('pooler') ?? inn('classifier') ?? out('bottleneck_output') ?? out('attention_output') ?? a.embeddingSize;
  a.intermediateSize = out('intermediate');
  a.bottleneckSize = out('bottleneck_input');
  a.numLabels = out('classifier');
  if (a.embeddingSize !== undefined && a.hiddenSize !== undefined) a.factorisedEmbeddings = a.embeddingSize !== a.hiddenSize;
  const firstSet = layers[0]?.weights;
  if (firstSet) {
    const ffns = params.filter((r) => r.role === 'intermediate' && r.layers.includes(0)).length;
    if (ffns > 1) a.feedForwardsPerLayer = ffns;
  }
  const heads = numberFrom(model.config, ['num_attention_heads', 'n_heads']);
  if (heads) { a.numHeads = heads; a.numHeadsSource = 'config.json'; }
  else {
    const meta = model.metadata['meta.compression_lab.config'];
    if (meta) {
      try {
        const c = JSON.parse(meta) as Record<string, unknown>;
        const h = numberFrom(c, ['num_attention_heads', 'n_heads']);
        if (h) { a.numHeads = h; a.numHeadsSource = 'model metadata'; }
      } catch { /* metadata is informative only */ }
    }
  }
  return a;
}
