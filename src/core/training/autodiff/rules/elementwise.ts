// Elementwise arithmetic, with numpy broadcasting on every input (toInput sums the output-shaped
// gradient back to each input's shape).
import { registerGradient } from '../registry';
import { dy0, outDtype, toInput, unary, type GradientRule } from './helpers';

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

registerGradient({ opType: 'Identity', gradient: unary((_c, dy) => dy) });
registerGradient({ opType: 'Neg', gradient: unary((c, dy) => c.em.neg(dy)) });
registerGradient({ opType: 'Add', gradient: (c) => [0, 1].map((i) => (c.needs[i] ? toInput(c, dy0(c), i) : undefined)) });
registerGradient({
  opType: 'Sub',
  gradient: (c) => [c.needs[0] ? toInput(c, dy0(c), 0) : undefined, c.needs[1] ? toInput(c, c.em.neg(dy0(c)), 1) : undefined],
});
registerGradient({
  opType: 'Mul',
  gradient: (c) => {
    const [a, b] = c.node.inputs;
    return [c.needs[0] ? toInput(c, c.em.mul(dy0(c), b), 0) : undefined, c.needs[1] ? toInput(c, c.em.mul(dy0(c), a), 1) : undefined];
  },
});
registerGradient({
  opType: 'Div',
  gradient: (c) => {
    const b = c.node.inputs[1];
    const { em } = c;
    return [
      c.needs[0] ? toInput(c, em.div(dy0(c), b), 0) : undefined,
      c.needs[1] ? toInput(c, em.neg(em.div(em.mul(dy0(c), c.node.outputs[0]), b)), 1) : undefined,
    ];
  },
});
registerGradient({ opType: 'Sum', gradient: (c) => c.node.inputs.map((_, i) => (c.needs[i] ? toInput(c, dy0(c), i) : undefined)) });
registerGradient({ opType: 'Pow', gradient: pow });
registerGradient({ opType: 'Sqrt', gradient: unary((c, dy, _x, y) => c.em.div(c.em.mul(dy, c.em.scalar(outDtype(c), 0.5)), y)) });
registerGradient({ opType: 'Exp', gradient: unary((c, dy, _x, y) => c.em.mul(dy, y)) });
registerGradient({ opType: 'Log', gradient: unary((c, dy, x) => c.em.div(dy, x)) });
registerGradient({ opType: 'Reciprocal', gradient: unary((c, dy, _x, y) => c.em.neg(c.em.mul(dy, c.em.mul(y, y)))) });
registerGradient({ opType: 'Abs', gradient: unary((c, dy, x) => c.em.mul(dy, c.em.op1('Sign', [x]))) });
registerGradient({ opType: 'Max', gradient: extremum });
registerGradient({ opType: 'Min', gradient: extremum });
registerGradient({ opType: 'Clip', gradient: clip });
