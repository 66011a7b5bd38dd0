// What the model card shows, computed from a ModelCard with no DOM: summary facts, the component
// and layer tables (and the charts' data), dtypes, config.json against the weights, and the
// tensor table's filter / sort / paging. Every string here that came from the model (tensor
// names, metadata, evidence) is returned unchanged: the DOM layer renders it as text only.
import type { ModelCard } from '../src/core/analysis/model-card';
import type { TensorRow } from '../src/core/analysis/rows';
import type { FlopsReport } from '../src/core/analysis/flops';
import type { ConfigCheck } from '../src/core/analysis/config-check';
import type { Component } from '../src/core/analysis/tensor-roles';

/** The card's components in display order (kept here so the browser bundle imports no analysis code). */
export const COMPONENT_ORDER: readonly Component[] = ['embeddings', 'encoder', 'pooler', 'head', 'other'];

// ---------------------------------------------------------------------------------------------
// Formatting

import { formatBytes, formatCount, formatMacs as formatMacsShort, formatPercent } from '../src/core/format';
export { formatBytes, formatCount, formatMacsShort, formatPercent };

/** Multiply-adds with the unit word: 16777216 -> '16.78 M MACs'. */
export function formatMacs(n: number): string {
  return `${formatMacsShort(n)} MACs`;
}

/** [500, 16] -> '500 × 16'; a scalar -> 'scalar'. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join(' × ');
}

/** [0,1,2,5,7,8] -> '0–2, 5, 7–8'. */
export function formatIndexList(xs: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < xs.length) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    out.push(j - i >= 2 ? `${xs[i]}–${xs[j]}` : j === i ? String(xs[i]) : `${xs[i]}, ${xs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** 'A', 'B', ... 'Z', 'AA', 'AB', ... */
export function setLetter(i: number): string {
  let s = '';
  let n = i;
  do { s = String.fromCharCode(65 + (n % 26)) + s; n = Math.floor(n / 26) - 1; } while (n >= 0);
  return s;
}

const FORMAT_LABEL: Record<ModelCard['format'], string> = { onnx: 'ONNX', safetensors: 'safetensors', pytorch: 'PyTorch checkpoint' };

/** The last segment of a path, with either separator. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface Fact {
  /** Stable id (also the data-testid the DOM layer gives the value). */
  id: string;
  label: string;
  value: string;
  /** A second, quieter line. */
  detail?: string;
}

export interface Summary {
  family: string;
  evidence: string[];
  /** Headline figures (tiles). */
  headline: Fact[];
  /** Everything else worth a line: format, producer, metadata, sizes. */
  details: Fact[];
}

/** Metadata keys that get a line of their own, with a plain label. */
const KNOWN_METADATA: Array<[string, string]> = [
  ['producer', 'Producer'], ['opset', 'Opset'], ['irVersion', 'ONNX IR version'],
  ['archive', 'Archive'], ['version', 'Serialization version'], ['byteorder', 'Byte order'],
  ['serializationId', 'Serialization id'], ['stateDictKey', 'State dict key'],
];
const MAX_META_VALUE = 200;

export function summaryOf(card: ModelCard, flops: FlopsReport = card.flops): Summary {
  const p = card.params;
  const a = card.architecture;
  const headline: Fact[] = [
    { id: 'family', label: 'Family', value: card.family, detail: FORMAT_LABEL[card.format] ?? card.format },
    {
      id: 'total-params', label: 'Parameters', value: formatCount(p.total),
      detail: p.executed !== p.total ? `${formatCount(p.executed)} as executed` : p.shared ? `${formatCount(p.shared)} in tied tensors` : 'no shared weights',
    },
    {
      id: 'size-on-disk', label: 'Size on disk', value: formatBytes(card.bytes.onDisk),
      detail: card.bytes.files.length > 1 ? `${card.bytes.files.length} files · weights ${formatBytes(card.bytes.weights)}` : `weights ${formatBytes(card.bytes.weights)}`,
    },
    { id: 'flops-value', label: 'Compute', value: formatMacs(flops.total), detail: `per sequence of ${formatCount(flops.seq)} tokens` },
  ];

  const details: Fact[] = [];
  details.push({ id: 'format', label: 'Format', value: FORMAT_LABEL[card.format] ?? card.format });
  details.push({ id: 'weights-file', label: 'Weights file', value: card.weightsPath });
  for (const [key, label] of KNOWN_METADATA) {
    const v = card.metadata[key];
    if (v !== undefined && v !== '') details.push({ id: `meta-${key}`, label, value: clip(v) });
  }
  for (const [key, v] of Object.entries(card.metadata)) {
    if (KNOWN_METADATA.some(([k]) => k === key)) continue;
    details.push({ id: `meta-${key}`, label: key, value: clip(v) });
  }
  details.push({ id: 'unique-params', label: 'Unique parameters', value: formatCount(p.total), detail: 'every set of numbers counted once' });
  details.push({
    id: 'executed-params', label: 'Executed parameters', value: formatCount(p.executed),
    detail: p.executed !== p.total ? 'shared layers counted once per use' : 'no layer runs twice',
  });
  if (p.shared) details.push({ id: 'shared-params', label: 'Shared parameters', value: formatCount(p.shared), detail: `${formatCount(p.sharedTensors)} tensors reused or tied` });
  if (p.integerConstants.tensors) details.push({ id: 'integer-constants', label: 'Integer constants', value: `${formatCount(p.integerConstants.tensors)} tensors`, detail: `${formatCount(p.integerConstants.elements)} elements, not parameters` });
  if (p.scalarConstants) details.push({ id: 'scalar-constants', label: 'Scalar constants', value: formatCount(p.scalarConstants), detail: 'not parameters' });
  details.push({
    id: 'layers', label: 'Encoder layers', value: `${card.layers.length} executed`,
    detail: card.uniqueLayers !== card.layers.length ? `${card.uniqueLayers} distinct weight ${card.uniqueLayers === 1 ? 'set' : 'sets'}` : undefined,
  });
  if (a.hiddenSize !== undefined) details.push({ id: 'hidden-size', label: 'Hidden size', value: String(a.hiddenSize) });
  if (a.numHeads !== undefined) details.push({ id: 'heads', label: 'Attention heads', value: String(a.numHeads), detail: a.numHeadsSource ? `from ${a.numHeadsSource}` : undefined });
  if (a.intermediateSize !== undefined) details.push({ id: 'intermediate-size', label: 'FFN size', value: String(a.intermediateSize), detail: a.feedForwardsPerLayer ? `${a.feedForwardsPerLayer} stacked FFNs per layer` : undefined });
  if (a.bottleneckSize !== undefined) details.push({ id: 'bottleneck', label: 'Bottleneck width', value: String(a.bottleneckSize), detail: a.hiddenSize !== undefined ? `inside each ${a.hiddenSize}-wide block` : undefined });
  if (a.vocabSize !== undefined) details.push({ id: 'embeddings', label: 'Embeddings', value: `${formatCount(a.vocabSize)} × ${a.embeddingSize ?? '?'}`, detail: a.factorisedEmbeddings ? `factorised, projected to ${a.hiddenSize}` : undefined });
  if (a.maxPositions !== undefined) details.push({ id: 'max-positions', label: 'Max positions', value: formatCount(a.maxPositions) });
  if (a.numLabels !== undefined) details.push({ id: 'labels', label: 'Output labels', value: String(a.numLabels) });
  details.push({ id: 'weights-bytes', label: 'Weights', value: formatBytes(card.bytes.weights), detail: `${formatCount(card.bytes.weights)} bytes` });
  details.push({ id: 'on-disk', label: 'On disk', value: formatBytes(card.bytes.onDisk), detail: `${formatCount(card.bytes.onDisk)} bytes${card.bytes.files.length > 1 ? ` in ${card.bytes.files.length} files` : ''}` });
  if (card.configPath) details.push({ id: 'config-path', label: 'config.json', value: card.configPath });
  return { family: card.family, evidence: [...card.familyEvidence], headline, details };
}

function clip(s: string): string {
  return s.length > MAX_META_VALUE ? `${s.slice(0, MAX_META_VALUE)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// Components

export interface ComponentRowView {
  component: Component;
  params: number;
  paramsText: string;
  percent: number;
  percentText: string;
  macs: number;
  macsText: string;
}

/** Components that hold parameters or compute, in display order, with their shares of the total. */
export function componentRows(card: ModelCard, flops: FlopsReport = card.flops): ComponentRowView[] {
  const total = card.params.total;
  return COMPONENT_ORDER
    .filter((c) => (card.params.byComponent[c] ?? 0) > 0 || (flops.byComponent[c] ?? 0) > 0)
    .map((c) => {
      const params = card.params.byComponent[c] ?? 0;
      const macs = flops.byComponent[c] ?? 0;
      return {
        component: c, params, paramsText: formatCount(params),
        percent: total ? (100 * params) / total : 0, percentText: formatPercent(params, total),
        macs, macsText: formatMacsShort(macs),
      };
    });
}

export interface ChartData {
  labels: string[];
  values: number[];
}

export function componentChart(rows: readonly ComponentRowView[]): ChartData {
  const withParams = rows.filter((r) => r.params > 0);
  return { labels: withParams.map((r) => r.component), values: withParams.map((r) => r.params) };
}

// ---------------------------------------------------------------------------------------------
// Layers

export interface LayerRowView {
  index: number;
  params: number;
  paramsText: string;
  weights: string;
  macs: number;
  macsText: string;
  shared: boolean;
  /** 'A', 'B', ... : one letter per set of weights run by more than one layer. */
  sharedSet?: string;
  /** 0-based number of the shared set (for colours). */
  sharedSetIndex?: number;
  /** 'same weights as layers 0, 2 (used 3x)'. */
  sharedText: string;
  /** MobileBERT: 'bottleneck 16 inside 64'. */
  widthText?: string;
  bottleneck?: number;
  hidden?: number;
}

export interface SharedSetView {
  letter: string;
  index: number;
  weights: string;
  layers: number[];
  text: string;
}

export interface LayerMap {
  rows: LayerRowView[];
  sharedSets: SharedSetView[];
  executed: number;
  unique: number;
}

export function layerMap(card: ModelCard, flops: FlopsReport = card.flops): LayerMap {
  const a = card.architecture;
  const setIndex = new Map<string, number>();
  const setLayers = new Map<string, number[]>();
  for (const l of card.layers) {
    if (!l.sharedWith || l.sharedWith.length === 0) continue;
    if (!setIndex.has(l.weights)) setIndex.set(l.weights, setIndex.size);
    setLayers.set(l.weights, [...(setLayers.get(l.weights) ?? []), l.index]);
  }
  const rows = card.layers.map((l): LayerRowView => {
    const macs = flops.perLayer[l.index] ?? 0;
    const shared = !!l.sharedWith && l.sharedWith.length > 0;
    const bottleneck = l.bottleneck ?? a.bottleneckSize;
    const hidden = l.hidden ?? a.hiddenSize;
    const row: LayerRowView = {
      index: l.index, params: l.params, paramsText: formatCount(l.params), weights: l.weights,
      macs, macsText: formatMacsShort(macs), shared, sharedText: '',
    };
    if (shared) {
      const si = setIndex.get(l.weights) ?? 0;
      const others = [...(l.sharedWith ?? [])].sort((x, y) => x - y);
      row.sharedSet = setLetter(si);
      row.sharedSetIndex = si;
      row.sharedText = `same weights as ${others.length === 1 ? 'layer' : 'layers'} ${formatSharedList(others)} (used ${others.length + 1}x)`;
    }
    if (bottleneck !== undefined) {
      row.bottleneck = bottleneck;
      row.hidden = hidden;
      row.widthText = hidden !== undefined ? `bottleneck ${bottleneck} inside ${hidden}` : `bottleneck ${bottleneck}`;
    }
    return row;
  });
  const sharedSets = [...setIndex.entries()].map(([weights, index]): SharedSetView => {
    const layers = setLayers.get(weights) ?? [];
    return { letter: setLetter(index), index, weights, layers, text: `shared set ${setLetter(index)}: layers ${formatIndexList(layers)} run ${weights} (${layers.length}x)` };
  });
  return { rows, sharedSets, executed: card.layers.length, unique: card.uniqueLayers };
}

/** Short lists in full ('0, 2'), long runs compressed ('0–46, 48'). */
function formatSharedList(xs: number[]): string {
  return xs.length <= 6 ? xs.join(', ') : formatIndexList(xs);
}

export interface LayerChartData extends ChartData {
  /** Per bar: the shared set's index, or -1 for a layer with weights of its own. */
  sharedSet: number[];
  /** Per bar: the set letter or ''. */
  marks: string[];
}

export function layerChart(map: LayerMap): LayerChartData {
  return {
    labels: map.rows.map((r) => `L${r.index}`),
    values: map.rows.map((r) => r.params),
    sharedSet: map.rows.map((r) => r.sharedSetIndex ?? -1),
    marks: map.rows.map((r) => r.sharedSet ?? ''),
  };
}

// ---------------------------------------------------------------------------------------------
// Quantization

export interface QuantizationRowView {
  /** The component name, or the layer index as text. */
  key: string;
  /** 'all' quantized, 'some', or 'none' (float matrices only). */
  state: 'all' | 'some' | 'none';
  /** '6 of 6'. */
  quantizedText: string;
  beforeText: string;
  afterText: string;
  /** '−75.0%' of the quantized weights' float bytes, or '' when nothing here is quantized. */
  savedText: string;
  /** The layer's weight set, for layer rows. */
  weights?: string;
}

export interface QuantizationView {
  /** One line: what is quantized and what it saved. */
  headline: string;
  facts: Fact[];
  components: QuantizationRowView[];
  layers: QuantizationRowView[];
}

function quantRow(key: string, share: { quantized: number; float: number; bytesBefore: number; bytesAfter: number }, weights?: string): QuantizationRowView {
  const all = share.quantized + share.float;
  return {
    key,
    state: share.quantized === 0 ? 'none' : share.float === 0 ? 'all' : 'some',
    quantizedText: `${formatCount(share.quantized)} of ${formatCount(all)}`,
    beforeText: share.quantized ? formatBytes(share.bytesBefore) : '—',
    afterText: share.quantized ? formatBytes(share.bytesAfter) : '—',
    savedText: share.quantized ? `−${formatPercent(share.bytesBefore - share.bytesAfter, share.bytesBefore)}` : '',
    ...(weights !== undefined ? { weights } : {}),
  };
}

/** What the card says of a quantized model; undefined for a float one. */
export function quantizationView(card: ModelCard): QuantizationView | undefined {
  const q = card.quantization;
  if (!q) return undefined;
  const types = q.weightTypes.join(', ');
  const granularity = q.perChannel ? 'per output channel' : 'per tensor';
  const settings = q.settings ?? {};
  const facts: Fact[] = [
    { id: 'quant-weights', label: 'Quantized weights', value: `${formatCount(q.total.quantized)} of ${formatCount(q.total.quantized + q.total.float)} weight matrices`, detail: `${types}, ${granularity}${settings.reduceRange === true ? ', 7-bit (reduce_range)' : ''}` },
    { id: 'quant-params', label: 'Parameters in integers', value: formatCount(q.params.quantized), detail: `${formatCount(q.params.float)} stay float (embeddings, norms, biases${q.byComponent.head.float ? ', the head' : ''})` },
    { id: 'quant-bytes', label: 'Bytes of those weights', value: `${formatBytes(q.bytes.before)} → ${formatBytes(q.bytes.after)}`, detail: `${formatBytes(q.bytes.saved)} saved (${formatPercent(q.bytes.saved, q.bytes.before)}), scales and zero points included` },
    { id: 'quant-bookkeeping', label: 'Scales and zero points', value: `${formatCount(q.quantParams.tensors)} tensors`, detail: `${formatBytes(q.quantParams.bytes)}, not parameters` },
  ];
  const components = COMPONENT_ORDER
    .filter((c) => q.byComponent[c].quantized + q.byComponent[c].float > 0)
    .map((c) => quantRow(c, q.byComponent[c]));
  const layers = q.byLayer.map((l) => quantRow(String(l.index), l, l.weights));
  return {
    headline: `${formatCount(q.total.quantized)} weight ${q.total.quantized === 1 ? 'matrix' : 'matrices'} in ${types}: ${formatBytes(q.bytes.before)} → ${formatBytes(q.bytes.after)}, ${formatBytes(q.bytes.saved)} saved`,
    facts, components, layers,
  };
}

// ---------------------------------------------------------------------------------------------
// Dtypes and config.json

export interface DtypeRowView {
  dtype: string;
  tensors: string;
  elements: string;
  bytes: string;
  share: string;
}

export function dtypeRows(card: ModelCard): DtypeRowView[] {
  const all = card.dtypes.reduce((s, d) => s + d.bytes, 0);
  return card.dtypes.map((d) => ({
    dtype: d.dtype, tensors: formatCount(d.tensors), elements: formatCount(d.elements), bytes: formatBytes(d.bytes), share: formatPercent(d.bytes, all),
  }));
}

export interface ConfigRowView {
  field: string;
  config: string;
  weights: string;
  status: 'agrees' | 'disagrees' | 'unchecked';
  /** True when config.json and the weights disagree. */
  flagged: boolean;
  statusText: string;
}

export function configRows(checks: readonly ConfigCheck[]): ConfigRowView[] {
  return checks.map((c) => {
    const status: ConfigRowView['status'] = c.weights === undefined ? 'unchecked' : c.agree ? 'agrees' : 'disagrees';
    return {
      field: c.field,
      config: formatCount(c.config),
      weights: c.weights === undefined ? '—' : formatCount(c.weights),
      status,
      flagged: status === 'disagrees',
      statusText: status === 'agrees' ? 'agrees' : status === 'disagrees' ? 'disagrees' : 'weights cannot tell',
    };
  });
}

export function configSummary(card: ModelCard): string {
  if (!card.configPath) return 'No config.json beside the weights: sizes come from the weights alone.';
  const bad = card.configCheck.filter((c) => !c.agree).length;
  if (!card.configCheck.length) return 'config.json has none of the fields the weights can confirm.';
  return bad
    ? `config.json disagrees with the weights on ${bad} of ${card.configCheck.length} ${card.configCheck.length === 1 ? 'field' : 'fields'}.`
    : `config.json agrees with the weights (${card.configCheck.length} ${card.configCheck.length === 1 ? 'field' : 'fields'} checked).`;
}

// ---------------------------------------------------------------------------------------------
// Tensors

export type TensorSortKey = 'order' | 'name' | 'shape' | 'dtype' | 'elements' | 'bytes' | 'component' | 'layers' | 'role';
export type SortDir = 'asc' | 'desc';

export interface TensorQuery {
  search?: string;
  sort?: TensorSortKey;
  dir?: SortDir;
  /** 0-based. Clamped to the pages there are. */
  page?: number;
  pageSize?: number;
}

export interface TensorRowView {
  /** Position in the card's tensor list (stable key). */
  order: number;
  /** The stored name, unchanged. */
  name: string;
  /** The name the analysis used, when it differs (anonymous ONNX weights). */
  resolvedName?: string;
  shape: string;
  dtype: string;
  elements: string;
  bytes: string;
  component: string;
  layers: string;
  role: string;
  /** 'tied to X', 'not a parameter', 'used 3x'. */
  note: string;
}

export interface TensorPage {
  rows: TensorRowView[];
  /** Tensors in the card. */
  total: number;
  /** Tensors that match the search. */
  matched: number;
  page: number;
  pages: number;
  pageSize: number;
  /** 1-based positions of the page's first and last row among the matches (0 when none). */
  first: number;
  last: number;
  sort: TensorSortKey;
  dir: SortDir;
}

export const DEFAULT_PAGE_SIZE = 100;

export interface IndexedTensor {
  order: number;
  row: TensorRow;
  /** Lower-case text a plain search term is matched against. */
  hay: string;
  firstLayer: number;
}

/**
 * The tensor table over one card: search text and sort orders are computed once, so filtering
 * and paging thousands of tensors is a linear scan of short strings.
 */
export class TensorTable {
  private readonly items: IndexedTensor[];
  private readonly sorted = new Map<string, IndexedTensor[]>();

  constructor(readonly tensors: readonly TensorRow[]) {
    this.items = tensors.map((row, order) => ({
      order,
      row,
      hay: [row.name, row.resolvedName !== row.name ? row.resolvedName : '', row.dtype, row.component, row.role, row.shape.join('x'), row.tiedTo ?? '']
        .join('\n').toLowerCase(),
      firstLayer: row.layers.length ? row.layers[0] : -1,
    }));
  }

  query(q: TensorQuery = {}): TensorPage {
    const sort = q.sort ?? 'order';
    const dir = q.dir ?? 'asc';
    const pageSize = Math.max(1, Math.floor(q.pageSize ?? DEFAULT_PAGE_SIZE));
    const match = compileSearch(q.search ?? '');
    const ordered = this.sortedBy(sort, dir);
    const hits = match ? ordered.filter(match) : ordered;
    const pages = Math.max(1, Math.ceil(hits.length / pageSize));
    const page = Math.min(Math.max(0, Math.floor(q.page ?? 0)), pages - 1);
    const start = page * pageSize;
    const slice = hits.slice(start, start + pageSize);
    return {
      rows: slice.map(viewOf),
      total: this.items.length,
      matched: hits.length,
      page, pages, pageSize,
      first: slice.length ? start + 1 : 0,
      last: start + slice.length,
      sort, dir,
    };
  }

  private sortedBy(sort: TensorSortKey, dir: SortDir): IndexedTensor[] {
    const key = `${sort}:${dir}`;
    let list = this.sorted.get(key);
    if (!list) {
      const cmp = COMPARE[sort];
      list = [...this.items].sort((a, b) => (dir === 'asc' ? cmp(a, b) : cmp(b, a)) || a.order - b.order);
      this.sorted.set(key, list);
    }
    return list;
  }
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const COMPARE: Record<TensorSortKey, (a: IndexedTensor, b: IndexedTensor) => number> = {
  order: (a, b) => a.order - b.order,
  name: (a, b) => byText(a.row.name.toLowerCase(), b.row.name.toLowerCase()),
  shape: (a, b) => {
    const x = a.row.shape;
    const y = b.row.shape;
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  },
  dtype: (a, b) => byText(a.row.dtype, b.row.dtype),
  elements: (a, b) => a.row.elements - b.row.elements,
  bytes: (a, b) => a.row.bytes - b.row.bytes,
  component: (a, b) => COMPONENT_ORDER.indexOf(a.row.component) - COMPONENT_ORDER.indexOf(b.row.component),
  layers: (a, b) => a.firstLayer - b.firstLayer,
  role: (a, b) => byText(a.row.role, b.row.role),
};

/**
 * Search: whitespace-separated terms, all of which must match. A plain term matches the name (or
 * inferred name), dtype, component, role or shape ('64x256'); `layer:3` (or `l:3`) keeps tensors
 * executed by layer 3; `dtype:`, `component:` and `role:` match that field exactly.
 */
export function compileSearch(search: string): ((t: IndexedTensor) => boolean) | undefined {
  const terms = search.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return undefined;
  const tests: Array<(t: IndexedTensor) => boolean> = terms.map((term) => {
    const m = /^(layer|l|dtype|component|role):(.*)$/.exec(term);
    if (m && m[2] !== '') {
      const v = m[2];
      switch (m[1]) {
        case 'layer':
        case 'l': {
          const n = Number(v);
          if (!Number.isInteger(n)) return () => false;
          return (t) => t.row.layers.includes(n);
        }
        case 'dtype': return (t) => t.row.dtype.toLowerCase() === v;
        case 'component': return (t) => t.row.component === v;
        case 'role': return (t) => t.row.role.toLowerCase() === v;
      }
    }
    return (t) => t.hay.includes(term);
  });
  return tests.length === 1 ? tests[0] : (t) => tests.every((f) => f(t));
}

function viewOf(t: IndexedTensor): TensorRowView {
  const r = t.row;
  const notes: string[] = [];
  if (r.tiedTo) notes.push(`tied to ${r.tiedTo}`);
  if (r.quantization?.role === 'weight') notes.push('quantized weight');
  else if (r.quantization) notes.push(`${r.quantization.role === 'scale' ? 'scale' : 'zero point'}${r.quantization.of ? ` of ${r.quantization.of}` : ''}`);
  if (!r.isParam) notes.push('not a parameter');
  if (r.uses > 1 && !r.layers.length) notes.push(`used ${r.uses}x`);
  return {
    order: t.order,
    name: r.name,
    resolvedName: r.resolvedName !== r.name ? r.resolvedName : undefined,
    shape: formatShape(r.shape),
    dtype: r.dtype,
    elements: formatCount(r.elements),
    bytes: formatBytes(r.bytes),
    component: r.component,
    layers: formatIndexList(r.layers),
    role: r.role === 'other' ? '' : r.role,
    note: notes.join('; '),
  };
}

// ---------------------------------------------------------------------------------------------
// The sequence-length control

export const MAX_SEQ = 100_000;

export type SeqCheck = { ok: true; seq: number } | { ok: false; error: string };

/** The FLOPs control's input: a whole number of tokens from 1 to 100,000. */
export function parseSeq(text: string): SeqCheck {
  const s = text.trim().replace(/[,_\s]/g, '');
  if (s === '') return { ok: false, error: 'Enter a sequence length (1 to 100,000 tokens).' };
  if (!/^\d+$/.test(s)) return { ok: false, error: 'Sequence length must be a whole number of tokens (1 to 100,000).' };
  const n = Number(s);
  if (n < 1 || n > MAX_SEQ) return { ok: false, error: 'Sequence length must be between 1 and 100,000 tokens.' };
  return { ok: true, seq: n };
}
