// Inputs for a benchmark, made from what the model declares: every graph input the caller feeds
// (initializers listed as inputs are skipped), in its declared dtype, its symbolic dimensions bound
// to the chosen batch size and sequence length. Values are chosen so the graph runs: token ids
// inside the vocabulary, masks of ones, token types of zeros, indices inside the table they index.
// Pure: no onnxruntime here (the runner turns LoadedTensors into ort tensors).
import { UserError } from '../errors';
import type { DType, ModelFile, OnnxNode, OnnxValueInfo } from '../model';
import { product } from '../model';
import type { LoadedTensor, TensorValues } from '../tensor-values';
import { emptyValues } from '../tensor-values';
import type { ModelCard } from '../analysis/model-card';
import { numberFrom } from '../analysis/config-values';
import { seededRandom } from '../onnx/graph-builder';

/** Token rows from real text: `batch` rows of `seq` values each (see text-inputs.ts). */
export interface TextBatch {
  ids: number[][];
  mask: number[][];
  typeIds: number[][];
}

export interface SynthesisOptions {
  batch: number;
  seq: number;
  /** Seeds the random token ids and float values, so a run can be repeated exactly. */
  seed?: number;
  /** Rows of the word-embedding table (or config vocab_size), when the model card knows it. */
  vocabSize?: number;
  /** Rows of the position-embedding table (or config max_position_embeddings). */
  maxPositions?: number;
  /** Feed these token rows to the text inputs (ids, mask, token types) instead of synthetic values. */
  text?: TextBatch;
}

export interface SynthesizedInputs {
  tensors: LoadedTensor[];
  warnings: string[];
  /** Whether some input dimension took the batch size, and the sequence length. */
  appliedBatch: boolean;
  appliedSeq: boolean;
}

/** Inputs that cannot be made for this model and these settings; the message says why. */
export class InputSynthesisError extends UserError {
  constructor(file: string, problem: string) {
    super('input-synthesis', problem, file);
    this.name = 'InputSynthesisError';
  }
}

type Role = 'ids' | 'mask' | 'token-types' | 'positions' | 'other';

/** Transformer inputs recognised by name (Hugging Face exports name them this way). */
function roleOf(name: string): Role {
  const n = name.toLowerCase();
  if (/token_type|segment_ids/.test(n)) return 'token-types';
  if (/position_ids/.test(n)) return 'positions';
  if (/mask/.test(n)) return 'mask';
  if (/(^|_)(input_)?ids$|^input_ids|token_ids/.test(n)) return 'ids';
  return 'other';
}

const BATCH_NAME = /batch|^(n|b|bs)$/i;
const SEQ_NAME = /seq|sequence|length|^len$|_len$|token|time|step|^(s|t|l)$/i;

/**
 * The dimension binding rule, for symbolic (named) and unknown dims; numbers stay as declared:
 * 1. a name that says batch (batch, batch_size, N, B, bs) -> the batch size;
 * 2. a name that says sequence (sequence, seq_len, length, tokens, time, steps, S, T, L) -> the sequence length;
 * 3. any other name, or an unnamed dim: the first axis -> the batch size, later axes -> the sequence length.
 * The same symbol gets the same value wherever it appears (it is derived from the name alone
 * whenever there is one).
 */
export function bindDim(dim: number | string | null, axis: number, batch: number, seq: number): { value: number; bound?: 'batch' | 'seq' } {
  if (typeof dim === 'number' && dim >= 0) return { value: dim };
  if (typeof dim === 'string' && dim !== '') {
    if (BATCH_NAME.test(dim)) return { value: batch, bound: 'batch' };
    if (SEQ_NAME.test(dim)) return { value: seq, bound: 'seq' };
  }
  return axis === 0 ? { value: batch, bound: 'batch' } : { value: seq, bound: 'seq' };
}

/**
 * The vocabulary and position limits the inputs must respect: the embedding tables' rows as the
 * model card read them, else config.json's vocab_size / max_position_embeddings.
 */
export function modelLimits(model: ModelFile, card?: ModelCard): Pick<SynthesisOptions, 'vocabSize' | 'maxPositions'> {
  return {
    vocabSize: card?.architecture.vocabSize ?? numberFrom(model.config, ['vocab_size']),
    maxPositions: card?.architecture.maxPositions ?? numberFrom(model.config, ['max_position_embeddings']),
  };
}

/** Graph inputs the caller feeds: IR < 4 models also list their initializers as inputs. */
export function fedInputs(model: ModelFile): OnnxValueInfo[] {
  if (!model.onnx) throw new InputSynthesisError(model.weightsPath, `inputs can only be synthesized for ONNX models`);
  const initializers = new Set(model.tensors.filter((t) => t.origin === 'initializer').map((t) => t.name));
  return model.onnx.inputs.filter((i) => !initializers.has(i.name));
}

/** IEEE 754 half-precision bits of a float (round to nearest; enough for synthetic data). */
function toHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  const mant = u & 0x7fffff;
  if (exp <= 0) return sign; // flushes tiny values to zero: synthetic data never needs subnormals
  if (exp >= 0x1f) return sign | 0x7c00;
  return sign | (exp << 10) | ((mant + 0x1000) >>> 13);
}

const INTEGER_TYPES = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);
const WORDS = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'a', 'lazy', 'dog', 'monday'];

/** Fills `values` (of `dtype`) from a function of the flat index. */
function fill(values: TensorValues, dtype: DType, at: (i: number) => number): void {
  const n = values.length;
  if (dtype === 'int64' || dtype === 'uint64') {
    const v = values as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) v[i] = BigInt(Math.trunc(at(i)));
  } else if (dtype === 'float16') {
    const v = values as Uint16Array;
    for (let i = 0; i < n; i++) v[i] = toHalfBits(at(i));
  } else if (dtype === 'bool') {
    const v = values as Uint8Array;
    for (let i = 0; i < n; i++) v[i] = at(i) ? 1 : 0;
  } else if (dtype === 'string') {
    const v = values as string[];
    for (let i = 0; i < n; i++) v[i] = WORDS[Math.abs(Math.trunc(at(i))) % WORDS.length];
  } else {
    const v = values as Float32Array;
    for (let i = 0; i < n; i++) v[i] = at(i);
  }
}

interface Use {
  node: OnnxNode;
  index: number;
}

/** Every node input slot each value feeds (main graph, subgraphs and functions alike). */
function usesOf(model: ModelFile): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  for (const node of model.onnx?.nodes ?? []) {
    node.inputs.forEach((name, index) => {
      if (!name) return;
      const list = uses.get(name) ?? [];
      list.push({ node, index });
      uses.set(name, list);
    });
  }
  return uses;
}

function intAttr(node: OnnxNode, name: string, fallback: number): number {
  return node.attributes.find((a) => a.name === name)?.i ?? fallback;
}

/**
 * The number of rows an index input may address: the smallest axis length among the stored tables
 * it is a Gather / GatherElements index into (looking through Casts, as exporters cast ids).
 */
function indexBound(name: string, model: ModelFile, uses: Map<string, Use[]>, depth = 0): number | undefined {
  let bound: number | undefined;
  for (const { node, index } of uses.get(name) ?? []) {
    let b: number | undefined;
    if ((node.opType === 'Gather' || node.opType === 'GatherElements') && index === 1) {
      const table = model.tensors.find((t) => t.name === node.inputs[0]);
      if (table && table.shape.length > 0) {
        const axis = intAttr(node, 'axis', 0);
        b = table.shape[axis < 0 ? axis + table.shape.length : axis];
      } else {
        b = 1; // a computed table: only index 0 is sure to exist
      }
    } else if (node.opType === 'Cast' && depth < 4) {
      b = indexBound(node.outputs[0], model, uses, depth + 1);
    }
    if (b !== undefined) bound = bound === undefined ? b : Math.min(bound, b);
  }
  return bound;
}

/** Split / SplitToSequence 'split' inputs: sizes that add up to the split axis. */
function splitSizes(name: string, count: number, shapes: Map<string, number[]>, uses: Map<string, Use[]>): number[] | undefined {
  for (const { node, index } of uses.get(name) ?? []) {
    if (index !== 1 || (node.opType !== 'Split' && node.opType !== 'SplitToSequence')) continue;
    const data = shapes.get(node.inputs[0]);
    if (!data) continue;
    const axis = intAttr(node, 'axis', 0);
    const total = data[axis < 0 ? axis + data.length : axis] ?? 0;
    // As even as possible; when the axis is shorter than the number of parts, the last parts are empty.
    return Array.from({ length: count }, (_, i) => Math.floor(total / count) + (i < total % count ? 1 : 0));
  }
  return undefined;
}

/**
 * Synthesizes a feed for every graph input the caller supplies. Throws InputSynthesisError when an
 * input has no tensor type or the sequence length is longer than the model's position table.
 */
export function synthesizeInputs(model: ModelFile, options: SynthesisOptions): SynthesizedInputs {
  const { batch, seq } = options;
  const file = model.weightsPath;
  const inputs = fedInputs(model);
  const uses = usesOf(model);
  const next = seededRandom(options.seed ?? 42); // the same inputs on every run of a plan
  const warnings: string[] = [];
  let appliedBatch = false;
  let appliedSeq = false;

  const shapes = new Map<string, number[]>();
  for (const input of inputs) {
    if (!input.elemType || !input.shape) throw new InputSynthesisError(file, `input '${input.name}' declares no tensor type and shape, so it cannot be synthesized`);
    shapes.set(input.name, input.shape.map((d, axis) => {
      const b = bindDim(d, axis, batch, seq);
      if (b.bound === 'batch') appliedBatch = true;
      if (b.bound === 'seq') appliedSeq = true;
      return b.value;
    }));
  }
  if (appliedSeq && options.maxPositions !== undefined && seq > options.maxPositions) {
    throw new InputSynthesisError(file, `sequence length ${seq} is longer than the model's ${options.maxPositions} positions (max_position_embeddings); choose a length of at most ${options.maxPositions}`);
  }
  if (!appliedBatch && batch !== 1) warnings.push(`no input has a symbolic batch dimension: the model ran at its fixed input shapes, so batch ${batch} was not applied`);
  if (!appliedSeq && seq !== 1 && inputs.some((i) => roleOf(i.name) !== 'other')) warnings.push(`no input has a symbolic sequence dimension: sequence length ${seq} was not applied`);

  const tensors: LoadedTensor[] = [];
  for (const input of inputs) {
    const dtype = input.elemType as DType;
    const shape = shapes.get(input.name)!;
    const n = product(shape);
    const values = emptyValues(dtype, n);
    const last = shape[shape.length - 1] ?? 1;
    const numeric = dtype !== 'string';
    const role = numeric ? roleOf(input.name) : 'other';
    const text = options.text;
    const tableRows = INTEGER_TYPES.has(dtype) || role === 'ids' ? indexBound(input.name, model, uses) : undefined;
    // Values along the last axis of a [batch, seq] text input come from row i / last, column i % last.
    const fromRows = (rows: number[][]) => (i: number) => rows[Math.floor(i / last) % rows.length]?.[i % last] ?? 0;

    if (role === 'mask') fill(values, dtype, text ? fromRows(text.mask) : () => 1);
    else if (role === 'token-types') fill(values, dtype, text ? fromRows(text.typeIds) : () => 0);
    else if (role === 'positions') {
      const limit = options.maxPositions ?? Infinity;
      fill(values, dtype, (i) => Math.min(i % last, limit - 1));
    } else if (role === 'ids' || (INTEGER_TYPES.has(dtype) && tableRows !== undefined)) {
      // The table the ids index is the surest bound; the model card's vocabulary size otherwise.
      const bound = tableRows ?? options.vocabSize;
      if (role === 'ids' && text) fill(values, dtype, fromRows(text.ids));
      else if (bound === undefined || bound < 1) {
        warnings.push(`input '${input.name}': the vocabulary size is unknown (no embedding table or config vocab_size), so every id is 0`);
        fill(values, dtype, () => 0);
      } else fill(values, dtype, () => Math.floor(next() * bound));
    } else if (INTEGER_TYPES.has(dtype)) {
      const sizes = splitSizes(input.name, n, shapes, uses);
      // Ones are the neutral shape-like value: broadcast to anything, repeat once, a valid index or count.
      fill(values, dtype, sizes ? (i) => sizes[i] : () => 1);
    } else if (dtype === 'bool') fill(values, dtype, () => (next() < 0.5 ? 1 : 0));
    else if (dtype === 'string') fill(values, dtype, (i) => i);
    else if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16') fill(values, dtype, () => next() * 2 - 1); // zero-centred, like normalised data
    else throw new InputSynthesisError(file, `input '${input.name}' is ${dtype}, which onnxruntime-node cannot take as an input`);
    tensors.push({ name: input.name, dtype, shape, values });
  }
  return { tensors, warnings, appliedBatch, appliedSeq };
}
