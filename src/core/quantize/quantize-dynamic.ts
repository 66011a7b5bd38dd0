// Dynamic int8 quantization of a ModelSpec, emitting what onnxruntime's own quantizer
// (quantize_dynamic, QOperator format) emits for a MatMul with a constant weight:
//
//   A -> DynamicQuantizeLinear -> (A_u8, A_scale, A_zp)
//   MatMulInteger(A_u8, B_q, A_zp, B_zp) -> Cast(float) -> Mul(., Mul(A_scale, B_scale)) [-> Add(., bias)]
//
// which onnxruntime's CPU provider fuses into com.microsoft DynamicQuantizeMatMul (through
// MatMulIntegerToFloat). The fusions have conditions this emitter keeps on purpose:
// - DynamicQuantizeMatMul needs a DynamicQuantizeLinear read by one MatMulInteger only. Where
//   several quantized MatMuls read one value (Q, K and V of a layer) they share one
//   DynamicQuantizeLinear, as in onnxruntime's quantizer, and run as MatMulIntegerToFloat on the
//   activations quantized once (onnxruntime's common-subexpression elimination merges separate
//   copies before the fusion, so one each would not change that);
// - the scales' Mul has A_scale first and is used once; the bias is the Add's second input, a
//   1-D initializer, so exporter graphs' Add(bias, MatMul) is turned around;
// - the weight zero point is always given (onnxruntime's AVX2 s8 -> u8 weight rewrite needs it).
// Weights stored [out, in] behind a Transpose (the project's builder) are transposed here and the
// Transpose dropped; Gemm (transB, bias C) becomes the same chain followed by Add(., C). Every other
// op stays float.
import type { ModelSpec, NodeSpec, TensorSpec } from '../onnx/model-spec';
import { attr } from '../onnx/model-spec';
import { byteLengthOf, product } from '../model';
import { OptionsError, UserError } from '../errors';
import { placeOf } from '../analysis/tensor-roles';
import { GraphIndex, floatAttr, intAttr, swapsTwoAxes } from './graph-index';
import { quantizeMatrix, transposeMatrix, type WeightType } from './weights';

export interface QuantizeOptions {
  /** One scale (and zero point) per output column instead of one per weight. Default false. */
  perChannel?: boolean;
  /** int8 (symmetric, the default) or uint8 (asymmetric). */
  weightType?: WeightType;
  /** Node names or weight (initializer) names to keep float. */
  exclude?: string[];
  /** Keep the classifier head (classifier, pre_classifier) float. Default true. */
  excludeHead?: boolean;
  /** 7-bit weights, for x86 CPUs without VNNI (see cpu.ts). Default false. */
  reduceRange?: boolean;
}

export interface QuantizedNode {
  node: string;
  /** Gather: an embedding table read row by row (quantize-embeddings.ts). */
  op: 'MatMul' | 'Gemm' | 'Gather';
  /** The float weight's initializer name. */
  weight: string;
  /** The int8/uint8 initializer that replaces it. */
  quantizedWeight: string;
  /** The float weight's dims as stored. */
  dims: number[];
  /** Whether the weight was stored [out, in] (behind a Transpose, or Gemm transB) and transposed here. */
  transposed: boolean;
  /** Bytes of the float weight, and of its integers, scale and zero point; 0 when another node already holds them (a shared weight). */
  bytesBefore: number;
  bytesAfter: number;
  /** Another node that uses the same quantized weight and was listed first. */
  sharedWith?: string;
}

export interface SkippedNode {
  node: string;
  op: string;
  why: string;
}

export interface QuantizeReport {
  quantized: QuantizedNode[];
  skipped: SkippedNode[];
  settings: { weightType: WeightType; perChannel: boolean; reduceRange: boolean; excludeHead: boolean; exclude: string[] };
  /** Every initializer's bytes before and after. */
  bytes: { before: number; after: number };
}

/** The metadata key the quantizer writes its settings under, read back by the inspector. */
export const QUANTIZATION_METADATA = 'compression_lab.quantization';

/** Where a MatMul's B (or Gemm's) comes from: an initializer, maybe through Identity and Transpose nodes. */
interface WeightSource {
  init: TensorSpec;
  /** Whether an odd number of Transposes lies on the way. */
  transposed: boolean;
  /** The Identity/Transpose nodes on the way, which may become dead. */
  chain: NodeSpec[];
}

function resolveWeight(index: GraphIndex, value: string): WeightSource | undefined {
  const chain: NodeSpec[] = [];
  let transposed = false;
  let v = value;
  for (let depth = 0; depth < 8; depth++) {
    const init = index.initializers.get(v);
    if (init) return { init, transposed, chain };
    const p = index.producer.get(v);
    if (!p || (p.domain ?? '') !== '') return undefined;
    if (p.opType === 'Identity') v = p.inputs[0];
    else if (p.opType === 'Transpose' && swapsTwoAxes(p)) { transposed = !transposed; v = p.inputs[0]; }
    else return undefined;
    chain.push(p);
  }
  return undefined;
}

function nodeLabel(n: NodeSpec): string {
  return n.name || n.outputs[0] || n.opType;
}

/** '/bert/layer.0/attention/self/query/MatMul' -> its scope, the module path PyTorch's exporter writes. */
function scopeOf(nodeName: string): string {
  const i = nodeName.lastIndexOf('/');
  return i > 0 ? nodeName.slice(0, i).replace(/^\//, '').replace(/\//g, '.') : '';
}

interface Candidate {
  node: NodeSpec;
  op: 'MatMul' | 'Gemm';
  /** The activation input. */
  a: string;
  source: WeightSource;
  /** B is [out, in] as the node reads it: Transposes on the way, xor Gemm's transB. */
  transposed: boolean;
  /** Gemm's C. */
  bias?: string;
  /** The names the node answers to for exclusion and for head detection. */
  names: string[];
}

function candidateOf(index: GraphIndex, n: NodeSpec): Candidate | SkippedNode | undefined {
  if ((n.domain ?? '') !== '' || (n.opType !== 'MatMul' && n.opType !== 'Gemm')) return undefined;
  const label = nodeLabel(n);
  const skip = (why: string): SkippedNode => ({ node: label, op: n.opType, why });
  const [a, b, c] = n.inputs;
  const source = resolveWeight(index, b);
  if (!source) {
    if (index.producer.get(b)?.opType === 'Constant') return skip('its weight is a Constant node, not an initializer; left float');
    return skip(resolveWeight(index, a) ? 'its constant is the first input (A); only a constant B is quantized' : 'both inputs are computed at run time (activation x activation, as in attention)');
  }
  if (resolveWeight(index, a)) return skip('both inputs are constants');
  const w = source.init;
  if (w.dtype !== 'float32') return skip(`the weight ${w.name} is ${w.dtype}; only float32 weights are quantized`);
  if (w.dims.length !== 2) return skip(`the weight ${w.name} is ${w.dims.length}-D; only 2-D weights are quantized`);
  let transposed = source.transposed;
  let bias: string | undefined;
  if (n.opType === 'Gemm') {
    if (intAttr(n, 'transA', 0) !== 0) return skip('Gemm with transA = 1 is left float');
    if (floatAttr(n, 'alpha', 1) !== 1 || floatAttr(n, 'beta', 1) !== 1) return skip('Gemm with alpha or beta other than 1 is left float');
    if (intAttr(n, 'transB', 0) === 1) transposed = !transposed;
    bias = c || undefined;
  }
  const names = [label, w.name];
  if (bias) names.push(bias);
  for (const next of index.consumers.get(n.outputs[0]) ?? []) {
    if (next.opType !== 'Add') continue;
    const other = next.inputs.find((i) => i !== n.outputs[0]);
    if (other && index.initializers.has(other)) names.push(other);
  }
  const scope = scopeOf(n.name ?? '');
  if (scope) names.push(scope);
  return { node: n, op: n.opType, a, source, transposed, bias, names };
}

function isHead(c: Candidate): boolean {
  return c.names.some((name) => placeOf(name).component === 'head');
}

function checkOpset(spec: ModelSpec): void {
  const onnx = spec.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!onnx || onnx.version < 11) {
    throw new UserError('unsupported-model', `the model's ONNX opset is ${onnx?.version ?? 'not declared'}; dynamic quantization needs opset 11 or later (DynamicQuantizeLinear)`);
  }
}

function tensorBytes(t: TensorSpec): number {
  return byteLengthOf(t.dtype, product(t.dims));
}

/**
 * Quantizes the MatMul and Gemm weights of a model to 8 bits, activations quantized at run time.
 * Returns a new spec (the input is not changed) and what was quantized and what was not, and why.
 */
export function quantizeDynamic(spec: ModelSpec, options: QuantizeOptions = {}): { spec: ModelSpec; report: QuantizeReport } {
  checkOpset(spec);
  const weightType = options.weightType ?? 'int8';
  if (weightType !== 'int8' && weightType !== 'uint8') throw new OptionsError('weightType', `must be int8 or uint8 (got '${String(weightType)}')`);
  const perChannel = options.perChannel ?? false;
  const reduceRange = options.reduceRange ?? false;
  const excludeHead = options.excludeHead ?? true;
  const exclude = [...(options.exclude ?? [])];
  const graph = spec.graph;
  const index = new GraphIndex(graph);

  const candidates: Candidate[] = [];
  const skipped: SkippedNode[] = [];
  for (const n of graph.nodes) {
    const c = candidateOf(index, n);
    if (!c) continue;
    if ('why' in c) skipped.push(c); else candidates.push(c);
  }

  const unmatched = exclude.filter((e) => !candidates.some((c) => c.names.slice(0, 2).includes(e)) && !skipped.some((s) => s.node === e));
  if (unmatched.length) {
    const known = candidates.slice(0, 6).map((c) => c.names[0]).join(', ');
    throw new OptionsError('exclude', `names no MatMul or Gemm node or weight of this model: ${unmatched.map((u) => `'${u}'`).join(', ')} (nodes are named like ${known}${candidates.length > 6 ? ', ...' : ''})`);
  }

  const chosen: Candidate[] = [];
  for (const c of candidates) {
    const label = c.names[0];
    if (c.names.slice(0, 2).some((n) => exclude.includes(n))) skipped.push({ node: label, op: c.op, why: 'excluded by name' });
    else if (excludeHead && isHead(c)) skipped.push({ node: label, op: c.op, why: 'classifier head, kept float' });
    else chosen.push(c);
  }

  // One quantized tensor per (weight, orientation): ALBERT's shared layer is quantized once.
  const quantizedTensors = new Map<string, { q: TensorSpec; scale: TensorSpec; zp: TensorSpec; firstNode: string }>();
  const newInits: TensorSpec[] = [];
  const replacement = new Map<NodeSpec, NodeSpec[]>();
  const report: QuantizedNode[] = [];
  const bypassed = new Set<NodeSpec>();
  const activations = new Map<string, QuantizedActivation>();

  for (const c of chosen) {
    const w = c.source.init;
    const key = `${w.name}\u0000${c.transposed}`;
    let entry = quantizedTensors.get(key);
    const label = c.names[0];
    if (!entry) {
      const [rows, cols] = w.dims;
      // B as the MatMul reads it: [K, N].
      const b = c.transposed ? transposeMatrix(w.values as Float32Array, rows, cols) : (w.values as Float32Array);
      const [k, n] = c.transposed ? [cols, rows] : [rows, cols];
      const qw = quantizeMatrix(b, k, n, { type: weightType, perChannel, reduceRange });
      const q: TensorSpec = { name: index.unique(`${w.name}_quantized`), dtype: weightType, dims: [k, n], values: qw.values };
      const scaleDims = perChannel ? [n] : [];
      const scale: TensorSpec = { name: index.unique(`${w.name}_scale`), dtype: 'float32', dims: scaleDims, values: qw.scale };
      const zp: TensorSpec = { name: index.unique(`${w.name}_zero_point`), dtype: weightType, dims: scaleDims, values: qw.zeroPoint };
      entry = { q, scale, zp, firstNode: label };
      quantizedTensors.set(key, entry);
      newInits.push(q, scale, zp);
      report.push({
        node: label, op: c.op, weight: w.name, quantizedWeight: q.name, dims: [...w.dims], transposed: c.transposed,
        bytesBefore: tensorBytes(w), bytesAfter: tensorBytes(q) + tensorBytes(scale) + tensorBytes(zp),
      });
    } else {
      report.push({ node: label, op: c.op, weight: w.name, quantizedWeight: entry.q.name, dims: [...w.dims], transposed: c.transposed, bytesBefore: 0, bytesAfter: 0, sharedWith: entry.firstNode });
    }
    for (const p of c.source.chain) bypassed.add(p);
    replacement.set(c.node, emitChain(index, c, entry, activations));
  }

  const nodes: NodeSpec[] = [];
  for (const n of graph.nodes) nodes.push(...(replacement.get(n) ?? [n]));
  turnBiasAddsAround(nodes, chosen, index);
  const live = removeDead(nodes, bypassed, index.graphOutputs);
  const used = new Set<string>();
  for (const n of live) for (const i of n.inputs) used.add(i);
  for (const o of graph.outputs) used.add(o.name);
  const replaced = new Set(chosen.map((c) => c.source.init.name));
  const initializers = [...graph.initializers.filter((t) => !replaced.has(t.name) || used.has(t.name)), ...newInits];

  const onnxVersion = spec.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 11;
  const settings = { weightType, perChannel, reduceRange, excludeHead, exclude };
  const out: ModelSpec = {
    ...spec,
    graph: { ...graph, nodes: live, initializers },
    opsets: spec.opsets.map((o) => ({ ...o })),
    metadata: {
      ...(spec.metadata ?? {}),
      [QUANTIZATION_METADATA]: JSON.stringify({ method: 'dynamic', ...settings, quantized: report.length, opset: onnxVersion }),
    },
  };
  const before = graph.initializers.reduce((s, t) => s + tensorBytes(t), 0);
  const after = initializers.reduce((s, t) => s + tensorBytes(t), 0);
  return { spec: out, report: { quantized: report, skipped, settings, bytes: { before, after } } };
}

interface QuantizedActivation {
  q: string;
  scale: string;
  zp: string;
}

/**
 * The chain that replaces one MatMul or Gemm. The activation's DynamicQuantizeLinear is emitted
 * once, before the first node that reads it, and shared by every quantized node reading the same
 * value (as onnxruntime's quantizer does; onnxruntime's common-subexpression elimination would
 * merge one-per-node copies anyway).
 */
function emitChain(index: GraphIndex, c: Candidate, q: { q: TensorSpec; scale: TensorSpec; zp: TensorSpec }, activations: Map<string, QuantizedActivation>): NodeSpec[] {
  const base = c.node.name || c.node.outputs[0];
  const out = c.node.outputs[0];
  const nodes: NodeSpec[] = [];
  let a = activations.get(c.a);
  if (!a) {
    a = { q: index.unique(`${c.a}_quantized`), scale: index.unique(`${c.a}_scale`), zp: index.unique(`${c.a}_zero_point`) };
    activations.set(c.a, a);
    nodes.push({ opType: 'DynamicQuantizeLinear', inputs: [c.a], outputs: [a.q, a.scale, a.zp], name: index.unique(`${c.a}_QuantizeLinear`) });
  }
  const mmOut = index.unique(`${out}_output_quantized`);
  const castOut = index.unique(`${out}_output_quantized_cast_output`);
  const scales = index.unique(`${base}_scales_mul:0`);
  const product = c.bias ? index.unique(`${out}_without_bias`) : out;
  nodes.push(
    { opType: 'MatMulInteger', inputs: [a.q, q.q.name, a.zp, q.zp.name], outputs: [mmOut], name: index.unique(`${base}_quant`) },
    { opType: 'Cast', inputs: [mmOut], outputs: [castOut], name: index.unique(`${base}_output_cast`), attributes: { to: attr.i(1) } },
    { opType: 'Mul', inputs: [a.scale, q.scale.name], outputs: [scales], name: index.unique(`${base}_scales_mul`) },
    { opType: 'Mul', inputs: [castOut, scales], outputs: [product], name: index.unique(`${base}_output_scale_mul`) },
  );
  if (c.bias) nodes.push({ opType: 'Add', inputs: [product, c.bias], outputs: [out], name: index.unique(`${base}_bias_add`) });
  return nodes;
}

/**
 * Add(bias, y) -> Add(y, bias) after a quantized MatMul, when the bias is a 1-D initializer and the
 * Add the product's only reader: onnxruntime folds the bias into the fused op only as the second input.
 */
function turnBiasAddsAround(nodes: NodeSpec[], chosen: Candidate[], index: GraphIndex): void {
  const outputs = new Set(chosen.filter((c) => !c.bias).map((c) => c.node.outputs[0]));
  const readers = new Map<string, number>();
  for (const n of nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n.opType !== 'Add' || (n.domain ?? '') !== '' || n.inputs.length !== 2) continue;
    const [x, y] = n.inputs;
    const bias = index.initializers.get(x);
    if (!outputs.has(y) || readers.get(y) !== 1 || index.graphOutputs.has(y) || !bias || bias.dims.length !== 1) continue;
    nodes[i] = { ...n, inputs: [y, x] };
  }
}

/** Drops the Transpose/Identity nodes that led to a quantized weight once nothing reads them. */
function removeDead(nodes: NodeSpec[], candidates: Set<NodeSpec>, graphOutputs: Set<string>): NodeSpec[] {
  let list = nodes;
  for (;;) {
    const read = new Set<string>(graphOutputs);
    for (const n of list) for (const i of n.inputs) read.add(i);
    const next = list.filter((n) => !candidates.has(n) || n.outputs.some((o) => read.has(o)));
    if (next.length === list.length) return list;
    list = next;
  }
}
