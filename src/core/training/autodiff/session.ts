// Runs a training graph in onnxruntime-node: one session for the whole run; each step feeds a
// batch and the current parameter values and gets back the loss and every parameter's gradient.
import * as ort from 'onnxruntime-node';
import { serializeModel } from '../../onnx/onnx-writer';
import { type ModelSpec } from '../../onnx/model-spec';
import type { Batch, Gradients, Parameter } from '../types';
import { AutodiffError } from './emitter';
import type { Feeds } from './probe';
import type { TrainingGraph } from './training-graph';

export interface TrainingSessionOptions {
  /** Intra-op threads (default: onnxruntime's choice, all cores). */
  threads?: number;
  /** onnxruntime graph optimizations (default 'all'). */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface StepResult {
  loss: number;
  /** Each loss term's value (before weighting), by term name. */
  terms: Record<string, number>;
  /** d(loss)/d(param) by parameter name, each the parameter's size (fresh arrays, owned by the caller). */
  grads: Gradients;
  /** The forward graph's outputs (e.g. logits) and the extra outputs. */
  outputs: Record<string, ort.Tensor>;
}

export class TrainingSession {
  private constructor(readonly graph: TrainingGraph, private readonly session: ort.InferenceSession) {}

  static async create(graph: TrainingGraph, options: TrainingSessionOptions = {}): Promise<TrainingSession> {
    const bytes = serializeModel(graph.model);
    try {
      const session = await ort.InferenceSession.create(bytes, {
        graphOptimizationLevel: options.optimizationLevel ?? 'all',
        ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
        logSeverityLevel: 3,
      });
      return new TrainingSession(graph, session);
    } catch (e) {
      throw new AutodiffError(`onnxruntime cannot load the training graph: ${(e as Error).message}`);
    }
  }

  /** One step: the data feeds (graph.dataInputs) and float32 parameter values (graph.paramInputs). */
  async run(feeds: Feeds, params: readonly Parameter[]): Promise<StepResult> {
    const all: Feeds = { ...feeds };
    const byName = new Map(params.map((p) => [p.name, p]));
    for (const name of this.graph.paramInputs) {
      const p = byName.get(name);
      if (!p) throw new AutodiffError(`no value for trainable parameter '${name}'`);
      const info = this.graph.paramInfo.get(name)!;
      if (info.dtype !== 'float32') throw new AutodiffError(`parameter '${name}' is ${info.dtype} in the graph; run() feeds float32 (use runRaw)`);
      const n = info.dims.reduce((a, b) => a * b, 1);
      if (p.values.length !== n) throw new AutodiffError(`parameter '${name}' has ${p.values.length} values; the graph expects ${JSON.stringify(info.dims)}`);
      all[name] = new ort.Tensor('float32', p.values, info.dims);
    }
    if (byName.size !== this.graph.paramInputs.length) {
      const extra = [...byName.keys()].filter((k) => !this.graph.paramInfo.has(k));
      if (extra.length) throw new AutodiffError(`not trainable in this graph: ${extra.join(', ')}`);
    }
    const out = await this.runRaw(all);
    const grads: Gradients = new Map();
    for (const [p, o] of this.graph.gradOutputs) {
      const g = out[o];
      const n = this.graph.paramInfo.get(p)!.dims.reduce((a, b) => a * b, 1);
      if (g.data.length !== n) throw new AutodiffError(`gradient of '${p}' has ${g.data.length} values for a parameter of ${n} (a broadcast the shape probe did not see?)`);
      grads.set(p, g.data as Float32Array);
    }
    const terms: Record<string, number> = {};
    for (const t of this.graph.lossTerms) terms[t.name] = Number(out[t.output].data[0]);
    const outputs: Record<string, ort.Tensor> = {};
    for (const name of [...this.graph.forwardOutputs, ...this.graph.extraOutputs]) outputs[name] = out[name];
    return { loss: Number(out[this.graph.lossOutput].data[0]), terms, grads, outputs };
  }

  /** Runs the graph on complete feeds (data and parameters, any dtype) and returns every output. */
  async runRaw(feeds: Feeds): Promise<Record<string, ort.Tensor>> {
    const missing = this.session.inputNames.filter((n) => !(n in feeds));
    if (missing.length) throw new AutodiffError(`missing input(s): ${missing.join(', ')}`);
    return this.session.run(feeds);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The trainable parameters' current values from the forward model's initializers, as float32 Parameters. */
export function initialParameters(forward: ModelSpec, names: readonly string[]): Parameter[] {
  const byName = new Map(forward.graph.initializers.map((t) => [t.name, t]));
  return names.map((name) => {
    const t = byName.get(name);
    if (!t) throw new AutodiffError(`no initializer '${name}'`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new AutodiffError(`initializer '${name}' is ${t.dtype}, not a float`);
    return { name, shape: [...t.dims], values: Float32Array.from(t.values as Float32Array) };
  });
}

/**
 * The forward model with trained parameter values in place of its initializers (float64
 * initializers get the values widened), ready for writeModel: the trained student.
 */
export function applyParameters(forward: ModelSpec, params: readonly Parameter[]): ModelSpec {
  const byName = new Map(params.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const initializers = forward.graph.initializers.map((t) => {
    const p = byName.get(t.name);
    if (!p) return t;
    seen.add(t.name);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (p.values.length !== n) throw new AutodiffError(`parameter '${p.name}' has ${p.values.length} values; initializer ${JSON.stringify(t.dims)} has ${n}`);
    return { ...t, values: t.dtype === 'float64' ? Float64Array.from(p.values) : Float32Array.from(p.values) };
  });
  const unknown = params.filter((p) => !seen.has(p.name)).map((p) => p.name);
  if (unknown.length) throw new AutodiffError(`no initializer for parameter(s) ${unknown.join(', ')}`);
  return { ...forward, graph: { ...forward.graph, initializers } };
}

/**
 * Float initializers that look trainable: at least two elements (scalars and one-element tensors
 * of an exporter's graph are usually constants such as eps or sqrt(d)). Callers choose from these.
 */
export function trainableCandidates(forward: ModelSpec): string[] {
  return forward.graph.initializers
    .filter((t) => (t.dtype === 'float32' || t.dtype === 'float64') && t.dims.length > 0 && t.dims.reduce((a, b) => a * b, 1) > 1)
    .map((t) => t.name);
}

/** Feeds for a Batch: only the inputs the graph declares (input_ids, attention_mask, token_type_ids, labels). */
export function feedsFromBatch(graph: TrainingGraph, batch: Batch): Feeds {
  const dims = [batch.batch, batch.seq];
  const available: Record<string, ort.Tensor | undefined> = {
    input_ids: new ort.Tensor('int64', batch.inputIds, dims),
    attention_mask: new ort.Tensor('int64', batch.attentionMask, dims),
    token_type_ids: batch.tokenTypeIds ? new ort.Tensor('int64', batch.tokenTypeIds, dims) : undefined,
    labels: new ort.Tensor('int64', batch.labels, [batch.batch]),
  };
  const feeds: Feeds = {};
  for (const v of graph.dataInputs) {
    const t = available[v.name];
    if (t) feeds[v.name] = t;
    else if (v.name === 'token_type_ids') feeds[v.name] = new ort.Tensor('int64', new BigInt64Array(batch.batch * batch.seq), dims);
  }
  return feeds;
}
