// Pointwise activations: the gradient is dy times the derivative, computed from x or from y
// (whichever the forward pass already has in the cheaper form).
import type { DType } from '../../../model';
import type { Emitter } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, floatAttr, outDtype, stringAttr, unary, type GradientRule } from './helpers';

/** erf(x) for any float dtype: onnxruntime's CPU Erf kernel is float32-only. */
function erf(em: Emitter, x: string, dtype: DType): string {
  if (dtype === 'float32') return em.op1('Erf', [x]);
  return em.cast(em.op1('Erf', [em.cast(x, 'float32')]), dtype);
}

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

registerGradient({ opType: 'Tanh', gradient: unary((c, dy, _x, y) => c.em.mul(dy, c.em.sub(c.em.scalar(outDtype(c), 1), c.em.mul(y, y)))) });
registerGradient({ opType: 'Sigmoid', gradient: unary((c, dy, _x, y) => c.em.mul(dy, c.em.mul(y, c.em.sub(c.em.scalar(outDtype(c), 1), y)))) });
registerGradient({
  opType: 'LeakyRelu',
  gradient: unary((c, dy, x) => {
    const { em } = c;
    const dtype = outDtype(c);
    return em.op1('Where', [em.op1('Greater', [x, em.scalar(dtype, 0)]), dy, em.mul(dy, em.scalar(dtype, floatAttr(c.node, 'alpha', 0.01)))]);
  }),
});
registerGradient({
  opType: 'Relu',
  gradient: unary((c, dy, x) => c.em.op1('Where', [c.em.op1('Greater', [x, c.em.scalar(outDtype(c), 0)]), dy, c.em.scalar(outDtype(c), 0)])),
});
registerGradient({
  opType: 'Erf',
  gradient: unary((c, dy, x) => {
    const { em } = c;
    const dtype = outDtype(c);
    return em.mul(dy, em.mul(em.scalar(dtype, 2 / Math.sqrt(Math.PI)), em.op1('Exp', [em.neg(em.mul(x, x))])));
  }),
});
registerGradient({ opType: 'Gelu', gradient: gelu });
