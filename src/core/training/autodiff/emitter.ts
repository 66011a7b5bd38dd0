// Emits the nodes the autodiff adds to a graph (loss pieces, backward ops): unique value names,
// deduplicated constants in the dtype of the values they combine with, and opset-aware forms of
// the few ops whose signature changed across opsets (ReduceMean's axes moved from an attribute to
// an input at 18). Every emitted op is valid from opset 16 on (ScatterND/ScatterElements with
// reduction), which is why the training graph's opset is at least 17.
import { UserError } from '../../errors';
import type { DType } from '../../model';
import { attr, type AttrSpec, type NodeSpec } from '../../onnx/model-spec';
import { onnxFromDtype } from '../../onnx/onnx-types';
import type { TensorValues } from '../../tensor-values';

/** A graph the autodiff cannot differentiate, or options it cannot honour; the message says which node or name. */
export class AutodiffError extends UserError {
  constructor(problem: string, file?: string) {
    super('autodiff', problem, file);
    this.name = 'AutodiffError';
  }
}

/**
 * What the shape probe learned about a value: its dtype and its dims under two example feeds with
 * different symbolic sizes. A dim equal in both is static; a dim of 1 in both is a broadcast axis
 * candidate; ranks never differ between the two.
 */
export interface ValueMeta {
  dtype: DType;
  dims: number[];
  dims2: number[];
}

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';

export function staticDim(m: ValueMeta, i: number): number | undefined {
  return m.dims[i] === m.dims2[i] ? m.dims[i] : undefined;
}

export function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new AutodiffError(`axis ${axis} is out of range for rank ${rank}`, what);
  return a;
}

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

function typedValues(dtype: DType, values: number[]): TensorValues {
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int64': return BigInt64Array.from(values.map((v) => BigInt(v)));
    case 'bool': return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    default: throw new AutodiffError(`the autodiff emits float32, float64, int64 and bool constants, not ${dtype} (only float32 and float64 graphs can be differentiated)`);
  }
}

export class Emitter {
  readonly nodes: NodeSpec[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();
  private readonly shapes = new Map<string, string>();

  /**
   * @param opset the default-domain opset the emitted ops must be valid for
   * @param taken every value and node name already in the graph (extended with each fresh name)
   * @param prefix starts every emitted name, so a reader of the graph tells added values apart
   */
  constructor(readonly opset: number, private readonly taken: Set<string>, private readonly prefix: string) {}

  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}${hint}_${this.counter++}`; while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Claims a preferred name when it is free, else a fresh one. */
  claim(name: string): string {
    if (!this.taken.has(name)) {
      this.taken.add(name);
      return name;
    }
    return this.fresh(name.replace(/[^\w.]/g, '_'));
  }

  op(opType: string, inputs: string[], attributes?: Record<string, AttrSpec>, outputs = 1, hint = opType): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({ opType, inputs, outputs: outs, name: this.fresh(opType), ...(attributes ? { attributes } : {}) });
    return outs;
  }

  op1(opType: string, inputs: string[], attributes?: Record<string, AttrSpec>, hint = opType): string {
    return this.op(opType, inputs, attributes, 1, hint)[0];
  }

  /** A Constant node (deduplicated by dtype, dims and values). */
  constant(dtype: DType, dims: number[], values: number[]): string {
    const key = `${dtype}:${dims.join('x')}:${values.join(',')}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.fresh('const');
    this.nodes.push({ opType: 'Constant', inputs: [], outputs: [name], name: this.claim(`${name}/Constant`), attributes: { value: attr.t({ name, dtype, dims, values: typedValues(dtype, values) }) } });
    this.constants.set(key, name);
    return name;
  }

  scalar(dtype: DType, v: number): string {
    return this.constant(dtype, [], [v]);
  }

  ints(values: number[]): string {
    return this.constant('int64', [values.length], values);
  }

  /** Shape(x), emitted once per value. */
  shape(x: string): string {
    let s = this.shapes.get(x);
    if (!s) {
      s = this.op1('Shape', [x]);
      this.shapes.set(x, s);
    }
    return s;
  }

  cast(x: string, to: DType): string {
    return this.op1('Cast', [x], { to: attr.i(onnxFromDtype(to)) });
  }

  /** A tensor of zeros of the given shape (a 1-D int64 tensor) and dtype. */
  zeros(shape: string, dtype: DType): string {
    return this.op1('ConstantOfShape', [shape], { value: attr.t({ name: 'value', dtype, dims: [1], values: typedValues(dtype, [0]) }) });
  }

  zerosLike(x: string, dtype: DType): string {
    return this.zeros(this.shape(x), dtype);
  }

  reduceSum(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    return this.op1('ReduceSum', [x, this.ints(axes)], { keepdims: attr.i(keepdims ? 1 : 0) });
  }

  reduceMean(x: string, axes: number[], keepdims: boolean): string {
    if (axes.length === 0) return x;
    if (this.opset >= 18) return this.op1('ReduceMean', [x, this.ints(axes)], { keepdims: attr.i(keepdims ? 1 : 0) });
    return this.op1('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.i(keepdims ? 1 : 0) });
  }

  /** Reduces over every axis to a scalar. */
  reduceAll(op: 'ReduceSum' | 'ReduceMean', x: string): string {
    return this.op1(op, [x], { keepdims: attr.i(0) });
  }

  unsqueeze(x: string, axes: number[]): string {
    return axes.length ? this.op1('Unsqueeze', [x, this.ints(axes)]) : x;
  }

  squeeze(x: string, axes: number[]): string {
    return axes.length ? this.op1('Squeeze', [x, this.ints(axes)]) : x;
  }

  transpose(x: string, perm: number[]): string {
    if (perm.every((p, i) => p === i)) return x;
    return this.op1('Transpose', [x], { perm: attr.ints(perm) });
  }

  reshape(x: string, shape: string): string {
    return this.op1('Reshape', [x, shape]);
  }

  add(a: string, b: string): string { return this.op1('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op1('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op1('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op1('Div', [a, b]); }
  neg(a: string): string { return this.op1('Neg', [a]); }

  /** Sum of several same-shaped tensors (one input: itself). */
  sum(xs: string[]): string {
    if (xs.length === 1) return xs[0];
    return this.op1('Sum', xs, undefined, 'accumulate');
  }
}

export function invertPerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return inv;
}
