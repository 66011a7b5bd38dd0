/**
 * Where a weight belongs in a BERT-family model, read from its (Hugging Face style) dotted name.
 * The same rules serve checkpoints and ONNX exports, whose anonymous weights are first given a
 * dotted name from the nodes that use them (onnx-attribution.ts).
 */
export type Component = 'embeddings' | 'encoder' | 'pooler' | 'head' | 'other';

export interface NamePlace {
  component: Component;
  /** Identifies one set of layer weights: 'layer.3', or 'group.0.inner.0' for ALBERT. */
  layerKey?: string;
  /** Order of that set among the model's layer sets. */
  layerOrder?: number;
}

const ALBERT_GROUP = /(?:^|\.)albert_layer_groups\.(\d+)\.albert_layers\.(\d+)(?:\.|$)/;
const ALBERT_INNER = /(?:^|\.)albert_layers\.(\d+)(?:_\d+)?(?:\.|$)/;
const LAYER = /(?:^|\.)(?:layer|layers|layer_|blocks|h)\.(\d+)(?:_\d+)?(?:\.|$)/;
const HEAD = /(?:^|\.)(classifier|pre_classifier|qa_outputs|score|lm_head|cls|predictions|vocab_transform|vocab_projector|vocab_layer_norm|fit_dense|fit_denses)(?:\.|$|_\d)/;

export function placeOf(name: string): NamePlace {
  const n = name.replace(/^\//, '').replace(/\//g, '.');
  let m = ALBERT_GROUP.exec(n);
  if (m) return { component: 'encoder', layerKey: `group.${m[1]}.inner.${m[2]}`, layerOrder: Number(m[1]) * 1000 + Number(m[2]) };
  m = ALBERT_INNER.exec(n);
  if (m) return { component: 'encoder', layerKey: `group.0.inner.${m[1]}`, layerOrder: Number(m[1]) };
  if (/(?:^|\.)fit_denses?(?:\.|$)/.test(n)) return { component: 'head' };
  m = LAYER.exec(n);
  if (m) return { component: 'encoder', layerKey: `layer.${m[1]}`, layerOrder: Number(m[1]) };
  if (/embedding/i.test(n)) return { component: 'embeddings' };
  if (/(?:^|\.)pooler(?:\.|$)/.test(n)) return { component: 'pooler' };
  if (HEAD.test(n)) return { component: 'head' };
  return { component: 'other' };
}

/** An ONNX or checkpoint name with no meaning of its own (torch.onnx's `onnx::MatMul_123`). */
export function isAnonymous(name: string): boolean {
  return name.startsWith('onnx::') || !/[A-Za-z_]\w*\.\w/.test(name);
}

/** What a weight does in its layer, read from the name's tail: used to infer sizes. */
export type Role =
  | 'word_embeddings' | 'position_embeddings' | 'token_type_embeddings' | 'embedding_projection'
  | 'query' | 'key' | 'value' | 'attention_output' | 'intermediate' | 'ffn_output'
  | 'bottleneck_input' | 'bottleneck_attention' | 'bottleneck_output'
  | 'pooler' | 'classifier' | 'fit_dense' | 'norm' | 'other';

const ROLE_RULES: Array<[RegExp, Role]> = [
    [/word_embeddings\.weight$/, 'word_embeddings'],
    [/position_embeddings\.weight$/, 'position_embeddings'],
    [/token_type_embeddings\.weight$/, 'token_type_embeddings'],
    [/(embedding_hidden_mapping_in|embedding_transformation)\.weight$/, 'embedding_projection'],
    [/bottleneck\.input\.dense\.weight$/, 'bottleneck_input'],
    [/bottleneck\.attention\.dense\.weight$/, 'bottleneck_attention'],
    [/output\.bottleneck\.dense\.weight$/, 'bottleneck_output'],
    [/(?:layer_?norm|LayerNorm|layer_norm)[^.]*\.(weight|bias)$/i, 'norm'],
    [/(self\.query|\.query|q_lin)\.weight$/, 'query'],
    [/(self\.key|\.key|k_lin)\.weight$/, 'key'],
    [/(self\.value|\.value|v_lin)\.weight$/, 'value'],
    [/(attention\.output\.dense|attention\.dense|out_lin)\.weight$/, 'attention_output'],
    [/(^|\.)(intermediate\.dense|ffn\.lin1|ffn)\.weight$/, 'intermediate'],
    [/(^|\.)(output\.dense|ffn\.lin2|ffn_output)\.weight$/, 'ffn_output'],
    [/pooler(\.dense)?\.weight$/, 'pooler'],
    [/(^|\.)classifier\.weight$/, 'classifier'],
    [/fit_denses?(\.\d+)?\.weight$/, 'fit_dense'],
];

export function roleOf(name: string): Role {
  const n = name.replace(/\//g, '.');
  for (const [re, role] of ROLE_RULES) if (re.test(n)) return role;
  return 'other';
}
