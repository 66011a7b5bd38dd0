// A quantization job on files: the model read as an editable spec, quantized, written atomically,
// loaded back in onnxruntime to see what it fuses, and (with evaluation data) run beside the float
// model. The worker runs exactly this; so can a test.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../open-model';
import { forwardSpecFromModel } from '../onnx/forward-spec';
import { writeModel } from '../onnx/onnx-writer';
import { quantizeEmbeddings } from './quantize-embeddings';
import { hashFiles } from '../benchmark/environment';
import { analyzeModel } from '../analysis/model-card';
import { OptionsError, UnsupportedModelError, UserError } from '../errors';
import { checkOutputs } from '../io/output-guard';
import { loadTrainingData } from '../training/training-run';
import { fitMaxLength } from '../training/train-options';
import { detectCpu, quantizeDefaults, type CpuFeatures } from './cpu';
import { quantizeDynamic, type QuantizeReport } from './quantize-dynamic';
import { checkFusion, type FusionCheck } from './fusion';
import { compareOnData, type AgreementReport } from './evaluate';
import type { WeightType } from './weights';

export interface QuantizeJobOptions {
  model: string;
  out: string;
  perChannel?: boolean;
  weightType?: WeightType;
  exclude?: string[];
  /** Keep the classifier head float (default true). */
  excludeHead?: boolean;
  /** 7-bit weights; undefined: this CPU's default (cpu.ts). */
  reduceRange?: boolean;
  /** Embedding tables as int8 too (default true): most of a small model's bytes. */
  embeddings?: boolean;
  /** Labelled rows to compare the two models on (TSV, CSV or JSONL, as for training). */
  eval?: string;
  tokenizer?: string;
  textColumn?: string;
  labelColumn?: string;
  maxLength?: number;
  threads?: number;
}

export type QuantizeProgress =
  | { type: 'stage'; stage: 'reading' | 'quantizing' | 'writing' | 'checking' | 'evaluating'; message: string }
  | { type: 'eval'; done: number; total: number };

export interface QuantizeResult {
  out: string;
  /** Of the quantized model as written, so a later reader can tell its figures still describe the file. */
  outSha256?: string;
  report: QuantizeReport;
  /** The CPU the defaults were chosen for, and whether reduce_range came from the option or from it. */
  cpu: { features: CpuFeatures; reduceRange: boolean; source: 'option' | 'cpu default'; why: string };
  /** Sizes on disk. */
  files: { before: number; after: number };
  /** Parameters as the inspector counts them: the same before and after (int8 weights count once). */
  params: { before: number; after: number };
  fusion: FusionCheck;
  evaluation?: AgreementReport;
  warnings: string[];
  cancelled?: boolean;
}

export function checkQuantizeOptions(o: QuantizeJobOptions): void {
  if (!o.model) throw new OptionsError('model', 'is required');
  if (!o.out) throw new OptionsError('out', 'is required');
  if (o.weightType !== undefined && o.weightType !== 'int8' && o.weightType !== 'uint8') throw new OptionsError('weightType', `must be int8 or uint8 (got '${String(o.weightType)}')`);
  if (o.threads !== undefined && !(Number.isSafeInteger(o.threads) && o.threads >= 1)) throw new OptionsError('threads', `must be a whole number >= 1 (got ${String(o.threads)})`);
  if (o.maxLength !== undefined && !(Number.isSafeInteger(o.maxLength) && o.maxLength >= 2)) throw new OptionsError('maxLength', `must be a whole number >= 2 (got ${String(o.maxLength)})`);
  if (o.tokenizer && !o.eval) throw new OptionsError('tokenizer', "is only used with option 'eval' (the rows to compare the models on)");
  for (const e of o.exclude ?? []) if (!e) throw new OptionsError('exclude', 'has an empty name');
  checkOutputs(
    [{ role: 'the model', file: o.model }, o.eval ? { role: 'the evaluation data', file: o.eval } : undefined, o.tokenizer ? { role: 'the tokenizer', file: o.tokenizer } : undefined],
    [{ role: 'the quantized model', file: o.out }],
  );
}

export interface QuantizeContext {
  report(p: QuantizeProgress): void;
  isCancelled(): boolean;
}

const NO_CONTEXT: QuantizeContext = { report: () => {}, isCancelled: () => false };

export async function quantizeModel(o: QuantizeJobOptions, ctx: QuantizeContext = NO_CONTEXT): Promise<QuantizeResult> {
  checkQuantizeOptions(o);
  const warnings: string[] = [];
  ctx.report({ type: 'stage', stage: 'reading', message: `reading ${o.model}` });
  const model = await openModel(o.model);
  if (model.format !== 'onnx') throw new UnsupportedModelError(model.path, `not an ONNX model (${model.format}); convert it first (compression-lab convert)`);
  const card = analyzeModel(model);
  const spec = forwardSpecFromModel(model);
  if (spec.metadata?.['compression_lab.quantization'] || spec.graph.nodes.some((n) => n.opType === 'MatMulInteger' || n.opType === 'DynamicQuantizeMatMul')) {
    throw new UnsupportedModelError(model.weightsPath, 'the model is already quantized; quantize its float model');
  }

  const features = detectCpu();
  const defaults = quantizeDefaults(features);
  const reduceRange = o.reduceRange ?? defaults.reduceRange;
  const cpu = { features, reduceRange, source: o.reduceRange === undefined ? 'cpu default' as const : 'option' as const, why: o.reduceRange === undefined ? defaults.why : `set by the option (the CPU default would be ${defaults.reduceRange ? 'on' : 'off'}: ${defaults.why})` };

  ctx.report({ type: 'stage', stage: 'quantizing', message: `quantizing (${o.weightType ?? 'int8'}${o.perChannel ? ', per channel' : ''}${reduceRange ? ', 7-bit weights' : ''})` });
  let result: ReturnType<typeof quantizeDynamic>;
  try {
    result = quantizeDynamic(spec, { perChannel: o.perChannel, weightType: o.weightType, exclude: o.exclude, excludeHead: o.excludeHead, reduceRange });
  } catch (e) {
    if (e instanceof UserError && !(e instanceof OptionsError) && !e.file) throw new UnsupportedModelError(model.weightsPath, e.problem);
    throw e;
  }
  if (o.embeddings !== false) {
    const e = quantizeEmbeddings(result.spec);
    result = { spec: e.spec, report: { ...result.report, quantized: [...result.report.quantized, ...e.quantized], bytes: { before: result.report.bytes.before, after: result.report.bytes.after - e.quantized.reduce((n, q) => n + q.bytesBefore - q.bytesAfter, 0) } } };
  }
  if (result.report.quantized.length === 0) warnings.push('no MatMul or Gemm weight was quantized; the output is the float model');
  const out = path.resolve(o.out);
  const done: QuantizeResult = {
    out, report: result.report, cpu, files: { before: fileBytes(model.files), after: 0 }, params: { before: card.params.total, after: 0 },
    fusion: { ops: {}, dynamicQuantizeMatMul: 0, matMulIntegerToFloat: 0, unfused: 0 }, warnings,
  };
  // Cancelled before anything was written: nothing to keep.
  if (ctx.isCancelled()) return { ...done, cancelled: true };

  ctx.report({ type: 'stage', stage: 'writing', message: `writing ${o.out}` });
  writeModel(out, result.spec);
  done.files.after = statSync(out).size;
  done.outSha256 = await hashFiles([out]);

  ctx.report({ type: 'stage', stage: 'checking', message: 'loading it in onnxruntime' });
  done.fusion = await checkFusion(out, o.threads ?? 1);
  done.params.after = analyzeModel(await openModel(out)).params.total;
  if (done.params.after !== done.params.before) warnings.push(`the quantized model counts ${done.params.after} parameters, the float one ${done.params.before}`);
  if (done.fusion.unfused > 0) warnings.push(`onnxruntime left ${done.fusion.unfused} MatMulInteger node(s) unfused`);

  if (o.eval && !ctx.isCancelled()) {
    ctx.report({ type: 'stage', stage: 'evaluating', message: `comparing both models on ${o.eval}` });
    const data = loadTrainingData(
      { data: o.eval, out: o.out, tokenizer: o.tokenizer, textColumn: o.textColumn, labelColumn: o.labelColumn, maxLength: fitMaxLength(o.maxLength, card.architecture.maxPositions, 'model'), shuffle: false, batchSize: 32 },
      { vocabSize: card.architecture.vocabSize, numLabels: card.architecture.numLabels },
    );
    const evaluation = await compareOnData(model.weightsPath, out, data.batcher, { threads: o.threads, isCancelled: ctx.isCancelled, onBatch: (n, total) => ctx.report({ type: 'eval', done: n, total }) });
    if (evaluation) done.evaluation = evaluation;
  }
  return ctx.isCancelled() ? { ...done, cancelled: true } : done;
}

function fileBytes(files: Array<{ bytes: number }>): number {
  return files.reduce((s, f) => s + f.bytes, 0);
}
