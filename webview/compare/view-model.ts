// What the comparison panel shows, computed from a CompareView with no DOM: the table's rows, the
// three charts' data, the configuration choices, the status of runs that did not complete and the
// environments the runs were measured in. Model names and paths are returned unchanged: the DOM
// layer renders them as text only. Only types come from the benchmark code (compare.ts uses Node);
// the noise threshold comes with the view.
import type { CompareView } from '../../src/shared/protocol';
import type { CompareRow } from '../../src/core/benchmark/compare';
import type { BenchmarkConfig, EnvironmentRecord, RunStatus } from '../../src/core/benchmark/types';
import { DASH, formatBytes, formatCount, formatMacs as formatMacsShort, formatMs, formatPct, formatRate as formatThroughput, formatSpeedup } from '../../src/core/format';
export { formatMs, formatPct, formatSpeedup, formatThroughput };

export type CompareModel = CompareView['models'][number];

/** 'batch 1 · seq 128 · 2 threads'. */
export function configLabel(c: BenchmarkConfig): string {
  return `batch ${c.batch} · seq ${c.seq} · ${c.threads} ${c.threads === 1 ? 'thread' : 'threads'}`;
}

/** A configuration's stable key, for a select's option values: '1/128/2'. */
export function configKey(c: BenchmarkConfig): string {
  return `${c.batch}/${c.seq}/${c.threads}`;
}

const STATUS_LABEL: Record<RunStatus, string> = { complete: 'Complete', cancelled: 'Cancelled', failed: 'Failed', timeout: 'Timed out' };

// ---------------------------------------------------------------------------------------------
// Rows

/**
 * The model (index into view.models) each row belongs to. The host keeps the models' order and
 * leaves out models without a result at the configuration, so rows match models in order.
 */
export function rowModelIndices(view: CompareView): number[] {
  const out: number[] = [];
  let next = 0;
  for (const r of view.rows) {
    let i = next;
    while (i < view.models.length && !(view.models[i].path === r.path && view.models[i].name === r.model)) i++;
    if (i >= view.models.length) {
      // Not found in order (a host that reordered): fall back to the first match anywhere, else -1.
      const any = view.models.findIndex((m) => m.path === r.path && m.name === r.model);
      out.push(any);
      continue;
    }
    out.push(i);
    next = i + 1;
  }
  return out;
}

export interface CompareRowView {
  /** Index into view.models: what 'setBaseline' sends. -1 when the row matches no model. */
  index: number;
  /** Colour slot (the model's index), the same in every chart. */
  color: number;
  model: string;
  path: string;
  family?: string;
  baseline: boolean;
  params?: number;
  paramsText: string;
  /** The exact count, for a tooltip. */
  paramsExact?: string;
  sizeText: string;
  flopsText: string;
  p50: number;
  p50Text: string;
  p95: number;
  p95Text: string;
  throughputText: string;
  speedup: number;
  speedupText: string;
  /** 'faster' / 'slower' than the baseline (within 1% counts as 'same'). */
  trend: 'faster' | 'slower' | 'same';
  paramsPctText: string;
  sizePctText: string;
  /** From a run that evaluated the model (a distillation's record); benchmarks do not measure it. */
  accuracy?: number;
  accuracyText: string;
  /** Of the baseline's accuracy. */
  accuracyPctText: string;
  noisy: boolean;
  /** Why the row is flagged noisy, in words. */
  noisyReason?: string;
  /** 'cancelled', 'failed', 'timeout' when the run did not complete (its finished results are shown). */
  status: RunStatus;
}

export function noisyReason(r: Pick<CompareRow, 'p50' | 'p95'>, noisyCv: number): string {
  const spread = r.p50 > 0 && Number.isFinite(r.p95 / r.p50) ? `; p95 is ${(r.p95 / r.p50).toFixed(2)}x p50` : '';
  return `latency varied by more than ${Math.round(noisyCv * 100)}% between runs (coefficient of variation)${spread}: rerun on a quiet machine or measure more runs`;
}

export function compareTable(view: CompareView): CompareRowView[] {
  const indices = rowModelIndices(view);
  return view.rows.map((r, k) => {
    const index = indices[k];
    const m = index >= 0 ? view.models[index] : undefined;
    const trend = !Number.isFinite(r.speedup) || Math.abs(r.speedup - 1) < 0.01 ? 'same' : r.speedup > 1 ? 'faster' : 'slower';
    return {
      index,
      color: index >= 0 ? index : k,
      model: r.model,
      path: r.path,
      family: m?.family,
      baseline: r.baseline,
      params: r.params,
      paramsText: r.params !== undefined ? formatMacsShort(r.params) : DASH,
      paramsExact: r.params !== undefined ? `${formatCount(r.params)} parameters` : undefined,
      sizeText: formatBytes(r.bytes),
      flopsText: r.flops !== undefined ? formatMacsShort(r.flops) : DASH,
      p50: r.p50,
      p50Text: formatMs(r.p50),
      p95: r.p95,
      p95Text: formatMs(r.p95),
      throughputText: formatThroughput(r.sequencesPerSec),
      speedup: r.speedup,
      speedupText: formatSpeedup(r.speedup),
      trend,
      paramsPctText: formatPct(r.paramsPct),
      sizePctText: formatPct(r.sizePct),
      ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}),
      accuracyText: r.accuracy !== undefined && Number.isFinite(r.accuracy) ? `${(100 * r.accuracy).toFixed(2)}%` : DASH,
      accuracyPctText: formatPct(r.accuracyPct),
      noisy: r.noisy,
      noisyReason: r.noisy ? noisyReason(r, view.noisyCv) : undefined,
      status: m?.status ?? 'complete',
    };
  });
}

/** The table's column headings, in order (after the baseline choice and the model). */
export function tableHeaders(view: CompareView): Array<{ id: string; label: string; title: string }> {
  return [
    { id: 'params', label: 'Params', title: 'Parameters' },
    { id: 'size', label: 'Size', title: 'Size on disk: the model file and its external data' },
    { id: 'flops', label: `MACs @ ${view.config.seq}`, title: `Multiply-adds per sequence of ${view.config.seq} tokens` },
    { id: 'p50', label: 'p50 ms', title: 'Median latency per batch, milliseconds' },
    { id: 'p95', label: 'p95 ms', title: '95th percentile latency per batch, milliseconds' },
    { id: 'throughput', label: 'seq/s', title: 'Throughput: sequences per second' },
    { id: 'speedup', label: 'Speed-up', title: "The baseline's p50 over this model's: 2.00x is twice as fast" },
    { id: 'params-pct', label: 'Params %', title: "Parameters as a share of the baseline's" },
    { id: 'size-pct', label: 'Size %', title: "Size on disk as a share of the baseline's" },
    ...(hasAccuracy(view) ? [
      { id: 'accuracy', label: 'Accuracy', title: 'Accuracy on the evaluation data, from the run that evaluated the model' },
      { id: 'accuracy-pct', label: 'Accuracy %', title: "Accuracy as a share of the baseline's: how much of it the model kept" },
    ] : []),
  ];
}

/** Accuracy columns show only when some row has an accuracy (a comparison after a distillation). */
export function hasAccuracy(view: CompareView): boolean {
  return view.rows.some((r) => typeof r.accuracy === 'number');
}

/** One sentence about the best trade-off: the fastest model against the baseline. */
export function headline(view: CompareView): string | undefined {
  const base = view.rows.find((r) => r.baseline);
  const others = view.rows.filter((r) => !r.baseline && Number.isFinite(r.speedup));
  if (!base || others.length === 0) return undefined;
  const best = others.reduce((a, b) => (b.speedup > a.speedup ? b : a));
  const size = best.paramsPct !== undefined ? `${formatPct(best.paramsPct)} of its parameters` : `${formatPct(best.sizePct)} of its size`;
  const kept = best.accuracyPct !== undefined ? ` with ${size} and ${formatPct(best.accuracyPct)} of its accuracy` : best.paramsPct !== undefined ? ` with ${size}` : ` at ${size}`;
  if (best.speedup >= 1.005) return `Fastest: ${best.model}, ${formatSpeedup(best.speedup)} the speed of ${base.model}${kept}.`;
  return `No model beats the baseline ${base.model}: the best, ${best.model}, runs at ${formatSpeedup(best.speedup)} its speed${kept}.`;
}

// ---------------------------------------------------------------------------------------------
// Charts

export interface LatencyBars {
  labels: string[];
  p50: number[];
  p95: number[];
  /** Colour slot per bar group. */
  colors: number[];
  /** Index of the baseline's group, or -1. */
  baseline: number;
  description: string;
}

export function latencyBars(rows: readonly CompareRowView[]): LatencyBars {
  return {
    labels: rows.map((r) => r.model),
    p50: rows.map((r) => r.p50),
    p95: rows.map((r) => r.p95),
    colors: rows.map((r) => r.color),
    baseline: rows.findIndex((r) => r.baseline),
    description: rows.length
      ? `Bar chart of p50 and p95 latency per model, milliseconds: ${rows.map((r) => `${r.model} p50 ${r.p50Text}, p95 ${r.p95Text}`).join('; ')}. The table has the same numbers.`
      : 'No latencies to chart.',
  };
}

export interface SeqSeries {
  model: string;
  color: number;
  baseline: boolean;
  points: Array<{ seq: number; p50: number; p95: number }>;
}

export interface SeqChart {
  series: SeqSeries[];
  /** Every sequence length measured, ascending. */
  seqs: number[];
  description: string;
}

/** p50 against sequence length, one line per model that has points, each sorted by length. */
export function seqChart(view: CompareView): SeqChart {
  const series = view.latencyVsSeq
    .map((s, i): SeqSeries => ({
      model: s.model,
      color: i,
      baseline: i === view.baseline && view.rows.some((r) => r.baseline),
      points: [...s.points].filter((p) => Number.isFinite(p.seq) && Number.isFinite(p.p50)).sort((a, b) => a.seq - b.seq),
    }))
    .filter((s) => s.points.length > 0);
  const seqs = [...new Set(series.flatMap((s) => s.points.map((p) => p.seq)))].sort((a, b) => a - b);
  const where = `batch ${view.config.batch}, ${view.config.threads} ${view.config.threads === 1 ? 'thread' : 'threads'}`;
  return {
    series,
    seqs,
    description: series.length
      ? `Line chart of p50 latency against sequence length at ${where}, one line per model: ${series.map((s) => `${s.model} ${s.points.map((p) => `${formatMs(p.p50)} ms at ${p.seq}`).join(', ')}`).join('; ')}.`
      : 'No latencies against sequence length to chart.',
  };
}

export interface ScatterPoint {
  model: string;
  color: number;
  baseline: boolean;
  params: number;
  p50: number;
  /** Short label drawn beside the point (the full name is in the tooltip and the table). */
  label: string;
}

export interface ScatterChart {
  points: ScatterPoint[];
  /** Models left out for want of a parameter count. */
  missing: string[];
  description: string;
}

/** Shortens a label for the chart to `max` characters with an ellipsis. */
export function shortLabel(s: string, max = 28): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * A chart axis label in lines of at most `width` characters, broken after '-', '_', '.', '/' or a
 * space where it can be, hard elsewhere; at most `maxLines` lines, the last ending in '…' if cut.
 */
export function wrapLabel(s: string, width: number, maxLines = 2): string[] {
  const chars = [...s];
  const lines: string[] = [];
  let i = 0;
  while (i < chars.length && lines.length < maxLines) {
    if (chars.length - i <= width) { lines.push(chars.slice(i).join('')); i = chars.length; break; }
    let cut = -1;
    for (let j = i + width; j > i + Math.floor(width / 3); j--) if (/[-_./ ]/.test(chars[j - 1])) { cut = j; break; }
    if (cut < 0) cut = i + width;
    lines.push(chars.slice(i, cut).join('').trimEnd());
    i = cut;
    while (chars[i] === ' ') i++;
  }
  if (i < chars.length) {
    const last = [...lines[lines.length - 1]];
    lines[lines.length - 1] = `${last.slice(0, Math.max(1, width - 1)).join('')}…`;
  }
  return lines;
}

/** Characters per line for a bar group's label, by how many groups share the chart. */
export function barLabelWidth(groups: number): number {
  return groups <= 2 ? 28 : groups <= 3 ? 20 : groups <= 4 ? 15 : groups <= 6 ? 11 : 8;
}

/** Parameters (x) against p50 (y), one labelled point per model with a parameter count. */
export function scatterChart(rows: readonly CompareRowView[]): ScatterChart {
  const points = rows.filter((r) => r.params !== undefined && Number.isFinite(r.params)).map((r): ScatterPoint => ({
    model: r.model, color: r.color, baseline: r.baseline, params: r.params as number, p50: r.p50, label: shortLabel(r.model),
  }));
  const missing = rows.filter((r) => r.params === undefined).map((r) => r.model);
  return {
    points,
    missing,
    description: points.length
      ? `Scatter chart of parameters against p50 latency: ${points.map((p) => `${p.model} ${formatMacsShort(p.params)} parameters, ${formatMs(p.p50)} ms`).join('; ')}.${missing.length ? ` Without a parameter count: ${missing.join(', ')}.` : ''}`
      : 'No model has a parameter count to chart.',
  };
}

// ---------------------------------------------------------------------------------------------
// The configuration selector

export interface ConfigOption {
  key: string;
  label: string;
  config: BenchmarkConfig;
  selected: boolean;
}

/** The configurations every run measured, plus the shown one if the host left it out. */
export function configOptions(view: CompareView): ConfigOption[] {
  const current = configKey(view.config);
  const list = view.configs.some((c) => configKey(c) === current) ? view.configs : [view.config, ...view.configs];
  const seen = new Set<string>();
  return list
    .filter((c) => { const k = configKey(c); if (seen.has(k)) return false; seen.add(k); return true; })
    .map((c) => ({ key: configKey(c), label: configLabel(c), config: { batch: c.batch, seq: c.seq, threads: c.threads }, selected: configKey(c) === current }));
}

// ---------------------------------------------------------------------------------------------
// Runs that did not complete

export interface RunStatusLine {
  index: number;
  model: string;
  status: RunStatus;
  label: string;
  /** What it means for this view. */
  detail: string;
  error?: string;
}

export function runStatusLines(view: CompareView): RunStatusLine[] {
  const inTable = new Set(rowModelIndices(view));
  const lines: RunStatusLine[] = [];
  view.models.forEach((m, i) => {
    if (m.status === 'complete') return;
    const shown = inTable.has(i);
    const what = m.status === 'cancelled' ? 'was cancelled' : m.status === 'timeout' ? 'timed out' : 'failed';
    lines.push({
      index: i,
      model: m.name,
      status: m.status,
      label: STATUS_LABEL[m.status] ?? String(m.status),
      detail: shown
        ? `The run ${what} before it finished; the table shows the configurations it completed.`
        : `The run ${what} before it measured ${configLabel(view.config)}; it is not in the table.`,
      error: m.error || undefined,
    });
  });
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Environments

export interface EnvironmentFact {
  id: 'cpu' | 'cores' | 'os' | 'node' | 'onnxruntime';
  label: string;
  /** The common value, or 'differs between runs'. */
  value: string;
  differs: boolean;
  /** Per model, when the values differ. */
  perModel: Array<{ model: string; value: string }>;
  /** When the values differ: each distinct value with the models measured with it, most common first. */
  groups: Array<{ value: string; models: string[] }>;
}

export interface EnvironmentSummary {
  facts: EnvironmentFact[];
  differs: boolean;
  /** The labels of the facts that differ. */
  differing: string[];
  /** When the runs were measured: one date or a range (ISO dates). */
  measured?: string;
  /** One line: the machine, or what differs. */
  text: string;
}

const ENV_FIELDS: Array<{ id: EnvironmentFact['id']; label: string; get: (e: EnvironmentRecord) => string }> = [
  { id: 'cpu', label: 'CPU', get: (e) => e.cpuModel },
  { id: 'cores', label: 'Cores', get: (e) => String(e.cores) },
  { id: 'os', label: 'OS', get: (e) => e.os },
  { id: 'node', label: 'Node', get: (e) => e.node },
  { id: 'onnxruntime', label: 'onnxruntime', get: (e) => e.onnxruntime },
];

export function environmentSummary(view: CompareView): EnvironmentSummary {
  const models = view.models.filter((m) => m.environment && typeof m.environment === 'object');
  const facts = ENV_FIELDS.map((f): EnvironmentFact => {
    const perModel = models.map((m) => ({ model: m.name, value: String(f.get(m.environment) ?? 'unknown') }));
    const distinct = [...new Set(perModel.map((p) => p.value))];
    const differs = distinct.length > 1;
    const groups = differs
      ? distinct.map((value) => ({ value, models: perModel.filter((p) => p.value === value).map((p) => p.model) })).sort((a, b) => b.models.length - a.models.length)
      : [];
    return { id: f.id, label: f.label, value: differs ? 'differs between runs' : distinct[0] ?? 'unknown', differs, perModel: differs ? perModel : [], groups };
  });
  const differing = facts.filter((f) => f.differs).map((f) => f.label);
  const dates = models.map((m) => m.environment.timestamp).filter((t) => typeof t === 'string' && t).map((t) => t.slice(0, 10)).sort();
  const measured = dates.length ? (dates[0] === dates[dates.length - 1] ? dates[0] : `${dates[0]} to ${dates[dates.length - 1]}`) : undefined;
  const byId = (id: EnvironmentFact['id']) => facts.find((f) => f.id === id)?.value ?? 'unknown';
  const text = differing.length
    ? `The runs were measured in different environments (${differing.join(', ')} differ): latencies may not be comparable.`
    : models.length
      ? `${byId('cpu')} · ${byId('cores')} cores · ${byId('os')} · Node ${byId('node')} · onnxruntime ${byId('onnxruntime')}`
      : 'No environment was recorded.';
  return { facts, differs: differing.length > 0, differing, measured, text };
}

// ---------------------------------------------------------------------------------------------
// Everything the panel shows

export interface ComparePanel {
  title: string;
  subtitle: string;
  headline?: string;
  config: ConfigOption[];
  rows: CompareRowView[];
  headers: ReturnType<typeof tableHeaders>;
  latency: LatencyBars;
  seq: SeqChart;
  scatter: ScatterChart;
  statuses: RunStatusLine[];
  environment: EnvironmentSummary;
  warnings: string[];
}

export function comparePanel(view: CompareView): ComparePanel {
  const rows = compareTable(view);
  const base = rows.find((r) => r.baseline);
  const n = view.models.length;
  return {
    title: `Comparing ${n} ${n === 1 ? 'model' : 'models'}`,
    subtitle: `${configLabel(view.config)}${base ? ` · baseline ${base.model}` : ''}`,
    headline: headline(view),
    config: configOptions(view),
    rows,
    headers: tableHeaders(view),
    latency: latencyBars(rows),
    seq: seqChart(view),
    scatter: scatterChart(rows),
    statuses: runStatusLines(view),
    environment: environmentSummary(view),
    warnings: panelWarnings(view),
  };
}

/**
 * The host's warnings, less those that only repeat a status line: a run that did not complete and
 * is not in the table already has its line ('<model>: no result at ...').
 */
export function panelWarnings(view: CompareView): string[] {
  const inTable = new Set(rowModelIndices(view));
  const told = view.models.filter((m, i) => m.status !== 'complete' && !inTable.has(i)).map((m) => `${m.name}: no result at `);
  return view.warnings.filter((w) => typeof w === 'string' && w.length > 0 && !told.some((t) => w.startsWith(t)));
}

/** A structural check of a 'view' payload before it is shown (a bad one is reported, not trusted). */
export function looksLikeCompareView(x: unknown): x is CompareView {
  const v = x as Partial<CompareView> | null;
  const isConfig = (c: unknown) => !!c && typeof c === 'object' && ['batch', 'seq', 'threads'].every((k) => typeof (c as Record<string, unknown>)[k] === 'number');
  return !!v && typeof v === 'object' && isConfig(v.config) && Array.isArray(v.configs) && v.configs.every(isConfig)
    && typeof v.baseline === 'number' && Array.isArray(v.rows) && Array.isArray(v.models) && Array.isArray(v.latencyVsSeq) && Array.isArray(v.warnings) && typeof v.noisyCv === 'number'
    && v.rows.every((r) => !!r && typeof r.model === 'string' && typeof r.path === 'string' && typeof r.p50 === 'number' && typeof r.p95 === 'number' && typeof r.speedup === 'number' && typeof r.bytes === 'number')
    && v.models.every((m) => !!m && typeof m.name === 'string' && typeof m.path === 'string' && typeof m.status === 'string')
    && v.latencyVsSeq.every((s) => !!s && typeof s.model === 'string' && Array.isArray(s.points));
}
