// Gradient rules: for one forward node, given the gradients of its outputs, emit ONNX ops that
// compute the gradients of its inputs. Rules are dtype-generic (constants take the dtype of the
// values they combine with), and keep shapes dynamic (Shape/Expand/Reshape at run time), so one
// training graph serves every batch size and sequence length.
//
// Broadcasting: numpy-style ops (Add, Sub, Mul, Div, Pow, Where, Expand, Sum, Gemm's C, MatMul's
// batch dims, LayerNormalization's scale and bias) give each input the output-shaped gradient
// summed back to the input's shape by `sumToShape`: ReduceSum over the leading axes the input lacks
// and (keepdims) over the axes where the input has size 1 and the output does not, as learned by
// the shape probe. When the probe's two runs disagree about an axis (broadcast in one, not the
// other), the axes are computed at run time instead (Equal/NonZero over the two shapes).
import type { DType } from '../../model';
import { attr, type AttrSpec, type NodeSpec } from '../../onnx/model-spec';
import { AutodiffError, Emitter, invertPerm, normAxis, range, staticDim, type ValueMeta } from './emitter';

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

export type GradientRule = (c: RuleContext) => Array<string | undefined>;

// ---------------------------------------------------------------------------------------------
// Attribute and shape helpers

function attrOf(n: NodeSpec, name: string): AttrSpec | undefined {
  return n.attributes?.[name];
}

export function intAttr(n: NodeSpec, name: string, def: number): number {
  const a = attrOf(n, name);
  return a && a.type === 'int' ? a.value : def;
}

function floatAttr(n: NodeSpec, name: string, def: number): number {
  const a = attrOf(n, name);
  return a && a.type === 'float' ? a.value : def;
}

function stringAttr(n: NodeSpec, name: string, def: string): string {
  const a = attrOf(n, name);
  return a && a.type === 'string' ? a.value : def;
}

function intsAttr(n: NodeSpec, name: string): number[] | undefined {
  const a = attrOf(n, name);
  return a && a.type === 'ints' ? a.value : undefined;
}

const meta = (dtype: DType, dims: number[], dims2: number[]): ValueMeta => ({ dtype, dims, dims2 });

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

function dy0(c: RuleContext): string {
  const d = c.dy[0];
  if (!d) throw new AutodiffError(`internal: no gradient for the output of ${c.node.opType} node '${c.node.name ?? ''}'`);
  return d;
}

/** Gradient of input i of an elementwise-broadcasting node, from an output-shaped gradient. */
function toInput(c: RuleContext, grad: string, i: number): string {
  return sumToShape(c.em, grad, c.meta(c.node.outputs[0]), c.node.inputs[i], c.meta(c.node.inputs[i]));
}

const outDtype = (c: RuleContext): DType => c.meta(c.node.outputs[0]).dtype;

/** A rule for a one-input op whose gradient is f(dy, x, y). */
function unary(f: (c: RuleContext, dy: string, x: string, y: string) => string): GradientRule {
  return (c) => [c.needs[0] ? f(c, dy0(c), c.node.inputs[0], c.node.outputs[0]) : undefined];
}

/** erf(x) for any float dtype: onnxruntime's CPU Erf kernel is float32-only. */
function erf(em: Emitter, x: string, dtype: DType): string {
  if (dtype === 'float32') return em.op1('Erf', [x]);
  return em.cast(em.op1('Erf', [em.cast(x, 'float32')]), dtype);
}

const reshapeBack: GradientRule = (c) => [c.needs[0] ? c.em.reshape(dy0(c), c.em.shape(c.node.inputs[0])) : undefined];

/**
 * Gradient of a Slice/Pad-like op by running the same op over an index tensor: the positions of
 * X the output reads, scattered back (with add, so repeated reads such as Pad's edge/reflect
 * modes accumulate). `padValue` gives positions outside X (constant padding) a slot past the end.
 */
function scatterThroughIndices(c: RuleContext, makeIndices: (idx: string, size: string) => string, repeated: boolean): string {
  const { em } = c;
  const x = c.node.inputs[0];
  const dtype = c.meta(x).dtype;
  const size = em.op1('Size', [x]);
  const shape = em.shape(x);
  const idx = em.reshape(em.op1('Range', [em.constant('int64', [], [0]), size, em.constant('int64', [], [1])]), shape);
  const picked = makeIndices(idx, size);
  const positions = em.unsqueeze(em.reshape(picked, em.ints([-1])), [-1]);
  const updates = em.reshape(dy0(c), em.ints([-1]));
  const slots = repeated ? em.add(size, em.constant('int64', [], [1])) : size;
  const flat = em.op1('ScatterND', [em.zeros(em.unsqueeze(slots, [0]), dtype), positions, updates], repeated ? { reduction: attr.s('add') } : undefined);
  const kept = repeated ? em.op1('Slice', [flat, em.ints([0]), em.unsqueeze(size, [0])]) : flat;
  return em.reshape(kept, shape);
}

function reduceRule(mean: boolean): GradientRule {
  return (c) => {
    const { em, node: n } = c;
    const x = n.inputs[0];
    const mx = c.meta(x);
    const r = mx.dims.length;
    const keepdims = intAttr(n, 'keepdims', 1) !== 0;
    const noop = intAttr(n, 'noop_with_empty_axes', 0) !== 0;
    let axes: number[] | undefined;
    let axesTensor: string | undefined;
    const attrAxes = intsAttr(n, 'axes');
    if (attrAxes) axes = attrAxes;
    else if (n.inputs[1]) {
      const v = c.constValue(n.inputs[1]);
      if (v) axes = v;
      else axesTensor = n.inputs[1];
    }
    if (axes && axes.length === 0) axes = undefined;
    if (!axes && !axesTensor && noop) return [dy0(c)];
    const norm = axes?.map((a) => normAxis(a, r, `${n.opType} node '${n.name ?? ''}'`));
    let g = dy0(c);
    if (!keepdims) {
      if (norm) g = em.unsqueeze(g, norm);
      else if (axesTensor) g = em.op1('Unsqueeze', [g, axesTensor]);
    }
    let dx = em.op1('Expand', [g, em.shape(x)]);
    if (mean) {
      const reduced = norm ?? (axesTensor ? undefined : range(0, r));
      const sizes = reduced?.map((a) => staticDim(mx, a));
      if (sizes && sizes.every((s) => s !== undefined)) {
        dx = em.mul(dx, em.scalar(mx.dtype, 1 / (sizes as number[]).reduce((p, s) => p * s, 1)));
      } else {
        const ratio = em.div(em.cast(em.op1('Size', [n.outputs[0]]), mx.dtype), em.cast(em.op1('Size', [x]), mx.dtype));
        dx = em.mul(dx, ratio);
      }
    }
    return [dx];
  };
}

// ---------------------------------------------------------------------------------------------
// The rules

const matMul: GradientRule = (c) => {
  const { em } = c;
  const [a, b] = c.node.inputs;
  const dy = dy0(c);
  const ma = c.meta(a);
  const mb = c.meta(b);
  const my = c.meta(c.node.outputs[0]);
  const dtype = my.dtype;
  const ra = ma.dims.length;
  const rb = mb.dims.length;
  if (ra === 1 && rb === 1) return [c.needs[0] ? em.mul(dy, b) : undefined, c.needs[1] ? em.mul(dy, a) : undefined];
  // Vectors are promoted to matrices as numpy does ([k] -> [1, k] on the left, [k, 1] on the right).
  let a2 = a; let b2 = b; let d2 = dy;
  let ma2 = ma; let mb2 = mb; let my2 = my;
  if (ra === 1) {
    a2 = em.unsqueeze(a, [0]);
    ma2 = meta(dtype, [1, ...ma.dims], [1, ...ma.dims2]);
    d2 = em.unsqueeze(d2, [-2]);
    my2 = meta(dtype, [...my.dims.slice(0, -1), 1, ...my.dims.slice(-1)], [...my.dims2.slice(0, -1), 1, ...my.dims2.slice(-1)]);
  }
  if (rb === 1) {
    b2 = em.unsqueeze(b, [1]);
    mb2 = meta(dtype, [...mb.dims, 1], [...mb.dims2, 1]);
    d2 = em.unsqueeze(d2, [-1]);
    my2 = meta(dtype, [...my2.dims, 1], [...my2.dims2, 1]);
  }
  const r2a = ma2.dims.length;
  const r2b = mb2.dims.length;
  const ro = my2.dims.length;
  const swapLast = (r: number) => [...range(0, r - 2), r - 1, r - 2];
  // The full (output-batched) gradient of an operand, before summing over broadcast batch dims.
  const batched = (m: ValueMeta) => meta(dtype, [...my2.dims.slice(0, ro - 2), ...m.dims.slice(-2)], [...my2.dims2.slice(0, ro - 2), ...m.dims2.slice(-2)]);
  let da: string | undefined;
  let db: string | undefined;
  if (c.needs[0]) {
    const full = em.op1('MatMul', [d2, em.transpose(b2, swapLast(r2b))]);
    da = sumToShape(em, full, batched(ma2), a2, ma2);
    if (ra === 1) da = em.squeeze(da, [0]);
  }
  if (c.needs[1]) {
    const k = staticDim(mb2, 0);
    const nn = staticDim(mb2, 1);
    if (r2b === 2 && k !== undefined && nn !== undefined) {
      // A weight matrix: every leading dim of A and dy is a row of one GEMM, so no batched
      // product and no reduction: dB = A2^T dy2 with A2 = A as [-1, k], dy2 = dy as [-1, n].
      const aRows = r2a === 2 ? a2 : em.reshape(a2, em.ints([-1, k]));
      const dRows = ro === 2 ? d2 : em.reshape(d2, em.ints([-1, nn]));
      db = em.op1('Gemm', [aRows, dRows], { transA: attr.i(1) });
    } else {
      const full = em.op1('MatMul', [em.transpose(a2, swapLast(r2a)), d2]);
      db = sumToShape(em, full, batched(mb2), b2, mb2);
    }
    if (rb === 1) db = em.squeeze(db, [1]);
  }
  return [da, db];
};

const gemm: GradientRule = (c) => {
  const { em, node: n } = c;
  const [a, b, cc] = n.inputs;
  const dy = dy0(c);
  const tA = intAttr(n, 'transA', 0) !== 0;
  const tB = intAttr(n, 'transB', 0) !== 0;
  const alpha = floatAttr(n, 'alpha', 1);
  const beta = floatAttr(n, 'beta', 1);
  const g = (x: string, y: string, ta: boolean, tb: boolean) => em.op1('Gemm', [x, y], {
    ...(ta ? { transA: attr.i(1) } : {}), ...(tb ? { transB: attr.i(1) } : {}), ...(alpha !== 1 ? { alpha: attr.f(alpha) } : {}),
  });
  // Y = alpha op(A) op(B) + beta C
  const da = !c.needs[0] ? undefined : !tA ? (tB ? g(dy, b, false, false) : g(dy, b, false, true)) : (tB ? g(b, dy, true, true) : g(b, dy, false, true));
  const db = !c.needs[1] ? undefined : !tB ? (tA ? g(a, dy, false, false) : g(a, dy, true, false)) : (tA ? g(dy, a, true, true) : g(dy, a, true, false));
  let dc: string | undefined;
  if (cc && c.needs[2]) dc = toInput(c, beta !== 1 ? em.mul(dy, em.scalar(outDtype(c), beta)) : dy, 2);
  return [da, db, dc];
};

const gather: GradientRule = (c) => {
  if (!c.needs[0]) return [];
  const { em, node: n } = c;
  const [data, indices] = n.inputs;
  const md = c.meta(data);
  const mi = c.meta(indices);
  const r = md.dims.length;
  const q = mi.dims.length;
  const axis = normAxis(intAttr(n, 'axis', 0), r, `Gather node '${n.name ?? ''}'`);
  const idx = em.unsqueeze(mi.dtype === 'int64' ? indices : em.cast(indices, 'int64'), [-1]);
  const add = { reduction: attr.s('add') };
  // Rows read several times (a token repeated in a batch) accumulate: ScatterND with add.
  if (axis === 0) return [em.op1('ScatterND', [em.zerosLike(data, md.dtype), idx, dy0(c)], add)];
  // Other axes: move the gathered axis to the front, scatter rows, move it back.
  const permDy = [...range(axis, axis + q), ...range(0, axis), ...range(axis + q, r + q - 1)];
  const permData = [axis, ...range(0, axis), ...range(axis + 1, r)];
  const zeros = em.zeros(em.op1('Gather', [em.shape(data), em.ints(permData)]), md.dtype);
  const scattered = em.op1('ScatterND', [zeros, idx, em.transpose(dy0(c), permDy)], add);
  return [em.transpose(scattered, invertPerm(permData))];
};

const gatherElements: GradientRule = (c) => {
  if (!c.needs[0]) return [];
  const { em, node: n } = c;
  const [data, indices] = n.inputs;
  return [em.op1('ScatterElements', [em.zerosLike(data, c.meta(data).dtype), indices, dy0(c)], { axis: attr.i(intAttr(n, 'axis', 0)), reduction: attr.s('add') })];
};

const layerNorm: GradientRule = (c) => {
  const { em, node: n } = c;
  const [x, scale, bias] = n.inputs;
  const mx = c.meta(x);
  const dtype = mx.dtype;
  const r = mx.dims.length;
  const axes = range(normAxis(intAttr(n, 'axis', -1), r, `LayerNormalization node '${n.name ?? ''}'`), r);
  const eps = floatAttr(n, 'epsilon', 1e-5);
  const dy = dy0(c);
  let mean: string;
  let invStd: string;
  if (dtype === 'float32' && intAttr(n, 'stash_type', 1) === 1) {
    // The forward kernel's own statistics (its optional outputs, float32 = stash_type 1).
    mean = c.ensureOutput(1);
    invStd = c.ensureOutput(2);
  } else {
    // Otherwise recomputed in the input's dtype (the kernel stashes float32 statistics even for float64 inputs).
    mean = em.reduceMean(x, axes, true);
    const centred = em.sub(x, mean);
    const variance = em.reduceMean(em.mul(centred, centred), axes, true);
    invStd = em.op1('Reciprocal', [em.op1('Sqrt', [em.add(variance, em.scalar(dtype, eps))])]);
  }
  const xhat = em.mul(em.sub(x, mean), invStd);
  let dx: string | undefined;
  if (c.needs[0]) {
    // dx = invstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * scale, means over the normalized axes.
    const g = em.mul(dy, scale);
    const m1 = em.reduceMean(g, axes, true);
    const m2 = em.reduceMean(em.mul(g, xhat), axes, true);
    dx = em.mul(invStd, em.sub(em.sub(g, m1), em.mul(xhat, m2)));
  }
  const my = c.meta(n.outputs[0]);
  const dScale = c.needs[1] ? sumToShape(em, em.mul(dy, xhat), my, scale, c.meta(scale)) : undefined;
  const dBias = bias && c.needs[2] ? sumToShape(em, dy, my, bias, c.meta(bias)) : undefined;
  return [dx, dScale, dBias];
};

const softmaxAxis = (c: RuleContext) => [normAxis(intAttr(c.node, 'axis', -1), c.meta(c.node.outputs[0]).dims.length, `${c.node.opType} node '${c.node.name ?? ''}'`)];

const pow: GradientRule = (c) => {
  const { em } = c;
  const [a, b] = c.node.inputs;
  const y = c.node.outputs[0];
  const dy = dy0(c);
  const dtype = c.meta(a).dtype;
  let da: string | undefined;
  let dbv: string | undefined;
  if (c.needs[0]) {
    const e = c.constValue(b);
    let local: string;
    if (e && e.length === 1) {
      const k = e[0];
      if (k === 1) local = dy;
      else if (k === 2) local = em.mul(dy, em.mul(a, em.scalar(dtype, 2)));
      else if (k === 0.5) local = em.div(em.mul(dy, em.scalar(dtype, 0.5)), y);
      else local = em.mul(dy, em.mul(em.scalar(dtype, k), em.op1('Pow', [a, em.scalar(dtype, k - 1)])));
    } else {
      const bb = c.meta(b).dtype === dtype ? b : em.cast(b, dtype);
      local = em.mul(dy, em.mul(bb, em.op1('Pow', [a, em.sub(bb, em.scalar(dtype, 1))])));
    }
    da = toInput(c, local, 0);
  }
  if (c.needs[1]) {
    let local = em.mul(dy, em.mul(y, em.op1('Log', [a])));
    const bt = c.meta(b).dtype;
    if (bt !== dtype) local = em.cast(local, bt);
    dbv = toInput(c, local, 1);
  }
  return [da, dbv];
};

const gelu: GradientRule = (c) => {
  if (!c.needs[0]) return [];
  const { em } = c;
  const x = c.node.inputs[0];
  const dtype = c.meta(x).dtype;
  const dy = dy0(c);
  const s = (v: number) => em.scalar(dtype, v);
  if (stringAttr(c.node, 'approximate', 'none') === 'tanh') {
    // y = 0.5 x (1 + t), t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3)
    const k = Math.sqrt(2 / Math.PI);
    const x2 = em.mul(x, x);
    const u = em.mul(s(k), em.add(x, em.mul(s(0.044715), em.mul(x2, x))));
    const t = em.op1('Tanh', [u]);
    const du = em.mul(s(k), em.add(s(1), em.mul(s(3 * 0.044715), x2)));
    const local = em.add(em.mul(s(0.5), em.add(s(1), t)), em.mul(em.mul(s(0.5), x), em.mul(em.sub(s(1), em.mul(t, t)), du)));
    return [em.mul(dy, local)];
  }
  // y = x Phi(x): dy/dx = Phi(x) + x phi(x)
  const cdf = em.mul(s(0.5), em.add(s(1), erf(em, em.mul(x, s(Math.SQRT1_2)), dtype)));
  const pdf = em.mul(s(1 / Math.sqrt(2 * Math.PI)), em.op1('Exp', [em.mul(s(-0.5), em.mul(x, x))]));
  return [em.mul(dy, em.add(cdf, em.mul(x, pdf)))];
};

const concat: GradientRule = (c) => {
  const { em, node: n } = c;
  const axis = normAxis(intAttr(n, 'axis', 0), c.meta(n.outputs[0]).dims.length, `Concat node '${n.name ?? ''}'`);
  const sizes = n.inputs.map((x) => staticDim(c.meta(x), axis));
  const split = sizes.every((s) => s !== undefined)
    ? em.ints(sizes as number[])
    : em.op1('Concat', n.inputs.map((x, i) => (sizes[i] !== undefined ? em.ints([sizes[i] as number]) : em.op1('Gather', [em.shape(x), em.ints([axis])]))), { axis: attr.i(0) });
  const parts = em.op('Split', [dy0(c), split], { axis: attr.i(axis) }, n.inputs.length);
  return n.inputs.map((_, i) => (c.needs[i] ? parts[i] : undefined));
};

const split: GradientRule = (c) => {
  if (!c.needs[0]) return [];
  const { em, node: n } = c;
  const x = n.inputs[0];
  const axis = normAxis(intAttr(n, 'axis', 0), c.meta(x).dims.length, `Split node '${n.name ?? ''}'`);
  const dtype = c.meta(x).dtype;
  const pieces = n.outputs.map((o, i) => c.dy[i] ?? em.zerosLike(o, dtype));
  return [em.op1('Concat', pieces, { axis: attr.i(axis) })];
};

const dropout: GradientRule = (c) => {
  const { em, node: n } = c;
  const dy = dy0(c);
  const modeName = n.inputs[2];
  if (!modeName) return [dy];
  const mode = c.constValue(modeName);
  if (!mode) throw new AutodiffError(`Dropout node '${n.name ?? ''}': training_mode '${modeName}' is not a constant, so the autodiff cannot tell whether it drops`);
  if (!mode[0]) return [dy];
  const dtype = c.meta(n.inputs[0]).dtype;
  const ratioValue = n.inputs[1] ? c.constValue(n.inputs[1]) : [0.5];
  const scale = ratioValue
    ? em.scalar(dtype, 1 / (1 - ratioValue[0]))
    : em.op1('Reciprocal', [em.sub(em.scalar(dtype, 1), em.cast(n.inputs[1], dtype))]);
  const mask = c.ensureOutput(1);
  return [em.op1('Where', [mask, em.mul(dy, scale), em.scalar(dtype, 0)])];
};

/** Elementwise Max/Min: the gradient goes to the input(s) equal to the output (each tied input gets all of it). */
const extremum: GradientRule = (c) => {
  const { em } = c;
  const y = c.node.outputs[0];
  const zero = em.scalar(outDtype(c), 0);
  return c.node.inputs.map((x, i) => (c.needs[i] ? toInput(c, em.op1('Where', [em.op1('Equal', [x, y]), dy0(c), zero]), i) : undefined));
};

const clip: GradientRule = (c) => {
  if (!c.needs[0]) return [];
  const { em, node: n } = c;
  const [x, lo, hi] = n.inputs;
  let inside: string | undefined;
  if (lo) inside = em.op1('GreaterOrEqual', [x, lo]);
  if (hi) {
    const below = em.op1('LessOrEqual', [x, hi]);
    inside = inside ? em.op1('And', [inside, below]) : below;
  }
  return [inside ? em.op1('Where', [inside, dy0(c), em.scalar(outDtype(c), 0)]) : dy0(c)];
};

export const GRADIENT_RULES: Record<string, GradientRule> = {
  Identity: unary((_c, dy) => dy),
  Neg: unary((c, dy) => c.em.neg(dy)),
  Add: (c) => [0, 1].map((i) => (c.needs[i] ? toInput(c, dy0(c), i) : undefined)),
  Sub: (c) => [c.needs[0] ? toInput(c, dy0(c), 0) : undefined, c.needs[1] ? toInput(c, c.em.neg(dy0(c)), 1) : undefined],
  Mul: (c) => {
    const [a, b] = c.node.inputs;
    return [c.needs[0] ? toInput(c, c.em.mul(dy0(c), b), 0) : undefined, c.needs[1] ? toInput(c, c.em.mul(dy0(c), a), 1) : undefined];
  },
  Div: (c) => {
    const b = c.node.inputs[1];
    const { em } = c;
    return [
      c.needs[0] ? toInput(c, em.div(dy0(c), b), 0) : undefined,
      c.needs[1] ? toInput(c, em.neg(em.div(em.mul(dy0(c), c.node.outputs[0]), b)), 1) : undefined,
    ];
  },
  Sum: (c) => c.node.inputs.map((_, i) => (c.needs[i] ? toInput(c, dy0(c), i) : undefined)),
  Pow: pow,
  Sqrt: unary((c, dy, _x, y) => c.em.div(c.em.mul(dy, c.em.scalar(outDtype(c), 0.5)), y)),
  Exp: unary((c, dy, _x, y) => c.em.mul(dy, y)),
  Log: unary((c, dy, x) => c.em.div(dy, x)),
  Reciprocal: unary((c, dy, _x, y) => c.em.neg(c.em.mul(dy, c.em.mul(y, y)))),
  Abs: unary((c, dy, x) => c.em.mul(dy, c.em.op1('Sign', [x]))),
  Tanh: unary((c, dy, _x, y) => c.em.mul(dy, c.em.sub(c.em.scalar(outDtype(c), 1), c.em.mul(y, y)))),
  Sigmoid: unary((c, dy, _x, y) => c.em.mul(dy, c.em.mul(y, c.em.sub(c.em.scalar(outDtype(c), 1), y)))),
  LeakyRelu: unary((c, dy, x) => {
    const { em } = c;
    const dtype = outDtype(c);
    return em.op1('Where', [em.op1('Greater', [x, em.scalar(dtype, 0)]), dy, em.mul(dy, em.scalar(dtype, floatAttr(c.node, 'alpha', 0.01)))]);
  }),
  Max: extremum,
  Min: extremum,
  Clip: clip,
  Relu: unary((c, dy, x) => c.em.op1('Where', [c.em.op1('Greater', [x, c.em.scalar(outDtype(c), 0)]), dy, c.em.scalar(outDtype(c), 0)])),
  Erf: unary((c, dy, x) => {
    const { em } = c;
    const dtype = outDtype(c);
    return em.mul(dy, em.mul(em.scalar(dtype, 2 / Math.sqrt(Math.PI)), em.op1('Exp', [em.neg(em.mul(x, x))])));
  }),
  Gelu: gelu,
  Softmax: unary((c, dy, _x, y) => {
    const { em } = c;
    const s = em.reduceSum(em.mul(dy, y), softmaxAxis(c), true);
    return em.mul(y, em.sub(dy, s));
  }),
  LogSoftmax: unary((c, dy, _x, y) => {
    const { em } = c;
    return em.sub(dy, em.mul(em.op1('Exp', [y]), em.reduceSum(dy, softmaxAxis(c), true)));
  }),
  LayerNormalization: layerNorm,
  ReduceSum: reduceRule(false),
  ReduceMean: reduceRule(true),
  MatMul: matMul,
  Gemm: gemm,
  Gather: gather,
  GatherElements: gatherElements,
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (c) => {
    if (!c.needs[0]) return [];
    const r = c.meta(c.node.inputs[0]).dims.length;
    const perm = intsAttr(c.node, 'perm') ?? range(0, r).reverse();
    return [c.em.transpose(dy0(c), invertPerm(perm))];
  },
  Concat: concat,
  Split: split,
  Slice: (c) => [c.needs[0] ? scatterThroughIndices(c, (idx) => c.em.op1('Slice', [idx, ...c.node.inputs.slice(1)]), false) : undefined],
  Pad: (c) => [c.needs[0] ? scatterThroughIndices(c, (idx, size) => {
    // Padding positions read slot `size`, one past X, which is dropped after the scatter.
    const inputs = [idx, c.node.inputs[1] ?? '', size, ...c.node.inputs.slice(3)];
    return c.em.op1('Pad', inputs, c.node.attributes);
  }, true) : undefined],
  Where: (c) => {
    const cond = c.node.inputs[0];
    const { em } = c;
    const zero = em.scalar(outDtype(c), 0);
    return [
      undefined,
      c.needs[1] ? toInput(c, em.op1('Where', [cond, dy0(c), zero]), 1) : undefined,
      c.needs[2] ? toInput(c, em.op1('Where', [cond, zero, dy0(c)]), 2) : undefined,
    ];
  },
  Expand: (c) => [c.needs[0] ? toInput(c, dy0(c), 0) : undefined],
  Cast: unary((c, dy, x) => c.em.cast(dy, c.meta(x).dtype)),
  CastLike: unary((c, dy, x) => c.em.cast(dy, c.meta(x).dtype)),
  Dropout: dropout,
};

/**
 * Ops whose float outputs carry no gradient to their inputs (random draws shaped like the input,
 * rounding): values they produce are treated as constants.
 */
export const NON_DIFFERENTIABLE = new Set([
  'RandomUniformLike', 'RandomNormalLike', 'Bernoulli', 'EyeLike', 'Floor', 'Ceil', 'Round', 'Sign',
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'OneHot',
]);
