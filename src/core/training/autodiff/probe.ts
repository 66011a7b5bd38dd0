// The shape probe: the backward pass needs each forward value's dtype and rank, and which of its
// axes were broadcast (size 1 against a larger size). Rather than re-implement ONNX shape
// inference for every op (Reshape to a Concat of Gathers of Shapes...), the forward graph is run
// once per example feed in onnxruntime with every intermediate value added as a graph output.
// Two feeds with different sizes for each symbolic input dim (batch 2 x sequence 3, then 3 x 4)
// tell static dims (equal in both) from dynamic ones, and structural size-1 axes (1 in both) from
// sizes that happen to be 1. The gradient graph itself stays dynamic (Shape/Reshape/Expand at run
// time), so one session trains at any batch size and sequence length.
import * as ort from 'onnxruntime-node';
import type { DType } from '../../model';
import { serializeModel } from '../../onnx/onnx-writer';
import { type ModelSpec, type ValueInfoSpec } from '../../onnx/model-spec';
import { ProtoWriter } from '../../onnx/proto-writer';
import { normalFill, seededRandom } from '../../onnx/graph-builder';
import { AutodiffError, type ValueMeta } from './emitter';

export type Feeds = Record<string, ort.Tensor>;

export interface ProbeOptions {
  /** Sizes each symbolic input dim takes in the two probe runs (default 2, 3, 4... then 3, 4, 5..., in order of first appearance). */
  symbolSizes?: Record<string, [number, number]>;
  /**
   * Feeds for the two runs, instead of synthesized ones (for inputs whose values matter, such as
   * ids that index a table); inputs missing from them are still synthesized, at the sizes they imply.
   */
  feeds?: [Feeds, Feeds];
  seed?: number;
}

export interface ProbeResult {
  metas: Map<string, ValueMeta>;
  /** The two sizes each symbolic input dim took. */
  symbols: Map<string, [number, number]>;
  /** Every value of each run (feeds included), for probing a graph that continues this one. */
  values: [Record<string, ort.Tensor>, Record<string, ort.Tensor>];
}

/** Symbolic dims of the graph's inputs, with their two probe sizes. */
export function probeSymbols(inputs: ValueInfoSpec[], override: Record<string, [number, number]> = {}): Map<string, [number, number]> {
  const symbols = new Map<string, [number, number]>();
  let next = 0;
  for (const v of inputs) {
    for (const d of v.shape) {
      if (typeof d !== 'string' || symbols.has(d)) continue;
      symbols.set(d, override[d] ?? [2 + next, 3 + next]);
      next++;
    }
  }
  return symbols;
}

function typedArray(dtype: DType, n: number, fill: (i: number) => number): ort.Tensor['data'] {
  switch (dtype) {
    case 'float32': return Float32Array.from({ length: n }, (_, i) => fill(i));
    case 'float64': return Float64Array.from({ length: n }, (_, i) => fill(i));
    case 'int64': return BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.round(fill(i))));
    case 'int32': return Int32Array.from({ length: n }, (_, i) => Math.round(fill(i)));
    case 'bool': case 'uint8': return Uint8Array.from({ length: n }, (_, i) => Math.round(fill(i)));
    default: throw new AutodiffError(`the shape probe cannot synthesize a ${dtype} input; pass probe.feeds`);
  }
}

/**
 * Example feeds for one probe run: floats ~ N(0, 1), integer ids 0 (valid for any lookup
 * table), masks (names containing "mask") 1.
 */
export function synthesizeFeeds(inputs: ValueInfoSpec[], symbols: Map<string, [number, number]>, run: 0 | 1, seed = 7): Feeds {
  const feeds: Feeds = {};
  const rand = seededRandom(seed + run);
  for (const v of inputs) {
    const dims = v.shape.map((d) => (typeof d === 'number' ? d : symbols.get(d)![run]));
    const n = dims.reduce((a, b) => a * b, 1);
    const isMask = /mask/i.test(v.name);
    const normal = v.dtype === 'float32' || v.dtype === 'float64' ? normalFill(n, 1, rand) : undefined;
    const data = typedArray(v.dtype, n, (i) => (normal ? normal[i] : isMask ? 1 : 0));
    feeds[v.name] = new ort.Tensor(v.dtype as 'float32', data as Float32Array, dims);
  }
  return feeds;
}

const ORT_DTYPES: Record<string, DType> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16',
  int32: 'int32', uint32: 'uint32', int64: 'int64', uint64: 'uint64', bool: 'bool', string: 'string',
};

/**
 * Runs the model twice with every node output as a graph output and returns each value's dtype
 * and dims in both runs. `fixed` feeds (the trainable parameters) are the same in both runs;
 * `perRun` feeds are given for each run; other inputs are synthesized (or taken from options.feeds).
 */
export async function probeModel(model: ModelSpec, fixed: Feeds, options: ProbeOptions = {}, perRun?: [Feeds, Feeds]): Promise<ProbeResult> {
  const g = model.graph;
  const free = g.inputs.filter((v) => !(v.name in fixed));
  const symbols = probeSymbols(free, options.symbolSizes);
  const wanted = new Set(free.map((v) => v.name));
  const feeds = ([0, 1] as const).map((run) => {
    const f: Feeds = { ...perRun?.[run], ...options.feeds?.[run] };
    for (const name of Object.keys(f)) if (!wanted.has(name)) delete f[name];
    return f;
  }) as [Feeds, Feeds];
  // Given feeds fix the sizes of their symbolic dims, which synthesized feeds then follow.
  for (const v of free) {
    if (!(v.name in feeds[0]) || !(v.name in feeds[1])) continue;
    v.shape.forEach((d, i) => { if (typeof d === 'string') symbols.set(d, [feeds[0][v.name].dims[i], feeds[1][v.name].dims[i]]); });
  }
  const synthesized = free.filter((v) => !(v.name in feeds[0]) || !(v.name in feeds[1]));
  Object.assign(feeds[0], synthesizeFeeds(synthesized, symbols, 0, options.seed));
  Object.assign(feeds[1], synthesizeFeeds(synthesized, symbols, 1, options.seed));

  // Every node output becomes a graph output. The writer needs a dtype for each output it
  // declares, which is what the probe is for; a second GraphProto holding only typeless output
  // ValueInfos is appended instead: protobuf merges repeated occurrences of an embedded message
  // field, so onnxruntime sees one graph whose outputs are the declared ones plus these.
  const declared = new Set([...g.outputs.map((o) => o.name), ...g.inputs.map((i) => i.name)]);
  const extra: string[] = [];
  for (const n of g.nodes) for (const o of n.outputs) if (o && !declared.has(o)) { declared.add(o); extra.push(o); }
  const graphPatch = new ProtoWriter();
  for (const name of extra) graphPatch.message(12, new ProtoWriter().string(1, name));
  const bytes = Buffer.concat([serializeModel(model), new ProtoWriter().message(7, graphPatch).finish()]);

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  } catch (e) {
    throw new AutodiffError(`onnxruntime cannot load the graph to probe its shapes: ${(e as Error).message}`);
  }
  try {
    const runs: Array<Record<string, ort.Tensor>> = [];
    for (const f of feeds) {
      try {
        runs.push(await session.run({ ...f, ...fixed }));
      } catch (e) {
        throw new AutodiffError(`the shape probe's run of the graph failed (feed sizes ${JSON.stringify(Object.fromEntries(Object.entries(f).map(([k, t]) => [k, t.dims])))}): ${(e as Error).message}`);
      }
    }
    const metas = new Map<string, ValueMeta>();
    const add = (name: string, a: ort.Tensor, b: ort.Tensor) => {
      const dtype = ORT_DTYPES[a.type];
      if (!dtype || !Array.isArray(a.dims)) return;
      metas.set(name, { dtype, dims: [...a.dims], dims2: [...b.dims] });
    };
    for (const name of Object.keys(runs[0])) add(name, runs[0][name], runs[1][name]);
    for (const name of Object.keys(feeds[0])) add(name, feeds[0][name], feeds[1][name]);
    for (const [name, t] of Object.entries(fixed)) add(name, t, t);
    for (const t of g.initializers) metas.set(t.name, { dtype: t.dtype, dims: [...t.dims], dims2: [...t.dims] });
    return { metas, symbols, values: [{ ...feeds[0], ...runs[0] }, { ...feeds[1], ...runs[1] }] };
  } finally {
    await session.release();
  }
}
