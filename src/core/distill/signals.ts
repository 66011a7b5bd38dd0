// Where a BERT-family graph holds what layer-wise distillation needs: the embeddings' output, each
// encoder layer's output and each layer's attention scores (before softmax, mask added), by value
// name. The project's builder records them in the model's metadata; graphs from PyTorch's exporter
// are read through their node-name scopes (`/bert/encoder/layer.3/output/LayerNorm/...`,
// `/distilbert/transformer/layer.0/...`): a layer's output is the one value its scope produces
// that a node outside it consumes, its scores the input of the Softmax inside it, and the
// embeddings' output the hidden input of layer 0's first MatMul.
import { SIGNALS_METADATA } from '../onnx/bert-builder';
import type { ModelSpec, NodeSpec } from '../onnx/model-spec';

export interface EncoderSignals {
  logits: string;
  embeddings?: string;
  /** Output of executed encoder layer i, for i in 0..layers-1 (undefined where it was not found). */
  hidden: Array<string | undefined>;
  attentionScores: Array<string | undefined>;
  layers: number;
  /** How they were found: the builder's record, or node scopes. */
  source: 'metadata' | 'scopes' | 'none';
  /** Signals that could not be found, in words ('layer 2 output', 'attention scores of layer 0'). */
  missing: string[];
}

const LAYER = /(?:^|[/.])layer\.(\d+)(?=[/._]|$)/;

export function layerOf(node: NodeSpec): number | undefined {
  const m = LAYER.exec(node.name ?? '');
  return m ? Number(m[1]) : undefined;
}

function fromMetadata(spec: ModelSpec, logits: string): EncoderSignals | undefined {
  const raw = spec.metadata?.[SIGNALS_METADATA];
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as { embeddings?: unknown; hidden?: unknown; attention?: unknown };
    const names = (x: unknown) => (Array.isArray(x) && x.every((v) => typeof v === 'string') ? (x as string[]) : undefined);
    const hidden = names(s.hidden);
    const attention = names(s.attention);
    if (!hidden || !attention || typeof s.embeddings !== 'string') return undefined;
    // The record must still describe this graph (a transform may have renamed values).
    const produced = new Set(spec.graph.nodes.flatMap((n) => n.outputs));
    if (![s.embeddings, ...hidden, ...attention].every((v) => produced.has(v))) return undefined;
    return { logits, embeddings: s.embeddings, hidden, attentionScores: attention, layers: hidden.length, source: 'metadata', missing: [] };
  } catch {
    return undefined;
  }
}

function fromScopes(spec: ModelSpec, logits: string): EncoderSignals {
  const nodes = spec.graph.nodes;
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)));
  const layerOfNode = nodes.map(layerOf);
  const layers = Math.max(-1, ...layerOfNode.map((l) => l ?? -1)) + 1;
  const graphOutputs = new Set(spec.graph.outputs.map((o) => o.name));
  const hidden: Array<string | undefined> = [];
  const attentionScores: Array<string | undefined> = [];
  const missing: string[] = [];
  for (let l = 0; l < layers; l++) {
    const inside = new Set(nodes.flatMap((n, i) => (layerOfNode[i] === l ? [i] : [])));
    // Values made inside the layer and read outside it: the layer's output.
    const leaving = new Set<string>();
    nodes.forEach((n, i) => {
      if (inside.has(i)) return;
      for (const v of n.inputs) {
        const p = producer.get(v);
        if (p !== undefined && inside.has(p) && nodes[p].opType !== 'Constant') leaving.add(v);
      }
    });
    for (const o of graphOutputs) { const p = producer.get(o); if (p !== undefined && inside.has(p)) leaving.add(o); }
    hidden.push(leaving.size === 1 ? [...leaving][0] : undefined);
    if (leaving.size !== 1) missing.push(`layer ${l} output (${leaving.size === 0 ? 'nothing leaves the layer' : `${leaving.size} values leave the layer`})`);
    const softmaxes = [...inside].filter((i) => nodes[i].opType === 'Softmax');
    attentionScores.push(softmaxes.length === 1 ? nodes[softmaxes[0]].inputs[0] : undefined);
    if (softmaxes.length !== 1) missing.push(`attention scores of layer ${l} (${softmaxes.length} Softmax nodes in the layer)`);
  }
  let embeddings: string | undefined;
  if (layers > 0) {
    const initializers = new Set(spec.graph.initializers.map((t) => t.name));
    const first = nodes.findIndex((n, i) => layerOfNode[i] === 0 && n.opType === 'MatMul');
    const x = first >= 0 ? nodes[first].inputs.find((v) => !initializers.has(v)) : undefined;
    const p = x !== undefined ? producer.get(x) : undefined;
    embeddings = p !== undefined && layerOfNode[p] === undefined ? x : undefined;
    if (!embeddings) missing.push('the embeddings output');
  }
  if (layers === 0) missing.push('encoder layers (no node scope names a layer.N)');
  return { logits, embeddings, hidden, attentionScores, layers, source: layers ? 'scopes' : 'none', missing };
}

/** The signals of a classifier graph whose first output is its logits. */
export function findSignals(spec: ModelSpec): EncoderSignals {
  const logits = spec.graph.outputs[0]?.name ?? 'logits';
  return fromMetadata(spec, logits) ?? fromScopes(spec, logits);
}

/** The graph with some of its values also as outputs (float32, rank given), for a teacher session. */
export function withOutputs(spec: ModelSpec, values: Array<{ name: string; rank: number }>): ModelSpec {
  const have = new Set(spec.graph.outputs.map((o) => o.name));
  const extra = values.filter((v) => !have.has(v.name)).map((v) => ({ name: v.name, dtype: 'float32' as const, shape: Array.from({ length: v.rank }, (_, i) => `${v.name}_d${i}`) }));
  return { ...spec, graph: { ...spec.graph, outputs: [...spec.graph.outputs, ...extra] } };
}
