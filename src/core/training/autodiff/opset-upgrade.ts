// Forward graphs exported at opset 11 or 12 (common among Hugging Face exports) are brought to
// opset 13 before the training graph's opset (17) is applied: the ops whose signature or
// semantics changed at 13 are rewritten to their opset-13 form.
import { attr, type NodeSpec } from '../../onnx/model-spec';
import { AutodiffError, type Emitter } from './emitter';

function without(attrs: NodeSpec['attributes'], name: string): NodeSpec['attributes'] {
  const copy = { ...(attrs ?? {}) };
  delete copy[name];
  return copy;
}

/**
 * Rewrites opset-11/12 nodes to opset-13 semantics: Unsqueeze/Squeeze/ReduceSum `axes` and Split
 * `split` move from attributes to inputs; Softmax/LogSoftmax/Hardmax, which coerced their input to
 * 2-D at `axis` (default 1), become Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)) unless the
 * axis is -1 (the same in both versions).
 */
export function upgradeToOpset13(nodes: NodeSpec[], opset: number, em: Emitter): NodeSpec[] {
  if (opset < 11) throw new AutodiffError(`opset ${opset} graphs are not supported by the autodiff; re-export at opset 11 or later (13+ preferred)`);
  const out: NodeSpec[] = [];
  for (const n of nodes) {
    if (n.domain && n.domain !== 'ai.onnx') { out.push(n); continue; }
    const a = n.attributes ?? {};
    switch (n.opType) {
      case 'Unsqueeze': case 'Squeeze': case 'ReduceSum': {
        const axes = a.axes;
        if (axes && axes.type === 'ints') out.push({ ...n, inputs: [n.inputs[0], em.ints(axes.value)], attributes: without(a, 'axes') });
        else out.push(n);
        break;
      }
      case 'Split': {
        const split = a.split;
        if (split && split.type === 'ints') out.push({ ...n, inputs: [n.inputs[0], em.ints(split.value)], attributes: without(a, 'split') });
        else out.push(n);
        break;
      }
      case 'Softmax': case 'LogSoftmax': case 'Hardmax': {
        const axis = a.axis && a.axis.type === 'int' ? a.axis.value : 1;
        if (axis === -1) { out.push({ ...n, attributes: { ...a, axis: attr.i(-1) } }); break; }
        const flat = em.fresh(`${n.opType}_flat`);
        const y2 = em.fresh(`${n.opType}_2d`);
        const shape = em.fresh(`${n.opType}_shape`);
        out.push({ opType: 'Flatten', inputs: [n.inputs[0]], outputs: [flat], name: em.fresh(`${n.opType}_flatten`), attributes: { axis: attr.i(axis) } });
        out.push({ ...n, inputs: [flat], outputs: [y2], attributes: { ...a, axis: attr.i(-1) } });
        out.push({ opType: 'Shape', inputs: [n.inputs[0]], outputs: [shape], name: em.fresh(`${n.opType}_shape`) });
        out.push({ opType: 'Reshape', inputs: [y2, shape], outputs: [n.outputs[0]], name: em.fresh(`${n.opType}_reshape`) });
        break;
      }
      default:
        out.push(n);
    }
  }
  return out;
}
