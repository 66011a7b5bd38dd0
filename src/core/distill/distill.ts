// A distillation job: a student built from the teacher (recipe), trained on the teacher's signals
// (cached per row, so a row the teacher has seen is not run again), evaluated against the labels
// and against the teacher, and exported as a plain inference ONNX (plus a Hugging Face folder).
// Runs in the worker as a 'distill' job, through the same training loop as fine-tuning.
import * as path from 'node:path';
import type { EncoderConfig } from '../onnx/bert-builder';
import { writeModel } from '../onnx/onnx-writer';
import type { ModelSpec } from '../onnx/model-spec';
import { OptionsError, UnsupportedModelError } from '../errors';
import type { JobContext } from '../jobs/kinds';
import { analyzeModel } from '../analysis/model-card';
import { openModel } from '../open-model';
import { applyParameters, buildTrainingGraph, feedsFromBatch, initialParameters, TrainingSession } from '../training/autodiff';
import type { LossSpec } from '../training/autodiff/losses';
import { loadCheckpoint, readCheckpointInfo } from '../training/checkpoint';
import { checkTrainingPaths, defaultCheckpointPath, fitMaxLength } from '../training/train-options';
import { runTrainingLoop, type EvalLog, type LoopPosition } from '../training/training-loop';
import { ClassifierEvaluator, TrainingRun, loadTrainingData, type TrainingData } from '../training/training-run';
import type { Parameter } from '../training/types';
import type { TrainResult } from '../training/trainer';
import { checkDistillOptions, DISTILL_DEFAULTS, type DistillOptions } from './distill-options';
import { tinyLayerMap, type LayerMap } from './layer-map';
import { withProjection, PROJECTION_BIAS, PROJECTION_WEIGHT } from './projection';
import { findSignals } from './signals';
import { distilbertStudent, tinybertStudent, type Student } from './students';
import { checkStudentFolder, teacherStateDict, writeStudentFolder } from './teacher-weights';
import { openTeacher, teacherSignal, TeacherSession, type Teacher, type WantedSignal } from './teacher';
import { TeacherTargets } from './teacher-targets';

export interface DistillResult extends TrainResult {
  recipe: DistillOptions['recipe'];
  student: { config: EncoderConfig; params: number; hfOut?: string };
  teacher: { file: string; sha256: string; accuracy?: number };
  layerMap: LayerMap;
  stages: Array<{ name: string; startStep: number; steps: number }>;
  /** The teacher signals the losses used ('logits', 'hidden_4', 'attn_2', ...). */
  signals: string[];
  /** Where the teacher's outputs were cached, how many rows, and steps fed from the cache (hits) or the teacher (misses). */
  cache: { dir?: string; rowsCached: number; note?: string; hits: number; misses: number };
}

/** One training stage: a graph (the student, maybe with W_h), its loss, and its length. */
interface Stage {
  name: 'distillation' | 'intermediate' | 'prediction';
  forward: ModelSpec;
  loss: LossSpec;
  needs: string[];
  run: TrainingRun;
}

const teacherInput = (key: string) => `teacher_${key}`;

/** DistilBERT-style: T^2 KL to the soft targets + CE to the labels + cosine on the last hidden state. */
function distilbertLoss(o: DistillOptions, student: Student, withLabels: boolean, lastTeacher: number): { loss: LossSpec; needs: string[] } {
  const d = DISTILL_DEFAULTS.distilbert;
  const T = o.temperature ?? d.temperature;
  const kd = o.alphaKd ?? d.alphaKd;
  const ce = withLabels ? (o.alphaCe ?? d.alphaCe) : 0;
  const cos = o.logitsOnly ? 0 : (o.alphaCos ?? d.alphaCos);
  const terms: Array<{ weight: number; loss: LossSpec }> = [];
  const needs: string[] = ['logits'];
  if (kd > 0) terms.push({ weight: kd, loss: { kind: 'kl-divergence', logits: 'logits', teacherLogits: teacherInput('logits'), temperature: T, name: 'kd' } });
  if (ce > 0) terms.push({ weight: ce, loss: { kind: 'cross-entropy', logits: 'logits', name: 'ce' } });
  if (cos > 0) {
    const s = findSignals(student.spec);
    const last = s.hidden[s.hidden.length - 1]!;
    const key = `hidden_${lastTeacher}`;
    needs.push(key);
    terms.push({ weight: cos, loss: { kind: 'cosine', output: last, target: teacherInput(key), mask: 'attention_mask', name: 'cos' } });
  }
  if (terms.length === 0) throw new OptionsError('alphaKd', 'leaves no loss term: with no labels in the data the KL term is all there is');
  return { loss: { kind: 'sum', terms }, needs };
}

/** TinyBERT stage 1: embeddings and hidden states through W_h, attention scores, each an MSE over real tokens. */
function tinybertIntermediate(student: Student, teacher: Teacher, map: number[]): { forward: ModelSpec; loss: LossSpec; needs: string[] } {
  const s = findSignals(student.spec);
  const hiddenValues = [s.embeddings!, ...map.slice(1).map((_, i) => s.hidden[i]!)];
  const { spec, projected } = withProjection(student.spec, hiddenValues, student.config.hiddenSize, teacher.hidden);
  const needs: string[] = [];
  const hidden: LossSpec[] = [];
  const attn: LossSpec[] = [];
  for (let m = 1; m < map.length; m++) {
    needs.push(`hidden_${map[m]}`, `attn_${map[m]}`);
    hidden.push({ kind: 'mse', output: projected.get(s.hidden[m - 1]!)!, target: teacherInput(`hidden_${map[m]}`), mask: 'attention_mask', maskOver: 'tokens' });
    attn.push({ kind: 'mse', output: s.attentionScores[m - 1]!, target: teacherInput(`attn_${map[m]}`), mask: 'attention_mask', maskOver: 'token-pairs' });
  }
  needs.unshift('hidden_0');
  const loss: LossSpec = {
    kind: 'sum',
    terms: [
      { weight: 1, loss: { kind: 'mse', output: projected.get(s.embeddings!)!, target: teacherInput('hidden_0'), mask: 'attention_mask', maskOver: 'tokens', name: 'emb' } },
      { weight: 1, loss: { kind: 'group', name: 'hidden', terms: hidden } },
      { weight: 1, loss: { kind: 'group', name: 'attn', terms: attn } },
    ],
  };
  return { forward: spec, loss, needs };
}

function tinybertPrediction(o: DistillOptions): LossSpec {
  return { kind: 'sum', terms: [{ weight: 1, loss: { kind: 'soft-cross-entropy', logits: 'logits', teacherLogits: teacherInput('logits'), temperature: o.temperature ?? DISTILL_DEFAULTS.tinybert.temperature, name: 'pred' } }] };
}

/** The student's teacher-layer map with what supervises what (the recipe knows, the student builder does not). */
function supervisedMap(student: Student, o: DistillOptions, teacherLayers: number, tinyMap?: number[]): LayerMap {
  if (tinyMap) return { teacherLayers, studentLayers: student.config.numLayers, links: tinyMap.map((t, m) => ({ student: m, teacher: t, role: 'supervise' })) };
  const map = student.layerMap;
  const cos = !o.logitsOnly && (o.alphaCos ?? DISTILL_DEFAULTS.distilbert.alphaCos) > 0;
  if (!cos) return map;
  const last = map.studentLayers;
  const links = map.links.map((l) => (l.student === last && l.teacher === teacherLayers ? { ...l, role: 'both' as const } : l));
  if (!links.some((l) => l.student === last && l.teacher === teacherLayers)) links.push({ student: last, teacher: teacherLayers, role: 'supervise' });
  return { ...map, links };
}

export async function distill(o: DistillOptions, ctx: Partial<JobContext<'distill'>> = {}): Promise<DistillResult> {
  const started = Date.now();
  checkDistillOptions(o);
  const checkpointFile = o.checkpoint ?? defaultCheckpointPath(o.out);
  checkTrainingPaths(o, [{ role: 'the teacher', file: o.teacher }], checkpointFile);
  const report = ctx.report ?? (() => {});
  const warnings: string[] = [];

  report({ type: 'phase', message: 'Reading the teacher' });
  const teacher = await openTeacher(o.teacher);
  const N = teacher.layers;
  if (!N && !o.logitsOnly) throw new UnsupportedModelError(teacher.file, "cannot tell the teacher's encoder layers; distil from the logits alone (option 'logitsOnly')");

  report({ type: 'phase', message: 'Tokenizing the data' });
  const arch = teacher.card.architecture;
  const data: TrainingData = loadTrainingData({ ...o, maxLength: fitMaxLength(o.maxLength, arch.maxPositions, 'teacher') }, { vocabSize: arch.vocabSize, numLabels: teacher.numLabels });
  const withLabels = data.train.numLabels > 0;

  report({ type: 'phase', message: 'Building the student' });
  const state = await teacherStateDict(teacher);
  const student = o.recipe === 'distilbert'
    ? distilbertStudent(state, teacher.file, { layers: o.layers, teacherLayers: o.teacherLayers })
    : tinybertStudent(state.config, { layers: o.layers, hidden: o.hidden, heads: o.heads, intermediate: o.intermediate, seed: o.seed });
  if (o.hfOut) checkStudentFolder(o.hfOut, student.spec, student.config, o.tokenizer, [teacher.file]);
  const tinyMap = o.recipe === 'tinybert' ? tinyLayerMap(N, student.config.numLayers) : undefined;
  if (o.recipe === 'tinybert' && !o.logitsOnly && student.config.numHeads !== teacher.heads) {
    throw new OptionsError('heads', `is ${student.config.numHeads}, the teacher has ${teacher.heads}: attention-score transfer compares head by head; give the teacher's head count, or distil from the logits alone (option 'logitsOnly')`);
  }

  // Stages and their lengths. A TinyBERT-style job runs both stages; its first takes its own
  // length (stage1Epochs / stage1Steps, default: the same as the second's) and learning rate.
  const stages: Stage[] = [];
  if (o.recipe === 'distilbert') {
    const { loss, needs } = distilbertLoss(o, student, withLabels, N);
    stages.push({ name: 'distillation', forward: student.spec, loss, needs, run: new TrainingRun(o, data.batcher) });
  } else {
    if (!o.logitsOnly) {
      const inter = tinybertIntermediate(student, teacher, tinyMap!);
      const s1: DistillOptions = { ...o, lr: o.stage1Lr ?? o.lr, ...(o.stage1Epochs || o.stage1Steps ? { epochs: o.stage1Epochs, maxSteps: o.stage1Steps } : {}) };
      stages.push({ name: 'intermediate', ...inter, run: new TrainingRun(s1, data.batcher) });
    }
    stages.push({ name: 'prediction', forward: student.spec, loss: tinybertPrediction(o), needs: ['logits'], run: new TrainingRun(o, data.batcher) });
  }
  const wanted: WantedSignal[] = [...new Set(stages.flatMap((s) => s.needs))].map((k) => teacherSignal(teacher, k));

  report({ type: 'phase', message: 'Preparing the teacher' });
  const teacherSession = await TeacherSession.create(teacher, wanted, o.threads);
  const targets = await TeacherTargets.open(teacher, wanted, data.train, teacherSession, o);
  if (targets.note) warnings.push(targets.note);
  const layerMap = supervisedMap(student, o, N, tinyMap);

  // Evaluation: the teacher's eval logits once, then the student against labels and teacher.
  let evaluator: ClassifierEvaluator | undefined;
  let teacherAccuracy: number | undefined;
  if (data.evalBatcher) {
    report({ type: 'phase', message: 'Evaluating the teacher' });
    const evalLogits: Float32Array[] = [];
    let correct = 0;
    let total = 0;
    for (const { batch } of data.evalBatcher.epoch(0)) {
      const l = (await teacherSession.run(batch)).logits;
      evalLogits.push(l);
      const C = teacher.numLabels;
      for (let i = 0; i < batch.batch; i++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (l[i * C + c] > l[i * C + best]) best = c;
        if (best === Number(batch.labels[i])) correct++;
        total++;
      }
    }
    teacherAccuracy = total ? correct / total : undefined;
    evaluator = new ClassifierEvaluator(student.spec, 'logits', data.evalBatcher, async (i) => evalLogits[i]);
  }

  // Parameters by name, carried from stage to stage (W_h only exists in the first of TinyBERT's).
  const params = new Map<string, Parameter>();
  let at: LoopPosition = { step: 0, epoch: 0, position: 0 };
  let firstStage = 0;
  const resumeInfo = o.resume ? await readCheckpointInfo(o.resume) : undefined;
  if (resumeInfo) {
    const i = stages.findIndex((s) => s.name === resumeInfo.meta.stage);
    if (i < 0) throw new OptionsError('resume', `the checkpoint is from stage '${resumeInfo.meta.stage ?? '?'}', which this ${o.recipe} job does not have`);
    firstStage = i;
  }
  const meta = { teacher: teacher.file, teacherSha256: teacher.sha256, data: path.resolve(o.data), recipe: o.recipe };
  const log = stages[0].run.openLog(!!o.resume);
  const result = { lastLoss: NaN, evals: [] as EvalLog[], cancelled: false };
  const stageRecords: DistillResult['stages'] = [];
  let startStep = 0;

  report({ type: 'start', totalSteps: stages.reduce((n, s) => n + s.run.totalSteps, 0), stepsPerEpoch: stages[0].run.stepsPerEpoch, epochs: stages.reduce((n, s) => n + (s.run.epochs === Number.MAX_SAFE_INTEGER ? 0 : s.run.epochs), 0), startStep: resumeInfo?.step ?? 0, terms: stages.flatMap((s) => termNames(s.loss)), trainExamples: data.train.size, evalExamples: data.evalBatcher?.data.size });
  if (evaluator && !o.resume) {
    // Where the student starts, so a curve shows what distillation bought.
    const e = await evaluator.evaluate([...initialParameters(student.spec, student.spec.graph.initializers.map((t) => t.name))], { step: 0, epoch: 0 }, stages[0].name);
    result.evals.push(e);
    report({ type: 'eval', eval: e });
    log?.({ step: 0, epoch: 0, eval: true, accuracy: e.accuracy, eval_loss: e.loss, agreement: e.agreement, kl: e.kl, stage: stages[0].name });
  }

  let offset = 0;
  try {
    for (let si = 0; si < stages.length; si++) {
      const stage = stages[si];
      const stageStart = offset;
      offset += stage.run.totalSteps;
      if (si < firstStage) { stageRecords.push({ name: stage.name, startStep: stageStart, steps: stage.run.totalSteps }); continue; }
      report({ type: 'phase', message: `Building the ${stage.name} graph` });
      const trainable = stage.forward.graph.initializers.filter((t) => t.dims.reduce((a, b) => a * b, 1) > 1 || t.name === PROJECTION_BIAS).map((t) => t.name);
      const graph = await buildTrainingGraph(stage.forward, { trainable, loss: stage.loss });
      const session = await TrainingSession.create(graph, { threads: o.threads });
      let stageParams = initialParameters(stage.forward, graph.paramInputs).map((p) => params.get(p.name) ?? p);
      if (si === firstStage && resumeInfo) {
        const ckpt = await loadCheckpoint(o.resume!, { expectParams: stageParams, expectOptimizer: stage.run.optimizer.kind });
        stageParams = ckpt.params;
        at = stage.run.resumeFrom(ckpt, o.resume!, warnings);
        startStep = at.step;
      } else if (si > 0) {
        // A new stage starts on a fresh epoch (after the last one the previous stage touched).
        at = { step: stageStart, epoch: at.position > 0 ? at.epoch + 1 : at.epoch, position: 0 };
      }
      // The epoch the stage began on bounds its epochs; a resumed stage reads it from the checkpoint.
      const stageStartEpoch = si === firstStage && resumeInfo ? Number(resumeInfo.meta.stageStartEpoch ?? 0) : at.epoch;
      const epochsBound = stage.run.epochs === Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : stageStartEpoch + stage.run.epochs;
      const stageMeta = { ...meta, stage: stage.name, stageStartEpoch: String(stageStartEpoch) };
      const shifted = { lrAt: (s: number) => stage.run.schedule.lrAt(Math.max(0, s - stageStart)) };
      const inputs = graph.dataInputs.map((v) => v.name);
      const r = await runTrainingLoop({
        session, params: stageParams, batcher: data.batcher,
        feeds: async (batch, rows) => ({ ...feedsFromBatch(graph, batch), ...(await targets.feeds(inputs, batch, rows)) }),
        optimizer: stage.run.optimizer, schedule: shifted, accumulation: stage.run.accumulation, clipNorm: stage.run.clipNorm,
        totalSteps: offset, epochs: epochsBound,
        start: at, checkpointEvery: o.checkpointEvery ?? 0,
        save: (p) => { targets.flush(); return stage.run.saveCheckpoint(checkpointFile, p, stageParams, stageMeta); },
        evaluate: evaluator ? (p) => evaluator.evaluate(stageParams.filter((q) => q.name !== PROJECTION_WEIGHT && q.name !== PROJECTION_BIAS), p, stage.name) : undefined,
        log, report, isCancelled: ctx.isCancelled, stage: stage.name, lossHint: 'lower the learning rate',
      });
      await session.release();
      for (const p of stageParams) params.set(p.name, p);
      at = r;
      result.lastLoss = r.lastLoss;
      result.evals.push(...r.evals);
      stageRecords.push({ name: stage.name, startStep: stageStart, steps: r.step - stageStart });
      report({ type: 'phase', message: 'Saving' });
      stage.run.saveCheckpoint(checkpointFile, r, stageParams, stageMeta);
      if (r.cancelled) { result.cancelled = true; break; }
    }
    const studentParams = [...params.values()].filter((p) => p.name !== PROJECTION_WEIGHT && p.name !== PROJECTION_BIAS);
    const trained = applyParameters(student.spec, studentParams);
    writeModel(o.out, trained);
    let hfOut: string | undefined;
    if (o.hfOut) {
      hfOut = writeStudentFolder(o.hfOut, trained, student.config, o.tokenizer, [teacher.file]);
    }
    const card = analyzeModel(await openModel(o.out, { format: 'onnx' }));
    return {
      steps: at.step, startStep, epochs: at.epoch, lastLoss: result.lastLoss, evals: result.evals, out: path.resolve(o.out),
      checkpoint: path.resolve(checkpointFile), cancelled: result.cancelled, durationSec: (Date.now() - started) / 1000, warnings,
      recipe: o.recipe, student: { config: student.config, params: card.params.total, ...(hfOut ? { hfOut } : {}) },
      teacher: { file: teacher.file, sha256: teacher.sha256, ...(teacherAccuracy !== undefined ? { accuracy: teacherAccuracy } : {}) },
      layerMap, stages: stageRecords, signals: wanted.map((w) => w.key), cache: targets.summary(),
    };
  } finally {
    targets.close();
    await teacherSession.release();
    await evaluator?.release();
  }
}

function termNames(loss: LossSpec): string[] {
  if (loss.kind === 'sum') return loss.terms.flatMap((t) => termNames(t.loss));
  return [loss.name ?? loss.kind];
}
