// An editable copy of a read ONNX model: the reader's ModelFile (nodes with attributes, tensors
// with where their bytes are) turned back into a ModelSpec with every initializer's and tensor
// attribute's values loaded, ready for the autodiff and the writer.
import type { ModelFile, OnnxAttribute, OnnxValueInfo, TensorInfo } from '../model';
import type { AttrSpec, ModelSpec, NodeSpec, TensorSpec, ValueInfoSpec } from './model-spec';
import { loadTensor } from '../tensor-values';
import { UnsupportedModelError } from '../errors';

function tensorSpec(t: TensorInfo): TensorSpec {
  const loaded = loadTensor(t);
  return { name: loaded.name, dtype: loaded.dtype, dims: [...loaded.shape], values: loaded.values };
}

function valueInfo(file: string, v: OnnxValueInfo, role: string): ValueInfoSpec {
  if (!v.elemType || !v.shape) throw new UnsupportedModelError(file, `graph ${role} '${v.name}' declares no tensor type or shape`);
  return { name: v.name, dtype: v.elemType, shape: v.shape.map((d, i) => (d === null ? `${v.name}_dim${i}` : d)) };
}

/**
 * The model's main graph as a ModelSpec. Refuses what the writer cannot carry or BERT-family
 * graphs do not use: subgraphs (If/Loop/Scan bodies), local functions, sparse initializers, and
 * attribute kinds other than numbers, strings and tensors.
 */
export function forwardSpecFromModel(model: ModelFile): ModelSpec {
  const onnx = model.onnx;
  if (model.format !== 'onnx' || !onnx) throw new UnsupportedModelError(model.path, `not an ONNX model (${model.format}); training, distillation and quantization work on ONNX graphs`);
  const file = model.weightsPath;
  if (onnx.functions.length) throw new UnsupportedModelError(file, `the model defines local functions (${onnx.functions.map((f) => f.name).join(', ')}), which the engine does not support`);
  const nested = onnx.nodes.find((n) => n.graphPath !== '');
  if (nested) throw new UnsupportedModelError(file, `the model has subgraphs (node '${nested.graphPath.split('/')[0]}' holds a graph attribute), which the engine does not support`);

  const sparse = model.tensors.find((t) => t.origin === 'sparse-initializer');
  if (sparse) throw new UnsupportedModelError(file, `sparse initializer '${sparse.name}' is not supported; densify the model first`);
  const initializers = model.tensors.filter((t) => t.origin === 'initializer' && (t.scope ?? '') === '').map(tensorSpec);
  // Tensor attributes, in the order the decoder met them (node order), by the name it gave them.
  const constants = new Map<string, TensorInfo[]>();
  for (const t of model.tensors) {
    if (t.origin !== 'constant' || (t.scope ?? '') !== '') continue;
    const list = constants.get(t.name) ?? [];
    list.push(t);
    constants.set(t.name, list);
  }

  const nodes: NodeSpec[] = onnx.nodes.map((n) => {
    const attributes: Record<string, AttrSpec> = {};
    const id = `${n.opType} node '${n.name || n.outputs[0] || ''}'`;
    for (const a of n.attributes) attributes[a.name] = convertAttribute(file, id, a, constants);
    return {
      opType: n.opType,
      inputs: [...n.inputs],
      outputs: [...n.outputs],
      ...(n.name ? { name: n.name } : {}),
      ...(n.domain ? { domain: n.domain } : {}),
      ...(n.attributes.length ? { attributes } : {}),
    };
  });

  const initNames = new Set(initializers.map((t) => t.name));
  return {
    graph: {
      name: onnx.graphName || 'main',
      nodes,
      // Models from before IR 4 list initializers among the inputs too; those are not fed.
      inputs: onnx.inputs.filter((v) => !initNames.has(v.name)).map((v) => valueInfo(file, v, 'input')),
      outputs: onnx.outputs.map((v) => valueInfo(file, v, 'output')),
      initializers,
    },
    opsets: onnx.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    irVersion: onnx.irVersion || 8,
    ...(onnx.producerName ? { producerName: onnx.producerName, producerVersion: onnx.producerVersion } : {}),
    metadata: { ...onnx.metadata },
  };
}

function convertAttribute(file: string, node: string, a: OnnxAttribute, constants: Map<string, TensorInfo[]>): AttrSpec {
  if (a.refAttrName) throw new UnsupportedModelError(file, `${node}: attribute '${a.name}' refers to a function attribute`);
  switch (a.type) {
    case 'float': return { type: 'float', value: a.f ?? 0 };
    case 'int': return { type: 'int', value: a.i ?? 0 };
    case 'string': return { type: 'string', value: a.s ?? '' };
    case 'floats': return { type: 'floats', value: a.floats ?? [] };
    case 'ints': return { type: 'ints', value: a.ints ?? [] };
    case 'strings': return { type: 'strings', value: a.strings ?? [] };
    case 'tensor': {
      const list = a.tensorName ? constants.get(a.tensorName) : undefined;
      const t = list?.shift();
      if (!t) throw new UnsupportedModelError(file, `${node}: the tensor of attribute '${a.name}' was not found`);
      return { type: 'tensor', value: tensorSpec(t) };
    }
    case 'graph': case 'graphs':
      throw new UnsupportedModelError(file, `${node} has a subgraph attribute '${a.name}', which the engine does not support`);
    default:
      throw new UnsupportedModelError(file, `${node}: attribute '${a.name}' of kind ${a.type} is not supported`);
  }
}
