// Fine-tunes an ONNX sequence classifier: the forward graph becomes a training graph (autodiff),
// onnxruntime-node computes loss and gradients each step, the optimizer updates the weights in
// JavaScript, and the result is written back as a plain inference ONNX with the same graph.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModel } from '../open-model';
import { analyzeModel } from '../analysis/model-card';
import { serializeModel, writeModel } from '../onnx/onnx-writer';
import { type ModelSpec } from '../onnx/model-spec';
import {
  applyParameters, buildTrainingGraph, feedsFromBatch, forwardSpecFromModel, initialParameters, trainableCandidates, TrainingSession,
} from './autodiff';
import { readDataset } from './data/dataset';
import { Batcher, loadTokenizer, tokenizeDataset, type TokenizedDataset } from './data/batcher';
import { AdamW } from './optim/adamw';
import { Sgd } from './optim/sgd';
import { linearWarmupDecay, warmupStepsFromRatio } from './optim/schedule';
import { clipGradNorm } from './optim/clip';
import { GradientAccumulator, optimizerStepsPerEpoch } from './optim/accumulate';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import type { Batch, Optimizer, Parameter, TrainingCheckpoint } from './types';

export interface TrainOptions {
  model: string;
  data: string;
  out: string;
  tokenizer?: string;
  textColumn?: string;
  labelColumn?: string;
  maxLength?: number;
  optimizer?: 'sgd' | 'adamw';
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  batchSize?: number;
  epochs?: number;
  maxSteps?: number;
  seed?: number;
  shuffle?: boolean;
  warmupRatio?: number;
  clipNorm?: number;
  gradAccumulation?: number;
  /** Length buckets (in batches) to cut padding; 0 turns them off. */
  bucketBatches?: number;
  eval?: string;
  log?: string;
  /** Save a resumable checkpoint here at the end (and every `checkpointEvery` optimizer steps). */
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: string;
  threads?: number;
  /** Dropout ratio for the model's Dropout nodes during training (the model must have them). */
  dropout?: number;
}

export interface StepLog {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  examples: number;
  tokens: number;
  ms: number;
}

export interface EvalLog {
  step: number;
  epoch: number;
  accuracy: number;
  loss: number;
  examples: number;
}

export interface TrainResult {
  steps: number;
  epochs: number;
  lastLoss: number;
  evals: EvalLog[];
  out: string;
  checkpoint?: string;
  warnings: string[];
}

export interface TrainHooks {
  onStep?(s: StepLog): void;
  onEval?(e: EvalLog): void;
  isCancelled?(): boolean;
}

const DEFAULTS = { maxLength: 128, batchSize: 32, epochs: 1, seed: 42, warmupRatio: 0.1, clipNorm: 1, gradAccumulation: 1, bucketBatches: 20 };

function defaultLr(kind: 'sgd' | 'adamw'): number {
  return kind === 'adamw' ? 5e-5 : 1e-2;
}

function tokenizedFor(file: string, o: TrainOptions, vocabSize: number | undefined, numLabels: number | undefined, labelNames?: string[]): TokenizedDataset {
  const ds = readDataset(file, { textColumn: o.textColumn, labelColumn: o.labelColumn, labelNames });
  const needsTokenizer = ds.examples.some((e) => e.text !== undefined);
  if (needsTokenizer && !o.tokenizer) throw new Error(`${file}: rows hold text; give --tokenizer tokenizer.json to tokenize them (or pre-tokenized input_ids)`);
  const tok = o.tokenizer ? loadTokenizer(o.tokenizer) : undefined;
  return tokenizeDataset(ds, tok, { maxLength: o.maxLength ?? DEFAULTS.maxLength, vocabSize, numLabels });
}

/** Accuracy and mean cross-entropy of the forward graph (with `params`) on a tokenized set. */
async function evaluate(session: ort.InferenceSession, logitsName: string, params: readonly Parameter[], data: Batcher, inputs: readonly string[]): Promise<{ accuracy: number; loss: number; examples: number }> {
  let correct = 0;
  let total = 0;
  let lossSum = 0;
  const paramFeeds: Record<string, ort.Tensor> = {};
  for (const p of params) paramFeeds[p.name] = new ort.Tensor('float32', p.values, p.shape);
  for (const { batch } of data.epoch(0)) {
    const feeds: Record<string, ort.Tensor> = { ...paramFeeds };
    const dims = [batch.batch, batch.seq];
    if (inputs.includes('input_ids')) feeds.input_ids = new ort.Tensor('int64', batch.inputIds, dims);
    if (inputs.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', batch.attentionMask, dims);
    if (inputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', batch.tokenTypeIds ?? new BigInt64Array(batch.batch * batch.seq), dims);
    const logits = (await session.run(feeds))[logitsName];
    const classes = logits.dims[logits.dims.length - 1];
    const v = logits.data as Float32Array;
    for (let i = 0; i < batch.batch; i++) {
      let best = 0;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) if (v[i * classes + c] > max) { max = v[i * classes + c]; best = c; }
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(v[i * classes + c] - max);
      const label = Number(batch.labels[i]);
      lossSum += -(v[i * classes + label] - max - Math.log(sum));
      if (best === label) correct++;
      total++;
    }
  }
  return { accuracy: total ? correct / total : 0, loss: total ? lossSum / total : 0, examples: total };
}

/**
 * The forward graph with every Dropout node's ratio set to `ratio`, for training. A graph with
 * no Dropout nodes (exports of inference graphs have none) cannot take --dropout: say so.
 */
function withDropoutRatio(forward: ModelSpec, ratio: number | undefined, file: string): ModelSpec {
  if (!ratio) return forward;
  if (!(ratio > 0 && ratio < 1)) throw new Error(`--dropout must be between 0 and 1 (got ${ratio})`);
  const dropouts = forward.graph.nodes.filter((n) => n.opType === 'Dropout' && !n.domain);
  if (dropouts.length === 0) throw new Error(`${file}: the model has no Dropout nodes to apply --dropout to (graphs exported for inference usually have none); train without it, or build the model with dropout sites`);
  const name = 'compression_lab/dropout_ratio';
  const constant = { opType: 'Constant', inputs: [], outputs: [name], name, attributes: { value: { type: 'tensor' as const, value: { name, dtype: 'float32' as const, dims: [], values: Float32Array.of(ratio) } } } };
  const nodes = forward.graph.nodes.map((n) => (n.opType === 'Dropout' && !n.domain ? { ...n, inputs: [n.inputs[0], name, ...n.inputs.slice(2)] } : n));
  return { ...forward, graph: { ...forward.graph, nodes: [constant, ...nodes] } };
}

/** The forward graph with the trainable initializers turned into inputs (fed the current values). */
function forwardWithParamInputs(forward: ModelSpec, params: readonly Parameter[]): ModelSpec {
  const names = new Set(params.map((p) => p.name));
  const inits = forward.graph.initializers.filter((t) => names.has(t.name));
  return {
    ...forward,
    graph: {
      ...forward.graph,
      initializers: forward.graph.initializers.filter((t) => !names.has(t.name)),
      inputs: [...forward.graph.inputs, ...inits.map((t) => ({ name: t.name, dtype: 'float32' as const, shape: t.dims }))],
    },
  };
}

export async function train(o: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const warnings: string[] = [];
  const model = await openModel(o.model, { format: 'onnx' });
  const card = analyzeModel(model);
  const forward = forwardSpecFromModel(model);
  const logitsName = forward.graph.outputs[0]?.name;
  if (!logitsName) throw new Error(`${model.weightsPath}: the model has no output to train`);
  const vocabSize = card.architecture.vocabSize;
  const numLabels = card.architecture.numLabels;

  const trainData = tokenizedFor(o.data, o, vocabSize, numLabels);
  const batchSize = o.batchSize ?? DEFAULTS.batchSize;
  const seed = o.seed ?? DEFAULTS.seed;
  const batcher = new Batcher(trainData, { batchSize, seed, shuffle: o.shuffle !== false, bucketBatches: o.bucketBatches ?? DEFAULTS.bucketBatches });
  const evalData = o.eval ? new Batcher(tokenizedFor(o.eval, o, vocabSize, numLabels), { batchSize: 64, shuffle: false }) : undefined;

  const trainable = trainableCandidates(forward);
  const graph = await buildTrainingGraph(withDropoutRatio(forward, o.dropout, model.weightsPath), {
    trainable, loss: { kind: 'cross-entropy', logits: logitsName }, dropout: o.dropout ? 'train' : 'eval', dropoutSeed: seed,
  });
  const session = await TrainingSession.create(graph, { threads: o.threads });
  let evalSession: ort.InferenceSession | undefined;

  const kind = o.optimizer ?? 'adamw';
  const optimizer: Optimizer = kind === 'adamw'
    ? new AdamW({ weightDecay: o.weightDecay ?? 0.01 })
    : new Sgd({ momentum: o.momentum ?? 0, weightDecay: o.weightDecay ?? 0 });
  const accumulation = o.gradAccumulation ?? DEFAULTS.gradAccumulation;
  const stepsPerEpoch = optimizerStepsPerEpoch(batcher.batchesPerEpoch, accumulation);
  const epochs = o.epochs ?? DEFAULTS.epochs;
  const totalSteps = o.maxSteps ?? stepsPerEpoch * epochs;
  const schedule = linearWarmupDecay({ peakLr: o.lr ?? defaultLr(kind), warmupSteps: warmupStepsFromRatio(o.warmupRatio ?? DEFAULTS.warmupRatio, totalSteps), totalSteps });
  const accumulator = new GradientAccumulator(accumulation);

  let params = initialParameters(forward, graph.paramInputs);
  let step = 0;
  let startEpoch = 0;
  let startPosition = 0;
  if (o.resume) {
    const ckpt = await loadCheckpoint(o.resume, { expectParams: params, expectOptimizer: optimizer.kind });
    params = ckpt.params;
    optimizer.load(ckpt.optimizer);
    step = ckpt.step;
    startEpoch = Number(ckpt.rngState.dataEpoch ?? ckpt.epoch);
    startPosition = Number(ckpt.rngState.dataPosition ?? 0);
    if (ckpt.meta.batcher && ckpt.meta.batcher !== batcher.orderKey()) warnings.push(`${o.resume}: saved with other data or batch settings; the data order will differ`);
  }

  const checkpointAt = (epoch: number, position: number): TrainingCheckpoint => ({
    step, epoch, params, optimizer: optimizer.state(),
    rngState: { seed, dataEpoch: epoch, dataPosition: position },
    meta: { model: model.weightsPath, data: path.resolve(o.data), batcher: batcher.orderKey() },
  });
  const saveCkpt = (epoch: number, position: number) => {
    if (!o.checkpoint) return;
    mkdirSync(path.dirname(path.resolve(o.checkpoint)), { recursive: true });
    saveCheckpoint(o.checkpoint, checkpointAt(epoch, position));
  };

  if (o.log) { mkdirSync(path.dirname(path.resolve(o.log)), { recursive: true }); if (!o.resume || !existsSync(o.log)) writeFileSync(o.log, ''); }
  const log = (x: object) => { if (o.log) appendFileSync(o.log, JSON.stringify(x) + '\n'); };

  const runEval = async (epoch: number) => {
    if (!evalData) return;
    evalSession ??= await ort.InferenceSession.create(serializeModel(forwardWithParamInputs(forward, params)));
    const r = await evaluate(evalSession, logitsName, params, evalData, forward.graph.inputs.map((i) => i.name));
    const e: EvalLog = { step, epoch, accuracy: r.accuracy, loss: r.loss, examples: r.examples };
    evals.push(e);
    log({ step, epoch, eval: true, accuracy: r.accuracy, eval_loss: r.loss, examples: r.examples });
    hooks.onEval?.(e);
  };

  const evals: EvalLog[] = [];
  let lastLoss = NaN;
  let examples = 0;
  let tokens = 0;
  let t0 = Date.now();
  let epoch = startEpoch;
  let lastPosition = startPosition;
  outer: for (; epoch < (o.maxSteps ? Number.MAX_SAFE_INTEGER : epochs); epoch++) {
    for (const { batch, position } of batcher.epoch(epoch, epoch === startEpoch ? startPosition : 0)) {
      if (hooks.isCancelled?.()) break outer;
      const r = await session.run(feedsFromBatch(graph, batch as Batch), params);
      if (!Number.isFinite(r.loss)) throw new Error(`the loss became ${r.loss} at step ${step}: lower the learning rate`);
      examples += batch.batch;
      tokens += batch.batch * batch.seq;
      lastPosition = position + 1;
      if (!accumulator.add(r.grads, batch.batch)) continue;
      const grads = accumulator.take();
      const norm = clipGradNorm(grads, o.clipNorm ?? DEFAULTS.clipNorm);
      const lr = schedule.lrAt(step);
      if (Number.isFinite(norm)) optimizer.step(params, grads, lr);
      step++;
      lastLoss = r.loss;
      const s: StepLog = { step, epoch, loss: r.loss, lr, gradNorm: norm, examples, tokens, ms: Date.now() - t0 };
      log({ step, epoch, loss: r.loss, lr, grad_norm: norm, examples, tokens, ms: s.ms });
      hooks.onStep?.(s);
      examples = 0; tokens = 0; t0 = Date.now();
      if (o.checkpointEvery && step % o.checkpointEvery === 0) saveCkpt(epoch, lastPosition);
      if (step >= totalSteps) break outer;
    }
    lastPosition = 0;
    await runEval(epoch);
  }
  if (evalData && (evals.length === 0 || evals[evals.length - 1].step !== step)) await runEval(epoch);
  // Mid-epoch (max steps, cancel): resume at the next batch; after the last epoch: at its end.
  saveCkpt(epoch, lastPosition);
  mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  writeModel(o.out, applyParameters(forward, params));
  await session.release();
  await evalSession?.release();
  return { steps: step, epochs: epoch, lastLoss, evals, out: path.resolve(o.out), checkpoint: o.checkpoint, warnings };
}
