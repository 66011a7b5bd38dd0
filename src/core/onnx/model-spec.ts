// The plain description of an ONNX model that the graph builder, the autodiff, the student
// builders and the quantizer produce and transform, and the writer serializes. No I/O here.
import type { DType } from '../model';
import type { TensorValues } from '../tensor-values';

/** What the writer takes: a plain description of a model, built by the graph builder or a transform. */
export interface TensorSpec {
  name: string;
  dtype: DType;
  dims: number[];
  /** Values as a typed array of the dtype (16-bit floats as Uint16Array bits). */
  values: TensorValues;
}

export type AttrSpec =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: TensorSpec }
  | { type: 'graph'; value: GraphSpec };

export const attr = {
  f: (value: number): AttrSpec => ({ type: 'float', value }),
  i: (value: number): AttrSpec => ({ type: 'int', value }),
  s: (value: string): AttrSpec => ({ type: 'string', value }),
  floats: (value: number[]): AttrSpec => ({ type: 'floats', value }),
  ints: (value: number[]): AttrSpec => ({ type: 'ints', value }),
  strings: (value: string[]): AttrSpec => ({ type: 'strings', value }),
  t: (value: TensorSpec): AttrSpec => ({ type: 'tensor', value }),
  g: (value: GraphSpec): AttrSpec => ({ type: 'graph', value }),
};

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttrSpec>;
}

export interface ValueInfoSpec {
  name: string;
  dtype: DType;
  /** Numbers are fixed dims, strings symbolic ones. */
  shape: Array<number | string>;
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  initializers: TensorSpec[];
  valueInfo?: ValueInfoSpec[];
}

export interface ModelSpec {
  graph: GraphSpec;
  opsets: Array<{ domain: string; version: number }>;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  metadata?: Record<string, string>;
}
