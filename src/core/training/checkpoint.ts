// Training checkpoints as one safetensors file: the parameters ("param/<name>"), the optimizer's
// slots ("optim/<slot>/<parameter>"), all float32, and in __metadata__ the format tag, step,
// epoch, parameter order, optimizer kind/step/hyper-parameters, RNG state and free-form meta.
// Any safetensors tool can open it; loading validates it and names the file in every error.
import { UserError } from '../errors';
import { safetensorsReader } from '../readers/safetensors-reader';
import { loadTensor } from '../tensor-values';
import type { TensorInfo } from '../model';
import { writeSafetensors, type SafetensorsTensor } from '../io/safetensors-writer';
import type { OptimizerState, Parameter, TrainingCheckpoint } from './types';

export const CHECKPOINT_FORMAT = 'model-compression-lab/training-checkpoint';
export const CHECKPOINT_VERSION = '1';
const PARAM = 'param/';
const OPTIM = 'optim/';

/** A checkpoint that cannot be written or used; the message names the file. */
export class CheckpointError extends UserError {
  declare readonly file: string;
  constructor(file: string, problem: string) {
    super('checkpoint', problem, file);
    this.name = 'CheckpointError';
  }
}

/**
 * Writes `ckpt` to `file` atomically (a crash mid-write leaves the previous file intact). Writing
 * is synchronous and reads the optimizer's live slots, so it cannot interleave with a step.
 */
export function saveCheckpoint(file: string, ckpt: TrainingCheckpoint): { bytes: number } {
  const fail = (why: string): never => {
    throw new CheckpointError(file, `cannot save checkpoint: ${why}`);
  };
  checkCount(ckpt.step, 'step', fail);
  checkCount(ckpt.epoch, 'epoch', fail);
  checkCount(ckpt.optimizer.step, 'optimizer step', fail);
  const sizes = new Map<string, number>();
  const tensors: SafetensorsTensor[] = [];
  for (const p of ckpt.params) {
    if (sizes.has(p.name)) fail(`parameter '${p.name}' is listed twice`);
    const elements = p.shape.reduce((a, d) => a * d, 1);
    if (elements !== p.values.length) fail(`parameter '${p.name}' has shape [${p.shape.join(', ')}] but ${p.values.length} values`);
    sizes.set(p.name, p.values.length);
    tensors.push({ name: PARAM + p.name, shape: p.shape, data: p.values });
  }
  for (const [key, values] of Object.entries(ckpt.optimizer.slots)) {
    const param = slotParameter(key);
    if (param === undefined) fail(`optimizer slot '${key}' is not named '<slot>/<parameter>'`);
    const n = sizes.get(param as string);
    if (n === undefined) fail(`optimizer slot '${key}' belongs to no saved parameter`);
    if (n !== values.length) fail(`optimizer slot '${key}' has ${values.length} values but its parameter has ${n}`);
    tensors.push({ name: OPTIM + key, shape: [values.length], data: values });
  }
  const numbers = (what: string, r: Record<string, number>): string => {
    for (const [k, v] of Object.entries(r)) if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${what} '${k}' must be a finite number, got ${v}`);
    return JSON.stringify(r);
  };
  for (const [k, v] of Object.entries(ckpt.meta)) if (typeof v !== 'string') fail(`meta '${k}' must be a string`);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: String(ckpt.step),
    epoch: String(ckpt.epoch),
    params: JSON.stringify(ckpt.params.map((p) => p.name)),
    'optimizer.kind': ckpt.optimizer.kind,
    'optimizer.step': String(ckpt.optimizer.step),
    'optimizer.hyper': numbers('optimizer hyper-parameter', ckpt.optimizer.hyper),
    rng: numbers('rng state', ckpt.rngState),
    meta: JSON.stringify(ckpt.meta),
  };
  try {
    return writeSafetensors(file, tensors, metadata);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    return fail((e as Error).message);
  }
}

export interface LoadCheckpointOptions {
  /** The model's trainable parameters: the checkpoint must hold exactly these names and shapes. */
  expectParams?: ReadonlyArray<Pick<Parameter, 'name' | 'shape'>>;
  /** The optimizer the run uses: a checkpoint of another kind is refused. */
  expectOptimizer?: OptimizerState['kind'];
}

/** What a checkpoint's header says, without loading its tensors. */
export interface CheckpointInfo {
  file: string;
  step: number;
  epoch: number;
  paramNames: string[];
  optimizer: { kind: OptimizerState['kind']; step: number; hyper: Record<string, number> };
  rngState: Record<string, number>;
  meta: Record<string, string>;
  tensors: TensorInfo[];
}

/** Reads and validates a checkpoint's header only (cheap: for listing or picking checkpoints). */
export async function readCheckpointInfo(file: string): Promise<CheckpointInfo> {
  let model;
  try {
    model = await safetensorsReader.read(file);
  } catch (e) {
    throw new CheckpointError(file, `not a readable safetensors file: ${(e as Error).message}`);
  }
  const fail = (why: string): never => {
    throw new CheckpointError(file, why);
  };
  const md = model.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    fail(md.format === undefined
      ? 'not a training checkpoint (its safetensors metadata has no "format" entry: a model\'s weights file?)'
      : `not a training checkpoint (metadata format is ${JSON.stringify(md.format)}, expected ${JSON.stringify(CHECKPOINT_FORMAT)})`);
  }
  if (md.version !== CHECKPOINT_VERSION) fail(`checkpoint version ${JSON.stringify(md.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  const integer = (key: string): number => {
    const s = md[key];
    if (s === undefined) return fail(`metadata "${key}" is missing`);
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n)) fail(`metadata "${key}" must be a non-negative integer, found ${JSON.stringify(s).slice(0, 60)}`);
    return n;
  };
  const json = (key: string): unknown => {
    const s = md[key];
    if (s === undefined) return fail(`metadata "${key}" is missing`);
    try {
      return JSON.parse(s);
    } catch (e) {
      return fail(`metadata "${key}" is not valid JSON: ${(e as Error).message}`);
    }
  };
  const record = <T extends 'number' | 'string'>(key: string, type: T): Record<string, T extends 'number' ? number : string> => {
    const v = json(key);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`metadata "${key}" must be a JSON object`);
    for (const [k, x] of Object.entries(v as object)) {
      if (typeof x !== type || (type === 'number' && !Number.isFinite(x))) fail(`metadata "${key}": '${k}' must be a ${type}, found ${JSON.stringify(x)}`);
    }
    return Object.fromEntries(Object.entries(v as object));
  };
  const kind = md['optimizer.kind'];
  if (kind !== 'sgd' && kind !== 'adamw') fail(`metadata "optimizer.kind" must be "sgd" or "adamw", found ${JSON.stringify(kind)}`);
  const paramNames = json('params');
  if (!Array.isArray(paramNames) || !paramNames.every((n) => typeof n === 'string')) fail('metadata "params" must be a JSON list of parameter names');
  return {
    file,
    step: integer('step'),
    epoch: integer('epoch'),
    paramNames: paramNames as string[],
    optimizer: { kind: kind as OptimizerState['kind'], step: integer('optimizer.step'), hyper: record('optimizer.hyper', 'number') },
    rngState: record('rng', 'number'),
    meta: record('meta', 'string'),
    tensors: model.tensors,
  };
}

/** Loads and validates a checkpoint written by saveCheckpoint. */
export async function loadCheckpoint(file: string, options: LoadCheckpointOptions = {}): Promise<TrainingCheckpoint> {
  const info = await readCheckpointInfo(file);
  const fail = (why: string): never => {
    throw new CheckpointError(file, why);
  };
  const byName = new Map(info.tensors.map((t) => [t.name, t]));
  const params: Parameter[] = [];
  const sizes = new Map<string, number>();
  for (const name of info.paramNames) {
    if (sizes.has(name)) fail(`parameter '${name}' is listed twice in metadata "params"`);
    const t = byName.get(PARAM + name);
    if (!t) return fail(`parameter '${name}' is listed in metadata "params" but its tensor '${PARAM}${name}' is missing`);
    if (t.dtype !== 'float32') fail(`tensor '${t.name}' is ${t.dtype}; parameters must be float32`);
    sizes.set(name, t.elements);
    params.push({ name, shape: [...t.shape], values: load(file, t) });
  }
  const slots: Record<string, Float32Array> = {};
  for (const t of info.tensors) {
    if (t.name.startsWith(PARAM)) {
      if (!sizes.has(t.name.slice(PARAM.length))) fail(`tensor '${t.name}' is not listed in metadata "params"`);
    } else if (t.name.startsWith(OPTIM)) {
      const key = t.name.slice(OPTIM.length);
      const param = slotParameter(key);
      if (param === undefined || !sizes.has(param)) return fail(`optimizer tensor '${t.name}' belongs to no parameter in the checkpoint`);
      if (t.dtype !== 'float32') fail(`tensor '${t.name}' is ${t.dtype}; optimizer state must be float32`);
      if (t.elements !== sizes.get(param)) fail(`optimizer tensor '${t.name}' has ${t.elements} values but parameter '${param}' has ${sizes.get(param)}`);
      slots[key] = load(file, t);
    } else {
      fail(`unexpected tensor '${t.name}' (a checkpoint holds only '${PARAM}...' and '${OPTIM}...' tensors)`);
    }
  }

  if (options.expectOptimizer && options.expectOptimizer !== info.optimizer.kind) {
    fail(`the checkpoint holds ${info.optimizer.kind} optimizer state, but this run uses ${options.expectOptimizer}`);
  }
  if (options.expectParams) {
    const have = new Map(params.map((p) => [p.name, p]));
    const missing = options.expectParams.filter((p) => !have.has(p.name)).map((p) => p.name);
    if (missing.length > 0) fail(`the checkpoint lacks ${missing.length} of the model's parameters: ${list(missing)}`);
    const wanted = new Set(options.expectParams.map((p) => p.name));
    const extra = params.filter((p) => !wanted.has(p.name)).map((p) => p.name);
    if (extra.length > 0) fail(`the checkpoint has ${extra.length} parameters the model does not: ${list(extra)}`);
    for (const p of options.expectParams) {
      const q = have.get(p.name) as Parameter;
      if (q.shape.length !== p.shape.length || q.shape.some((d, i) => d !== p.shape[i])) {
        fail(`parameter '${p.name}' has shape [${q.shape.join(', ')}] in the checkpoint but [${p.shape.join(', ')}] in the model`);
      }
    }
  }
  return {
    step: info.step,
    epoch: info.epoch,
    params,
    optimizer: { kind: info.optimizer.kind, step: info.optimizer.step, slots, hyper: info.optimizer.hyper },
    rngState: info.rngState,
    meta: info.meta,
  };
}

function load(file: string, t: TensorInfo): Float32Array {
  try {
    return loadTensor(t).values as Float32Array;
  } catch (e) {
    throw new CheckpointError(file, `cannot read tensor '${t.name}': ${(e as Error).message}`);
  }
}

/** '<slot>/<parameter>' -> parameter (parameter names may themselves hold '/'). */
function slotParameter(key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash > 0 && slash < key.length - 1 ? key.slice(slash + 1) : undefined;
}

function checkCount(n: number, what: string, fail: (why: string) => never): void {
  if (!Number.isSafeInteger(n) || n < 0) fail(`${what} must be an integer >= 0, got ${n}`);
}

function list(names: string[]): string {
  return names.slice(0, 5).map((n) => `'${n}'`).join(', ') + (names.length > 5 ? `, ... (${names.length - 5} more)` : '');
}
