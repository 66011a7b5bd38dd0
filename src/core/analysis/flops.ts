import type { Architecture } from './architecture';
import { outIn } from './architecture';
import type { Component } from './tensor-roles';
import type { LayerRow, TensorRow } from './rows';

export interface FlopsReport {
  seq: number;
  /** Multiply-adds for one sequence of `seq` tokens (batch 1). */
  total: number;
  byComponent: Record<Component, number>;
  /** Per executed encoder layer, same order as the card's layers. */
  perLayer: number[];
  note: string;
}

const TABLES = new Set(['word_embeddings', 'position_embeddings', 'token_type_embeddings']);

/**
 * Multiply-adds of the dense layers (every 2-D weight times the tokens it sees, once per
 * execution) plus attention's two batched products (QK^T and AV: 2 x seq^2 x width per layer).
 * Pooler and classifier see one token. Elementwise work (norms, softmax, GELU) is left out: it
 * is a few percent at these sizes, and the figure is meant for comparing models.
 */
export function estimateFlops(rows: TensorRow[], layers: LayerRow[], a: Architecture, seq: number): FlopsReport {
  const byComponent: Record<Component, number> = { embeddings: 0, encoder: 0, pooler: 0, head: 0, other: 0 };
  const perLayer = layers.map(() => 0);
  for (const r of rows) {
    if (!r.isParam || r.shape.length !== 2 || TABLES.has(r.role) || r.role === 'fit_dense') continue;
    const oi = outIn(r);
    if (!oi || r.layout === undefined) continue;
    const tokens = r.component === 'pooler' || r.component === 'head' ? 1 : seq;
    const macs = tokens * oi[0] * oi[1];
    if (r.layers.length) for (const l of r.layers) { perLayer[l] += macs; byComponent.encoder += macs; }
    else byComponent[r.component] += macs * Math.max(1, r.uses);
  }
  // Attention scores and weighted sum, per executed layer, over the query projection's width.
  for (const l of layers) {
    const q = rows.find((r) => r.role === 'query' && r.layers.includes(l.index));
    const width = q ? outIn(q)?.[0] : a.hiddenSize;
    if (!width) continue;
    const macs = 2 * seq * seq * width;
    perLayer[l.index] += macs;
    byComponent.encoder += macs;
  }
  const total = Object.values(byComponent).reduce((s, v) => s + v, 0);
  return { seq, total, byComponent, perLayer, note: 'multiply-adds of matrix products for one sequence (batch 1); elementwise ops not counted' };
}
