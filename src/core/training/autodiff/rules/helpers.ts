// What every gradient rule works with: the context the backward pass hands a rule, attribute
// readers, and the broadcasting reduction (`sumToShape`). Rules are dtype-generic (constants take
// the dtype of the values they combine with), and keep shapes dynamic (Shape/Expand/Reshape at
// run time), so one training graph serves every batch size and sequence length.
//
// Broadcasting: numpy-style ops (Add, Sub, Mul, Div, Pow, Where, Expand, Sum, Gemm's C, MatMul's
// batch dims, LayerNormalization's scale and bias) give each input the output-shaped gradient
// summed back to the input's shape by `sumToShape`: ReduceSum over the leading axes the input lacks
// and (keepdims) over the axes where the input has size 1 and the output does not, as learned by
// the shape probe. When the probe's two runs disagree about an axis (broadcast in one, not the
// other), the axes are computed at run time instead (Equal/NonZero over the two shapes).
import type { DType } from '../../../model';
import { attr, type AttrSpec, type NodeSpec } from '../../../onnx/model-spec';
import { AutodiffError, Emitter, range, type ValueMeta } from '../emitter';

export interface RuleContext {
  readonly node: NodeSpec;
  readonly em: Emitter;
  /** Gradient of each output; undefined where no gradient reaches it. */
  readonly dy: Array<string | undefined>;
  /** Which inputs need a gradient (float, downstream of a trainable parameter, upstream of the loss). */
  readonly needs: boolean[];
  meta(name: string): ValueMeta;
  /** A value's numbers when a Constant node or a frozen initializer defines it. */
  constValue(name: string): number[] | undefined;
  /** The node's i-th output, added to the (forward) node when it does not produce it yet. */
  ensureOutput(index: number): string;
}

/** For one forward node, given the gradients of its outputs, emits the ops for its inputs' gradients (one entry per input). */
export type GradientRule = (c: RuleContext) => Array<string | undefined>;

function attrOf(n: NodeSpec, name: string): AttrSpec | undefined {
  return n.attributes?.[name];
}

export function intAttr(n: NodeSpec, name: string, def: number): number {
  const a = attrOf(n, name);
  return a && a.type === 'int' ? a.value : def;
}

export function floatAttr(n: NodeSpec, name: string, def: number): number {
  const a = attrOf(n, name);
  return a && a.type === 'float' ? a.value : def;
}

export function stringAttr(n: NodeSpec, name: string, def: string): string {
  const a = attrOf(n, name);
  return a && a.type === 'string' ? a.value : def;
}

export function intsAttr(n: NodeSpec, name: string): number[] | undefined {
  const a = attrOf(n, name);
  return a && a.type === 'ints' ? a.value : undefined;
}

export const meta = (dtype: DType, dims: number[], dims2: number[]): ValueMeta => ({ dtype, dims, dims2 });

/**
 * Sums an output-shaped gradient `grad` (described by `g`) back to the shape of `target` (`t`),
 * undoing numpy broadcasting.
 */
export function sumToShape(em: Emitter, grad: string, g: ValueMeta, target: string, t: ValueMeta): string {
  const r = g.dims.length;
  const rt = t.dims.length;
  const lead = r - rt;
  if (lead < 0) throw new AutodiffError(`internal: gradient of rank ${r} cannot be summed to rank ${rt} ('${target}')`);
  const axes = range(0, lead);
  let ambiguous = false;
  for (let j = 0; j < rt; j++) {
    const i = lead + j;
    const a = t.dims[j] === 1 && g.dims[i] !== 1;
    const b = t.dims2[j] === 1 && g.dims2[i] !== 1;
    if (a && b) axes.push(i);
    else if (a !== b) ambiguous = true;
  }
  if (ambiguous) return dynamicSumToShape(em, grad, target, lead);
  if (axes.length === 0) return grad;
  if (axes.every((i) => i < lead)) return em.reduceSum(grad, axes, false);
  return em.squeeze(em.reduceSum(grad, axes, true), range(0, lead));
}

/** sumToShape with the broadcast axes found at run time: where the (left-padded) target shape is 1 and the gradient's is not. */
function dynamicSumToShape(em: Emitter, grad: string, target: string, lead: number): string {
  const st = em.shape(target);
  const padded = lead > 0 ? em.op1('Concat', [em.ints(new Array<number>(lead).fill(1)), st], { axis: attr.i(0) }) : st;
  const one = em.constant('int64', [], [1]);
  const mask = em.op1('And', [em.op1('Equal', [padded, one]), em.op1('Not', [em.op1('Equal', [em.shape(grad), one])])]);
  const axes = em.reshape(em.op1('NonZero', [mask]), em.ints([-1]));
  const reduced = em.op1('ReduceSum', [grad, axes], { keepdims: attr.i(1), noop_with_empty_axes: attr.i(1) });
  return em.reshape(reduced, st);
}

export function dy0(c: RuleContext): string {
  const d = c.dy[0];
  if (!d) throw new AutodiffError(`internal: no gradient for the output of ${c.node.opType} node '${c.node.name ?? ''}'`);
  return d;
}

/** Gradient of input i of an elementwise-broadcasting node, from an output-shaped gradient. */
export function toInput(c: RuleContext, grad: string, i: number): string {
  return sumToShape(c.em, grad, c.meta(c.node.outputs[0]), c.node.inputs[i], c.meta(c.node.inputs[i]));
}

export const outDtype = (c: RuleContext): DType => c.meta(c.node.outputs[0]).dtype;

/** A rule for a one-input op whose gradient is f(dy, x, y). */
export function unary(f: (c: RuleContext, dy: string, x: string, y: string) => string): GradientRule {
  return (c) => [c.needs[0] ? f(c, dy0(c), c.node.inputs[0], c.node.outputs[0]) : undefined];
}
