// The card's account of a quantized model: which weights are integers, per component and per
// executed layer, and the bytes that saved against keeping them float. A scale or zero point's
// bytes go to the first weight that names it, so a shared one is counted once.
import type { DType } from '../model';
import type { LayerRow, TensorRow } from './rows';
import { COMPONENTS } from './rows';
import type { Component } from './tensor-roles';
import { floatBytesOf } from './quantization';

export interface QuantizationShare {
  /** Integer weight tensors. */
  quantized: number;
  /** 2-D float weights a MatMul or Gemm computes with, left float (embedding tables not included). */
  float: number;
  /** Bytes those integer weights would take as floats, and take now with their scales and zero points. */
  bytesBefore: number;
  bytesAfter: number;
}

export interface QuantizationSummary {
  /** Integer weight dtypes in the model. */
  weightTypes: DType[];
  /** Some weight has more than one scale (one per output channel). */
  perChannel: boolean;
  /** Elements of the integer weights, and of every other parameter. */
  params: { quantized: number; float: number };
  /** Scales and zero points: stored, not parameters. */
  quantParams: { tensors: number; elements: number; bytes: number };
  bytes: { before: number; after: number; saved: number };
  total: QuantizationShare;
  byComponent: Record<Component, QuantizationShare>;
  /** One per executed layer, in the card's layer order (a shared layer repeats its set's figures). */
  byLayer: Array<QuantizationShare & { index: number; weights: string }>;
  /** What the quantizer recorded in the model's metadata, when it was this tool. */
  settings?: Record<string, unknown>;
}

const TABLES = new Set(['word_embeddings', 'position_embeddings', 'token_type_embeddings']);
const empty = (): QuantizationShare => ({ quantized: 0, float: 0, bytesBefore: 0, bytesAfter: 0 });

export function quantizationSummary(rows: readonly TensorRow[], layers: readonly LayerRow[], metadata: Record<string, string>): QuantizationSummary | undefined {
  const weights = rows.filter((r) => r.quantization?.role === 'weight' && !r.tiedTo);
  if (!weights.length) return undefined;
  // Looked up by weight: a find per weight over every row is quadratic on big graphs.
  const paramsOf = new Map<string, { scale?: TensorRow; zp?: TensorRow }>();
  for (const r of rows) {
    const q = r.quantization;
    if (!q?.of || q.role === 'weight') continue;
    const entry = paramsOf.get(q.of) ?? {};
    if (q.role === 'scale') entry.scale ??= r; else entry.zp ??= r;
    paramsOf.set(q.of, entry);
  }
  const claimed = new Set<string>();
  const costOf = new Map<TensorRow, { before: number; after: number }>();
  let perChannel = false;
  for (const w of weights) {
    const { scale, zp } = paramsOf.get(w.name) ?? {};
    if (scale && scale.elements > 1) perChannel = true;
    let after = w.bytes;
    for (const p of [scale, zp]) if (p && !claimed.has(p.name)) { claimed.add(p.name); after += p.bytes; }
    costOf.set(w, { before: floatBytesOf(w.elements, scale?.dtype), after });
  }

  const isFloatMatrix = (r: TensorRow) => r.isParam && !r.tiedTo && !r.quantization && r.shape.length === 2 && r.layout !== undefined && !TABLES.has(r.role) && !r.dtype.includes('int');
  const add = (share: QuantizationShare, r: TensorRow) => {
    const cost = costOf.get(r);
    if (cost) { share.quantized++; share.bytesBefore += cost.before; share.bytesAfter += cost.after; } else if (isFloatMatrix(r)) share.float++;
  };
  const total = empty();
  const byComponent = Object.fromEntries(COMPONENTS.map((c) => [c, empty()])) as Record<Component, QuantizationShare>;
  for (const r of rows) {
    if (!costOf.has(r) && !isFloatMatrix(r)) continue;
    add(total, r);
    add(byComponent[r.component], r);
  }
  const byLayer = layers.map((l) => ({ index: l.index, weights: l.weights, ...empty() }));
  for (const r of rows) {
    if (!costOf.has(r) && !isFloatMatrix(r)) continue;
    for (const i of r.layers) if (byLayer[i]) add(byLayer[i], r);
  }

  const quantParams = rows.filter((r) => r.quantization && r.quantization.role !== 'weight');
  let settings: Record<string, unknown> | undefined;
  const meta = metadata['meta.compression_lab.quantization'];
  if (meta) {
    try {
      settings = JSON.parse(meta) as Record<string, unknown>;
    } catch { /* informative only */ }
  }
  const quantizedParams = weights.reduce((s, r) => s + r.elements, 0);
  const allParams = rows.filter((r) => r.isParam && !r.tiedTo).reduce((s, r) => s + r.elements, 0);
  return {
    weightTypes: [...new Set(weights.map((w) => w.dtype))],
    perChannel,
    params: { quantized: quantizedParams, float: allParams - quantizedParams },
    quantParams: { tensors: quantParams.length, elements: quantParams.reduce((s, r) => s + r.elements, 0), bytes: quantParams.reduce((s, r) => s + r.bytes, 0) },
    bytes: { before: total.bytesBefore, after: total.bytesAfter, saved: total.bytesBefore - total.bytesAfter },
    total, byComponent, byLayer,
    ...(settings ? { settings } : {}),
  };
}
