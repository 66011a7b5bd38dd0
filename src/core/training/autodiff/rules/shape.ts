// Ops that move values without computing with them: reshapes, Transpose, Concat/Split,
// Slice/Pad, Where and Expand. Their gradients route dy back to where each value came from.
import { attr } from '../../../onnx/model-spec';
import { invertPerm, normAxis, range, staticDim } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, intAttr, intsAttr, outDtype, toInput, type GradientRule, type RuleContext } from './helpers';

const reshapeBack: GradientRule = (c) => [c.needs[0] ? c.em.reshape(dy0(c), c.em.shape(c.node.inputs[0])) : undefined];

/**
 * Gradient of a Slice/Pad-like op by running the same op over an index tensor: the positions of
 * X the output reads, scattered back (with add, so repeated reads such as Pad's edge/reflect
 * modes accumulate). With `repeated`, positions outside X (constant padding) read a slot past
 * the end, dropped after the scatter.
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

for (const opType of ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']) registerGradient({ opType, gradient: reshapeBack });
registerGradient({
  opType: 'Transpose',
  gradient: (c) => {
    if (!c.needs[0]) return [];
    const r = c.meta(c.node.inputs[0]).dims.length;
    const perm = intsAttr(c.node, 'perm') ?? range(0, r).reverse();
    return [c.em.transpose(dy0(c), invertPerm(perm))];
  },
});
registerGradient({ opType: 'Concat', gradient: concat });
registerGradient({ opType: 'Split', gradient: split });
registerGradient({
  opType: 'Slice',
  gradient: (c) => [c.needs[0] ? scatterThroughIndices(c, (idx) => c.em.op1('Slice', [idx, ...c.node.inputs.slice(1)]), false) : undefined],
});
registerGradient({
  opType: 'Pad',
  gradient: (c) => [c.needs[0] ? scatterThroughIndices(c, (idx, size) => {
    // Padding positions read slot `size`, one past X, which is dropped after the scatter.
    const inputs = [idx, c.node.inputs[1] ?? '', size, ...c.node.inputs.slice(3)];
    return c.em.op1('Pad', inputs, c.node.attributes);
  }, true) : undefined],
});
registerGradient({
  opType: 'Where',
  gradient: (c) => {
    const cond = c.node.inputs[0];
    const { em } = c;
    const zero = em.scalar(outDtype(c), 0);
    return [
      undefined,
      c.needs[1] ? toInput(c, em.op1('Where', [cond, dy0(c), zero]), 1) : undefined,
      c.needs[2] ? toInput(c, em.op1('Where', [cond, zero, dy0(c)]), 2) : undefined,
    ];
  },
});
registerGradient({ opType: 'Expand', gradient: (c) => [c.needs[0] ? toInput(c, dy0(c), 0) : undefined] });
