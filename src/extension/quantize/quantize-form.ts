// The Quantize form: a few choices (weight type, per channel, the head, the embeddings), optional
// evaluation rows, and the output beside the model; the check that turns them into the job's
// options (checkQuantizeOptions, which holds the output guard, decides what is valid); and the
// end message: sizes, what onnxruntime fuses, the agreement when evaluated. No vscode import:
// tested in Node.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../core/errors';
import { formatBytes, formatCount } from '../../core/format';
import { checkQuantizeOptions, type QuantizeJobOptions } from '../../core/quantize/quantize-model';
import type { RunRecord } from '../../core/runs/run-record';
import type { JobFormField, JobFormProblems, JobFormSpec, JobFormValues } from '../../shared/protocol';
import { isFile, pathProblem, probeOptions } from '../train/form-checks';
import { firstLine, hasProblems } from '../train/train-form';

export const QUANTIZE_FIELDS: Record<string, JobFormField> = {
  model: { id: 'model', label: 'Model (ONNX)', type: 'file', required: true, hint: 'A float model: a teacher or a student' },
  out: { id: 'out', label: 'Quantized model', type: 'file', required: true, save: true, hint: 'The int8 model, written when the job ends' },
  weightType: { id: 'weightType', label: 'Weights', type: 'choice', radio: true, options: [{ value: 'int8', label: 'int8 (symmetric)' }, { value: 'uint8', label: 'uint8 (with a zero point)' }] },
  perChannel: { id: 'perChannel', label: 'Scales', type: 'choice', radio: true, options: [{ value: 'tensor', label: 'one per weight' }, { value: 'channel', label: 'one per output channel' }] },
  head: { id: 'head', label: 'Classifier head', type: 'choice', radio: true, options: [{ value: 'keep', label: 'keep float' }, { value: 'quantize', label: 'quantize it too' }] },
  embeddings: { id: 'embeddings', label: 'Embedding tables', type: 'choice', radio: true, options: [{ value: 'quantize', label: 'int8' }, { value: 'keep', label: 'keep float' }] },
  eval: { id: 'eval', label: 'Evaluation data', type: 'file', hint: 'Optional labelled rows: both models are run on them and their agreement measured' },
  tokenizer: { id: 'tokenizer', label: 'Tokenizer', type: 'file', hint: 'tokenizer.json, for evaluation rows that hold text' },
};

export function quantizeFormSpec(modelName?: string): JobFormSpec {
  const f = QUANTIZE_FIELDS;
  return {
    kind: 'quantize',
    title: modelName ? `Quantize ${modelName}` : 'Quantize a model',
    intro: 'Dynamic int8 quantization: MatMul and Gemm weights (and the embedding tables) as 8-bit integers, activations quantized at run time; onnxruntime fuses them. Runs in a worker process.',
    submitLabel: 'Quantize',
    sections: [
      { title: 'Model', fields: [f.model, f.out] },
      { title: 'Quantization', fields: [f.weightType, f.perChannel, f.head, f.embeddings] },
      { title: 'Evaluation (optional)', fields: [f.eval, f.tokenizer] },
    ],
  };
}

/** `tiny/model.onnx` -> `tiny/model.int8.onnx` (then `.int8-2.onnx`...): never a file that exists. */
export function defaultQuantizedPath(model: string, exists: (file: string) => boolean = existsSync): string {
  const base = model.replace(/\.onnx$/i, '');
  for (let i = 1; ; i++) {
    const file = `${base}.int8${i === 1 ? '' : `-${i}`}.onnx`;
    if (!exists(file)) return file;
  }
}

export function initialQuantizeValues(model?: string, exists: (file: string) => boolean = existsSync): JobFormValues {
  return {
    model: model ?? '', out: model ? defaultQuantizedPath(model, exists) : '', weightType: 'int8', perChannel: 'tensor', head: 'keep', embeddings: 'quantize', eval: '', tokenizer: '',
  };
}

/** Values that follow from the model: the output beside it, and its folder's tokenizer when there are rows to tokenize. */
export function defaultsForQuantizeModel(model: string, exists: (file: string) => boolean = existsSync): JobFormValues {
  return { out: defaultQuantizedPath(model, exists) };
}

const LABELS: Record<string, string> = Object.fromEntries(Object.values(QUANTIZE_FIELDS).map((f) => [f.id, f.label]));

export interface QuantizeFormCheck {
  options?: QuantizeJobOptions;
  problems: JobFormProblems;
}

/** The job's options from the form's text, or every problem, each beside its field. `base` holds what the form does not show (threads). */
export function quantizeOptionsFromForm(values: JobFormValues, base: Partial<QuantizeJobOptions> = {}): QuantizeFormCheck {
  const fields: Record<string, string> = {};
  const v = (k: string) => (values[k] ?? '').trim();
  const o: QuantizeJobOptions = { ...base, model: v('model'), out: v('out') };
  if (v('weightType') === 'uint8') o.weightType = 'uint8';
  else if (v('weightType') && v('weightType') !== 'int8') fields.weightType = `must be int8 or uint8 (got '${v('weightType')}')`;
  if (v('perChannel') === 'channel') o.perChannel = true;
  if (v('head') === 'quantize') o.excludeHead = false;
  if (v('embeddings') === 'keep') o.embeddings = false;
  if (v('eval')) o.eval = v('eval');
  if (v('tokenizer')) o.tokenizer = v('tokenizer');

  for (const k of ['model', 'out', 'eval', 'tokenizer'] as const) {
    const file = v(k);
    if (!file) { if (QUANTIZE_FIELDS[k].required) fields[k] = 'is required'; continue; }
    const problem = pathProblem(file, k === 'out' ? { output: 'the output' } : k === 'eval' ? 'data' : k === 'tokenizer' ? 'tokenizer' : 'input');
    if (problem) fields[k] = problem;
    else if (k === 'model' && !/\.onnx$/i.test(file)) fields[k] = 'quantization takes an ONNX model (.onnx); convert it first';
  }
  if (o.eval && !o.tokenizer && !fields.eval && isFile(o.eval) && !/input_ids/.test(firstLine(o.eval))) {
    fields.tokenizer = 'the evaluation data holds text (no input_ids column): give the tokenizer.json to tokenize it';
  }

  let form: string | undefined;
  if (!fields.model && !fields.out) {
    const probe: Record<string, unknown> = { ...o };
    for (const k of Object.keys(fields)) delete probe[k];
    const other = probeOptions(probe, (x) => checkQuantizeOptions(x as unknown as QuantizeJobOptions), (e) => {
      if (['model', 'out'].includes(e.option)) return false;
      fields[e.option] ??= e.problem.replace(new RegExp(`^option '${e.option}' `), '').replace(/option '(\w+)'/g, (_m, id: string) => `"${LABELS[id] ?? id}"`);
      return true;
    });
    // The output guard: the output is the model, the data, or the tokenizer.
    if (other instanceof UserError && other.file && path.resolve(other.file) === path.resolve(o.out)) fields.out = other.problem.replace(/^the quantized model /, '');
    else if (other) form = other.message;
  }
  const problems: JobFormProblems = { fields, ...(form ? { form } : {}) };
  return hasProblems(problems) ? { problems } : { options: o, problems };
}

/** "1.2 MB -> 420 kB (35%)". */
function sizes(before: number, after: number): string {
  return `${formatBytes(before)} → ${formatBytes(after)}${before > 0 ? ` (${((100 * after) / before).toFixed(0)}% of the float model)` : ''}`;
}

/** What onnxruntime fuses the quantized chain into, in a phrase. */
export function fusionSummary(f: { dynamicQuantizeMatMul: number; matMulIntegerToFloat: number; unfused: number } | undefined): string {
  if (!f) return 'fusion not checked';
  const parts = [
    f.dynamicQuantizeMatMul ? `${formatCount(f.dynamicQuantizeMatMul)} DynamicQuantizeMatMul` : '',
    f.matMulIntegerToFloat ? `${formatCount(f.matMulIntegerToFloat)} MatMulIntegerToFloat` : '',
  ].filter(Boolean);
  const fused = parts.length ? `onnxruntime fuses it into ${parts.join(' + ')}` : 'onnxruntime fused nothing';
  return f.unfused ? `${fused}, ${formatCount(f.unfused)} MatMulInteger left unfused` : fused;
}

/** The end message of a quantization run, whatever way it ended. */
export function quantizeMessage(record: RunRecord<'quantize'>): { level: 'info' | 'warning' | 'error'; text: string } {
  const r = record.result;
  const name = record.model.name;
  if (record.status === 'cancelled') return { level: 'warning', text: `Quantizing ${name} was cancelled${r.files?.after ? '' : '; nothing was written'}.` };
  if (record.status !== 'complete' || !r.files || !r.report) {
    return { level: 'error', text: `Quantizing ${name} ${record.status === 'timeout' ? 'timed out' : 'failed'}: ${record.error ?? 'unknown error'}` };
  }
  const ev = r.evaluation;
  const agreement = ev
    ? ` Argmax agrees with the float model on ${(100 * ev.agreement).toFixed(2)}% of ${formatCount(ev.examples)} rows (accuracy ${(100 * ev.accuracy.before).toFixed(1)}% → ${(100 * ev.accuracy.after).toFixed(1)}%).`
    : '';
  const weights = r.report.quantized.length;
  return {
    level: 'info',
    text: `Quantized ${name}: ${sizes(r.files.before, r.files.after)}, ${formatCount(weights)} weight${weights === 1 ? '' : 's'} as ${r.report.settings.weightType}; ${fusionSummary(r.fusion)}.${agreement}`,
  };
}
