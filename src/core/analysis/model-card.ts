import type { DType, ModelFile } from '../model';
import { COMPONENTS, type LayerRow, type TensorRow } from './rows';
import { numberFrom } from './config-values';
import { isWeightDType } from '../model';
import { attributeOnnx, type GraphUse } from './onnx-attribution';
import { type Component, placeOf, roleOf } from './tensor-roles';
import { detectFamily, type FamilyResult } from './family';
import { architectureOf, type Architecture } from './architecture';
import { estimateFlops, type FlopsReport } from './flops';
import { compareConfig, type ConfigCheck } from './config-check';
import { quantizedTensors } from './quantization';
import { quantizationSummary, type QuantizationSummary } from './quantization-summary';
import { isAnonymous } from './tensor-roles';

export interface ModelCard {
  path: string;
  weightsPath: string;
  format: ModelFile['format'];
  family: FamilyResult['family'];
  familyEvidence: string[];
  architecture: Architecture;
  params: {
    /** Unique parameters: every set of numbers counted once (PyTorch's sum of numel over parameters). */
    total: number;
    /** Parameters as executed: a shared layer counted once per use (ALBERT's compute-equivalent size). */
    executed: number;
    byComponent: Record<Component, number>;
    /** Parameters reused across layers or tied between tensors. */
    shared: number;
    sharedTensors: number;
    /** Integer tensors (shape constants, position ids, ...), counted apart from parameters. */
    integerConstants: { tensors: number; elements: number };
    /** Floating-point scalars held in Constant nodes (epsilons, scales), not parameters. */
    scalarConstants: number;
  };
  layers: LayerRow[];
  uniqueLayers: number;
  dtypes: Array<{ dtype: DType; tensors: number; elements: number; bytes: number }>;
  bytes: { weights: number; onDisk: number; files: Array<{ path: string; bytes: number }> };
  flops: FlopsReport;
  metadata: Record<string, string>;
  config?: Record<string, unknown>;
  configPath?: string;
  configCheck: ConfigCheck[];
  tensors: TensorRow[];
  /** For a quantized model: which weights are integers, where, and the bytes that saves. */
  quantization?: QuantizationSummary;
  warnings: string[];
}

export interface AnalyzeOptions {
  seq?: number;
}

/** The analysis behind the model card and `inspect --json`. Reads no tensor data. */
export function analyzeModel(model: ModelFile, options: AnalyzeOptions = {}): ModelCard {
  const seq = options.seq ?? 128;
  const warnings = [...model.warnings];
  const graph = model.onnx ? attributeOnnx(model) : new Map<string, GraphUse>();
  const quantized = model.onnx ? quantizedTensors(model) : new Map<string, never>();

  // Tied storage: the first tensor seen owns it; later ones are aliases counted zero times.
  const storageOwner = new Map<string, string>();
  const rows: TensorRow[] = [];
  let integerTensors = 0;
  let integerElements = 0;
  let scalarConstants = 0;
  for (const t of model.tensors) {
    const use = graph.get(t.name);
    const q = quantized.get(t.name);
    // A quantized weight answers to its float weight's name: `<name>_quantized` as onnxruntime's
    // quantizer (and this tool's) names it, or what the graph says of an anonymous one.
    const stripped = q?.role === 'weight' ? t.name.replace(/_quantized$/, '') : t.name;
    const resolvedName = q?.role === 'weight' && !isAnonymous(stripped) ? stripped : use?.inferredName ?? t.name;
    const place = placeOf(resolvedName);
    const floatLike = isWeightDType(t.dtype);
    // Scales and zero points are the quantization's bookkeeping, counted apart from parameters.
    const quantParam = q !== undefined && q.role !== 'weight';
    // Exporters fold scalars (epsilon, sqrt(d)) into Constant nodes; they are not parameters.
    const isParam = !quantParam && floatLike && (t.origin !== 'constant' || t.elements >= 2);
    if (quantParam) { /* counted in the quantization summary */ }
    else if (!floatLike) { integerTensors++; integerElements += t.elements; }
    else if (!isParam) scalarConstants++;
    let tiedTo: string | undefined;
    if (t.storageKey) {
      const owner = storageOwner.get(t.storageKey);
      if (owner !== undefined) tiedTo = owner; else storageOwner.set(t.storageKey, t.name);
    }
    // An ONNX tensor nobody computes with (dead initializer) still counts: it is stored.
    rows.push({
      name: t.name, resolvedName, shape: t.shape, dtype: t.dtype, elements: t.elements, bytes: t.byteLength,
      component: place.component, layers: [], role: roleOf(resolvedName), isParam, uses: use ? Math.max(use.uses, 1) : 1,
      tiedTo, layout: use?.layout ?? (t.origin === 'initializer' || t.origin === 'constant' ? undefined : 'out-in'), origin: t.origin,
      ...(q ? { quantization: { role: q.role, ...(q.of ? { of: q.of } : {}) } } : {}),
    });
  }
  // A scale or zero point is placed with its weight, named after the weight's resolved name.
  const rowByName = new Map(rows.map((r) => [r.name, r]));
  for (const r of rows) {
    const of = r.quantization?.of ? rowByName.get(r.quantization.of) : undefined;
    if (!of || r.quantization?.role === 'weight') continue;
    r.resolvedName = `${of.resolvedName}_${r.quantization?.role === 'scale' ? 'scale' : 'zero_point'}`;
    r.component = of.component;
    r.role = 'other';
  }

  const byKey = new Map<string, { order: number; rows: TensorRow[] }>();
  for (const r of rows) {
    if (!r.isParam || r.tiedTo) continue;
    const place = placeOf(r.resolvedName);
    if (!place.layerKey) continue;
    const entry = byKey.get(place.layerKey) ?? { order: place.layerOrder ?? 0, rows: [] };
    entry.rows.push(r);
    byKey.set(place.layerKey, entry);
  }
  const layerSets = [...byKey.entries()].sort((a, b) => a[1].order - b[1].order);

  const executions = executionsPerSet(model, layerSets.map(([k, v]) => ({ key: k, rows: v.rows })), graph.size > 0, warnings);
  const layers: LayerRow[] = [];
  const setToLayers = new Map<string, number[]>();
  for (const [key, set] of layerSets) {
    const n = executions.get(key) ?? 1;
    const indices: number[] = [];
    setToLayers.set(key, indices);
    for (let i = 0; i < n; i++) {
      const index = layers.length;
      layers.push({ index, params: set.rows.reduce((s, r) => s + r.elements, 0), weights: key });
      indices.push(index);
    }
  }
  // ALBERT runs groups in order: with G groups over N layers, layer i uses group floor(i*G/N); the
  // expansion above already lists each set's executions consecutively, which is that order.
  for (const l of layers) {
    const same = setToLayers.get(l.weights) ?? [];
    if (same.length > 1) l.sharedWith = same.filter((i) => i !== l.index);
  }
  for (const [key, set] of layerSets) for (const r of set.rows) r.layers = setToLayers.get(key) ?? [];
  for (const r of rows) {
    const of = r.quantization?.of ? rowByName.get(r.quantization.of) : undefined;
    if (of && r.quantization?.role !== 'weight') r.layers = of.layers;
  }

  const byComponent = Object.fromEntries(COMPONENTS.map((c) => [c, 0])) as Record<Component, number>;
  let total = 0;
  let executed = 0;
  let shared = 0;
  let sharedTensors = 0;
  // Looked up per row: scanning every row for aliases of each made 20k tensors take seconds.
  const tiedTargets = new Set(rows.map((r) => r.tiedTo));
  for (const r of rows) {
    if (!r.isParam) continue;
    if (r.tiedTo) { sharedTensors++; continue; }
    total += r.elements;
    byComponent[r.component] += r.elements;
    const times = r.layers.length > 1 ? r.layers.length : 1;
    executed += r.elements * times;
    if (times > 1 || tiedTargets.has(r.name)) { shared += r.elements; sharedTensors++; }
  }

  const dtypeMap = new Map<DType, { dtype: DType; tensors: number; elements: number; bytes: number }>();
  let weightBytes = 0;
  for (const r of rows) {
    if (r.tiedTo) continue;
    const d = dtypeMap.get(r.dtype) ?? { dtype: r.dtype, tensors: 0, elements: 0, bytes: 0 };
    d.tensors++; d.elements += r.elements; d.bytes += r.bytes;
    dtypeMap.set(r.dtype, d);
    if (r.isParam) weightBytes += r.bytes;
  }

  const architecture = architectureOf(model, rows, layers, layerSets.length);
  const family = detectFamily(model, rows, architecture);
  const flops = estimateFlops(rows, layers, architecture, seq);
  const quantization = quantizationSummary(rows, layers, model.metadata);
  return {
    path: model.path,
    weightsPath: model.weightsPath,
    format: model.format,
    family: family.family,
    familyEvidence: family.evidence,
    architecture,
    params: {
      total, executed, byComponent, shared, sharedTensors,
      integerConstants: { tensors: integerTensors, elements: integerElements },
      scalarConstants,
    },
    layers,
    uniqueLayers: layerSets.length,
    dtypes: [...dtypeMap.values()].sort((a, b) => b.bytes - a.bytes),
    bytes: { weights: weightBytes, onDisk: model.files.reduce((s, f) => s + f.bytes, 0), files: model.files },
    flops,
    metadata: model.metadata,
    config: model.config,
    configPath: model.configPath,
    configCheck: model.config ? compareConfig(model.config, architecture) : [],
    tensors: rows,
    ...(quantization ? { quantization } : {}),
    warnings,
  };
}

/**
 * The most executions of one layer set that are expanded into layer rows. Every row of a shared
 * set lists the others (sharedWith), so the card grows with the square of this; real models run
 * a set at most a few dozen times, and a config.json saying 1e9 made inspection hang.
 */
const MAX_EXECUTIONS = 1024;

/**
 * How many times each layer set runs. An ONNX graph says so directly (the uses of the set's
 * weights); a checkpoint needs config.json (ALBERT's num_hidden_layers over num_hidden_groups).
 */
function executionsPerSet(model: ModelFile, sets: Array<{ key: string; rows: TensorRow[] }>, fromGraph: boolean, warnings: string[]): Map<string, number> {
  const out = new Map<string, number>();
  const albertSets = sets.filter((s) => s.key.startsWith('group.'));
  let capped = false;
  for (const s of sets) {
    if (fromGraph) {
      // A loop, not Math.min(...counts): a spread of ~125k rows overflows the stack.
      let n = Infinity;
      for (const r of s.rows) if (r.uses > 0 && r.uses < n) n = r.uses;
      if (n > MAX_EXECUTIONS && n !== Infinity) { n = MAX_EXECUTIONS; capped = true; }
      out.set(s.key, n === Infinity ? 1 : n);
    } else out.set(s.key, 1);
  }
  if (capped) warnings.push(`a layer's weights are used more than ${MAX_EXECUTIONS} times in the graph; counted as ${MAX_EXECUTIONS} executions`);
  if (!fromGraph && albertSets.length > 0) {
    const n = numberFrom(model.config, ['num_hidden_layers']);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > MAX_EXECUTIONS * albertSets.length)) {
      warnings.push(`config.json num_hidden_layers ${n} is not a layer count this tool believes (1 to ${MAX_EXECUTIONS * albertSets.length}); each layer set is assumed to run once`);
    } else if (n && n % albertSets.length === 0) {
      for (const s of albertSets) out.set(s.key, n / albertSets.length);
    } else {
      warnings.push('ALBERT-style shared layers: without config.json (num_hidden_layers) each layer set is assumed to run once');
    }
  }
  return out;
}
