// The parts of a training job around its loop, shared by fine-tuning and distillation: the data
// (tokenized once, batched in a seeded order), the optimizer and its schedule, the step budget,
// checkpoints that resume the exact curve, the JSONL log, and evaluation of a classifier.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { serializeModel } from '../onnx/onnx-writer';
import type { ModelSpec } from '../onnx/model-spec';
import { DatasetError, readDataset } from './data/dataset';
import { Batcher, loadTokenizer, tokenizeDataset, type TokenizedDataset } from './data/batcher';
import { AdamW } from './optim/adamw';
import { Sgd } from './optim/sgd';
import { makeSchedule, warmupStepsFromRatio } from './optim/schedule';
import { optimizerStepsPerEpoch } from './optim/accumulate';
import { saveCheckpoint } from './checkpoint';
import { defaultLr, TRAIN_DEFAULTS, type TrainingSettings } from './train-options';
import type { EvalLog, LoopPosition } from './training-loop';
import type { Batch, LrSchedule, Optimizer, Parameter, TrainingCheckpoint } from './types';

export interface TrainingData {
  train: TokenizedDataset;
  batcher: Batcher;
  evalBatcher?: Batcher;
  seed: number;
}

function tokenizedFor(file: string, o: TrainingSettings, limits: { vocabSize?: number; numLabels?: number }, labelsOptional = false): TokenizedDataset {
  const ds = readDataset(file, { textColumn: o.textColumn, labelColumn: o.labelColumn, labelsOptional });
  const needsTokenizer = ds.examples.some((e) => e.text !== undefined);
  if (needsTokenizer && !o.tokenizer) throw new DatasetError(file, undefined, "the rows hold text: give a tokenizer (option 'tokenizer', a tokenizer.json) to tokenize them, or pre-tokenized input_ids");
  const tok = o.tokenizer ? loadTokenizer(o.tokenizer) : undefined;
  return tokenizeDataset(ds, tok, { maxLength: o.maxLength ?? TRAIN_DEFAULTS.maxLength, ...limits });
}

/**
 * Training (and evaluation) data checked against the model's vocabulary and classes, batched.
 * `unlabeledTraining`: training rows may have no labels (distillation); evaluation rows always need them.
 */
export function loadTrainingData(o: TrainingSettings, limits: { vocabSize?: number; numLabels?: number }, unlabeledTraining = false): TrainingData {
  const train = tokenizedFor(o.data, o, limits, unlabeledTraining);
  const seed = o.seed ?? TRAIN_DEFAULTS.seed;
  const batcher = new Batcher(train, {
    batchSize: o.batchSize ?? TRAIN_DEFAULTS.batchSize, seed, shuffle: o.shuffle !== false, bucketBatches: o.bucketBatches ?? TRAIN_DEFAULTS.bucketBatches,
  });
  const evalBatcher = o.eval ? new Batcher(tokenizedFor(o.eval, o, limits), { batchSize: 64, shuffle: false }) : undefined;
  return { train, batcher, evalBatcher, seed };
}

/** The optimizer, schedule and step budget of a job, and its checkpoints and log. */
export class TrainingRun {
  readonly optimizer: Optimizer;
  readonly schedule: LrSchedule;
  readonly accumulation: number;
  readonly clipNorm: number;
  readonly stepsPerEpoch: number;
  readonly epochs: number;
  readonly totalSteps: number;
  readonly seed: number;

  constructor(private readonly o: TrainingSettings, private readonly batcher: Batcher, budget?: { totalSteps: number; epochs: number }) {
    const kind = o.optimizer ?? 'adamw';
    this.optimizer = kind === 'adamw'
      ? new AdamW({ weightDecay: o.weightDecay ?? 0.01 })
      : new Sgd({ momentum: o.momentum ?? 0, weightDecay: o.weightDecay ?? 0 });
    this.accumulation = o.gradAccumulation ?? TRAIN_DEFAULTS.gradAccumulation;
    this.clipNorm = o.clipNorm ?? TRAIN_DEFAULTS.clipNorm;
    this.seed = o.seed ?? TRAIN_DEFAULTS.seed;
    this.stepsPerEpoch = optimizerStepsPerEpoch(batcher.batchesPerEpoch, this.accumulation);
    // With a step budget the epochs are whatever it takes; otherwise the epochs set the steps.
    this.epochs = budget?.epochs ?? (o.maxSteps ? Number.MAX_SAFE_INTEGER : o.epochs ?? TRAIN_DEFAULTS.epochs);
    this.totalSteps = budget?.totalSteps ?? o.maxSteps ?? this.stepsPerEpoch * (o.epochs ?? TRAIN_DEFAULTS.epochs);
    this.schedule = makeSchedule(o.schedule ?? TRAIN_DEFAULTS.schedule, {
      peakLr: o.lr ?? defaultLr(kind),
      warmupSteps: warmupStepsFromRatio(o.warmupRatio ?? TRAIN_DEFAULTS.warmupRatio, this.totalSteps),
      totalSteps: this.totalSteps,
    });
  }

  /** Where a checkpoint says to go on from (the optimizer's state is loaded here too). */
  resumeFrom(ckpt: TrainingCheckpoint, file: string, warnings: string[]): LoopPosition {
    this.optimizer.load(ckpt.optimizer);
    if (ckpt.meta.batcher && ckpt.meta.batcher !== this.batcher.orderKey()) warnings.push(`${file}: saved with other data or batch settings; the data order will differ`);
    return { step: ckpt.step, epoch: Number(ckpt.rngState.dataEpoch ?? ckpt.epoch), position: Number(ckpt.rngState.dataPosition ?? 0) };
  }

  saveCheckpoint(file: string, at: LoopPosition, params: Parameter[], meta: Record<string, string>): string {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    saveCheckpoint(file, {
      step: at.step, epoch: at.epoch, params, optimizer: this.optimizer.state(),
      rngState: { seed: this.seed, dataEpoch: at.epoch, dataPosition: at.position },
      meta: { ...meta, batcher: this.batcher.orderKey() },
    });
    return path.resolve(file);
  }

  /** The JSONL log: one line per step and per evaluation; a resumed run appends to it. */
  openLog(resuming: boolean): ((record: object) => void) | undefined {
    const file = this.o.log;
    if (!file) return undefined;
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    if (!resuming || !existsSync(file)) writeFileSync(file, '');
    return (record) => appendFileSync(file, JSON.stringify(record) + '\n');
  }
}

/** The forward graph with the trainable initializers turned into inputs (fed the current values). */
export function forwardWithParamInputs(forward: ModelSpec, names: ReadonlySet<string>): ModelSpec {
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

/** The int64 feeds a classifier's declared inputs take from a batch. */
export function classifierFeeds(inputs: readonly string[], batch: Batch): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const dims = [batch.batch, batch.seq];
  if (inputs.includes('input_ids')) feeds.input_ids = new ort.Tensor('int64', batch.inputIds, dims);
  if (inputs.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', batch.attentionMask, dims);
  if (inputs.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', batch.tokenTypeIds ?? new BigInt64Array(batch.batch * batch.seq), dims);
  return feeds;
}

/**
 * Accuracy and mean cross-entropy of a classifier on an evaluation set, with the current values of
 * its trainable parameters fed as inputs (one onnxruntime session for the whole run). Given the
 * teacher's logits per evaluation batch, also agreement with the teacher's argmax and KL to it.
 */
export class ClassifierEvaluator {
  private session?: ort.InferenceSession;
  private readonly inputs: string[];

  constructor(
    private readonly forward: ModelSpec,
    private readonly logitsName: string,
    readonly data: Batcher,
    private readonly teacherLogits?: (batchIndex: number) => Promise<Float32Array>,
  ) {
    this.inputs = forward.graph.inputs.map((i) => i.name);
  }

  async evaluate(params: readonly Parameter[], at: { step: number; epoch: number }, stage?: string): Promise<EvalLog> {
    this.session ??= await ort.InferenceSession.create(serializeModel(forwardWithParamInputs(this.forward, new Set(params.map((p) => p.name)))));
    const paramFeeds: Record<string, ort.Tensor> = {};
    for (const p of params) paramFeeds[p.name] = new ort.Tensor('float32', p.values, p.shape);
    let correct = 0;
    let total = 0;
    let lossSum = 0;
    let agree = 0;
    let klSum = 0;
    let index = 0;
    for (const { batch } of this.data.epoch(0)) {
      const logits = (await this.session.run({ ...paramFeeds, ...classifierFeeds(this.inputs, batch) }))[this.logitsName];
      const classes = logits.dims[logits.dims.length - 1];
      const v = logits.data as Float32Array;
      const t = this.teacherLogits ? await this.teacherLogits(index) : undefined;
      for (let i = 0; i < batch.batch; i++) {
        const row = v.subarray(i * classes, (i + 1) * classes);
        const s = logSoftmax(row);
        const label = Number(batch.labels[i]);
        lossSum -= s[label];
        if (argmax(row) === label) correct++;
        if (t) {
          const tr = t.subarray(i * classes, (i + 1) * classes);
          if (argmax(tr) === argmax(row)) agree++;
          const lt = logSoftmax(tr);
          for (let c = 0; c < classes; c++) klSum += Math.exp(lt[c]) * (lt[c] - s[c]);
        }
        total++;
      }
      index++;
    }
    const n = Math.max(1, total);
    return {
      step: at.step, epoch: at.epoch, accuracy: correct / n, loss: lossSum / n, examples: total,
      ...(this.teacherLogits ? { agreement: agree / n, kl: klSum / n } : {}), ...(stage ? { stage } : {}),
    };
  }

  async release(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let c = 1; c < v.length; c++) if (v[c] > v[best]) best = c;
  return best;
}

function logSoftmax(v: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of v) if (x > max) max = x;
  let sum = 0;
  for (const x of v) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(v.length);
  for (let c = 0; c < v.length; c++) out[c] = v[c] - lse;
  return out;
}
