// TinyBERT's W_h: one learned linear map from the student's width to the teacher's, shared by
// every hidden state it is applied to (the embeddings' output and each mapped layer's), as in the
// reference code (`fit_dense`). It lives only in the training graph: the exported student has none.
import { attr, type ModelSpec, type NodeSpec } from '../onnx/model-spec';
import { normalFill, seededRandom } from '../onnx/graph-builder';

export const PROJECTION_WEIGHT = 'distill.fit_dense.weight';
export const PROJECTION_BIAS = 'distill.fit_dense.bias';

/** The spec with W x + b applied to each of `values`; returns the projected value per input value. */
export function withProjection(spec: ModelSpec, values: string[], from: number, to: number, seed = 7): { spec: ModelSpec; projected: Map<string, string> } {
  const projected = new Map<string, string>();
  if (from === to) {
    for (const v of values) projected.set(v, v);
    return { spec, projected };
  }
  const nodes: NodeSpec[] = [];
  const wt = 'distill.fit_dense/weight_t';
  nodes.push({ opType: 'Transpose', inputs: [PROJECTION_WEIGHT], outputs: [wt], name: 'distill.fit_dense/Transpose', attributes: { perm: attr.ints([1, 0]) } });
  for (const [i, v] of [...new Set(values)].entries()) {
    const mm = `distill.fit_dense/MatMul_${i}`;
    const out = `distill.fit_dense/out_${i}`;
    nodes.push({ opType: 'MatMul', inputs: [v, wt], outputs: [mm], name: mm });
    nodes.push({ opType: 'Add', inputs: [mm, PROJECTION_BIAS], outputs: [out], name: `distill.fit_dense/Add_${i}` });
    projected.set(v, out);
  }
  const initializers = [
    ...spec.graph.initializers,
    { name: PROJECTION_WEIGHT, dtype: 'float32' as const, dims: [to, from], values: normalFill(to * from, 0.02, seededRandom(seed)) },
    { name: PROJECTION_BIAS, dtype: 'float32' as const, dims: [to], values: new Float32Array(to) },
  ];
  return { spec: { ...spec, graph: { ...spec.graph, nodes: [...spec.graph.nodes, ...nodes], initializers } }, projected };
}
