import type { ModelFile } from '../model';
import type { Architecture } from './architecture';
import type { TensorRow } from './rows';

export type Family = 'BERT' | 'DistilBERT' | 'ALBERT' | 'MobileBERT' | 'TinyBERT-like' | 'unknown';

export interface FamilyResult {
  family: Family;
  evidence: string[];
}

const BY_MODEL_TYPE: Record<string, Family> = { bert: 'BERT', distilbert: 'DistilBERT', albert: 'ALBERT', mobilebert: 'MobileBERT', tinybert: 'TinyBERT-like' };

/**
 * Names the family and says why: config.json's model_type, the weights' naming, and the
 * structure itself (shared layers, a bottleneck, factorised embeddings), so a reader can check.
 */
export function detectFamily(model: ModelFile, rows: TensorRow[], a: Architecture): FamilyResult {
  const evidence: string[] = [];
  const names = rows.map((r) => r.resolvedName);
  const has = (re: RegExp) => names.some((n) => re.test(n));

  let byNames: Family | undefined;
  if (has(/(^|\.)fit_denses?\./)) { byNames = 'TinyBERT-like'; evidence.push('fit_dense weights (TinyBERT\'s hidden-state projection W_h) are present'); }
  else if (has(/^distilbert\.|transformer\.layer\.\d+\.attention\.q_lin|\.q_lin\./)) { byNames = 'DistilBERT'; evidence.push('weights named distilbert.transformer.layer.N (q_lin/k_lin/v_lin)'); }
  else if (has(/^albert\.|albert_layer_groups|albert_layers\./)) { byNames = 'ALBERT'; evidence.push('weights named albert.encoder.albert_layer_groups'); }
  else if (has(/^mobilebert\.|\.bottleneck\./)) { byNames = 'MobileBERT'; evidence.push('weights named mobilebert.encoder.layer.N.bottleneck'); }
  else if (has(/^bert\.|(^|\.)encoder\.layer\.\d+\.attention\.self\./)) { byNames = 'BERT'; evidence.push('weights named bert.encoder.layer.N.attention.self'); }

  const modelType = typeof model.config?.model_type === 'string' ? (model.config.model_type as string).toLowerCase() : undefined;
  const nameHint = [model.config?._name_or_path, model.config?.name_or_path, ...(Array.isArray(model.config?.architectures) ? model.config!.architectures as unknown[] : [])]
    .filter((x): x is string => typeof x === 'string').join(' ');
  let byConfig: Family | undefined = modelType ? BY_MODEL_TYPE[modelType] : undefined;
  if (byConfig === 'BERT' && /tinybert/i.test(nameHint)) byConfig = 'TinyBERT-like';
  if (modelType) evidence.push(`config.json model_type "${modelType}"${nameHint ? ` (${nameHint})` : ''}`);

  let byStructure: Family | undefined;
  if (a.sharedLayers) byStructure = 'ALBERT';
  else if (a.bottleneckSize !== undefined && a.hiddenSize !== undefined && a.bottleneckSize < a.hiddenSize) byStructure = 'MobileBERT';

  // The structure facts, whatever the family.
  if (a.layers) evidence.push(`${a.layers} encoder layers executed${a.uniqueLayers !== a.layers ? ` from ${a.uniqueLayers} distinct set${a.uniqueLayers === 1 ? '' : 's'} of weights` : ''}`);
  if (a.hiddenSize) evidence.push(`hidden size ${a.hiddenSize}`);
  evidence.push(a.numHeads ? `${a.numHeads} attention heads (from ${a.numHeadsSource})` : 'attention heads: not stored in the weights (no config.json)');
  if (a.intermediateSize) evidence.push(`intermediate (FFN) size ${a.intermediateSize}${a.feedForwardsPerLayer ? `, ${a.feedForwardsPerLayer} stacked FFNs per layer` : ''}`);
  if (a.embeddingSize) evidence.push(a.factorisedEmbeddings ? `factorised embeddings: ${a.vocabSize} x ${a.embeddingSize}, projected to ${a.hiddenSize}` : `embeddings ${a.vocabSize} x ${a.embeddingSize} (not factorised)`);
  evidence.push(a.sharedLayers ? 'layers share weights (one set reused at several depths)' : 'no layers share weights');
  if (a.bottleneckSize) evidence.push(`bottleneck width ${a.bottleneckSize} inside each ${a.hiddenSize}-wide block`);

  const family = byConfig ?? byNames ?? byStructure ?? 'unknown';
  if (byConfig && byNames && byConfig !== byNames && !(byConfig === 'TinyBERT-like' && byNames === 'BERT')) {
    evidence.push(`note: config.json says ${byConfig} but the weights are named like ${byNames}`);
  }
  if (!byConfig && !byNames && byStructure) evidence.push(`${byStructure}-like by structure alone`);
  if (family === 'unknown') evidence.push(a.layers ? 'encoder layers found but no family naming' : 'no BERT-family encoder layers found');
  return { family, evidence };
}
