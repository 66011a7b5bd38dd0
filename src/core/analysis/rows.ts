// The rows the analysis produces (one per stored tensor, one per executed layer), apart from
// the analysis itself so the parts that build them (architecture, family, FLOPs) import no cycle.
import type { DType, TensorInfo } from '../model';
import type { Component, Role } from './tensor-roles';
import type { QuantRole } from './quantization';

export const COMPONENTS: Component[] = ['embeddings', 'encoder', 'pooler', 'head', 'other'];

/** One stored tensor as the card shows it. */
export interface TensorRow {
  name: string;
  /** The name the analysis used (inferred for anonymous ONNX weights). */
  resolvedName: string;
  shape: number[];
  dtype: DType;
  elements: number;
  bytes: number;
  component: Component;
  /** Executed layer indices that use it (empty outside the encoder). */
  layers: number[];
  role: Role;
  isParam: boolean;
  /** Times the graph computes with it (ONNX) or executions of its layer (ALBERT). */
  uses: number;
  /** Another tensor this one shares its storage with (tied weights, views). */
  tiedTo?: string;
  layout?: 'in-out' | 'out-in';
  origin: TensorInfo['origin'];
  /**
   * In a quantized model: an integer weight (a parameter), or a scale or zero point (not one), with
   * the weight it belongs to.
   */
  quantization?: { role: QuantRole; of?: string };
}

export interface LayerRow {
  /** Execution order, 0-based. */
  index: number;
  params: number;
  /** Identifies the set of weights this layer runs ('layer.3', 'group.0.inner.0'). */
  weights: string;
  /** Other executed layers that run the very same weights (ALBERT), when any. */
  sharedWith?: number[];
  /** MobileBERT: the narrow width inside the block. */
  bottleneck?: number;
  hidden?: number;
  intermediate?: number;
}
