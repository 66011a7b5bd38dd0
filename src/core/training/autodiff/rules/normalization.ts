// Normalizations over trailing axes: Softmax/LogSoftmax (one axis) and LayerNormalization.
import { normAxis, range } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, floatAttr, intAttr, sumToShape, unary, type GradientRule, type RuleContext } from './helpers';

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

registerGradient({
  opType: 'Softmax',
  gradient: unary((c, dy, _x, y) => {
    const { em } = c;
    const s = em.reduceSum(em.mul(dy, y), softmaxAxis(c), true);
    return em.mul(y, em.sub(dy, s));
  }),
});
registerGradient({
  opType: 'LogSoftmax',
  gradient: unary((c, dy, _x, y) => {
    const { em } = c;
    return em.sub(dy, em.mul(em.op1('Exp', [y]), em.reduceSum(dy, softmaxAxis(c), true)));
  }),
});
registerGradient({ opType: 'LayerNormalization', gradient: layerNorm });
