import type { ModelFile, OnnxNode } from '../model';
import { isAnonymous } from './tensor-roles';
import { QUANTIZED_MATMULS } from './quantization';

/** What the graph says about one stored tensor. */
export interface GraphUse {
  /** A Hugging Face style name, for anonymous tensors (`onnx::MatMul_12`), inferred from the graph. */
  inferredName?: string;
  inferredFrom?: 'bias' | 'scope';
  /** Nodes that compute with it (Identity and Transpose followed through). */
  uses: number;
  /** For 2-D weights: whether the stored matrix is [in, out] (MatMul) or [out, in] (Gemm transB, Transpose). */
  layout?: 'in-out' | 'out-in';
  /** For an embedding table read by Gather. */
  gathered?: boolean;
  /** Scopes (node-name paths) of the computing nodes. */
  scopes: string[];
}

const PASS_THROUGH = new Set(['Identity']);

/**
 * Follows each initializer (and Constant) through Identity/Transpose to the nodes that compute
 * with it. That gives anonymous exporter weights a name (from the named bias added right after the
 * MatMul, or from the node's module scope), their layout, and how many times each is executed
 * (ALBERT's shared layer: three uses of one weight).
 */
export function attributeOnnx(model: ModelFile): Map<string, GraphUse> {
  const out = new Map<string, GraphUse>();
  const graph = model.onnx;
  if (!graph) return out;
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) {
    const list = consumers.get(i);
    if (list) list.push(n); else consumers.set(i, [n]);
  }
  const named = new Set(model.tensors.map((t) => t.name));

  for (const t of model.tensors) {
    const use: GraphUse = { uses: 0, scopes: [] };
    const computing: Array<{ node: OnnxNode; transposed: boolean }> = [];
    const visit = (value: string, transposed: boolean, depth: number): void => {
      if (depth > 8) return;
      for (const n of consumers.get(value) ?? []) {
        // A QDQ model's weight reaches its MatMul through DequantizeLinear.
        if (PASS_THROUGH.has(n.opType) || (n.opType === 'DequantizeLinear' && n.inputs[0] === value)) visit(n.outputs[0], transposed, depth + 1);
        else if (n.opType === 'Transpose' && t.shape.length === 2) visit(n.outputs[0], !transposed, depth + 1);
        else computing.push({ node: n, transposed });
      }
    };
    visit(t.name, false, 0);
    use.uses = computing.length;
    use.scopes = computing.map((c) => scopeOf(c.node.name));
    const first = computing[0];
    if (first && t.shape.length === 2) {
      const { node, transposed } = first;
      if (node.opType === 'Gather' && node.inputs[0] === t.name) use.gathered = true;
      else if (node.opType === 'MatMul') use.layout = transposed ? 'out-in' : 'in-out';
      else if (QUANTIZED_MATMULS.has(node.opType)) use.layout = transposed ? 'out-in' : 'in-out';
      else if (node.opType === 'Gemm' || node.opType === 'QGemm') {
        const transB = node.attributes.find((a) => a.name === 'transB')?.i ?? 0;
        use.layout = (transB === 1) !== transposed ? 'out-in' : 'in-out';
      }
    }
    if (isAnonymous(t.name) && first) {
      const fromBias = biasAfter(first.node, consumers, named);
      if (fromBias) { use.inferredName = fromBias.replace(/\.bias$/, '.weight'); use.inferredFrom = 'bias'; }
      else if (first.node.name) {
        const scope = scopeOf(first.node.name).replace(/^\//, '').replace(/\//g, '.');
        if (scope) { use.inferredName = `${scope}.weight`; use.inferredFrom = 'scope'; }
      }
    }
    out.set(t.name, use);
  }
  return out;
}

/** '/bert/layer.0/attention/self/query/MatMul' -> '/bert/layer.0/attention/self/query'. */
function scopeOf(nodeName: string): string {
  const i = nodeName.lastIndexOf('/');
  return i > 0 ? nodeName.slice(0, i) : '';
}

const isBias = (name: string | undefined, named: Set<string>): name is string => !!name && named.has(name) && name.endsWith('.bias') && !isAnonymous(name);

/** Input position of the bias the fused quantized MatMuls take themselves. */
const FUSED_BIAS: Record<string, number> = { DynamicQuantizeMatMul: 4, MatMulIntegerToFloat: 6 };

/**
 * The named '.bias' added to a MatMul's output: Linear layers export as MatMul then Add(bias). A
 * dynamically quantized MatMul adds it after MatMulInteger -> Cast -> Mul, or takes it as an input.
 */
function biasAfter(node: OnnxNode, consumers: Map<string, OnnxNode[]>, named: Set<string>): string | undefined {
  const fused = FUSED_BIAS[node.opType];
  if (fused !== undefined && isBias(node.inputs[fused], named)) return node.inputs[fused];
  let value = node.outputs[0];
  if (node.opType === 'MatMulInteger') {
    const cast = (consumers.get(value) ?? []).find((n) => n.opType === 'Cast');
    const mul = cast ? (consumers.get(cast.outputs[0]) ?? []).find((n) => n.opType === 'Mul') : undefined;
    if (!mul) return undefined;
    value = mul.outputs[0];
  } else if (node.opType !== 'MatMul' && fused === undefined) return undefined;
  for (const next of consumers.get(value) ?? []) {
    if (next.opType !== 'Add') continue;
    const other = next.inputs.find((i) => i !== value);
    if (isBias(other, named)) return other;
  }
  return undefined;
}
