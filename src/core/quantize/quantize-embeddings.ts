// Embedding tables as int8: most of a small BERT's bytes are its word embeddings, which MatMul
// quantization leaves float. A table read only by Gather becomes symmetric int8 (one scale for the
// table) and the Gather is followed by DequantizeLinear, so only the rows a batch looks up are
// turned back into floats, never the whole table: onnxruntime's own quantizer does the same
// (GatherQuant). A table also read by anything else (a head tied to it) stays float.
import type { ModelSpec, NodeSpec, TensorSpec } from '../onnx/model-spec';
import { quantizeMatrix } from './weights';
import type { QuantizedNode } from './quantize-dynamic';

/** Tables smaller than this stay float: their bytes do not matter and the extra node costs time. */
const MIN_ELEMENTS = 4096;

export function quantizeEmbeddings(spec: ModelSpec): { spec: ModelSpec; quantized: QuantizedNode[] } {
  const g = spec.graph;
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const readers = new Map<string, NodeSpec[]>();
  for (const n of g.nodes) for (const v of n.inputs) readers.set(v, [...(readers.get(v) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const tables = new Set<string>();
  for (const n of g.nodes) {
    if (n.opType !== 'Gather' || n.domain) continue;
    const t = inits.get(n.inputs[0]);
    if (!t || t.dtype !== 'float32' || t.dims.length !== 2 || t.dims[0] * t.dims[1] < MIN_ELEMENTS || outputs.has(t.name)) continue;
    const axis = n.attributes?.axis;
    if (axis && axis.type === 'int' && axis.value !== 0) continue;
    if ((readers.get(t.name) ?? []).every((r) => r.opType === 'Gather' && !r.domain && r.inputs[0] === t.name)) tables.add(t.name);
  }
  if (tables.size === 0) return { spec, quantized: [] };

  const replaced = new Map<string, { q: TensorSpec; scale: TensorSpec; zp: TensorSpec }>();
  for (const name of tables) {
    const t = inits.get(name)!;
    const [rows, cols] = t.dims;
    const w = quantizeMatrix(t.values as Float32Array, rows, cols, { type: 'int8', perChannel: false, reduceRange: false });
    replaced.set(name, {
      q: { name: `${name}_quantized`, dtype: 'int8', dims: [rows, cols], values: w.values },
      scale: { name: `${name}_scale`, dtype: 'float32', dims: [], values: Float32Array.of(w.scale[0]) },
      zp: { name: `${name}_zero_point`, dtype: 'int8', dims: [], values: Int8Array.of(0) },
    });
  }
  const quantized: QuantizedNode[] = [];
  const nodes: NodeSpec[] = [];
  const seen = new Set<string>();
  for (const n of g.nodes) {
    const r = n.opType === 'Gather' && !n.domain ? replaced.get(n.inputs[0]) : undefined;
    if (!r) { nodes.push(n); continue; }
    const name = n.name ?? n.outputs[0];
    const gathered = `${n.outputs[0]}_quantized`;
    nodes.push({ ...n, inputs: [r.q.name, ...n.inputs.slice(1)], outputs: [gathered] });
    nodes.push({ opType: 'DequantizeLinear', inputs: [gathered, r.scale.name, r.zp.name], outputs: [n.outputs[0]], name: `${name}_dequantize` });
    const t = inits.get(n.inputs[0])!;
    const first = !seen.has(t.name);
    seen.add(t.name);
    quantized.push({
      node: name, op: 'Gather', weight: t.name, quantizedWeight: r.q.name, dims: [...t.dims], transposed: false,
      bytesBefore: first ? t.dims[0] * t.dims[1] * 4 : 0, bytesAfter: first ? t.dims[0] * t.dims[1] + 4 + 1 : 0,
    });
  }
  const initializers = [...g.initializers.filter((t) => !tables.has(t.name)), ...[...replaced.values()].flatMap((r) => [r.q, r.scale, r.zp])];
  return { spec: { ...spec, graph: { ...g, nodes, initializers } }, quantized };
}
