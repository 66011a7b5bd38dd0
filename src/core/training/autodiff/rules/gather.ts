// Lookups: the gradient of the data is dy scattered back to the positions read, with reduction
// 'add' so positions read more than once (a token repeated in a batch) accumulate.
import { attr } from '../../../onnx/model-spec';
import { invertPerm, normAxis, range } from '../emitter';
import { registerGradient } from '../registry';
import { dy0, intAttr, type GradientRule } from './helpers';

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

registerGradient({ opType: 'Gather', gradient: gather });
registerGradient({ opType: 'GatherElements', gradient: gatherElements });
