// Fine-tunes an ONNX sequence classifier: the forward graph becomes a training graph (autodiff),
// onnxruntime-node computes loss and gradients each step, the optimizer updates the weights in
// JavaScript, and the result is written back as a plain inference ONNX with the same graph.
import * as path from 'node:path';
import { openModel } from '../open-model';
import { hashFiles } from '../benchmark/environment';
import { analyzeModel } from '../analysis/model-card';
import { writeModel } from '../onnx/onnx-writer';
import type { ModelSpec } from '../onnx/model-spec';
import { OptionsError, UnsupportedModelError } from '../errors';
import type { JobContext } from '../jobs/kinds';
import {
  applyParameters, buildTrainingGraph, feedsFromBatch, forwardSpecFromModel, initialParameters, trainableCandidates, TrainingSession,
} from './autodiff';
import { loadCheckpoint } from './checkpoint';
import { checkTrainOptions, checkTrainingPaths, defaultCheckpointPath, fitMaxLength, type TrainOptions } from './train-options';
import { runTrainingLoop, type EvalLog, type StepLog } from './training-loop';
import { ClassifierEvaluator, TrainingRun, loadTrainingData } from './training-run';

export type { EvalLog, StepLog, TrainOptions };

export interface TrainResult {
  steps: number;
  /** The step the run started from (0, or the resumed checkpoint's). */
  startStep: number;
  epochs: number;
  lastLoss: number;
  evals: EvalLog[];
  out: string;
  /** Of the output model as written, so a later reader can tell its figures still describe the file. */
  outSha256?: string;
  /** The resumable checkpoint written at the end (always, so a stopped run can go on). */
  checkpoint: string;
  cancelled: boolean;
  durationSec: number;
  /** The run as planned: its steps in all and an epoch's, for a panel that shows a saved run's progress. */
  plan?: { totalSteps: number; stepsPerEpoch: number };
  warnings: string[];
}

/**
 * The forward graph with every Dropout node's ratio set to `ratio`, for training. A graph with
 * no Dropout nodes (exports of inference graphs have none) cannot take a dropout ratio: say so.
 */
function withDropoutRatio(forward: ModelSpec, ratio: number | undefined, file: string): ModelSpec {
  if (!ratio) return forward;
  const dropouts = forward.graph.nodes.filter((n) => n.opType === 'Dropout' && !n.domain);
  if (dropouts.length === 0) throw new UnsupportedModelError(file, "the model has no Dropout nodes to apply option 'dropout' to (graphs exported for inference usually have none); train without it, or build the model with dropout sites");
  const name = 'compression_lab/dropout_ratio';
  const constant = { opType: 'Constant', inputs: [], outputs: [name], name, attributes: { value: { type: 'tensor' as const, value: { name, dtype: 'float32' as const, dims: [], values: Float32Array.of(ratio) } } } };
  const nodes = forward.graph.nodes.map((n) => (n.opType === 'Dropout' && !n.domain ? { ...n, inputs: [n.inputs[0], name, ...n.inputs.slice(2)] } : n));
  return { ...forward, graph: { ...forward.graph, nodes: [constant, ...nodes] } };
}

/** Fine-tunes `o.model` on `o.data` with cross-entropy on its logits. Runs in the worker as a 'train' job. */
export async function train(o: TrainOptions, ctx: Partial<JobContext<'train'>> = {}): Promise<TrainResult> {
  const started = Date.now();
  checkTrainOptions(o);
  const checkpointFile = o.checkpoint ?? defaultCheckpointPath(o.out);
  checkTrainingPaths(o, [{ role: 'the model', file: o.model }], checkpointFile);
  const report = ctx.report ?? (() => {});
  const warnings: string[] = [];

  report({ type: 'phase', message: 'Reading the model' });
  const model = await openModel(o.model, { format: 'onnx' });
  const card = analyzeModel(model);
  const forward = forwardSpecFromModel(model);
  const logitsName = forward.graph.outputs[0]?.name;
  if (!logitsName) throw new UnsupportedModelError(model.weightsPath, 'the model has no output to train');

  report({ type: 'phase', message: 'Tokenizing the data' });
  const data = loadTrainingData({ ...o, maxLength: fitMaxLength(o.maxLength, card.architecture.maxPositions, 'model') }, { vocabSize: card.architecture.vocabSize, numLabels: card.architecture.numLabels });

  report({ type: 'phase', message: 'Building the training graph' });
  const trainable = trainableCandidates(forward);
  const graph = await buildTrainingGraph(withDropoutRatio(forward, o.dropout, model.weightsPath), {
    trainable, loss: { kind: 'cross-entropy', logits: logitsName }, dropout: o.dropout ? 'train' : 'eval', dropoutSeed: data.seed,
  });
  const session = await TrainingSession.create(graph, { threads: o.threads });
  const run = new TrainingRun(o, data.batcher);
  let params = initialParameters(forward, graph.paramInputs);
  let start = { step: 0, epoch: 0, position: 0 };
  if (o.resume) {
    const ckpt = await loadCheckpoint(o.resume, { expectParams: params, expectOptimizer: run.optimizer.kind });
    params = ckpt.params;
    start = run.resumeFrom(ckpt, o.resume, warnings);
  }
  if (start.step >= run.totalSteps) throw new OptionsError('resume', `the checkpoint is at step ${start.step}, already at the run's ${run.totalSteps} steps; ask for more (option 'maxSteps' or 'epochs')`);
  const evaluator = data.evalBatcher ? new ClassifierEvaluator(forward, logitsName, data.evalBatcher) : undefined;
  const meta = { model: model.weightsPath, data: path.resolve(o.data) };
  const log = run.openLog(!!o.resume);

  report({ type: 'start', totalSteps: run.totalSteps, stepsPerEpoch: run.stepsPerEpoch, epochs: run.epochs, startStep: start.step, terms: graph.lossTerms.map((t) => t.name), trainExamples: data.train.size, evalExamples: data.evalBatcher?.data.size });
  try {
    const r = await runTrainingLoop({
      session, params, batcher: data.batcher, feeds: (b) => feedsFromBatch(graph, b),
      optimizer: run.optimizer, schedule: run.schedule, accumulation: run.accumulation, clipNorm: run.clipNorm,
      totalSteps: run.totalSteps, epochs: run.epochs, start, checkpointEvery: o.checkpointEvery ?? 0,
      save: (at) => run.saveCheckpoint(checkpointFile, at, params, meta),
      evaluate: evaluator ? (at) => evaluator.evaluate(params, at) : undefined,
      log, report, isCancelled: ctx.isCancelled, lossHint: 'lower the learning rate',
    });
    // Mid-epoch (max steps, cancel): resume at the next batch; after the last epoch: at its end.
    report({ type: 'phase', message: 'Saving' });
    run.saveCheckpoint(checkpointFile, r, params, meta);
    writeModel(o.out, applyParameters(forward, params));
    return {
      steps: r.step, startStep: start.step, epochs: r.epoch, lastLoss: r.lastLoss, evals: r.evals, out: path.resolve(o.out), outSha256: await hashFiles([o.out]),
      checkpoint: path.resolve(checkpointFile), cancelled: r.cancelled, durationSec: (Date.now() - started) / 1000, warnings,
      plan: { totalSteps: run.totalSteps, stepsPerEpoch: run.stepsPerEpoch },
    };
  } finally {
    await session.release();
    await evaluator?.release();
  }
}
