// Quantized ONNX graphs, as the inspector reads them. A quantized weight is a parameter like the
// float one it replaces (PyTorch counts a quantized Linear's weight once too); its scale and zero
// point are not parameters but the arithmetic's bookkeeping, counted apart. Which tensor is which
// is read off the ops that consume them, by input position, for the operator sets onnxruntime's
// quantizer writes: dynamic (DynamicQuantizeLinear + MatMulInteger, and the com.microsoft fused
// forms), QOperator (QLinearMatMul, QGemm, QLinearConv, QAttention) and QDQ (DequantizeLinear).
import type { DType, ModelFile, OnnxNode, TensorInfo } from '../model';
import { byteLengthOf } from '../model';

export type QuantRole = 'weight' | 'scale' | 'zero-point';

export interface QuantizedTensor {
  role: QuantRole;
  /** The op that consumes it in this role. */
  op: string;
  /** For a weight: its scale and zero point tensors, when stored. */
  scale?: string;
  zeroPoint?: string;
  /** For a scale or zero point: the weight it belongs to, when it belongs to one. */
  of?: string;
}

interface OpRoles {
  weight?: number;
  /** The weight's own scale and zero point inputs. */
  weightScale?: number;
  weightZeroPoint?: number;
  scales: number[];
  zeroPoints: number[];
}

const MS = 'com.microsoft';

/** Input positions by op, from the ONNX and com.microsoft operator specs. */
const ROLES: Record<string, OpRoles> = {
  ':MatMulInteger': { weight: 1, weightZeroPoint: 3, scales: [], zeroPoints: [2, 3] },
  ':ConvInteger': { weight: 1, weightZeroPoint: 3, scales: [], zeroPoints: [2, 3] },
  ':QLinearMatMul': { weight: 3, weightScale: 4, weightZeroPoint: 5, scales: [1, 4, 6], zeroPoints: [2, 5, 7] },
  ':QLinearConv': { weight: 3, weightScale: 4, weightZeroPoint: 5, scales: [1, 4, 6], zeroPoints: [2, 5, 7] },
  ':DequantizeLinear': { weight: 0, weightScale: 1, weightZeroPoint: 2, scales: [1], zeroPoints: [2] },
  ':QuantizeLinear': { scales: [1], zeroPoints: [2] },
  [`${MS}:DynamicQuantizeMatMul`]: { weight: 1, weightScale: 2, weightZeroPoint: 3, scales: [2], zeroPoints: [3] },
  [`${MS}:MatMulIntegerToFloat`]: { weight: 1, weightScale: 3, weightZeroPoint: 5, scales: [2, 3], zeroPoints: [4, 5] },
  [`${MS}:QGemm`]: { weight: 3, weightScale: 4, weightZeroPoint: 5, scales: [1, 4, 7], zeroPoints: [2, 5, 8] },
  [`${MS}:QAttention`]: { weight: 1, weightScale: 4, weightZeroPoint: 7, scales: [3, 4], zeroPoints: [6, 7] },
  [`${MS}:DequantizeLinear`]: { weight: 0, weightScale: 1, weightZeroPoint: 2, scales: [1], zeroPoints: [2] },
  [`${MS}:QuantizeLinear`]: { scales: [1], zeroPoints: [2] },
};

/** The ops that compute a product with a quantized B as MatMul does ([in, out]). */
export const QUANTIZED_MATMULS = new Set(['MatMulInteger', 'QLinearMatMul', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QAttention']);

const INTEGER_WEIGHT: ReadonlySet<DType> = new Set(['int8', 'uint8', 'int4', 'uint4', 'int16', 'uint16']);

function key(n: OnnxNode): string {
  return `${n.domain === 'ai.onnx' ? '' : n.domain}:${n.opType}`;
}

/**
 * What each stored tensor is to the quantized ops that read it. Tensors no quantized op reads are
 * absent. A MatMulInteger's weight scale is not one of its inputs: it is found where the dynamic
 * chain multiplies it in, MatMulInteger -> Cast -> Mul(., Mul(A_scale, B_scale)).
 */
export function quantizedTensors(model: ModelFile): Map<string, QuantizedTensor> {
  const out = new Map<string, QuantizedTensor>();
  const graph = model.onnx;
  if (!graph) return out;
  const stored = new Map<string, TensorInfo>(model.tensors.map((t) => [t.name, t]));
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) { const l = consumers.get(i); if (l) l.push(n); else consumers.set(i, [n]); }
  }
  const mark = (name: string | undefined, q: QuantizedTensor) => {
    if (!name || !stored.has(name)) return;
    const known = out.get(name);
    // A weight stays a weight; a tensor first seen as a scale keeps what it belongs to.
    if (known && (known.role === 'weight' || known.of)) return;
    out.set(name, q);
  };

  for (const n of graph.nodes) {
    const roles = ROLES[key(n)];
    if (!roles) continue;
    const w = roles.weight !== undefined ? n.inputs[roles.weight] : undefined;
    const wt = w ? stored.get(w) : undefined;
    const isWeight = !!wt && INTEGER_WEIGHT.has(wt.dtype) && (n.opType !== 'DequantizeLinear' || wt.elements > 1);
    let scale = isWeight && roles.weightScale !== undefined ? n.inputs[roles.weightScale] : undefined;
    if (isWeight && n.opType === 'MatMulInteger') scale = dynamicChainScale(n, producer, consumers, stored);
    const zeroPoint = isWeight && roles.weightZeroPoint !== undefined ? n.inputs[roles.weightZeroPoint] : undefined;
    if (isWeight && w) {
      out.set(w, { role: 'weight', op: n.opType, ...(scale && stored.has(scale) ? { scale } : {}), ...(zeroPoint && stored.has(zeroPoint) ? { zeroPoint } : {}) });
    }
    for (const i of roles.scales) mark(n.inputs[i], { role: 'scale', op: n.opType, ...(isWeight && n.inputs[i] === scale ? { of: w } : {}) });
    for (const i of roles.zeroPoints) mark(n.inputs[i], { role: 'zero-point', op: n.opType, ...(isWeight && n.inputs[i] === zeroPoint ? { of: w } : {}) });
    if (isWeight && n.opType === 'MatMulInteger' && scale) mark(scale, { role: 'scale', op: 'Mul', of: w });
  }
  return out;
}

function dynamicChainScale(mm: OnnxNode, producer: Map<string, OnnxNode>, consumers: Map<string, OnnxNode[]>, stored: Map<string, TensorInfo>): string | undefined {
  for (const cast of consumers.get(mm.outputs[0]) ?? []) {
    if (cast.opType !== 'Cast') continue;
    for (const mul of consumers.get(cast.outputs[0]) ?? []) {
      if (mul.opType !== 'Mul') continue;
      const other = mul.inputs.find((i) => i !== cast.outputs[0]);
      if (!other) continue;
      if (stored.has(other)) return other;
      const scales = producer.get(other);
      // Mul(A_scale, B_scale): A_scale comes from DynamicQuantizeLinear, B_scale is stored.
      if (scales?.opType === 'Mul') return scales.inputs.find((i) => stored.has(i));
    }
  }
  return undefined;
}

/** Bytes a float copy of a quantized weight would take: its scale's float type, float32 when unknown. */
export function floatBytesOf(elements: number, scaleDtype: DType | undefined): number {
  const d = scaleDtype && (scaleDtype === 'float16' || scaleDtype === 'bfloat16' || scaleDtype === 'float64') ? scaleDtype : 'float32';
  return byteLengthOf(d, elements);
}
