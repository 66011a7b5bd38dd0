// ONNX's `ai.onnx.preview.training.Gradient` op, which onnxruntime-node cannot run, expanded into
// ordinary ops by the project's autodiff: the model's forward nodes, plus the backward pass from
// the op's `y` to each of its `xs`.
import type { ModelFile } from '../model';
import type { ModelSpec, NodeSpec, TensorSpec } from '../onnx/model-spec';
import { AutodiffError, buildTrainingGraph, forwardSpecFromModel } from './autodiff';
import { emptyValues } from '../tensor-values';

const TRAINING_DOMAIN = 'ai.onnx.preview.training';

/** A model whose Gradient nodes are replaced by the backward graph they stand for. */
export async function expandGradientOps(model: ModelFile): Promise<ModelSpec> {
  const nodes = model.onnx?.nodes ?? [];
  const grads = nodes.filter((n) => n.opType === 'Gradient' && n.domain === TRAINING_DOMAIN);
  if (grads.length !== 1) throw new AutodiffError(`expected one Gradient node, found ${grads.length}`, model.weightsPath);
  const g = grads[0];
  const xs = g.attributes.find((a) => a.name === 'xs')?.strings ?? [];
  const y = g.attributes.find((a) => a.name === 'y')?.s;
  if (!y || xs.length === 0 || xs.length !== g.outputs.length) throw new AutodiffError(`Gradient node '${g.name}' needs 'y' and one output per name in 'xs'`, model.weightsPath);
  const forward = forwardSpecFromModel({ ...model, onnx: { ...model.onnx!, nodes: nodes.filter((n) => n !== g) } });
  const outputs = forward.graph.outputs.filter((o) => !g.outputs.includes(o.name));
  // The autodiff differentiates with respect to initializers: stand the inputs in xs in as ones,
  // which it turns back into inputs of the same names.
  const standIns: TensorSpec[] = xs.map((name) => {
    const input = forward.graph.inputs.find((i) => i.name === name);
    if (!input || input.shape.some((d) => typeof d !== 'number')) throw new AutodiffError(`Gradient input '${name}' must be a graph input of fixed shape`, model.weightsPath);
    const dims = input.shape as number[];
    return { name, dtype: input.dtype, dims, values: emptyValues(input.dtype, dims.reduce((a, b) => a * b, 1)) };
  });
  const spec: ModelSpec = {
    ...forward,
    opsets: forward.opsets.filter((o) => o.domain !== TRAINING_DOMAIN),
    graph: {
      ...forward.graph,
      inputs: forward.graph.inputs.filter((i) => !xs.includes(i.name)),
      outputs,
      initializers: [...forward.graph.initializers, ...standIns],
    },
  };
  const graph = await buildTrainingGraph(spec, { trainable: xs, loss: { kind: 'value', output: y } });
  const renames: NodeSpec[] = xs.map((x, i) => ({ opType: 'Identity', inputs: [graph.gradOutputs.get(x)!], outputs: [g.outputs[i]], name: `Gradient/${g.outputs[i]}` }));
  const outNames = [...outputs.map((o) => o.name), ...g.outputs];
  const gradInfo = g.outputs.map((name, i) => ({ name, dtype: standIns[i].dtype, shape: standIns[i].dims }));
  return {
    ...graph.model,
    graph: {
      ...graph.model.graph,
      nodes: [...graph.model.graph.nodes, ...renames],
      outputs: [...outputs, ...gradInfo].filter((o) => outNames.includes(o.name)),
    },
  };
}
