// ReduceSum and ReduceMean: the gradient is dy expanded back over the reduced axes (divided by
// their size for the mean), whether the axes are an attribute, a constant input or a run-time input.
import { normAxis, range, staticDim } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, intAttr, intsAttr, type GradientRule } from './helpers';

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

registerGradient({ opType: 'ReduceSum', gradient: reduceRule(false) });
registerGradient({ opType: 'ReduceMean', gradient: reduceRule(true) });
