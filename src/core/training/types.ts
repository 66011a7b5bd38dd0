// Contracts between the training engine's parts: the autodiff (which turns a forward ONNX graph
// and a loss into a graph that also outputs gradients), the optimizers and schedules (plain
// TypeScript over Float32Arrays), checkpoints, and the data pipeline.

/** A trainable tensor: its values are fed to the training graph as an input at every step. */
export interface Parameter {
  name: string;
  shape: number[];
  values: Float32Array;
}

export type Gradients = Map<string, Float32Array>;

/** Optimizer state, serializable to a checkpoint: named float arrays plus scalars. */
export interface OptimizerState {
  kind: 'sgd' | 'adamw';
  step: number;
  /** Per-parameter slots, keyed `${slot}/${parameter}` (e.g. `m/encoder.layer.0.query.weight`). */
  slots: Record<string, Float32Array>;
  hyper: Record<string, number>;
}

export interface Optimizer {
  readonly kind: OptimizerState['kind'];
  /** Updates params in place from grads at learning rate lr. */
  step(params: readonly Parameter[], grads: Gradients, lr: number): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

export interface LrSchedule {
  /** Learning rate for a 0-based optimizer step. */
  lrAt(step: number): number;
}

/** One padded batch, ready to feed: int64 ids/masks/types [batch, seq] and int64 labels [batch]. */
export interface Batch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds?: BigInt64Array;
  labels: BigInt64Array;
  batch: number;
  seq: number;
}

/** What a training checkpoint holds, enough to resume the exact same loss curve. */
export interface TrainingCheckpoint {
  step: number;
  epoch: number;
  params: Parameter[];
  optimizer: OptimizerState;
  /** Data order and dropout streams resume from here. */
  rngState: Record<string, number>;
  meta: Record<string, string>;
}
