// The loop every training job shares (fine-tuning, and each distillation stage): feed a batch,
// get the loss and gradients from onnxruntime, accumulate, clip, step the optimizer on the
// schedule, log, report, checkpoint, evaluate at epoch ends, and stop at the next step when the
// job is cancelled. What differs between jobs (the graph, the feeds, the evaluation) comes in.
import type { Feeds } from './autodiff/probe';
import type { TrainingSession } from './autodiff/session';
import type { Batcher } from './data/batcher';
import { GradientAccumulator } from './optim/accumulate';
import { clipGradNorm, globalGradNorm } from './optim/clip';
import type { Batch, LrSchedule, Optimizer, Parameter } from './types';
import type { TrainProgress } from './progress';

export interface StepLog {
  step: number;
  epoch: number;
  loss: number;
  /** Each loss term before weighting, by name (`ce`, `kd`, `cos`, ...). */
  losses: Record<string, number>;
  lr: number;
  gradNorm: number;
  examples: number;
  tokens: number;
  /** Wall time of this optimizer step (its micro-batches included), ms. */
  ms: number;
  examplesPerSec: number;
  /** Which part of the job the step belongs to (distillation stages); absent for one-stage jobs. */
  stage?: string;
}

export interface EvalLog {
  step: number;
  epoch: number;
  /** Against the labels, when the data has them. */
  accuracy: number;
  loss: number;
  examples: number;
  /** Distillation: the share of examples where student and teacher pick the same class. */
  agreement?: number;
  /** Distillation: mean KL(teacher || student) over the examples. */
  kl?: number;
  stage?: string;
}

/** Where in the data a run is: the next batch to feed is `position` of `epoch`. */
export interface LoopPosition {
  step: number;
  epoch: number;
  position: number;
}

export interface LoopSpec {
  session: TrainingSession;
  params: Parameter[];
  batcher: Batcher;
  /** The step's feeds for a batch; `rows` are its dataset rows (for per-row targets such as a teacher's). */
  feeds(batch: Batch, rows: Int32Array): Feeds | Promise<Feeds>;
  optimizer: Optimizer;
  schedule: LrSchedule;
  /** Micro-batches per optimizer step. */
  accumulation: number;
  /** Global-norm clipping; 0 turns clipping off (the norm is still logged). */
  clipNorm: number;
  /** The loop ends after this optimizer step (counted from 0 over the whole run, resumes included). */
  totalSteps: number;
  /** With no step limit of their own, epochs bound the run. */
  epochs: number;
  start: LoopPosition;
  /** A checkpoint every N optimizer steps (0: none); `save` writes it. */
  checkpointEvery: number;
  save?(at: LoopPosition): string | undefined;
  /** Runs after each epoch and at the end of the run. */
  evaluate?(at: LoopPosition): Promise<EvalLog | undefined>;
  log?(record: object): void;
  report?(p: TrainProgress): void;
  isCancelled?(): boolean;
  /** Steps in this loop belong to this stage (distillation). */
  stage?: string;
  /** For messages: the step where the loss stopped being a number. */
  lossHint?: string;
}

export interface LoopResult extends LoopPosition {
  lastLoss: number;
  evals: EvalLog[];
  cancelled: boolean;
}

export async function runTrainingLoop(spec: LoopSpec): Promise<LoopResult> {
  const accumulator = new GradientAccumulator(spec.accumulation);
  const evals: EvalLog[] = [];
  let { step, epoch } = spec.start;
  let position = spec.start.position;
  let lastLoss = NaN;
  let examples = 0;
  let tokens = 0;
  let t0 = performance.now();
  let cancelled = false;

  const evaluate = async () => {
    const e = await spec.evaluate?.({ step, epoch, position });
    if (!e) return;
    evals.push(e);
    spec.log?.({ step, epoch, eval: true, accuracy: e.accuracy, eval_loss: e.loss, examples: e.examples, ...(e.agreement !== undefined ? { agreement: e.agreement, kl: e.kl } : {}), ...(spec.stage ? { stage: spec.stage } : {}) });
    spec.report?.({ type: 'eval', eval: e });
  };

  // Where the micro-batches of the step under way began: a cancel resumes there, not past them.
  let windowStart = { epoch, position };
  outer: for (; step < spec.totalSteps && epoch < spec.epochs; epoch++) {
    for (const { batch, rows, position: at } of spec.batcher.epoch(epoch, epoch === spec.start.epoch ? spec.start.position : 0)) {
      if (accumulator.pending === 0) windowStart = { epoch, position: at };
      if (spec.isCancelled?.()) { cancelled = true; ({ epoch, position } = windowStart); break outer; }
      const r = await spec.session.run(await spec.feeds(batch as Batch, rows), spec.params);
      if (!Number.isFinite(r.loss)) throw new Error(`the loss became ${r.loss} at step ${step + 1}${spec.lossHint ? `: ${spec.lossHint}` : ''}`);
      examples += batch.batch;
      tokens += batch.batch * batch.seq;
      position = at + 1;
      if (!accumulator.add(r.grads, batch.batch)) continue;
      const grads = accumulator.take();
      const norm = spec.clipNorm > 0 ? clipGradNorm(grads, spec.clipNorm) : globalGradNorm(grads);
      const lr = spec.schedule.lrAt(step);
      if (Number.isFinite(norm)) spec.optimizer.step(spec.params, grads, lr);
      step++;
      lastLoss = r.loss;
      const ms = performance.now() - t0;
      const s: StepLog = {
        step, epoch, loss: r.loss, losses: r.terms, lr, gradNorm: norm, examples, tokens, ms,
        examplesPerSec: ms > 0 ? (1000 * examples) / ms : 0, ...(spec.stage ? { stage: spec.stage } : {}),
      };
      spec.log?.({ step, epoch, loss: r.loss, ...lossFields(r.terms), lr, grad_norm: norm, examples, tokens, ms, ...(spec.stage ? { stage: spec.stage } : {}) });
      spec.report?.({ type: 'steps', steps: [s] });
      examples = 0; tokens = 0; t0 = performance.now();
      if (spec.checkpointEvery && step % spec.checkpointEvery === 0) reportSave(spec, { step, epoch, position });
      if (step >= spec.totalSteps) break outer;
    }
    position = 0;
    if (epoch + 1 < spec.epochs && step < spec.totalSteps) await evaluate();
  }
  // A cancelled job stops now: its evaluation would keep the user waiting for figures they can get later.
  if (!cancelled) await evaluate();
  return { step, epoch, position, lastLoss, evals, cancelled };
}

function reportSave(spec: LoopSpec, at: LoopPosition): void {
  const file = spec.save?.(at);
  if (file) spec.report?.({ type: 'checkpoint', file, step: at.step });
}

/** `loss_<term>` per term, as the step log's JSON lines name them. */
export function lossFields(terms: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(terms)) out[`loss_${k}`] = v;
  return out;
}
