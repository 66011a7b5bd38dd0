// `compression-lab distill`: a DistilBERT-, TinyBERT-, ALBERT- or MobileBERT-style student from the user's teacher, as
// a job in a worker process (the path the editor takes too). Every training option of `train`
// means the same here; Ctrl-C stops at the next step with a resumable checkpoint.
import { RECIPES, checkDistillOptions, type DistillOptions } from '../core/distill/distill-options';
import { HIDDEN_ACTS } from '../core/onnx/bert-builder';
import { startDistillJob } from '../host/train-job';
import { workerScript } from '../host/worker-path';
import { nonNegative, oneOf, parseArgs, positiveInt, UsageError } from './args';
import { recordRun, withInterrupt } from './job-terminal';
import { asUsage, jobSettingsFromFlags, printTrainingProgress, reportTrainingEnd, trainingSettingsFromFlags, TRAINING_FLAGS, type JobCliSettings } from './train-command';

const FLAGS = {
  ...TRAINING_FLAGS, recipe: 'string', teacher: 'string', layers: 'string', 'teacher-layers': 'string', hidden: 'string', heads: 'string',
  intermediate: 'string', activation: 'string', temperature: 'string', 'alpha-kd': 'string', 'alpha-ce': 'string', 'alpha-cos': 'string',
  'stage1-epochs': 'string', 'stage1-steps': 'string', 'stage1-lr': 'string', 'logits-only': 'boolean', 'hf-out': 'string',
  'cache-dir': 'string', 'cache-budget-mb': 'string', embedding: 'string', groups: 'string', 'share-init': 'string',
  'alpha-hidden': 'string', bottleneck: 'string', ffns: 'string', progressive: 'boolean',
} as const;

export interface DistillCommand extends JobCliSettings {
  options: DistillOptions;
}

const int = (v: string | boolean | undefined, name: string) => (v === undefined ? undefined : positiveInt(v, name, 1));

function layerList(v: string | boolean | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').map((s) => s.trim());
  const layers = parts.map(Number);
  if (parts.some((p) => p === '') || layers.some((l) => !Number.isInteger(l) || l < 0)) throw new UsageError(`--teacher-layers must be layer numbers from 0, comma-separated, e.g. 0,2,4 (got '${v}')`);
  return layers;
}

export function parseDistill(argv: string[]): DistillCommand {
  const { positional, flags } = parseArgs(argv, FLAGS);
  if (positional.length) throw new UsageError(`distill takes only options (got '${positional[0]}')`);
  for (const k of ['recipe', 'teacher', 'data', 'out'] as const) if (typeof flags[k] !== 'string') throw new UsageError(`distill needs --${k}`);
  const options: DistillOptions = {
    ...trainingSettingsFromFlags(flags),
    recipe: oneOf(flags.recipe, 'recipe', RECIPES)!,
    teacher: flags.teacher as string,
    layers: int(flags.layers, 'layers'),
    teacherLayers: layerList(flags['teacher-layers']),
    hidden: int(flags.hidden, 'hidden'),
    heads: int(flags.heads, 'heads'),
    intermediate: int(flags.intermediate, 'intermediate'),
    activation: oneOf(flags.activation, 'activation', HIDDEN_ACTS),
    temperature: nonNegative(flags.temperature, 'temperature'),
    alphaKd: nonNegative(flags['alpha-kd'], 'alpha-kd'),
    alphaCe: nonNegative(flags['alpha-ce'], 'alpha-ce'),
    alphaCos: nonNegative(flags['alpha-cos'], 'alpha-cos'),
    stage1Epochs: int(flags['stage1-epochs'], 'stage1-epochs'),
    stage1Steps: int(flags['stage1-steps'], 'stage1-steps'),
    stage1Lr: nonNegative(flags['stage1-lr'], 'stage1-lr'),
    logitsOnly: flags['logits-only'] ? true : undefined,
    hfOut: typeof flags['hf-out'] === 'string' ? flags['hf-out'] : undefined,
    cacheDir: typeof flags['cache-dir'] === 'string' ? flags['cache-dir'] : undefined,
    cacheBudgetMb: nonNegative(flags['cache-budget-mb'], 'cache-budget-mb'),
    embedding: int(flags.embedding, 'embedding'),
    groups: int(flags.groups, 'groups'),
    shareInit: oneOf(flags['share-init'], 'share-init', ['mean', 'first'] as const),
    alphaHidden: nonNegative(flags['alpha-hidden'], 'alpha-hidden'),
    bottleneck: int(flags.bottleneck, 'bottleneck'),
    ffns: int(flags.ffns, 'ffns'),
    progressive: flags.progressive ? true : undefined,
  };
  for (const k of Object.keys(options) as Array<keyof DistillOptions>) if (options[k] === undefined) delete options[k];
  asUsage(() => checkDistillOptions(options));
  return { options, ...jobSettingsFromFlags(flags) };
}

export async function runDistill(cmd: DistillCommand, write: (s: string) => void): Promise<number> {
  const job = startDistillJob(workerScript(), cmd.options, { timeoutMs: cmd.timeoutMs, onProgress: printTrainingProgress(write), onLog: (l) => process.stderr.write(`[worker] ${l}\n`) });
  const record = await withInterrupt(job, 'stopping after the current step and saving a checkpoint');
  const r = record.result;
  for (const w of r.warnings ?? []) write(`warning: ${w}`);
  if (record.status === 'complete' && r.student) {
    const acc = r.evals[r.evals.length - 1]?.accuracy;
    const teacherAcc = r.teacher?.accuracy;
    write(`student: ${r.student.config.numLayers} layers, width ${r.student.config.hiddenSize}, ${r.student.params.toLocaleString('en-US')} parameters${acc !== undefined ? `; dev accuracy ${(100 * acc).toFixed(2)}%` : ''}${teacherAcc ? ` (teacher ${(100 * teacherAcc).toFixed(2)}%, ${((100 * (acc ?? 0)) / teacherAcc).toFixed(1)}% kept)` : ''}${r.student.hfOut ? `; Hugging Face folder ${r.student.hfOut}` : ''}`);
  }
  recordRun(record, cmd.runsDir);
  return reportTrainingEnd(record, write, 'the same command and');
}
