// Every gradient rule against central finite differences, in float64 graphs (Erf: float32, the only
// dtype onnxruntime's CPU Erf kernel has), including broadcasting on both sides. A coverage
// test holds the registry to that: each registered rule must run in at least one case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { attr, type ModelSpec, type NodeSpec, type TensorSpec, type ValueInfoSpec } from '../../../../src/core/onnx/model-spec';
import type { DType } from '../../../../src/core/model';
import { gradCheckGraph, miniModel, type GradCheckOptions, type MiniParam } from './gradcheck';
import type { Feeds } from '../../../../src/core/training/autodiff/probe';
import type { LossSpec } from '../../../../src/core/training/autodiff/losses';
import { buildTrainingGraph, type TrainingGraph } from '../../../../src/core/training/autodiff/training-graph';
import { qualifiedOpName } from '../../../../src/core/training/autodiff/registry';
import { listRegisteredGradients } from '../../../../src/core/training/autodiff/rules';

/** A Constant node. */
function k(name: string, dtype: DType, dims: number[], values: number[]): NodeSpec {
  const data = dtype === 'int64' ? BigInt64Array.from(values.map(BigInt)) : dtype === 'int32' ? Int32Array.from(values)
    : dtype === 'bool' ? Uint8Array.from(values) : dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  return { opType: 'Constant', inputs: [], outputs: [name], name, attributes: { value: attr.t({ name, dtype, dims, values: data }) } };
}
let nodeCount = 0;
const n = (opType: string, inputs: string[], outputs: string[] | string = 'y', attributes?: NodeSpec['attributes']): NodeSpec =>
  ({ opType, inputs, outputs: typeof outputs === 'string' ? [outputs] : outputs, name: `${opType}_${nodeCount++}`, ...(attributes ? { attributes } : {}) });

interface Case {
  name: string;
  nodes: NodeSpec[];
  params: Record<string, MiniParam>;
  /** Params not trained (still initializers). */
  frozen?: string[];
  output?: string;
  opset?: number;
  dtype?: 'float32' | 'float64';
  inputs?: ValueInfoSpec[];
  initializers?: TensorSpec[];
  feeds?: Feeds;
  loss?: LossSpec;
  cfg?: GradCheckOptions;
  probe?: { symbolSizes?: Record<string, [number, number]> };
}

const P = (...dims: number[]): MiniParam => ({ dims });
const Ppos = (...dims: number[]): MiniParam => ({ dims, positive: true });

const CASES: Case[] = [
  // Elementwise, with broadcasting on one or both sides.
  { name: 'Add [2,3,4] + [4]', nodes: [n('Add', ['a', 'b'])], params: { a: P(2, 3, 4), b: P(4) } },
  { name: 'Add [2,1,4] + [3,1] (both broadcast)', nodes: [n('Add', ['a', 'b'])], params: { a: P(2, 1, 4), b: P(3, 1) } },
  { name: 'Sub [2,3] - [2,1], scalar - [2,3]', nodes: [n('Sub', ['a', 'b'], 't'), n('Sub', ['s', 't'])], params: { a: P(2, 3), b: P(2, 1), s: P() } },
  { name: 'Mul [2,1,4] * [3,1]', nodes: [n('Mul', ['a', 'b'])], params: { a: P(2, 1, 4), b: P(3, 1) } },
  { name: 'Mul x * x (one value, two inputs)', nodes: [n('Mul', ['a', 'a'])], params: { a: P(2, 3) } },
  { name: 'Div [2,3,4] / [3,1] and [4] / [2,3,4]', nodes: [n('Div', ['a', 'b'], 't'), n('Div', ['c', 't'])], params: { a: Ppos(2, 3, 4), b: Ppos(3, 1), c: P(4) } },
  { name: 'Sum [2,3] + [3] + [2,1]', nodes: [n('Sum', ['a', 'b', 'c'])], params: { a: P(2, 3), b: P(3), c: P(2, 1) } },
  { name: 'Neg', nodes: [n('Neg', ['a'])], params: { a: P(2, 3) } },
  { name: 'Pow, constant exponent 2 (Constant node)', nodes: [k('e', 'float64', [], [2]), n('Pow', ['a', 'e'])], params: { a: P(2, 3) } },
  { name: 'Pow, constant exponent 3 (frozen initializer)', nodes: [n('Pow', ['a', 'e'])], params: { a: P(2, 3), e: { dims: [], values: [3] } }, frozen: ['e'] },
  { name: 'Pow, constant exponent 0.5 and int64 exponent 3', nodes: [k('h', 'float64', [], [0.5]), k('i3', 'int64', [], [3]), n('Pow', ['a', 'h'], 't'), n('Pow', ['t', 'i3'])], params: { a: Ppos(2, 3) } },
  { name: 'Pow, trainable base [2,3] and exponent [3]', nodes: [n('Pow', ['a', 'b'])], params: { a: Ppos(2, 3), b: P(3) } },
  { name: 'Sqrt', nodes: [n('Sqrt', ['a'])], params: { a: Ppos(2, 3) } },
  { name: 'Exp', nodes: [n('Exp', ['a'])], params: { a: P(2, 3) } },
  { name: 'Log', nodes: [n('Log', ['a'])], params: { a: Ppos(2, 3) } },
  { name: 'Tanh', nodes: [n('Tanh', ['a'])], params: { a: P(2, 3) } },
  { name: 'Sigmoid', nodes: [n('Sigmoid', ['a'])], params: { a: P(2, 3) } },
  { name: 'Relu', nodes: [n('Relu', ['a'])], params: { a: P(3, 4) } },
  { name: 'LeakyRelu alpha 0.2', nodes: [n('LeakyRelu', ['a'], 'y', { alpha: attr.f(0.2) })], params: { a: P(3, 4) } },
  { name: 'Max [2,3] with [3] and Min with a constant', nodes: [k('c0', 'float64', [], [0.1]), n('Max', ['a', 'b'], 't'), n('Min', ['t', 'c0'])], params: { a: P(2, 3), b: P(3) } },
  { name: 'Clip with min and max, and with max only', nodes: [k('lo', 'float64', [], [-0.5]), k('hi', 'float64', [], [0.7]), n('Clip', ['a', 'lo', 'hi'], 't'), n('Clip', ['a', '', 'hi'], 'u'), n('Add', ['t', 'u'])], params: { a: P(3, 4) } },
  { name: 'Reciprocal', nodes: [n('Reciprocal', ['a'])], params: { a: Ppos(2, 3) } },
  { name: 'Abs', nodes: [n('Abs', ['a'])], params: { a: P(2, 3) } },
  { name: 'Erf (float32)', nodes: [n('Erf', ['a'])], params: { a: P(3, 4) }, dtype: 'float32' },
  // onnxruntime runs the exact Gelu through Erf, so float32 only; the tanh form runs in float64.
  { name: 'Gelu (opset 20, exact, float32)', nodes: [n('Gelu', ['a'])], params: { a: P(3, 4) }, opset: 20, dtype: 'float32' },
  { name: 'Gelu (opset 20, tanh)', nodes: [n('Gelu', ['a'], 'y', { approximate: attr.s('tanh') })], params: { a: P(3, 4) }, opset: 20 },
  { name: 'Identity', nodes: [n('Identity', ['a'])], params: { a: P(2, 3) } },
  // Normalizations and reductions.
  { name: 'Softmax axis -1', nodes: [n('Softmax', ['a'], 'y', { axis: attr.i(-1) })], params: { a: P(2, 3, 4) } },
  { name: 'Softmax axis 1', nodes: [n('Softmax', ['a'], 'y', { axis: attr.i(1) })], params: { a: P(2, 3, 4) } },
  { name: 'LogSoftmax axis 0', nodes: [n('LogSoftmax', ['a'], 'y', { axis: attr.i(0) })], params: { a: P(2, 3, 4) } },
  { name: 'LayerNormalization axis -1', nodes: [n('LayerNormalization', ['x', 's', 'b'], 'y', { axis: attr.i(-1), epsilon: attr.f(1e-5) })], params: { x: P(2, 3, 4), s: P(4), b: P(4) } },
  { name: 'LayerNormalization axis 1, no bias', nodes: [n('LayerNormalization', ['x', 's'], 'y', { axis: attr.i(1), epsilon: attr.f(1e-3) })], params: { x: P(2, 3, 4), s: P(3, 4) } },
  { name: 'LayerNormalization float32 (kernel statistics)', nodes: [n('LayerNormalization', ['x', 's', 'b'], 'y', { epsilon: attr.f(1e-5) })], params: { x: P(2, 3, 8), s: P(8), b: P(8) }, dtype: 'float32' },
  { name: 'ReduceMean axes attribute, keepdims 0', nodes: [n('ReduceMean', ['a'], 'y', { axes: attr.ints([1]), keepdims: attr.i(0) })], params: { a: P(2, 3, 4) } },
  { name: 'ReduceMean axes input (opset 18), keepdims 1', nodes: [k('ax', 'int64', [2], [0, -1]), n('ReduceMean', ['a', 'ax'])], params: { a: P(2, 3, 4) }, opset: 18 },
  { name: 'ReduceMean over all axes', nodes: [n('ReduceMean', ['a'], 'm', { keepdims: attr.i(0) }), n('Mul', ['m', 'a'])], params: { a: P(2, 3) } },
  { name: 'ReduceSum axes input, keepdims 0', nodes: [k('ax', 'int64', [1], [-1]), n('ReduceSum', ['a', 'ax'], 'y', { keepdims: attr.i(0) })], params: { a: P(2, 3, 4) } },
  { name: 'ReduceSum no axes (all), keepdims 1', nodes: [n('ReduceSum', ['a'], 's'), n('Mul', ['s', 'a'])], params: { a: P(2, 3) } },
  { name: 'ReduceSum axes from a graph input', nodes: [n('ReduceSum', ['a', 'axes'], 'y', { keepdims: attr.i(0) })], params: { a: P(2, 3, 4) }, inputs: [{ name: 'axes', dtype: 'int64', shape: [1] }], feeds: { axes: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]) } },
  // Products.
  { name: 'MatMul [2,3,4] x [4,5]', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(2, 3, 4), b: P(4, 5) } },
  { name: 'MatMul [3,4] x [2,4,5]', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(3, 4), b: P(2, 4, 5) } },
  { name: 'MatMul [2,3,4] x [2,4,5] (batched)', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(2, 3, 4), b: P(2, 4, 5) } },
  { name: 'MatMul [2,1,3,4] x [5,4,6] (batch broadcast both ways)', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(2, 1, 3, 4), b: P(5, 4, 6) } },
  { name: 'MatMul [4] x [2,4,5]', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(4), b: P(2, 4, 5) } },
  { name: 'MatMul [2,3,4] x [4]', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(2, 3, 4), b: P(4) } },
  { name: 'MatMul [4] x [4]', nodes: [n('MatMul', ['a', 'b'], 'd'), n('Mul', ['d', 'a'])], params: { a: P(4), b: P(4) } },
  { name: 'MatMul [3,4] x [4,2]', nodes: [n('MatMul', ['a', 'b'])], params: { a: P(3, 4), b: P(4, 2) } },
  ...[[0, 0], [0, 1], [1, 0], [1, 1]].flatMap(([tA, tB]) => [
    { name: `Gemm transA=${tA} transB=${tB} alpha 0.7 beta 1.3, C [5]`, nodes: [n('Gemm', ['a', 'b', 'c'], 'y', { transA: attr.i(tA), transB: attr.i(tB), alpha: attr.f(0.7), beta: attr.f(1.3) })], params: { a: tA ? P(4, 3) : P(3, 4), b: tB ? P(5, 4) : P(4, 5), c: P(5) } },
  ]),
  { name: 'Gemm C [3,1]', nodes: [n('Gemm', ['a', 'b', 'c'], 'y', { transB: attr.i(1) })], params: { a: P(3, 4), b: P(5, 4), c: P(3, 1) } },
  { name: 'Gemm C scalar, beta 0.5', nodes: [n('Gemm', ['a', 'b', 'c'], 'y', { beta: attr.f(0.5) })], params: { a: P(3, 4), b: P(4, 5), c: P() } },
  { name: 'Gemm without C', nodes: [n('Gemm', ['a', 'b'], 'y', { transA: attr.i(1) })], params: { a: P(4, 3), b: P(4, 5) } },
  // Lookups.
  { name: 'Gather axis 0 (embedding), repeated and negative indices', nodes: [k('ids', 'int64', [2, 4], [1, 3, 1, 0, -1, 3, 3, 2]), n('Gather', ['e', 'ids'])], params: { e: P(5, 3) } },
  { name: 'Gather axis 0, indices from a graph input', nodes: [n('Gather', ['e', 'ids'])], params: { e: P(6, 2) }, inputs: [{ name: 'ids', dtype: 'int64', shape: [3] }], feeds: { ids: new ort.Tensor('int64', BigInt64Array.from([4n, 4n, 1n]), [3]) } },
  { name: 'Gather axis 1, scalar index (CLS token)', nodes: [k('i0', 'int64', [], [0]), n('Gather', ['x', 'i0'], 'y', { axis: attr.i(1) })], params: { x: P(2, 3, 4) } },
  { name: 'Gather axis 1, [2,2] int32 indices', nodes: [k('ix', 'int32', [2, 2], [2, 0, 2, 1]), n('Gather', ['x', 'ix'], 'y', { axis: attr.i(1) })], params: { x: P(2, 3, 4) } },
  { name: 'Gather axis -1', nodes: [k('ix', 'int64', [3], [3, 0, 3]), n('Gather', ['x', 'ix'], 'y', { axis: attr.i(-1) })], params: { x: P(2, 3, 4) } },
  { name: 'GatherElements axis 1', nodes: [k('ix', 'int64', [2, 2, 4], [0, 1, 2, 0, 2, 2, 1, 0, 1, 1, 0, 2, 0, 0, 0, 1]), n('GatherElements', ['x', 'ix'], 'y', { axis: attr.i(1) })], params: { x: P(2, 3, 4) } },
  // Shape ops.
  { name: 'Reshape with 0 and -1', nodes: [k('sh', 'int64', [2], [0, -1]), n('Reshape', ['x', 'sh'], 't'), n('Mul', ['t', 'w'])], params: { x: P(2, 3, 4), w: P(12) } },
  { name: 'Transpose perm [2,0,1] and default', nodes: [n('Transpose', ['x'], 't', { perm: attr.ints([2, 0, 1]) }), n('Transpose', ['t'], 'u'), n('Mul', ['u', 'w'])], params: { x: P(2, 3, 4), w: P(2, 1) } },
  { name: 'Unsqueeze, Squeeze, Flatten', nodes: [k('a1', 'int64', [1], [1]), n('Unsqueeze', ['x', 'a1'], 't'), n('Mul', ['t', 'w'], 'u'), n('Flatten', ['u'], 'f', { axis: attr.i(2) }), n('Squeeze', ['x1'], 's'), n('Sum', ['f', 's'])], params: { x: P(2, 3, 4), w: P(5, 1, 1), x1: P(1, 12) } },
  { name: 'Concat axis 1 with a constant piece', nodes: [k('c', 'float64', [2, 1], [0.5, -1]), n('Concat', ['a', 'c', 'b'], 'y', { axis: attr.i(1) })], params: { a: P(2, 3), b: P(2, 2) } },
  { name: 'Concat of the same value twice, axis -1', nodes: [n('Concat', ['a', 'a'], 't', { axis: attr.i(-1) }), n('Mul', ['t', 'w'])], params: { a: P(2, 3), w: P(6) } },
  { name: 'Split [1,2,3] with an unused piece', nodes: [k('sp', 'int64', [3], [1, 2, 3]), n('Split', ['x', 'sp'], ['p0', 'p1', 'p2'], { axis: attr.i(1) }), n('Concat', ['p2', 'p0'], 'y', { axis: attr.i(1) })], params: { x: P(2, 6) } },
  { name: 'Slice with negative starts and a negative step', nodes: [k('st', 'int64', [2], [1, -1]), k('en', 'int64', [2], [3, -5]), k('ax', 'int64', [2], [1, 2]), k('sp', 'int64', [2], [1, -2]), n('Slice', ['x', 'st', 'en', 'ax', 'sp'])], params: { x: P(2, 4, 5) } },
  { name: 'Slice, starts and ends only', nodes: [k('st', 'int64', [1], [1]), k('en', 'int64', [1], [100]), n('Slice', ['x', 'st', 'en'])], params: { x: P(3, 2) } },
  { name: 'Pad constant mode (MobileBERT trigram style)', nodes: [k('pd', 'int64', [6], [0, 1, 0, 0, 0, 0]), k('v', 'float64', [], [0.25]), n('Pad', ['x', 'pd', 'v'])], params: { x: P(2, 3, 2) } },
  { name: 'Pad reflect and edge modes', nodes: [k('pd', 'int64', [4], [0, 2, 0, 1]), n('Pad', ['x', 'pd'], 't', { mode: attr.s('reflect') }), n('Pad', ['t', 'pd'], 'y', { mode: attr.s('edge') })], params: { x: P(2, 4) } },
  { name: 'Where, condition and both branches broadcast', nodes: [k('c', 'bool', [2, 1, 4], [1, 0, 0, 1, 0, 1, 1, 0]), n('Where', ['c', 'a', 'b'])], params: { a: P(3, 4), b: P(4) } },
  { name: 'Expand [3,1] to [2,3,4]', nodes: [k('sh', 'int64', [3], [2, 3, 4]), n('Expand', ['x', 'sh'])], params: { x: P(3, 1) } },
  { name: 'Cast float64 -> float32 -> float64', nodes: [n('Cast', ['x'], 't', { to: attr.i(1) }), n('Cast', ['t'], 'y', { to: attr.i(11) })], params: { x: P(2, 3) }, cfg: { h: 0.5, rtol: 1e-5, atol: 1e-6 } },
  { name: 'CastLike', nodes: [k('like', 'float32', [], [0]), n('CastLike', ['x', 'like'], 't'), n('Cast', ['t'], 'y', { to: attr.i(11) })], params: { x: P(2, 3) }, cfg: { h: 0.5, rtol: 1e-5, atol: 1e-6 } },
  { name: 'Dropout in inference mode (identity)', nodes: [k('r', 'float64', [], [0.3]), n('Dropout', ['x', 'r'])], params: { x: P(2, 3) } },
  // Shape arithmetic on the path stays untouched: Shape/Gather/Concat build a Reshape target.
  {
    name: 'integer shape computations pass through',
    nodes: [n('Shape', ['x'], 'sh'), k('i1', 'int64', [1], [1]), n('Gather', ['sh', 'i1'], 'd1', { axis: attr.i(0) }), k('m1', 'int64', [1], [-1]),
      n('Concat', ['m1', 'd1'], 'tshape', { axis: attr.i(0) }), n('Reshape', ['x', 'tshape'], 'r'), n('Cast', ['d1'], 'df', { to: attr.i(11) }), n('Div', ['r', 'df'])],
    params: { x: P(2, 3, 4) },
  },
  // A broadcast that depends on the feed: the probe sees batch 1 and 2, so the axes are found at run time.
  {
    name: 'data-dependent broadcast (run-time axes)',
    nodes: [n('Add', ['x', 'p'], 't'), n('Mul', ['t', 'q'])],
    params: { p: P(1, 3), q: P(3) },
    inputs: [{ name: 'x', dtype: 'float64', shape: ['batch', 3] }],
    feeds: { x: new ort.Tensor('float64', Float64Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]), [2, 3]) },
    probe: { symbolSizes: { batch: [1, 2] } },
    cfg: { sizes: { batch: 2 } },
  },
  // Opset 11 forward graph: axes as attributes, Softmax over the flattened trailing dims.
  {
    name: 'opset 11 graph (Unsqueeze/ReduceSum attributes, 2-D Softmax)',
    nodes: [n('Softmax', ['x'], 's', { axis: attr.i(1) }), n('Unsqueeze', ['s'], 'u', { axes: attr.ints([0]) }), n('ReduceSum', ['u'], 'y', { axes: attr.ints([2]), keepdims: attr.i(0) })],
    params: { x: P(2, 3, 4) },
    opset: 11,
  },
];

// Built once per case: the case's test checks the graph, the coverage test reads which rules it ran.
const built = new Map<Case, Promise<{ model: ModelSpec; graph: TrainingGraph }>>();
function buildCase(c: Case): Promise<{ model: ModelSpec; graph: TrainingGraph }> {
  let b = built.get(c);
  if (!b) {
    const model = miniModel(c.nodes, c.params, { opset: c.opset, dtype: c.dtype, inputs: c.inputs, initializers: c.initializers });
    const trainable = Object.keys(c.params).filter((p) => !(c.frozen ?? []).includes(p));
    const loss: LossSpec = c.loss ?? { kind: 'mse', output: c.output ?? 'y' };
    b = buildTrainingGraph(model, { trainable, loss, probe: c.probe?.symbolSizes ? { symbolSizes: c.probe.symbolSizes } : undefined }).then((graph) => ({ model, graph }));
    built.set(c, b);
  }
  return b;
}

for (const c of CASES) {
  test(`gradient rule: ${c.name}`, async () => {
    const { model, graph } = await buildCase(c);
    const r = await gradCheckGraph(graph, model, c.feeds ?? {}, c.cfg);
    assert.deepEqual(r.failures, [], `${r.failures.length} of ${r.checked} gradient elements disagree with finite differences`);
    assert.ok(r.checked > 0);
  });
}

test('every registered gradient rule is finite-difference checked: some case differentiates through a node of its op', async () => {
  const covered = new Set<string>();
  for (const c of CASES) {
    // The case's own nodes, not the loss's (every case's mse would cover Sub, Mul and ReduceMean).
    const own = new Set(c.nodes.map((nd) => nd.name));
    for (const d of (await buildCase(c)).graph.differentiated) if (own.has(d.node)) covered.add(qualifiedOpName(d.domain, d.opType));
  }
  const registered = listRegisteredGradients().map((op) => qualifiedOpName(op.domain, op.opType));
  assert.ok(registered.length > 0);
  assert.deepEqual(registered.filter((op) => !covered.has(op)), [], 'registered gradient rules that no case in CASES differentiates through: add a case for each');
});

test('Dropout in training mode: gradient is dy * mask / (1 - ratio), with the mask the forward pass drew', async () => {
  const { buildTrainingGraph } = await import('../../../../src/core/training/autodiff/training-graph');
  const { TrainingSession } = await import('../../../../src/core/training/autodiff/session');
  const model = miniModel([k('r', 'float64', [], [0.25]), n('Dropout', ['x', 'r'], ['y', 'mask'])], { x: P(4, 25) });
  const tg = await buildTrainingGraph(model, { trainable: ['x'], loss: { kind: 'value', output: 'y' }, dropout: 'train', extraOutputs: ['mask', 'y'] });
  const s = await TrainingSession.create(tg);
  try {
    const x = model.graph.initializers[0].values as Float64Array;
    const out = await s.runRaw({ x: new ort.Tensor('float64', x, [4, 25]) });
    const mask = out.mask.data as Uint8Array;
    const grad = out[tg.gradOutputs.get('x')!].data as Float64Array;
    const y = out.y.data as Float64Array;
    let dropped = 0;
    for (let i = 0; i < 100; i++) {
      // loss = mean(y): d/dx = mask / (1 - ratio) / 100
      assert.ok(Math.abs(grad[i] - (mask[i] ? 1 / 0.75 / 100 : 0)) < 1e-15, `element ${i}`);
      assert.ok(Math.abs(y[i] - (mask[i] ? x[i] / 0.75 : 0)) < 1e-12);
      if (!mask[i]) dropped++;
    }
    assert.ok(dropped > 5 && dropped < 50, `${dropped} of 100 dropped at ratio 0.25`);
    // A new mask each step.
    const again = await s.runRaw({ x: new ort.Tensor('float64', x, [4, 25]) });
    assert.notDeepEqual(Array.from(again.mask.data as Uint8Array), Array.from(mask));
  } finally {
    await s.release();
  }
});
