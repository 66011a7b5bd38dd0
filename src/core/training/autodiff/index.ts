// Reverse-mode autodiff over ONNX graphs, executed by onnxruntime-node (inference build):
// forward graph + loss + trainable initializers -> one ONNX graph that outputs the loss and the
// gradients, and a session that runs it step after step.
export { AutodiffError } from './emitter';
export type { ValueMeta } from './emitter';
export { forwardSpecFromModel } from '../../onnx/forward-spec';
export { buildTrainingGraph, defaultOpset } from './training-graph';
export type { TrainingGraph, TrainingGraphOptions } from './training-graph';
export type { LossSpec } from './losses';
export type { Feeds, ProbeOptions } from './probe';
export { registerGradient, registerNonDifferentiable, listRegisteredGradients } from './registry';
export type { GradientConfig, RegisteredOp } from './registry';
export type { GradientRule, RuleContext } from './rules/helpers';
export { TrainingSession, initialParameters, applyParameters, trainableCandidates, feedsFromBatch } from './session';
export type { StepResult, TrainingSessionOptions } from './session';
export { toFloat64 } from './precision';
