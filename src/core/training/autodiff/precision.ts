// A float64 copy of a float32 model, for checking gradients against finite differences at a
// precision where the check means something (central differences in float32 lose about half the
// digits). The autodiff's rules are dtype-generic, so the float64 training graph is built by the
// same code as the float32 one.
import type { DType } from '../../model';
import { attr, type AttrSpec, type ModelSpec, type NodeSpec, type TensorSpec } from '../../onnx/model-spec';
import { onnxFromDtype } from '../../onnx/onnx-types';
import { AutodiffError } from './emitter';

function convertTensor(t: TensorSpec): TensorSpec {
  return t.dtype === 'float32' ? { ...t, dtype: 'float64', values: Float64Array.from(t.values as Float32Array) } : t;
}

const F32 = onnxFromDtype('float32');
const F64 = onnxFromDtype('float64');

/**
 * Converts every float32 tensor of the graph to float64: initializers, Constant and
 * ConstantOfShape tensors, declared inputs and outputs, Cast targets, and the dtype attribute of
 * random and EyeLike ops. onnxruntime's CPU kernels for Erf (and a few activations) are float32
 * only, so a graph using them converts but does not run; use the tanh GELU for float64 checks.
 */
export function toFloat64(model: ModelSpec): ModelSpec {
  const g = model.graph;
  const to64 = (d: DType): DType => (d === 'float32' ? 'float64' : d);
  const nodes: NodeSpec[] = g.nodes.map((n) => {
    if (n.opType === 'ConstantOfShape' && !n.attributes?.value) {
      // Without a value attribute it fills float32 zeros.
      return { ...n, attributes: { ...(n.attributes ?? {}), value: attr.t({ name: 'value', dtype: 'float64', dims: [1], values: new Float64Array(1) }) } };
    }
    if (!n.attributes) return n;
    const attributes: Record<string, AttrSpec> = {};
    for (const [k, a] of Object.entries(n.attributes)) {
      if (a.type === 'tensor') attributes[k] = attr.t(convertTensor(a.value));
      else if (a.type === 'graph') throw new AutodiffError(`toFloat64: ${n.opType} node '${n.name ?? ''}' has a subgraph`);
      else if (a.type === 'int' && a.value === F32 && ((n.opType === 'Cast' && k === 'to') || k === 'dtype')) attributes[k] = attr.i(F64);
      else if (a.type === 'float' && n.opType === 'Constant' && k === 'value_float') attributes.value = attr.t({ name: n.outputs[0], dtype: 'float64', dims: [], values: Float64Array.from([a.value]) });
      else if (a.type === 'floats' && n.opType === 'Constant' && k === 'value_floats') attributes.value = attr.t({ name: n.outputs[0], dtype: 'float64', dims: [a.value.length], values: Float64Array.from(a.value) });
      else attributes[k] = a;
    }
    return { ...n, attributes };
  });
  return {
    ...model,
    graph: {
      ...g,
      nodes,
      inputs: g.inputs.map((v) => ({ ...v, dtype: to64(v.dtype) })),
      outputs: g.outputs.map((v) => ({ ...v, dtype: to64(v.dtype) })),
      initializers: g.initializers.map(convertTensor),
      valueInfo: g.valueInfo?.map((v) => ({ ...v, dtype: to64(v.dtype) })),
    },
  };
}
