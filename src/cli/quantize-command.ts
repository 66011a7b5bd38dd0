// `compression-lab quantize`: dynamic int8 quantization of an ONNX model (teacher or student) as a
// job in a worker process, like train and distill. Prints what was quantized and what was kept
// float, bytes before and after, what onnxruntime fuses it into and, with --eval, how the two
// models compare on labelled rows.
import { formatBytes, formatCount, formatPercent } from '../core/format';
import { checkQuantizeOptions, type QuantizeJobOptions, type QuantizeProgress, type QuantizeResult } from '../core/quantize/quantize-model';
import { UserError } from '../core/errors';
import { startQuantizeJob } from '../host/quantize-job';
import { workerScript } from '../host/worker-path';
import { oneOf, parseArgs, positiveInt, UsageError } from './args';
import { table } from './format';
import { recordRun, withInterrupt } from './job-terminal';
import { asUsage, JobFailedError, jobSettingsFromFlags, type JobCliSettings } from './train-command';

const FLAGS = {
  out: 'string', 'per-channel': 'boolean', exclude: 'string', 'weight-type': 'string', 'keep-head': 'boolean', 'quantize-head': 'boolean', 'keep-embeddings': 'boolean',
  'reduce-range': 'boolean', 'no-reduce-range': 'boolean', eval: 'string', tokenizer: 'string', 'text-column': 'string',
  'label-column': 'string', 'max-length': 'string', threads: 'string', json: 'boolean',
  'runs-dir': 'string', 'no-run-record': 'boolean', timeout: 'string',
} as const;

export interface QuantizeCommand extends JobCliSettings {
  options: QuantizeJobOptions;
  json: boolean;
}

/** Every `--exclude` (the parser keeps only the last of a repeated flag), each a comma-separated list. */
function excludes(argv: string[]): { names: string[]; rest: string[] } {
  const names: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let value: string | undefined;
    if (a === '--exclude') {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError('--exclude needs a node or weight name');
    } else if (a.startsWith('--exclude=')) value = a.slice('--exclude='.length);
    else { rest.push(a); continue; }
    const parts = value.split(',').map((s) => s.trim());
    if (parts.some((p) => !p)) throw new UsageError(`--exclude takes names separated by commas (got '${value}')`);
    names.push(...parts);
  }
  return { names, rest };
}

const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);

export function parseQuantize(argv: string[]): QuantizeCommand {
  const { names, rest } = excludes(argv);
  const { positional, flags } = parseArgs(rest, FLAGS);
  if (positional.length !== 1) throw new UsageError(positional.length ? `quantize takes one model (got ${positional.map((p) => `'${p}'`).join(', ')})` : 'quantize takes a model: compression-lab quantize model.onnx --out model.int8.onnx');
  if (typeof flags.out !== 'string') throw new UsageError('quantize needs --out');
  if (flags['keep-head'] && flags['quantize-head']) throw new UsageError('--keep-head and --quantize-head contradict each other; give one');
  if (flags['reduce-range'] && flags['no-reduce-range']) throw new UsageError('--reduce-range and --no-reduce-range contradict each other; give one');
  if (flags.tokenizer && !flags.eval) throw new UsageError('--tokenizer is for --eval (the rows to compare the models on)');
  const options: QuantizeJobOptions = {
    model: positional[0],
    out: flags.out,
    perChannel: flags['per-channel'] ? true : undefined,
    weightType: oneOf(flags['weight-type'], 'weight-type', ['int8', 'uint8'] as const),
    exclude: names.length ? names : undefined,
    excludeHead: flags['quantize-head'] ? false : undefined,
    embeddings: flags['keep-embeddings'] ? false : undefined,
    reduceRange: flags['reduce-range'] ? true : flags['no-reduce-range'] ? false : undefined,
    eval: str(flags.eval),
    tokenizer: str(flags.tokenizer),
    textColumn: str(flags['text-column']),
    labelColumn: str(flags['label-column']),
    maxLength: flags['max-length'] !== undefined ? positiveInt(flags['max-length'], 'max-length', 128) : undefined,
    threads: flags.threads !== undefined ? positiveInt(flags.threads, 'threads', 1) : undefined,
  };
  for (const k of Object.keys(options) as Array<keyof QuantizeJobOptions>) if (options[k] === undefined) delete options[k];
  asUsage(() => checkQuantizeOptions(options));
  return { options, json: !!flags.json, ...jobSettingsFromFlags(flags) };
}

function printProgress(write: (s: string) => void): (p: QuantizeProgress) => void {
  let lastEval = 0;
  return (p) => {
    if (p.type === 'stage') write(`${p.message}...`);
    else if (p.done === p.total || Date.now() - lastEval > 2000) { lastEval = Date.now(); write(`  evaluated ${p.done}/${p.total} batches`); }
  };
}

const dims = (d: number[]) => d.join(' x ');

/** What a finished quantization says: the tables, the bytes, the fusion, the comparison. */
export function describeQuantization(r: QuantizeResult, model: string): string[] {
  const lines: string[] = [];
  const q = r.report;
  const bits = q.settings.reduceRange ? '7-bit' : '8-bit';
  lines.push(`weights ${q.settings.weightType} (${q.settings.weightType === 'int8' ? 'symmetric' : 'asymmetric'}, ${bits}, ${q.settings.perChannel ? 'per output channel' : 'per tensor'}); activations uint8, quantized at run time`);
  lines.push(`reduce_range ${r.cpu.reduceRange ? 'on' : 'off'} (${r.cpu.source}: ${r.cpu.why})`);
  lines.push('');
  if (q.quantized.length) {
    lines.push(`quantized (${q.quantized.length}):`);
    lines.push(table(['node', 'weight', 'dims', 'before', 'after'], q.quantized.map((e) => [
      e.node, e.weight + (e.transposed ? ' (T)' : ''), dims(e.dims),
      e.sharedWith ? 'shared' : formatBytes(e.bytesBefore), e.sharedWith ? `with ${e.sharedWith}` : formatBytes(e.bytesAfter),
    ]), [false, false, false, true, true]));
    lines.push('(T): stored [out, in] and transposed into the integer weight');
  }
  if (q.skipped.length) {
    lines.push('');
    lines.push(`kept float (${q.skipped.length}):`);
    lines.push(table(['node', 'op', 'why'], q.skipped.map((s) => [s.node, s.op, s.why])));
  }
  lines.push('');
  const saved = q.bytes.before - q.bytes.after;
  lines.push(`weights ${formatBytes(q.bytes.before)} -> ${formatBytes(q.bytes.after)} (${formatPercent(saved, q.bytes.before)} smaller); file ${formatBytes(r.files.before)} -> ${formatBytes(r.files.after)}`);
  lines.push(`parameters ${formatCount(r.params.before)} before, ${formatCount(r.params.after)} after (int8 weights count once; scales and zero points not at all)`);
  const f = r.fusion;
  lines.push(`onnxruntime runs it as ${f.dynamicQuantizeMatMul} DynamicQuantizeMatMul + ${f.matMulIntegerToFloat} MatMulIntegerToFloat (com.microsoft), ${f.unfused} MatMulInteger left unfused`);
  const e = r.evaluation;
  if (e) {
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    lines.push(`on ${formatCount(e.examples)} rows: accuracy ${pct(e.accuracy.before)} float, ${pct(e.accuracy.after)} quantized; argmax agreement ${pct(e.agreement)}; logits differ by ${e.meanLogitDiff.toFixed(4)} on average, ${e.maxLogitDiff.toFixed(4)} at most`);
  }
  lines.push(`latency: compression-lab compare ${model} ${r.out} --baseline ${model}`);
  return lines;
}

export async function runQuantize(cmd: QuantizeCommand, write: (s: string) => void): Promise<number> {
  const job = startQuantizeJob(workerScript(), cmd.options, { timeoutMs: cmd.timeoutMs, onProgress: cmd.json ? undefined : printProgress(write), onLog: (l) => process.stderr.write(`[worker] ${l}\n`) });
  const record = await withInterrupt(job, 'stopping the quantization');
  recordRun(record, cmd.runsDir);
  const r = record.result;
  const complete = record.status === 'complete' && r.report && r.out;
  // --json: stdout is the one JSON object (its warnings and out inside it), for a pipe to parse.
  if (complete && cmd.json) {
    write(JSON.stringify(r));
    return 0;
  }
  for (const w of r.warnings ?? []) write(`warning: ${w}`);
  if (complete) {
    for (const line of describeQuantization(r as QuantizeResult, cmd.options.model)) write(line);
    write(`wrote ${r.out}`);
    return 0;
  }
  if (record.status === 'cancelled') {
    write(r.files?.after ? `stopped; ${r.out} was written${r.evaluation ? '' : ' but not evaluated'}` : 'stopped before anything was written');
    return 130;
  }
  if (record.errorInfo) throw UserError.fromInfo(record.errorInfo);
  throw new JobFailedError(record.error ?? `the job ${record.status}`);
}
