// A distillation job: a student built from the teacher (recipe), trained on the teacher's signals
// (cached per row, so a row the teacher has seen is not run again), evaluated against the labels
// and against the teacher, and exported as a plain inference ONNX (plus a Hugging Face folder).
// Runs in the worker as a 'distill' job, through the same training loop as fine-tuning.
import * as path from 'node:path';
import type { EncoderConfig } from '../onnx/bert-builder';
import { writeModel } from '../onnx/onnx-writer';
import { OptionsError, UnsupportedModelError } from '../errors';
import type { JobContext } from '../jobs/kinds';
import { analyzeModel } from '../analysis/model-card';
import { openModel } from '../open-model';
import { hashFiles } from '../benchmark/environment';
import { applyParameters, buildTrainingGraph, feedsFromBatch, initialParameters, TrainingSession } from '../training/autodiff';
import type { LossSpec } from '../training/autodiff/losses';
import { loadCheckpoint, readCheckpointInfo } from '../training/checkpoint';
import { checkTrainingPaths, defaultCheckpointPath, fitMaxLength } from '../training/train-options';
import { runTrainingLoop, type EvalLog, type LoopPosition } from '../training/training-loop';
import { ClassifierEvaluator, TrainingRun, loadTrainingData, type TrainingData } from '../training/training-run';
import type { Parameter } from '../training/types';
import type { TrainResult } from '../training/trainer';
import { checkDistillOptions, type DistillOptions } from './distill-options';
import type { LayerMap } from './layer-map';
import type { RecipeContext, RecipePlan, StagePlan } from './recipes/recipe';
import { distilbertRecipe } from './recipes/distilbert';
import { tinybertRecipe } from './recipes/tinybert';
import { albertRecipe } from './recipes/albert';
import { mobilebertRecipe } from './recipes/mobilebert';
import { PROJECTION_BIAS, PROJECTION_WEIGHT } from './projection';
import { checkStudentFolder, teacherStateDict, writeStudentFolder } from './teacher-weights';
import { openTeacher, teacherSignal, TeacherSession, type WantedSignal } from './teacher';
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

/** A recipe's stage with the run (optimizer, schedule, length) it trains with. */
interface Stage extends StagePlan {
  run: TrainingRun;
}

const RECIPE_PLANS: Record<DistillOptions['recipe'], (ctx: RecipeContext) => RecipePlan> = {
  distilbert: distilbertRecipe, tinybert: tinybertRecipe, albert: albertRecipe, mobilebert: mobilebertRecipe,
};

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
  const data: TrainingData = loadTrainingData({ ...o, maxLength: fitMaxLength(o.maxLength, arch.maxPositions, 'teacher') }, { vocabSize: arch.vocabSize, numLabels: teacher.numLabels }, true);
  const withLabels = data.train.numLabels > 0;

  report({ type: 'phase', message: 'Building the student' });
  const state = await teacherStateDict(teacher);
  const plan = RECIPE_PLANS[o.recipe]({ o, teacher, state, withLabels });
  const { student, layerMap } = plan;
  warnings.push(...plan.notes);
  if (o.hfOut) checkStudentFolder(o.hfOut, student.spec, student.config, o.tokenizer, [teacher.file]);
  // Each stage trains with the job's options, or its own length and rate where the recipe says.
  const stages: Stage[] = plan.stages.map((st) => ({ ...st, run: new TrainingRun({ ...o, ...st.settings }, data.batcher) }));
  const wanted: WantedSignal[] = [...new Set(stages.flatMap((s) => s.needs))].map((k) => teacherSignal(teacher, k));

  report({ type: 'phase', message: 'Preparing the teacher' });
  const teacherSession = await TeacherSession.create(teacher, wanted, o.threads);
  const targets = await TeacherTargets.open(teacher, wanted, data.train, teacherSession, o);
  if (targets.note) warnings.push(targets.note);

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

  report({ type: 'start', totalSteps: stages.reduce((n, s) => n + s.run.totalSteps, 0), stepsPerEpoch: stages[0].run.stepsPerEpoch, epochs: stages.reduce((n, s) => n + (s.run.epochs === Number.MAX_SAFE_INTEGER ? 0 : s.run.epochs), 0), startStep: resumeInfo?.step ?? 0, terms: stages.flatMap((s) => termNames(s.loss)), trainExamples: data.train.size, evalExamples: data.evalBatcher?.data.size, layerMap, stages: planStages(stages) });
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
      const trainable = stage.forward.graph.initializers
        .filter((t) => (t.dims.reduce((a, b) => a * b, 1) > 1 || t.name === PROJECTION_BIAS) && (stage.trainable?.(t.name) ?? true))
        .map((t) => t.name);
      // The weights earlier stages trained, in the graph: frozen ones (a progressive stage's other
      // layers) stay as they were left, trainable ones start there.
      const known = new Set(stage.forward.graph.initializers.map((t) => t.name));
      const forward = applyParameters(stage.forward, [...params.values()].filter((p) => known.has(p.name)));
      const graph = await buildTrainingGraph(forward, { trainable, loss: stage.loss });
      const session = await TrainingSession.create(graph, { threads: o.threads });
      let stageParams = initialParameters(forward, graph.paramInputs);
      // Checkpoints hold the frozen weights too, so a progressive stage resumes with the layers below it.
      const frozenNames = forward.graph.initializers.filter((t) => !trainable.includes(t.name) && t.dims.reduce((a, b) => a * b, 1) > 1 && t.dtype === 'float32').map((t) => t.name);
      let frozen = initialParameters(forward, frozenNames);
      if (si === firstStage && resumeInfo) {
        const ckpt = await loadCheckpoint(o.resume!, { expectParams: [...stageParams, ...frozen], expectOptimizer: stage.run.optimizer.kind });
        const isTrainable = new Set(graph.paramInputs);
        stageParams = ckpt.params.filter((p) => isTrainable.has(p.name));
        frozen = ckpt.params.filter((p) => !isTrainable.has(p.name));
        for (const p of frozen) params.set(p.name, p);
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
        save: (p) => { targets.flush(); return stage.run.saveCheckpoint(checkpointFile, p, [...stageParams, ...frozen], stageMeta); },
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
      stage.run.saveCheckpoint(checkpointFile, r, [...stageParams, ...frozen], stageMeta);
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
      steps: at.step, startStep, epochs: at.epoch, lastLoss: result.lastLoss, evals: result.evals, out: path.resolve(o.out), outSha256: await hashFiles([o.out]),
      checkpoint: path.resolve(checkpointFile), cancelled: result.cancelled, durationSec: (Date.now() - started) / 1000, warnings,
      plan: { totalSteps: stages.reduce((n, s) => n + s.run.totalSteps, 0), stepsPerEpoch: stages[0].run.stepsPerEpoch },
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

/** Where each stage starts and how long it runs, before any runs. */
function planStages(stages: Stage[]): Array<{ name: string; startStep: number; steps: number }> {
  let at = 0;
  return stages.map((s) => { const r = { name: s.name, startStep: at, steps: s.run.totalSteps }; at += s.run.totalSteps; return r; });
}

function termNames(loss: LossSpec): string[] {
  if (loss.kind === 'sum') return loss.terms.flatMap((t) => termNames(t.loss));
  return [loss.name ?? loss.kind];
}
