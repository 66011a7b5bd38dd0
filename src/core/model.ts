// The reader contract: every format reader produces a ModelFile. Tensor bytes are never read
// during inspection; a TensorInfo only says where its bytes are, so inspecting a 440 MB model
// costs a header's worth of I/O. `loadTensor` (tensor-values.ts) reads one tensor when asked.
import { UserError } from './errors';

export type DType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float4e2m1'
  | 'int4' | 'uint4' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string' | 'complex64' | 'complex128' | 'unknown';

/** Bits per element; 0 for variable-size types (string). */
export const DTYPE_BITS: Record<DType, number> = {
  float32: 32, float16: 16, bfloat16: 16, float64: 64,
  float8e4m3fn: 8, float8e4m3fnuz: 8, float8e5m2: 8, float8e5m2fnuz: 8, float4e2m1: 4,
  int4: 4, uint4: 4, int8: 8, uint8: 8, int16: 16, uint16: 16, int32: 32, uint32: 32, int64: 64, uint64: 64,
  bool: 8, string: 0, complex64: 64, complex128: 128, unknown: 0,
};

/** Floating-point and quantized types: tensors of these are weights, and count as parameters. */
export function isWeightDType(d: DType): boolean {
  return d.startsWith('float') || d === 'bfloat16' || d === 'int8' || d === 'uint8' || d === 'int4' || d === 'uint4'
    || d === 'complex64' || d === 'complex128';
}

/** Byte length of `elements` values of `dtype` (sub-byte types pack two to a byte). */
export function byteLengthOf(dtype: DType, elements: number): number {
  return Math.ceil((elements * DTYPE_BITS[dtype]) / 8);
}

/** Where a tensor's bytes live. `file` is an absolute path; offsets are absolute within that file. */
export type TensorData =
  /** Little-endian bytes laid out as the dtype says (ONNX raw_data, external data, safetensors, torch storages). */
  | { kind: 'raw'; file: string; offset: number; length: number }
  /** ONNX typed repeated fields (float_data, int64_data, ...): protobuf-encoded segments to decode. */
  | { kind: 'onnx-typed'; file: string; field: OnnxTypedField; segments: Array<{ offset: number; length: number; packed: boolean }> }
  /** A tensor with no stored data (e.g. a zero-element tensor, or a string tensor we do not load). */
  | { kind: 'none' };

export type OnnxTypedField = 'float_data' | 'int32_data' | 'string_data' | 'int64_data' | 'double_data' | 'uint64_data';

export type TensorOrigin = 'initializer' | 'constant' | 'sparse-initializer' | 'state-dict' | 'safetensors';

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  elements: number;
  /** Bytes the tensor's data takes where it is stored. */
  byteLength: number;
  origin: TensorOrigin;
  data: TensorData;
  /**
   * Tensors with the same storageKey are one set of numbers (tied weights, PyTorch views of one
   * storage): counted once. Undefined means the tensor owns its data.
   */
  storageKey?: string;
  /** For PyTorch views: element offset into the storage. */
  storageOffset?: number;
  /** ONNX: the graph (by path, '' for main) that holds it. */
  scope?: string;
}

export interface OnnxAttribute {
  name: string;
  type: 'float' | 'int' | 'string' | 'tensor' | 'graph' | 'floats' | 'ints' | 'strings' | 'tensors' | 'graphs' | 'sparse_tensor' | 'type_proto' | 'unknown';
  f?: number; i?: number; s?: string; floats?: number[]; ints?: number[]; strings?: string[];
  /** Name of the TensorInfo (for tensor attributes that were hoisted into `tensors`). */
  tensorName?: string;
  refAttrName?: string;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
  /** '' for the main graph; 'nodeName/attrName' (nested with '/') for subgraphs; 'function:domain.name' for local functions. */
  graphPath: string;
}

export interface OnnxValueInfo {
  name: string;
  elemType?: DType;
  /** Each dim is a number, a symbolic name, or null when unknown. */
  shape?: Array<number | string | null>;
}

export interface OnnxGraphInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  opsetImports: Array<{ domain: string; version: number }>;
  metadata: Record<string, string>;
  graphName: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** All nodes: the main graph's, then subgraphs' and local functions' (graphPath says which). */
  nodes: OnnxNode[];
  functions: Array<{ name: string; domain: string; nodeCount: number }>;
}

export type ModelFormat = 'onnx' | 'safetensors' | 'pytorch';

export interface ModelFile {
  /** The path the user gave (file or folder), absolute. */
  path: string;
  /** The weights file read (for folders: the one chosen inside), absolute. */
  weightsPath: string;
  format: ModelFormat;
  /** Every file this model's bytes come from (shards, external data), absolute, with sizes. */
  files: Array<{ path: string; bytes: number }>;
  tensors: TensorInfo[];
  /** Format-specific metadata worth showing (safetensors __metadata__, torch version, ...). */
  metadata: Record<string, string>;
  onnx?: OnnxGraphInfo;
  /** Hugging Face config.json beside the weights, parsed, when present. */
  config?: Record<string, unknown>;
  configPath?: string;
  /** Non-fatal findings the user should see (unknown dtype, ignored entries...). */
  warnings: string[];
}

export interface ReadOptions {
  /** Bounds what a reader accepts, so a malicious file cannot exhaust memory. */
  maxHeaderBytes?: number;
  /** Called as reading advances through the file (fraction 0..1), at most every few milliseconds. */
  onProgress?: (fraction: number) => void;
}

/** One reader per format, behind this contract. */
export interface ModelReader {
  readonly format: ModelFormat;
  /** True when the file's name or first bytes say it is this reader's format. */
  accepts(path: string, head: Buffer): boolean;
  read(path: string, options?: ReadOptions): Promise<ModelFile>;
}

/** The one error type readers throw for bad input: it names the file and the problem. */
export class ModelReadError extends UserError {
  declare readonly file: string;
  constructor(file: string, problem: string) {
    super('model-unreadable', problem, file);
    this.name = 'ModelReadError';
  }
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
