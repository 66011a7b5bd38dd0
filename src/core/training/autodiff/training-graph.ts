// From a forward ONNX graph, a loss and the trainable initializers, the training graph: the
// forward ops, the loss ops and the backward ops, as one ordinary ONNX graph that onnxruntime's
// inference build runs (what ONNX Runtime Training's gradient builder does in C++).
//
// The trainable initializers become graph inputs, fed from Float32Arrays at every step, so one
// session serves a whole training run; the graph outputs the loss, each loss term, d(loss)/d(param)
// for every trainable parameter, the forward graph's own outputs (logits, for accuracy) and any
// extra values asked for.
import * as ort from 'onnxruntime-node';
import type { DType } from '../../model';
import { attr, type ModelSpec, type NodeSpec, type TensorSpec, type ValueInfoSpec } from '../../onnx/model-spec';
import { AutodiffError, Emitter, isFloat, type ValueMeta } from './emitter';
import { buildLoss, type LossSpec, type LossTerm } from './losses';
import { probeModel, type Feeds, type ProbeOptions } from './probe';
import { isDefaultDomain } from './registry';
import { gradientRegistry } from './rules';
import type { RuleContext } from './rules/helpers';
import { upgradeToOpset13 } from './opset-upgrade';

export interface TrainingGraphOptions {
  /** Initializers to train (float32 or float64): they become graph inputs, and get gradient outputs. */
  trainable: string[];
  loss: LossSpec;
  /** More values to output (hidden states for a teacher's targets, attention probabilities...). */
  extraOutputs?: string[];
  /**
   * What Dropout nodes in the forward graph do: 'eval' (default) leaves them as the graph says
   * (identity unless their training_mode input is a constant true); 'train' switches them to
   * training mode with a `seed` attribute (dropoutSeed + their index, unless they have one), so
   * each run draws a new mask from onnxruntime's per-node generator, deterministic for a given
   * seed and session. Exported inference graphs usually hold no Dropout nodes at all.
   */
  dropout?: 'eval' | 'train';
  dropoutSeed?: number;
  /** How the shape probe feeds the graph (see probe.ts). */
  probe?: ProbeOptions;
}

export interface TrainingGraph {
  model: ModelSpec;
  /** The scalar loss output. */
  lossOutput: string;
  /** Each loss term's scalar output (`loss/<name>`), before weighting, with its weight. */
  lossTerms: Array<{ name: string; output: string; weight: number }>;
  /** Trainable parameter name -> the output holding d(loss)/d(param), same dtype and shape as the parameter. */
  gradOutputs: Map<string, string>;
  /** The trainable parameters, fed as inputs by these names, in this order. */
  paramInputs: string[];
  /** Shapes and dtypes of the parameters (as in the forward graph). */
  paramInfo: Map<string, { dtype: DType; dims: number[] }>;
  /** Inputs fed at each step besides the parameters: the forward graph's, then the loss's (labels, teacher_logits...). */
  dataInputs: ValueInfoSpec[];
  /** The forward graph's outputs (kept as outputs) and the extra outputs asked for. */
  forwardOutputs: string[];
  extraOutputs: string[];
  warnings: string[];
  stats: { forwardNodes: number; lossNodes: number; backwardNodes: number };
  /**
   * The forward and loss nodes whose gradient rule ran (those between a parameter and the loss),
   * in backward order, with their domain ('' for ai.onnx): which rules this graph exercises.
   */
  differentiated: Array<{ node: string; domain: string; opType: string }>;
}

export function defaultOpset(model: ModelSpec): number | undefined {
  return model.opsets.find((o) => isDefaultDomain(o.domain))?.version;
}

function cloneNode(n: NodeSpec): NodeSpec {
  return { ...n, inputs: [...n.inputs], outputs: [...n.outputs], ...(n.attributes ? { attributes: { ...n.attributes } } : {}) };
}

/** Orders nodes so each comes after the producers of its inputs (keeping the given order where it already does). */
export function sortTopologically(nodes: NodeSpec[], known: Iterable<string>): NodeSpec[] {
  const have = new Set<string>(known);
  have.add('');
  const out: NodeSpec[] = [];
  let pending = nodes;
  while (pending.length) {
    const next: NodeSpec[] = [];
    for (const n of pending) {
      if (n.inputs.every((i) => have.has(i))) {
        out.push(n);
        for (const o of n.outputs) have.add(o);
      } else next.push(n);
    }
    if (next.length === pending.length) {
      const n = next[0];
      const missing = n.inputs.filter((i) => !have.has(i));
      throw new AutodiffError(`${n.opType} node '${n.name ?? ''}' reads ${missing.map((m) => `'${m}'`).join(', ')}, which no graph input, initializer or node provides (or the graph has a cycle)`);
    }
    pending = next;
  }
  return out;
}

function numbersOf(t: TensorSpec): number[] | undefined {
  if (Array.isArray(t.values)) return undefined;
  const v = t.values as ArrayLike<number | bigint>;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') return undefined;
  return Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
}

/** Values of Constant nodes and frozen initializers, by name. */
function constantValues(nodes: NodeSpec[], initializers: TensorSpec[]): (name: string) => number[] | undefined {
  const consts = new Map<string, () => number[] | undefined>();
  for (const t of initializers) consts.set(t.name, () => numbersOf(t));
  for (const n of nodes) {
    if (n.opType !== 'Constant' || !isDefaultDomain(n.domain) || !n.outputs[0]) continue;
    const a = n.attributes ?? {};
    const v = a.value ?? a.value_float ?? a.value_floats ?? a.value_int ?? a.value_ints;
    if (!v) continue;
    consts.set(n.outputs[0], () => {
      switch (v.type) {
        case 'tensor': return numbersOf(v.value);
        case 'float': case 'int': return [v.value];
        case 'floats': case 'ints': return v.value;
        default: return undefined;
      }
    });
  }
  const cache = new Map<string, number[] | undefined>();
  return (name) => {
    if (!cache.has(name)) cache.set(name, consts.get(name)?.());
    return cache.get(name);
  };
}

function ortTensor(t: TensorSpec): ort.Tensor {
  return new ort.Tensor(t.dtype as 'float32', t.values as Float32Array, t.dims);
}

function pickNames(feeds: Feeds, names: ValueInfoSpec[]): Feeds {
  return Object.fromEntries(names.filter((v) => v.name in feeds).map((v) => [v.name, feeds[v.name]]));
}

/**
 * Builds the training graph. Async because it runs the shape probe (two small forward runs in
 * onnxruntime); the result is plain data, serializable with serializeModel/writeModel.
 */
export async function buildTrainingGraph(forward: ModelSpec, opts: TrainingGraphOptions): Promise<TrainingGraph> {
  const src = forward.graph;
  const opset = defaultOpset(forward);
  if (opset === undefined) throw new AutodiffError('the model imports no default-domain (ai.onnx) opset');
  const trainOpset = Math.max(opset, 17);
  const taken = new Set<string>();
  for (const v of [...src.inputs, ...src.outputs]) taken.add(v.name);
  for (const t of src.initializers) taken.add(t.name);
  for (const n of src.nodes) {
    for (const v of [...n.inputs, ...n.outputs]) if (v) taken.add(v);
    if (n.name) taken.add(n.name);
  }

  let nodes = src.nodes.map(cloneNode);
  const pre = new Emitter(trainOpset, taken, 'train/');
  if (opset < 13) nodes = upgradeToOpset13(nodes, opset, pre);
  if (opset < 16) {
    const roi = nodes.find((n) => n.opType === 'RoiAlign' && isDefaultDomain(n.domain));
    if (roi) throw new AutodiffError(`RoiAlign node '${roi.name ?? ''}': its semantics change at opset 16, and the training graph needs opset 17`);
  }
  const opsets = forward.opsets.filter((o) => !isDefaultDomain(o.domain)).concat([{ domain: '', version: trainOpset }]);

  // Trainable initializers become inputs.
  const trainable = [...opts.trainable];
  const initByName = new Map(src.initializers.map((t) => [t.name, t]));
  const paramInfo = new Map<string, { dtype: DType; dims: number[] }>();
  const fixed: Feeds = {};
  for (const name of trainable) {
    if (paramInfo.has(name)) throw new AutodiffError(`trainable parameter '${name}' is listed twice`);
    const t = initByName.get(name);
    if (!t) {
      const why = src.nodes.some((n) => n.opType === 'Constant' && n.outputs.includes(name)) ? 'it is a Constant node\'s output, not an initializer'
        : src.inputs.some((v) => v.name === name) ? 'it is a graph input, not an initializer'
        : 'the graph has no initializer of that name';
      throw new AutodiffError(`cannot train '${name}': ${why}`);
    }
    if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new AutodiffError(`cannot train '${name}': it is ${t.dtype}; only float32 and float64 initializers are trainable`);
    paramInfo.set(name, { dtype: t.dtype, dims: [...t.dims] });
    fixed[name] = ortTensor(t);
  }
  const initializers = src.initializers.filter((t) => !paramInfo.has(t.name));
  const inputs: ValueInfoSpec[] = src.inputs.filter((v) => !paramInfo.has(v.name) && !initByName.has(v.name)).map((v) => ({ ...v, shape: [...v.shape] }));
  const paramInputs: ValueInfoSpec[] = trainable.map((name) => ({ name, dtype: paramInfo.get(name)!.dtype, shape: paramInfo.get(name)!.dims }));
  const forwardOutputs = src.outputs.map((o) => o.name);

  // Dropout in training mode.
  if (opts.dropout === 'train') {
    let k = 0;
    for (const n of nodes) {
      if (n.opType !== 'Dropout' || !isDefaultDomain(n.domain)) continue;
      n.inputs = [n.inputs[0], n.inputs[1] ?? '', pre.constant('bool', [], [1])];
      if (!n.attributes?.seed) n.attributes = { ...(n.attributes ?? {}), seed: attr.i((opts.dropoutSeed ?? 1234) + k) };
      if (!n.outputs[1]) n.outputs[1] = pre.fresh('dropout_mask');
      k++;
    }
  }
  nodes = sortTopologically([...pre.nodes, ...nodes], [...inputs, ...paramInputs].map((v) => v.name).concat(initializers.map((t) => t.name)));
  const forwardNodeCount = nodes.length;

  const graphOf = (ns: NodeSpec[], ins: ValueInfoSpec[]): ModelSpec => ({
    graph: { name: src.name || 'training', nodes: ns, inputs: [...ins, ...paramInputs], outputs: src.outputs, initializers },
    opsets,
    irVersion: Math.max(forward.irVersion ?? 8, 8),
  });

  // Phase 1: probe the forward graph, to know the values the loss reads.
  const probeOpts: ProbeOptions = { ...(opts.probe ?? {}) };
  const p1 = await probeModel(graphOf(nodes, inputs), fixed, probeOpts);
  const symbolSizes: Record<string, [number, number]> = Object.fromEntries(p1.symbols);
  let dyn = 0;
  const dimsOf = (m: ValueMeta, drop = 0): Array<number | string> => m.dims.slice(0, m.dims.length - drop).map((d, i) => {
    if (d === m.dims2[i]) return d;
    const known = Object.entries(symbolSizes).find(([, s]) => s[0] === d && s[1] === m.dims2[i]);
    if (known) return known[0];
    const name = `dim_${dyn++}`;
    symbolSizes[name] = [d, m.dims2[i]];
    return name;
  });

  const lossEm = new Emitter(trainOpset, taken, 'loss/');
  const lossInputs = inputs.map((v) => v);
  const built = buildLoss({ em: lossEm, meta: (n) => p1.metas.get(n), inputs: lossInputs, dimsOf }, opts.loss);
  const lossOutput = lossEm.claim('loss');
  lossEm.nodes.push({ opType: 'Identity', inputs: [built.loss], outputs: [lossOutput], name: lossEm.claim('loss/total') });
  const lossTerms = built.terms.map((t: LossTerm) => {
    const output = lossEm.claim(`loss/${t.name}`);
    lossEm.nodes.push({ opType: 'Identity', inputs: [t.value], outputs: [output], name: lossEm.claim(`loss/term/${t.name}`) });
    return { name: t.name, output, weight: t.weight };
  });
  const lossNodes = lossEm.nodes;
  const all = [...nodes, ...lossNodes];

  // Phase 2: probe the loss ops alone, fed with the forward values they read from phase 1 (so a
  // large model is not loaded a second time); new loss inputs are synthesized at the same sizes.
  const produced = new Set(lossNodes.flatMap((n) => n.outputs));
  const reads = [...new Set(lossNodes.flatMap((n) => n.inputs).filter((i) => i && !produced.has(i)))];
  const newInputs = lossInputs.filter((v) => !inputs.includes(v));
  const lossGraphInputs: ValueInfoSpec[] = reads.filter((r) => !newInputs.some((v) => v.name === r)).map((r) => {
    const m = p1.metas.get(r);
    if (!m) throw new AutodiffError(`internal: the loss reads '${r}', which the probe did not see`);
    return { name: r, dtype: m.dtype, shape: dimsOf(m) };
  });
  const given = lossGraphInputs.map((v) => v.name);
  const pick = (run: 0 | 1): Feeds => Object.fromEntries(given.map((name) => [name, p1.values[run][name]]));
  const userFeeds = opts.probe?.feeds;
  const p2 = await probeModel(
    { graph: { name: 'loss', nodes: lossNodes, inputs: [...lossGraphInputs, ...newInputs], outputs: [], initializers: [] }, opsets, irVersion: Math.max(forward.irVersion ?? 8, 8) },
    {},
    { symbolSizes, seed: probeOpts.seed, feeds: userFeeds ? [pickNames(userFeeds[0], newInputs), pickNames(userFeeds[1], newInputs)] : undefined },
    [pick(0), pick(1)],
  );
  const metas = new Map([...p1.metas, ...p2.metas]);
  const lossMeta = metas.get(lossOutput)!;
  if (lossMeta.dims.length !== 0) throw new AutodiffError(`the loss is not a scalar (shape ${JSON.stringify(lossMeta.dims)})`);
  if (!isFloat(lossMeta.dtype)) throw new AutodiffError(`the loss is ${lossMeta.dtype}, not a float`);

  // Which values depend on a trainable parameter (float values only) ...
  const requires = new Set<string>(trainable);
  const origin = new Map<string, string>(trainable.map((p) => [p, p]));
  const diff = (n: NodeSpec) => !gradientRegistry.isNonDifferentiable(n.domain, n.opType);
  for (const n of all) {
    if (!diff(n)) continue;
    const from = n.inputs.find((i) => i && requires.has(i));
    if (!from) continue;
    for (const o of n.outputs) {
      const m = o ? metas.get(o) : undefined;
      if (m && isFloat(m.dtype)) { requires.add(o); origin.set(o, origin.get(from)!); }
    }
  }
  if (!requires.has(lossOutput)) throw new AutodiffError('the loss does not depend on any trainable parameter');
  // ... and which of those the loss depends on through differentiable edges.
  const live = new Set<string>([lossOutput]);
  for (let k = all.length - 1; k >= 0; k--) {
    const n = all[k];
    if (!diff(n) || !n.outputs.some((o) => o && live.has(o))) continue;
    for (const i of n.inputs) if (i && requires.has(i)) live.add(i);
  }

  const em = new Emitter(trainOpset, taken, 'grad/');
  const constValue = constantValues(all, initializers);
  const contributions = new Map<string, string[]>([[lossOutput, [em.scalar(lossMeta.dtype, 1)]]]);
  const finalGrad = new Map<string, string>();
  const differentiated: TrainingGraph['differentiated'] = [];
  const gradOf = (v: string): string | undefined => {
    const done = finalGrad.get(v);
    if (done) return done;
    const parts = contributions.get(v);
    if (!parts || parts.length === 0) return undefined;
    const g = em.sum(parts);
    finalGrad.set(v, g);
    return g;
  };
  const metaOf = (name: string): ValueMeta => {
    const m = metas.get(name);
    if (!m) throw new AutodiffError(`internal: the shape probe saw no value '${name}'`);
    return m;
  };

  for (let k = all.length - 1; k >= 0; k--) {
    const n = all[k];
    if (!diff(n) || !n.outputs.some((o) => o && live.has(o))) continue;
    const dy = n.outputs.map((o) => (o && live.has(o) ? gradOf(o) : undefined));
    if (dy.every((d) => d === undefined)) continue;
    const rule = gradientRegistry.ruleFor(n.domain, n.opType);
    if (!rule) {
      const param = origin.get(n.inputs.find((i) => i && live.has(i)) ?? '') ?? '?';
      throw new AutodiffError(`no gradient rule for ${n.domain ? `${n.domain}.` : ''}${n.opType} node '${n.name ?? ''}' (outputs ${n.outputs.map((o) => `'${o}'`).join(', ')}), which lies between trainable parameter '${param}' and the loss; freeze the parameters upstream of it or add a rule`);
    }
    const needs = n.inputs.map((i) => !!i && live.has(i));
    const ctx: RuleContext = {
      node: n,
      em,
      dy,
      needs,
      meta: metaOf,
      constValue,
      ensureOutput(index: number): string {
        while (n.outputs.length <= index) n.outputs.push('');
        if (!n.outputs[index]) n.outputs[index] = em.fresh(`${n.opType}_out${index}`);
        return n.outputs[index];
      },
    };
    let grads: Array<string | undefined>;
    try {
      grads = rule(ctx);
    } catch (e) {
      if (e instanceof AutodiffError && !e.message.includes(`'${n.name ?? ''}'`)) throw new AutodiffError(`${n.opType} node '${n.name ?? ''}': ${e.message}`);
      throw e;
    }
    differentiated.push({ node: n.name ?? '', domain: isDefaultDomain(n.domain) ? '' : n.domain!, opType: n.opType });
    needs.forEach((need, i) => {
      if (!need) return;
      const g = grads[i];
      if (!g) throw new AutodiffError(`the ${n.opType} rule gives no gradient for input ${i} ('${n.inputs[i]}') of node '${n.name ?? ''}'`);
      const list = contributions.get(n.inputs[i]) ?? [];
      list.push(g);
      contributions.set(n.inputs[i], list);
    });
  }

  const warnings: string[] = [];
  const gradOutputs = new Map<string, string>();
  const outputs: ValueInfoSpec[] = [{ name: lossOutput, dtype: lossMeta.dtype, shape: [] }];
  for (const t of lossTerms) outputs.push({ name: t.output, dtype: lossMeta.dtype, shape: [] });
  for (const p of trainable) {
    const info = paramInfo.get(p)!;
    let g = live.has(p) ? gradOf(p) : undefined;
    if (!g) {
      warnings.push(`parameter '${p}' does not affect the loss; its gradient is zero`);
      g = em.zeros(em.ints(info.dims), info.dtype);
    }
    const out = em.claim(`grad/${p}`);
    em.nodes.push({ opType: 'Identity', inputs: [g], outputs: [out], name: em.claim(`grad/output/${p}`) });
    gradOutputs.set(p, out);
    outputs.push({ name: out, dtype: info.dtype, shape: info.dims });
  }
  const listed = new Set(outputs.map((o) => o.name));
  for (const o of src.outputs) if (!listed.has(o.name)) { outputs.push(o); listed.add(o.name); }
  const extraOutputs: string[] = [];
  for (const name of opts.extraOutputs ?? []) {
    if (listed.has(name)) { extraOutputs.push(name); continue; }
    const m = metas.get(name);
    if (!m) throw new AutodiffError(`extra output '${name}': the graph has no such value`);
    outputs.push({ name, dtype: m.dtype, shape: dimsOf(m) });
    listed.add(name);
    extraOutputs.push(name);
  }

  const model: ModelSpec = {
    graph: { name: `${src.name || 'model'}-training`, nodes: [...all, ...em.nodes], inputs: [...lossInputs, ...paramInputs], outputs, initializers },
    opsets,
    irVersion: Math.max(forward.irVersion ?? 8, 8),
    producerName: 'model-compression-lab autodiff',
    metadata: { ...(forward.metadata ?? {}), 'compression_lab.training_graph': JSON.stringify({ params: trainable, loss: lossOutput }) },
  };
  return {
    model,
    lossOutput,
    lossTerms,
    gradOutputs,
    paramInputs: trainable,
    paramInfo,
    dataInputs: lossInputs,
    forwardOutputs,
    extraOutputs,
    warnings,
    stats: { forwardNodes: forwardNodeCount, lossNodes: lossNodes.length, backwardNodes: em.nodes.length },
    differentiated,
  };
}
