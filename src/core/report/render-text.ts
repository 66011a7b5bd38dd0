// The report as Markdown, CSV and JSON: the table a user decides from, with its notes.
import { DASH, formatBytes, formatCount, formatDuration, formatMacs, formatMs, formatPct, formatSpeedup } from '../format';
import { csvField } from '../benchmark/compare';
import type { CompressionReport, ReportRow } from './build-report';

export const REPORT_COLUMNS = ['model', 'technique', 'params', 'params %', 'non-embedding %', 'size', 'FLOPs', 'p50 ms', 'speed-up', 'accuracy', 'accuracy %', 'training'] as const;

export function reportCells(r: ReportRow): string[] {
  return [
    `${r.name}${r.pareto ? ' *' : ''}`, r.technique,
    r.params !== undefined ? formatCount(r.params) : DASH, formatPct(r.paramsPct), formatPct(r.nonEmbeddingPct),
    r.bytes !== undefined ? formatBytes(r.bytes) : DASH, r.flops !== undefined ? formatMacs(r.flops) : DASH,
    r.p50 !== undefined ? formatMs(r.p50) : DASH, r.speedup !== undefined ? formatSpeedup(r.speedup) : DASH,
    r.accuracy !== undefined ? `${(100 * r.accuracy).toFixed(2)}%` : DASH, formatPct(r.accuracyPct),
    r.trainingSec !== undefined ? formatDuration(r.trainingSec) : DASH,
  ];
}

function notes(report: CompressionReport): string[] {
  return [
    ...report.rows.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`)),
    ...report.warnings,
  ];
}

export function reportMarkdown(report: CompressionReport): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    `| ${REPORT_COLUMNS.join(' | ')} |`,
    `| ${REPORT_COLUMNS.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...report.rows.map((r) => `| ${reportCells(r).map(esc).join(' | ')} |`),
    '',
    `Latency: p50 at batch ${report.config.batch}, sequence ${report.config.seq}${report.config.threads ? `, ${report.config.threads} threads` : ''}, measured on this machine. * marks the accuracy-latency frontier (no other model is both as accurate and as fast). Percentages are of the teacher.`,
    '',
    ...report.rows.map((r) => `- **${esc(r.name)}** (${r.technique}): ${r.how}.`),
  ];
  const n = notes(report);
  if (n.length) lines.push('', 'Notes:', ...n.map((x) => `- ${esc(x)}`));
  return lines.join('\n') + '\n';
}

export function reportCsv(report: CompressionReport): string {
  const head = ['model', 'role', 'technique', 'path', 'params', 'params_pct', 'non_embedding_params', 'non_embedding_pct', 'bytes', 'size_pct', 'flops', 'p50_ms', 'speedup', 'accuracy', 'accuracy_pct', 'training_sec', 'pareto', 'notes'];
  const rows = report.rows.map((r) => [r.name, r.role, r.technique, r.path, r.params, r.paramsPct, r.nonEmbeddingParams, r.nonEmbeddingPct, r.bytes, r.sizePct, r.flops, r.p50, r.speedup, r.accuracy, r.accuracyPct, r.trainingSec, r.pareto, r.notes.join('; ')].map(csvField).join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}

export function reportJson(report: CompressionReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
