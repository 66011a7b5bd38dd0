// Dropout: identity in inference mode; in training mode dy goes through the mask the forward
// kernel drew, scaled by 1 / (1 - ratio) as the forward values were.
import { AutodiffError } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, type GradientRule } from './helpers';

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

registerGradient({ opType: 'Dropout', gradient: dropout });
