import { attr, type ModelSpec } from './model-spec';
import { GraphBuilder, normalFill, seededRandom } from './graph-builder';
import type { TensorValues } from '../tensor-values';

/** The metadata key under which the builder records where its distillation signals are. */
export const SIGNALS_METADATA = 'compression_lab.signals';

export type BuildFamily = 'bert' | 'distilbert' | 'albert' | 'mobilebert';

/** The feed-forward activations the builder writes (Hugging Face's hidden_act names). */
export const HIDDEN_ACTS = ['gelu', 'gelu_new', 'relu'] as const;
export type HiddenAct = (typeof HIDDEN_ACTS)[number];

/** What the builder needs to emit a BERT-family sequence classifier; names follow Hugging Face configs' meaning. */
export interface EncoderConfig {
  family: BuildFamily;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  numLabels: number;
  /** Token type vocabulary; 0 for DistilBERT (no token_type_ids input). */
  typeVocabSize?: number;
  /** Factorised embedding width (ALBERT, MobileBERT); defaults to hiddenSize. */
  embeddingSize?: number;
  /** ALBERT: distinct layer weight sets, reused across numLayers. */
  numHiddenGroups?: number;
  /** MobileBERT: the narrow body's width and how many FFNs each block stacks. */
  bottleneckSize?: number;
  numFeedforwardNetworks?: number;
  /**
   * Emit Dropout nodes where Hugging Face applies dropout (embeddings, attention probabilities,
   * each sub-layer's output, the classifier's input), with this ratio. They are identities at
   * inference; training switches them on. Undefined: no Dropout nodes, as in exported graphs.
   */
  dropout?: number;
  /** MobileBERT: 'no_norm' (Hugging Face's default, an elementwise affine map) or real LayerNorm. */
  normalization?: 'no_norm' | 'layer_norm';
  /** Feed-forward activation; defaults follow each family's Hugging Face config (ALBERT gelu_new, MobileBERT relu). */
  hiddenAct?: HiddenAct;
  layerNormEps?: number;
  initStd?: number;
  seed?: number;
}

export function withDefaults(c: EncoderConfig): Required<Omit<EncoderConfig, 'dropout'>> & Pick<EncoderConfig, 'dropout'> {
  return {
    typeVocabSize: c.family === 'distilbert' ? 0 : 2,
    embeddingSize: c.hiddenSize,
    numHiddenGroups: 1,
    bottleneckSize: c.family === 'mobilebert' ? Math.max(1, Math.floor(c.hiddenSize / 4)) : c.hiddenSize,
    numFeedforwardNetworks: c.family === 'mobilebert' ? 4 : 1,
    normalization: 'no_norm',
    hiddenAct: c.family === 'albert' ? 'gelu_new' : c.family === 'mobilebert' ? 'relu' : 'gelu',
    layerNormEps: 1e-12,
    initStd: 0.02,
    seed: 42,
    ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)),
  } as Required<Omit<EncoderConfig, 'dropout'>> & Pick<EncoderConfig, 'dropout'>;
}

/**
 * The Hugging Face config.json that describes the same model, so the builder's output is a model
 * folder. It spells out the activation and epsilon too: they are part of what the graph computes,
 * and a family default that differs (ALBERT's gelu_new) would otherwise be lost.
 */
export function toHfConfig(config: EncoderConfig): Record<string, unknown> {
  const c = withDefaults(config);
  const common = { vocab_size: c.vocabSize, max_position_embeddings: c.maxPositions, num_labels: c.numLabels };
  const act = { hidden_act: c.hiddenAct, layer_norm_eps: c.layerNormEps };
  switch (c.family) {
    case 'distilbert':
      // DistilBERT's config has no epsilon: its LayerNorms use 1e-12.
      return { model_type: 'distilbert', ...common, dim: c.hiddenSize, n_layers: c.numLayers, n_heads: c.numHeads, hidden_dim: c.intermediateSize, activation: c.hiddenAct };
    case 'albert':
      return { model_type: 'albert', ...common, embedding_size: c.embeddingSize, hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, intermediate_size: c.intermediateSize, num_hidden_groups: c.numHiddenGroups, inner_group_num: 1, type_vocab_size: c.typeVocabSize, ...act };
    case 'mobilebert':
      // The builder's MobileBERT: shared query/key bottleneck, no bottleneck attention, a tanh pooler.
      return { model_type: 'mobilebert', ...common, embedding_size: c.embeddingSize, hidden_size: c.hiddenSize, intra_bottleneck_size: c.bottleneckSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, intermediate_size: c.intermediateSize, num_feedforward_networks: c.numFeedforwardNetworks, normalization_type: c.normalization, trigram_input: true, use_bottleneck: true, key_query_shared_bottleneck: true, use_bottleneck_attention: false, classifier_activation: true, type_vocab_size: c.typeVocabSize, ...act };
    default:
      return { model_type: 'bert', ...common, hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads, intermediate_size: c.intermediateSize, type_vocab_size: c.typeVocabSize, ...act };
  }
}

export interface BuildOptions {
  /**
   * An initializer's values in place of the seeded random ones (a checkpoint's weights), or
   * undefined for random. Asked once per initializer, with its Hugging Face name and dims.
   */
  weights?: (name: string, dims: readonly number[]) => TensorValues | undefined;
}

function validate(c: ReturnType<typeof withDefaults>): void {
  const positive = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'numLabels', 'embeddingSize', 'numHiddenGroups', 'bottleneckSize', 'numFeedforwardNetworks'] as const;
  for (const k of positive) if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`config.${k} must be a positive integer (got ${c[k]})`);
  const attnWidth = c.family === 'mobilebert' ? c.bottleneckSize : c.hiddenSize;
  if (attnWidth % c.numHeads !== 0) throw new Error(`attention width ${attnWidth} is not divisible by ${c.numHeads} heads`);
  if (c.family === 'albert' && c.numLayers % c.numHiddenGroups !== 0) throw new Error('ALBERT: numLayers must be a multiple of numHiddenGroups');
}

/**
 * Emits a BERT-family encoder classifier as an ONNX model (opset 17): inputs input_ids,
 * attention_mask (and token_type_ids where the family has them), output logits. Initializers carry
 * Hugging Face names and layouts (Linear weights [out, in]), so the inspector attributes them like
 * a checkpoint, and trained weights map one-to-one onto a Hugging Face state dict.
 */
export function buildEncoderClassifier(config: EncoderConfig, options: BuildOptions = {}): ModelSpec {
  const c = withDefaults(config);
  validate(c);
  const g = new GraphBuilder(`${c.family}-classifier`);
  const rand = seededRandom(c.seed);
  const given = options.weights ?? (() => undefined);
  const normal = (name: string, dims: number[]) => g.initializer(name, 'float32', dims, given(name, dims) ?? normalFill(dims[0] * (dims[1] ?? 1), c.initStd, rand));
  const fill = (name: string, n: number, v: number) => g.initializer(name, 'float32', [n], given(name, [n]) ?? new Float32Array(n).fill(v));

  const linear = (x: string, prefix: string, inDim: number, outDim: number, weightName = `${prefix}.weight`, biasName = `${prefix}.bias`, create = true): string => {
    if (create) { normal(weightName, [outDim, inDim]); fill(biasName, outDim, 0); }
    const wt = g.op1('Transpose', [weightName], { perm: attr.ints([1, 0]) }, `${prefix}/weight_t`);
    const mm = g.op1('MatMul', [x, wt], undefined, `${prefix}/MatMul`);
    return g.op1('Add', [mm, biasName], undefined, `${prefix}/Add`);
  };
  const layerNorm = (x: string, prefix: string, dim: number, create = true): string => {
    if (create) { fill(`${prefix}.weight`, dim, 1); fill(`${prefix}.bias`, dim, 0); }
    return g.op1('LayerNormalization', [x, `${prefix}.weight`, `${prefix}.bias`], { axis: attr.i(-1), epsilon: attr.f(c.layerNormEps) }, prefix);
  };
  // MobileBERT's NoNorm: an elementwise affine map, no statistics.
  const noNorm = (x: string, prefix: string, dim: number): string => {
    if (c.normalization === 'layer_norm') return layerNorm(x, prefix, dim);
    fill(`${prefix}.weight`, dim, 1); fill(`${prefix}.bias`, dim, 0);
    return g.op1('Add', [g.op1('Mul', [x, `${prefix}.weight`]), `${prefix}.bias`], undefined, prefix);
  };
  const gelu = (x: string, hint: string): string => {
    if (c.hiddenAct === 'relu') return g.op1('Relu', [x], undefined, `${hint}/relu`);
    if (c.hiddenAct === 'gelu_new') {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const cube = g.op1('Mul', [g.op1('Mul', [x, x]), x]);
      const inner = g.op1('Mul', [g.op1('Add', [x, g.op1('Mul', [cube, g.const('float32', [], [0.044715])])]), g.const('float32', [], [Math.sqrt(2 / Math.PI)])]);
      const t = g.op1('Tanh', [inner], undefined, `${hint}/gelu_new`);
      return g.op1('Mul', [g.op1('Mul', [x, g.const('float32', [], [0.5])]), g.op1('Add', [t, g.const('float32', [], [1])])], undefined, `${hint}/gelu_new`);
    }
    const erf = g.op1('Erf', [g.op1('Div', [x, g.const('float32', [], [Math.SQRT2])])], undefined, `${hint}/gelu`);
    return g.op1('Mul', [g.op1('Mul', [x, g.const('float32', [], [0.5])]), g.op1('Add', [erf, g.const('float32', [], [1])])], undefined, `${hint}/gelu`);
  };

  const drop = (x: string, hint: string): string =>
    c.dropout === undefined ? x : g.op1('Dropout', [x, g.const('float32', [], [c.dropout])], undefined, `${hint}/dropout`);

  const root = c.family;
  const types = c.typeVocabSize > 0;
  g.inputs.push({ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] });
  g.inputs.push({ name: 'attention_mask', dtype: 'int64', shape: ['batch', 'sequence'] });
  if (types) g.inputs.push({ name: 'token_type_ids', dtype: 'int64', shape: ['batch', 'sequence'] });

  // Embeddings.
  const E = c.family === 'albert' || c.family === 'mobilebert' ? c.embeddingSize : c.hiddenSize;
  const posWidth = c.family === 'mobilebert' ? c.hiddenSize : E;
  normal(`${root}.embeddings.word_embeddings.weight`, [c.vocabSize, E]);
  normal(`${root}.embeddings.position_embeddings.weight`, [c.maxPositions, posWidth]);
  if (types) normal(`${root}.embeddings.token_type_embeddings.weight`, [c.typeVocabSize, posWidth]);
  let x = g.op1('Gather', [`${root}.embeddings.word_embeddings.weight`, 'input_ids'], undefined, 'embeddings/word_embeddings');
  if (c.family === 'mobilebert') {
    // Trigram input: each position sees the next, its own and the previous token's embedding.
    const next = g.op1('Pad', [g.op1('Slice', [x, g.const('int64', [1], [1]), g.const('int64', [1], [2 ** 62]), g.const('int64', [1], [1])]), g.const('int64', [6], [0, 0, 0, 0, 1, 0])]);
    const prev = g.op1('Pad', [g.op1('Slice', [x, g.const('int64', [1], [0]), g.const('int64', [1], [-1]), g.const('int64', [1], [1])]), g.const('int64', [6], [0, 1, 0, 0, 0, 0])]);
    const tri = g.op1('Concat', [next, x, prev], { axis: attr.i(2) });
    x = linear(tri, `${root}.embeddings.embedding_transformation`, 3 * E, c.hiddenSize);
  }
  const seqLen = g.op1('Gather', [g.op1('Shape', ['input_ids']), g.const('int64', [], [1])], { axis: attr.i(0) });
  const positions = g.op1('Range', [g.const('int64', [], [0]), seqLen, g.const('int64', [], [1])]);
  x = g.op1('Add', [x, g.op1('Gather', [`${root}.embeddings.position_embeddings.weight`, positions], undefined, 'embeddings/position_embeddings')]);
  if (types) x = g.op1('Add', [x, g.op1('Gather', [`${root}.embeddings.token_type_embeddings.weight`, 'token_type_ids'], undefined, 'embeddings/token_type_embeddings')]);
  x = c.family === 'mobilebert' ? noNorm(x, `${root}.embeddings.LayerNorm`, c.hiddenSize) : layerNorm(x, `${root}.embeddings.LayerNorm`, E);
  x = drop(x, 'embeddings');
  if (c.family === 'albert') x = linear(x, `${root}.encoder.embedding_hidden_mapping_in`, E, c.hiddenSize);

  // Additive attention mask [batch, 1, 1, sequence]: 0 where attended, a large negative where padded.
  const maskF = g.op1('Cast', ['attention_mask'], { to: attr.i(1) });
  const maskAdd = g.op1('Unsqueeze', [g.op1('Mul', [g.op1('Sub', [g.const('float32', [], [1]), maskF]), g.const('float32', [], [-1e4])]), g.const('int64', [2], [1, 2])], undefined, 'extended_attention_mask');

  // Where the distillation signals are, by value name: the embeddings' output, each executed
  // layer's output, each layer's attention scores (before softmax, mask added).
  const signals: { embeddings: string; hidden: string[]; attention: string[] } = { embeddings: x, hidden: [], attention: [] };
  const attention = (q: string, k: string, v: string, width: number, hint: string): string => {
    const hd = width / c.numHeads;
    const split = (t: string) => g.op1('Transpose', [g.op1('Reshape', [t, g.const('int64', [4], [0, 0, c.numHeads, hd])])], { perm: attr.ints([0, 2, 1, 3]) }, `${hint}/split_heads`);
    const qh = split(q);
    const kt = g.op1('Transpose', [g.op1('Reshape', [k, g.const('int64', [4], [0, 0, c.numHeads, hd])])], { perm: attr.ints([0, 2, 3, 1]) }, `${hint}/split_heads`);
    const scores = g.op1('Add', [g.op1('Div', [g.op1('MatMul', [qh, kt], undefined, `${hint}/scores`), g.const('float32', [], [Math.sqrt(hd)])]), maskAdd], undefined, `${hint}/scores`);
    signals.attention.push(scores);
    const probs = drop(g.op1('Softmax', [scores], { axis: attr.i(-1) }, `${hint}/probs`), `${hint}/probs`);
    const ctx = g.op1('Transpose', [g.op1('MatMul', [probs, split(v)], undefined, `${hint}/context`)], { perm: attr.ints([0, 2, 1, 3]) });
    return g.op1('Reshape', [ctx, g.const('int64', [3], [0, 0, width])], undefined, `${hint}/merge_heads`);
  };

  const H = c.hiddenSize;
  const I = c.intermediateSize;
  for (let l = 0; l < c.numLayers; l++) {
    if (c.family === 'bert') {
      const p = `${root}.encoder.layer.${l}`;
      const a = attention(linear(x, `${p}.attention.self.query`, H, H), linear(x, `${p}.attention.self.key`, H, H), linear(x, `${p}.attention.self.value`, H, H), H, `${p}.attention`);
      const h1 = layerNorm(g.op1('Add', [drop(linear(a, `${p}.attention.output.dense`, H, H), p), x]), `${p}.attention.output.LayerNorm`, H);
      const ff = drop(linear(gelu(linear(h1, `${p}.intermediate.dense`, H, I), p), `${p}.output.dense`, I, H), p);
      x = layerNorm(g.op1('Add', [ff, h1]), `${p}.output.LayerNorm`, H);
    } else if (c.family === 'distilbert') {
      const p = `${root}.transformer.layer.${l}`;
      const a = attention(linear(x, `${p}.attention.q_lin`, H, H), linear(x, `${p}.attention.k_lin`, H, H), linear(x, `${p}.attention.v_lin`, H, H), H, `${p}.attention`);
      const h1 = layerNorm(g.op1('Add', [drop(linear(a, `${p}.attention.out_lin`, H, H), p), x]), `${p}.sa_layer_norm`, H);
      const ff = drop(linear(gelu(linear(h1, `${p}.ffn.lin1`, H, I), p), `${p}.ffn.lin2`, I, H), p);
      x = layerNorm(g.op1('Add', [ff, h1]), `${p}.output_layer_norm`, H);
    } else if (c.family === 'albert') {
      const perGroup = c.numLayers / c.numHiddenGroups;
      const group = Math.floor(l / perGroup);
      const p = `${root}.encoder.albert_layer_groups.${group}.albert_layers.0`;
      const create = l % perGroup === 0;
      const lin = (t: string, n: string, i: number, o: number) => linear(t, `${p}.${n}`, i, o, `${p}.${n}.weight`, `${p}.${n}.bias`, create);
      const a = attention(lin(x, 'attention.query', H, H), lin(x, 'attention.key', H, H), lin(x, 'attention.value', H, H), H, `${p}.attention`);
      const h1 = layerNorm(g.op1('Add', [drop(lin(a, 'attention.dense', H, H), p), x]), `${p}.attention.LayerNorm`, H, create);
      const ff = drop(lin(gelu(lin(h1, 'ffn', H, I), p), 'ffn_output', I, H), p);
      x = layerNorm(g.op1('Add', [ff, h1]), `${p}.full_layer_layer_norm`, H, create);
    } else {
      const B = c.bottleneckSize;
      const p = `${root}.encoder.layer.${l}`;
      const layerInput = noNorm(linear(x, `${p}.bottleneck.input.dense`, H, B), `${p}.bottleneck.input.LayerNorm`, B);
      const shared = noNorm(linear(x, `${p}.bottleneck.attention.dense`, H, B), `${p}.bottleneck.attention.LayerNorm`, B);
      const a = attention(linear(shared, `${p}.attention.self.query`, B, B), linear(shared, `${p}.attention.self.key`, B, B), linear(x, `${p}.attention.self.value`, H, B), B, `${p}.attention`);
      let h = noNorm(g.op1('Add', [linear(a, `${p}.attention.output.dense`, B, B), layerInput]), `${p}.attention.output.LayerNorm`, B);
      for (let f = 0; f < c.numFeedforwardNetworks - 1; f++) {
        const q = `${p}.ffn.${f}`;
        const inner = gelu(linear(h, `${q}.intermediate.dense`, B, I), q);
        h = noNorm(g.op1('Add', [linear(inner, `${q}.output.dense`, I, B), h]), `${q}.output.LayerNorm`, B);
      }
      const inner = gelu(linear(h, `${p}.intermediate.dense`, B, I), p);
      const out = noNorm(g.op1('Add', [linear(inner, `${p}.output.dense`, I, B), h]), `${p}.output.LayerNorm`, B);
      x = noNorm(g.op1('Add', [drop(linear(out, `${p}.output.bottleneck.dense`, B, H), p), x]), `${p}.output.bottleneck.LayerNorm`, H);
    }
    signals.hidden.push(x);
  }

  // Head on the first ([CLS]) token.
  const cls = g.op1('Gather', [x, g.const('int64', [], [0])], { axis: attr.i(1) }, 'cls');
  let logits: string;
  if (c.family === 'distilbert') {
    const pre = g.op1('Relu', [linear(cls, 'pre_classifier', H, H)]);
    logits = linear(drop(pre, 'classifier'), 'classifier', H, c.numLabels);
  } else {
    const pooler = c.family === 'albert' ? `${root}.pooler` : `${root}.pooler.dense`;
    const pooled = g.op1('Tanh', [linear(cls, pooler, H, H)]);
    logits = linear(drop(pooled, 'classifier'), 'classifier', H, c.numLabels);
  }
  g.nodes.push({ opType: 'Identity', inputs: [logits], outputs: ['logits'], name: 'logits' });
  g.outputs.push({ name: 'logits', dtype: 'float32', shape: ['batch', c.numLabels] });

  const hf = toHfConfig(c);
  return {
    graph: g.graph(),
    opsets: [{ domain: '', version: 17 }],
    irVersion: 8,
    metadata: { 'compression_lab.config': JSON.stringify(hf), [SIGNALS_METADATA]: JSON.stringify(signals) },
  };
}
