// Finite-difference checks for the autodiff's tests: build the training graph, run it once for the
// analytic gradients, then perturb parameter elements by +-h and compare with central differences.
import * as ort from 'onnxruntime-node';
import type { DType } from '../../../../src/core/model';
import type { ModelSpec, NodeSpec, TensorSpec, ValueInfoSpec } from '../../../../src/core/onnx/model-spec';
import { seededRandom, normalFill } from '../../../../src/core/onnx/graph-builder';
import { buildTrainingGraph, type TrainingGraph, type TrainingGraphOptions } from '../../../../src/core/training/autodiff/training-graph';
import { TrainingSession } from '../../../../src/core/training/autodiff/session';
import type { Feeds } from '../../../../src/core/training/autodiff/probe';

export type FloatArray = Float32Array | Float64Array;

export function randomValues(dtype: 'float32' | 'float64', n: number, seed: number, opts: { positive?: boolean; scale?: number } = {}): FloatArray {
  const rand = seededRandom(seed);
  const v = normalFill(n, opts.scale ?? 1, rand);
  const out = dtype === 'float64' ? Float64Array.from(v) : Float32Array.from(v);
  // Positive values away from 0 for Log/Sqrt/Pow bases and divisors.
  if (opts.positive) for (let i = 0; i < n; i++) out[i] = 0.5 + Math.abs(out[i]);
  return out;
}

export interface MiniParam {
  dims: number[];
  positive?: boolean;
  values?: number[];
}

/** A small forward graph: params become initializers with random values; no declared outputs. */
export function miniModel(nodes: NodeSpec[], params: Record<string, MiniParam>, opts: { inputs?: ValueInfoSpec[]; initializers?: TensorSpec[]; opset?: number; dtype?: 'float32' | 'float64'; seed?: number } = {}): ModelSpec {
  const dtype = opts.dtype ?? 'float64';
  let seed = opts.seed ?? 11;
  const initializers: TensorSpec[] = Object.entries(params).map(([name, p]) => {
    const n = p.dims.reduce((a, b) => a * b, 1);
    const values = p.values ? (dtype === 'float64' ? Float64Array.from(p.values) : Float32Array.from(p.values)) : randomValues(dtype, n, seed++, { positive: p.positive });
    return { name, dtype, dims: p.dims, values };
  });
  return {
    graph: { name: 'mini', nodes, inputs: opts.inputs ?? [], outputs: [], initializers: [...initializers, ...(opts.initializers ?? [])] },
    opsets: [{ domain: '', version: opts.opset ?? 17 }],
    irVersion: 8,
  };
}

/** Random feeds for the training graph's data inputs that the caller did not give (all dims must be numbers or in `sizes`). */
export function completeFeeds(tg: TrainingGraph, given: Feeds, seed = 99, sizes: Record<string, number> = {}): Feeds {
  const feeds: Feeds = { ...given };
  let s = seed;
  for (const v of tg.dataInputs) {
    if (v.name in feeds) continue;
    const dims = v.shape.map((d) => (typeof d === 'number' ? d : sizes[d]));
    if (dims.some((d) => d === undefined)) throw new Error(`completeFeeds: no size for a dim of '${v.name}' (${JSON.stringify(v.shape)})`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (v.dtype === 'float32' || v.dtype === 'float64') feeds[v.name] = new ort.Tensor(v.dtype, randomValues(v.dtype, n, s++), dims);
    else if (v.dtype === 'int64') feeds[v.name] = new ort.Tensor('int64', new BigInt64Array(n), dims);
    else throw new Error(`completeFeeds: ${v.dtype} input '${v.name}'`);
  }
  return feeds;
}

export interface GradCheckOptions {
  h?: number;
  rtol?: number;
  atol?: number;
  /** Elements checked per parameter: all (default) or a random sample of this many. */
  sample?: number;
  seed?: number;
  /** Sizes for symbolic dims of inputs completeFeeds synthesizes. */
  sizes?: Record<string, number>;
}

export interface GradCheckReport {
  checked: number;
  /** Checked elements whose gradient is not ~0 (so the check is not vacuous). */
  nonZero: number;
  maxAbsErr: number;
  /** Over elements with |gradient| > 1e-4 (below, the finite difference's own rounding dominates). */
  maxRelErr: number;
  failures: string[];
  graph: TrainingGraph;
  loss: number;
}

function paramTensor(dtype: DType, values: FloatArray, dims: number[]): ort.Tensor {
  return new ort.Tensor(dtype as 'float64', values as Float64Array, dims);
}

/** Builds the training graph for `forward`, and checks every (or a sample of) gradient element against central differences. */
export async function gradCheck(forward: ModelSpec, options: TrainingGraphOptions, given: Feeds = {}, cfg: GradCheckOptions = {}): Promise<GradCheckReport> {
  return gradCheckGraph(await buildTrainingGraph(forward, options), forward, given, cfg);
}

/** gradCheck of a training graph already built from `forward`. */
export async function gradCheckGraph(tg: TrainingGraph, forward: ModelSpec, given: Feeds = {}, cfg: GradCheckOptions = {}): Promise<GradCheckReport> {
  const session = await TrainingSession.create(tg);
  try {
    return await checkWithSession(tg, session, forward, completeFeeds(tg, given, 99, cfg.sizes), cfg);
  } finally {
    await session.release();
  }
}

export async function checkWithSession(tg: TrainingGraph, session: TrainingSession, forward: ModelSpec, feeds: Feeds, cfg: GradCheckOptions = {}): Promise<GradCheckReport> {
  const dtype = tg.paramInfo.get(tg.paramInputs[0])?.dtype ?? 'float64';
  const h = cfg.h ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const rtol = cfg.rtol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  const atol = cfg.atol ?? (dtype === 'float64' ? 1e-8 : 1e-3);
  const byName = new Map(forward.graph.initializers.map((t) => [t.name, t]));
  const params = new Map<string, FloatArray>();
  for (const p of tg.paramInputs) {
    const t = byName.get(p)!;
    params.set(p, (t.dtype === 'float64' ? Float64Array.from(t.values as Float64Array) : Float32Array.from(t.values as Float32Array)));
  }
  const feedAll = (): Feeds => {
    const f: Feeds = { ...feeds };
    for (const [p, v] of params) f[p] = paramTensor(tg.paramInfo.get(p)!.dtype, v, tg.paramInfo.get(p)!.dims);
    return f;
  };
  const base = await session.runRaw(feedAll());
  const loss = Number(base[tg.lossOutput].data[0]);
  const lossAt = async () => Number((await session.runRaw(feedAll()))[tg.lossOutput].data[0]);
  const rand = seededRandom(cfg.seed ?? 5);
  const failures: string[] = [];
  let checked = 0;
  let nonZero = 0;
  let maxAbsErr = 0;
  let maxRelErr = 0;
  for (const [p, values] of params) {
    const grad = base[tg.gradOutputs.get(p)!].data as FloatArray;
    if (grad.length !== values.length) { failures.push(`${p}: gradient has ${grad.length} values for ${values.length}`); continue; }
    const idx = cfg.sample && cfg.sample < values.length
      ? Array.from({ length: cfg.sample }, () => Math.floor(rand() * values.length))
      : Array.from({ length: values.length }, (_, i) => i);
    for (const i of idx) {
      const v = values[i];
      values[i] = v + h;
      const up = await lossAt();
      values[i] = v - h;
      const down = await lossAt();
      values[i] = v;
      const fd = (up - down) / (2 * h);
      const g = grad[i];
      const err = Math.abs(g - fd);
      const rel = err / Math.max(Math.abs(g), Math.abs(fd), 1e-12);
      checked++;
      maxAbsErr = Math.max(maxAbsErr, err);
      if (Math.max(Math.abs(g), Math.abs(fd)) > 1e-6) nonZero++;
      if (Math.max(Math.abs(g), Math.abs(fd)) > 1e-4) maxRelErr = Math.max(maxRelErr, rel);
      if (!(err <= atol + rtol * Math.max(Math.abs(g), Math.abs(fd)))) failures.push(`${p}[${i}]: autodiff ${g}, finite difference ${fd}`);
    }
  }
  return { checked, nonZero, maxAbsErr, maxRelErr, failures, graph: tg, loss };
}

/**
 * Directional derivatives, for float32 graphs where element-wise differences drown in rounding:
 * for each parameter, a random unit direction v; compares grad . v with (L(p + h v) - L(p - h v)) / 2h.
 */
export async function directionalCheck(tg: TrainingGraph, session: TrainingSession, params: Map<string, Float32Array>, feeds: Feeds, cfg: { h?: number; rtol?: number; atol?: number; seed?: number; only?: string[] } = {}): Promise<{ checked: number; failures: string[]; worstRel: number }> {
  const h = cfg.h ?? 1e-2;
  const rtol = cfg.rtol ?? 3e-2;
  const atol = cfg.atol ?? 2e-4;
  const feedAll = (override?: [string, Float32Array]): Feeds => {
    const f: Feeds = { ...feeds };
    for (const [p, v] of params) f[p] = new ort.Tensor('float32', override && override[0] === p ? override[1] : v, tg.paramInfo.get(p)!.dims);
    return f;
  };
  const base = await session.runRaw(feedAll());
  const rand = seededRandom(cfg.seed ?? 3);
  const failures: string[] = [];
  let checked = 0;
  let worstRel = 0;
  for (const [p, values] of params) {
    if (cfg.only && !cfg.only.includes(p)) continue;
    const g = base[tg.gradOutputs.get(p)!].data as Float32Array;
    const dir = normalFill(values.length, 1, rand);
    const norm = Math.sqrt(dir.reduce((s, x) => s + x * x, 0));
    let dd = 0;
    for (let i = 0; i < values.length; i++) { dir[i] /= norm; dd += g[i] * dir[i]; }
    const shifted = (sign: number) => Float32Array.from(values, (v, i) => v + sign * h * dir[i]);
    const up = Number((await session.runRaw(feedAll([p, shifted(1)])))[tg.lossOutput].data[0]);
    const down = Number((await session.runRaw(feedAll([p, shifted(-1)])))[tg.lossOutput].data[0]);
    const fd = (up - down) / (2 * h);
    checked++;
    const err = Math.abs(dd - fd);
    if (Math.abs(fd) > 10 * atol) worstRel = Math.max(worstRel, err / Math.abs(fd));
    if (!(err <= atol + rtol * Math.abs(fd))) failures.push(`${p}: grad.v ${dd}, finite difference ${fd}`);
  }
  return { checked, failures, worstRel };
}
