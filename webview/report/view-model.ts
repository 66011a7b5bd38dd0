// What the compression report panel shows, computed from the report the host sent, with no DOM:
// the table's cells (a missing figure and a stale one marked, saying why), the accuracy-latency
// points with the frontier, parameters per component per model, and the layer maps. Model names
// and paths are returned unchanged: the DOM layer renders them as text only. Only types come
// from the report code; numbers are formatted by core/format, as on every surface.
import type { CompressionReport, ReportRow } from '../../src/core/report/build-report';
import type { RunLayerMap } from '../../src/shared/protocol';
import { DASH, formatBytes, formatCount, formatDuration, formatMacs, formatMs, formatPct, formatSpeedup } from '../../src/core/format';

export type CellMark = 'missing' | 'stale';

export interface ReportCell {
  text: string;
  /** Why a figure is missing or stale, or the exact value. */
  title?: string;
  mark?: CellMark;
}

export const COLUMNS = [
  { id: 'params', label: 'Params', title: 'Parameters (shared weights counted once)' },
  { id: 'paramsPct', label: 'Params %', title: "Parameters as a share of the teacher's" },
  { id: 'nonEmbeddingPct', label: 'Non-emb. %', title: "Parameters outside the embeddings as a share of the teacher's: what sharing and bottlenecks cut" },
  { id: 'size', label: 'Size', title: 'Size on disk' },
  { id: 'flops', label: 'MACs', title: 'Multiply-adds for one sequence' },
  { id: 'p50', label: 'p50 ms', title: 'Median latency from the newest benchmark of this very file' },
  { id: 'speedup', label: 'Speed-up', title: "The teacher's p50 over this model's" },
  { id: 'accuracy', label: 'Accuracy', title: 'On the evaluation data, from the run that evaluated the model' },
  { id: 'accuracyPct', label: 'Accuracy %', title: "Accuracy as a share of the teacher's" },
  { id: 'training', label: 'Training', title: 'Wall time of the job that made the model' },
] as const;

export type ColumnId = (typeof COLUMNS)[number]['id'];

export interface ReportRowView {
  name: string;
  role: ReportRow['role'];
  technique: string;
  how: string;
  path: string;
  pareto: boolean;
  /** Colour slot, the same in every chart. */
  slot: number;
  /** The model file is gone: every figure read from it is missing. */
  gone: boolean;
  cells: Record<ColumnId, ReportCell>;
  notes: string[];
}

/** Which of a row's notes (build-report's words) make a column missing or stale. */
function marks(notes: readonly string[]): { latency?: { mark: CellMark; why: string }; accuracy?: { mark: CellMark; why: string }; file?: string } {
  const out: ReturnType<typeof marks> = {};
  for (const n of notes) {
    if (/^latency stale/.test(n)) out.latency = { mark: 'stale', why: n };
    else if (/^latency missing/.test(n)) out.latency ??= { mark: 'missing', why: n };
    else if (/^accuracy stale/.test(n)) out.accuracy = { mark: 'stale', why: n };
    else if (/^accuracy missing/.test(n)) out.accuracy ??= { mark: 'missing', why: n };
    else if (/model file is gone|cannot read the model/.test(n)) out.file = n;
  }
  return out;
}

const num = (x: number | undefined) => typeof x === 'number' && Number.isFinite(x);

function cell(value: number | undefined, format: (x: number) => string, flag?: { mark: CellMark; why: string }, exact?: string): ReportCell {
  if (!num(value)) return { text: DASH, ...(flag ? { mark: flag.mark, title: flag.why } : {}) };
  return { text: format(value as number), ...(flag?.mark === 'stale' ? { mark: 'stale' as const, title: flag.why } : exact ? { title: exact } : {}) };
}

export function reportRows(report: CompressionReport): ReportRowView[] {
  return report.rows.map((r, i) => {
    const m = marks(r.notes);
    const fileFlag = m.file ? { mark: 'missing' as const, why: m.file } : undefined;
    const acc = (x: number) => `${(100 * x).toFixed(2)}%`;
    return {
      name: r.name, role: r.role, technique: r.technique, how: r.how, path: r.path, pareto: !!r.pareto, slot: i, gone: !r.exists,
      cells: {
        params: cell(r.params, formatMacs, fileFlag, num(r.params) ? `${formatCount(r.params!)} parameters` : undefined),
        paramsPct: cell(r.paramsPct, (x) => formatPct(x), fileFlag),
        nonEmbeddingPct: cell(r.nonEmbeddingPct, (x) => formatPct(x), fileFlag),
        size: cell(r.bytes, formatBytes, fileFlag),
        flops: cell(r.flops, formatMacs, fileFlag),
        p50: cell(r.p50, formatMs, m.latency ?? fileFlag),
        speedup: cell(r.speedup, formatSpeedup, m.latency ?? fileFlag),
        accuracy: cell(r.accuracy, acc, m.accuracy),
        accuracyPct: cell(r.accuracyPct, (x) => formatPct(x), m.accuracy),
        training: cell(r.trainingSec, formatDuration),
      },
      notes: [...r.notes],
    };
  });
}

/** How many figures are missing or stale across the table, for the summary line. */
export function markCounts(rows: readonly ReportRowView[]): { missing: number; stale: number } {
  let missing = 0;
  let stale = 0;
  for (const r of rows) for (const c of Object.values(r.cells)) { if (c.mark === 'missing') missing++; else if (c.mark === 'stale') stale++; }
  return { missing, stale };
}

// ---------------------------------------------------------------------------------------------
// Charts

export interface TradeoffPoint {
  name: string;
  slot: number;
  p50: number;
  /** Percent. */
  accuracy: number;
  pareto: boolean;
  stale: boolean;
}

export interface TradeoffChart {
  points: TradeoffPoint[];
  /** The frontier's points from fastest to slowest: the line drawn through them. */
  frontier: Array<{ p50: number; accuracy: number }>;
  /** Models left out, with what they lack. */
  left: string[];
  /** The accuracy axis, percent: a little room around the points, never past 0..100. */
  yMin: number;
  yMax: number;
  description: string;
}

export function tradeoffChart(rows: readonly ReportRowView[], report: CompressionReport): TradeoffChart {
  const points: TradeoffPoint[] = [];
  const left: string[] = [];
  rows.forEach((v, i) => {
    const r = report.rows[i];
    if (num(r.p50) && num(r.accuracy)) {
      points.push({ name: v.name, slot: v.slot, p50: r.p50!, accuracy: 100 * r.accuracy!, pareto: !!r.pareto, stale: v.cells.p50.mark === 'stale' || v.cells.accuracy.mark === 'stale' });
    } else left.push(`${v.name} (${[!num(r.p50) ? 'no latency' : '', !num(r.accuracy) ? 'no accuracy' : ''].filter(Boolean).join(', ')})`);
  });
  const frontier = points.filter((p) => p.pareto).sort((a, b) => a.p50 - b.p50).map((p) => ({ p50: p.p50, accuracy: p.accuracy }));
  const accs = points.map((p) => p.accuracy);
  const yMin = accs.length ? Math.max(0, Math.floor(Math.min(...accs) - 3)) : 0;
  const yMax = accs.length ? Math.min(100, Math.max(yMin + 1, Math.ceil(Math.max(...accs) + 2))) : 100;
  return {
    points, frontier, left, yMin, yMax,
    description: points.length
      ? `Scatter chart of accuracy against p50 latency: ${points.map((p) => `${p.name} ${p.accuracy.toFixed(2)}% at ${formatMs(p.p50)} ms${p.pareto ? ' (on the frontier)' : ''}`).join('; ')}.`
      : 'No model has both an accuracy and a latency yet.',
  };
}

export const COMPONENTS = ['embeddings', 'encoder', 'pooler', 'head', 'other'] as const;

export interface ComponentsChart {
  labels: string[];
  series: Array<{ component: (typeof COMPONENTS)[number]; values: number[] }>;
  description: string;
}

export function componentsChart(report: CompressionReport): ComponentsChart {
  const rows = report.rows.filter((r) => r.components);
  return {
    labels: rows.map((r) => r.name),
    series: COMPONENTS.map((c) => ({ component: c, values: rows.map((r) => r.components![c] ?? 0) }))
      .filter((s) => s.values.some((v) => v > 0)),
    description: rows.length
      ? `Stacked bar chart of parameters per component: ${rows.map((r) => `${r.name} ${COMPONENTS.filter((c) => r.components![c]).map((c) => `${c} ${formatCount(r.components![c])}`).join(', ')}`).join('; ')}.`
      : 'No model file could be read.',
  };
}

export function layerMaps(report: CompressionReport): Array<{ name: string; map: RunLayerMap }> {
  return report.rows.filter((r) => r.layerMap && Array.isArray(r.layerMap.links)).map((r) => ({ name: r.name, map: r.layerMap! }));
}

/** A structural check of a 'report' payload before it is shown. */
export function looksLikeReport(x: unknown): x is CompressionReport {
  const r = x as Partial<CompressionReport> | null;
  return !!r && typeof r === 'object' && Array.isArray(r.rows) && Array.isArray(r.warnings) && !!r.config && typeof r.config.seq === 'number'
    && r.rows.every((row) => !!row && typeof row.name === 'string' && typeof row.path === 'string' && Array.isArray(row.notes));
}

/** The line under the title: the configuration and how figures are read. */
export function subtitle(report: CompressionReport, runsFolder: string, runCount: number): string {
  const c = report.config;
  return `${runCount} run${runCount === 1 ? '' : 's'} in ${runsFolder} · latency p50 at batch ${c.batch}, seq ${c.seq}${c.threads ? `, ${c.threads} threads` : ''} · percentages of the teacher`;
}
