// The fuzz report: outcome counts and timings per format and mutation kind, then each distinct
// failure once (with how often it occurred) and enough to reproduce it.
import type { CaseResult, Outcome } from './execute';
import { FORMATS, KINDS } from './formats/types';

export interface Summary {
  cases: number;
  ok: number;
  userErrors: number;
  uncaught: number;
  hangs: number;
  p99: number;
  max: number;
}

export function summarize(results: readonly CaseResult[]): Summary {
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    cases: results.length,
    ok: count('ok'),
    userErrors: count('user-error'),
    uncaught: count('uncaught'),
    hangs: count('hang'),
    p99: ms.length ? ms[Math.max(0, Math.ceil(ms.length * 0.99) - 1)] : 0,
    max: ms.length ? ms[ms.length - 1] : 0,
  };
}

export function failures(results: readonly CaseResult[]): CaseResult[] {
  return results.filter((r) => r.outcome === 'uncaught' || r.outcome === 'hang');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatTable(results: readonly CaseResult[]): string {
  const row = (format: string, kind: string, rs: readonly CaseResult[]): string[] => {
    const s = summarize(rs);
    return [format, kind, String(s.cases), String(s.ok), String(s.userErrors), String(s.uncaught), String(s.hangs), s.p99.toFixed(1), s.max.toFixed(1)];
  };
  const rows: string[][] = [];
  for (const f of FORMATS) {
    const inFormat = results.filter((r) => r.format === f);
    if (inFormat.length === 0) continue;
    for (const k of KINDS) {
      const rs = inFormat.filter((r) => r.kind === k);
      if (rs.length) rows.push(row(f, k, rs));
    }
    rows.push(row(f, 'all', inFormat));
  }
  rows.push(row('all', 'all', results));
  return table(['format', 'mutation', 'cases', 'ok', 'user errors', 'uncaught', 'hangs', 'p99 ms', 'max ms'], rows);
}

export function formatTargets(results: readonly CaseResult[]): string {
  const rows: string[][] = [];
  for (const t of ['reader', 'open-folder', 'open-file'] as const) {
    const s = summarize(results.filter((r) => r.target === t));
    if (s.cases) rows.push([t, '', String(s.cases), String(s.ok), String(s.userErrors), String(s.uncaught), String(s.hangs), s.p99.toFixed(1), s.max.toFixed(1)]);
  }
  return table(['called', '', 'cases', 'ok', 'user errors', 'uncaught', 'hangs', 'p99 ms', 'max ms'], rows);
}

export function formatSlowest(results: readonly CaseResult[], n = 5): string {
  return [...results].sort((a, b) => b.ms - a.ms).slice(0, n)
    .map((r) => `  ${r.ms.toFixed(1).padStart(8)} ms  ${r.id}  ${r.format}/${r.kind} via ${r.target}: ${r.note}`).join('\n');
}

/** Cases that timed out once and answered in time on a retry: slowness worth a look, not hangs. */
export function formatRetried(results: readonly CaseResult[]): string {
  const rs = results.filter((r) => r.retried);
  if (rs.length === 0) return 'no case needed a retry';
  return `${rs.length} case${rs.length === 1 ? '' : 's'} timed out once and answered in time on a retry in a fresh worker:\n`
    + rs.map((r) => `  ${r.id}  ${r.format}/${r.kind}: first ${r.retried}; then ${r.ms.toFixed(1)} ms`).join('\n');
}

/** A failure's kind, with paths and numbers blanked, so a thousand cases of one bug read as one. */
export function signature(r: CaseResult): string {
  const msg = (r.error?.message ?? '').replace(/\/[^\s:'"]*case-\d+[^\s:'"]*/g, '<path>').replace(/\d+/g, 'N');
  return `${r.outcome} ${r.format} ${r.error?.name ?? ''}: ${msg.slice(0, 200)} [${(r.why ?? '').replace(/\d+/g, 'N')}]`;
}

export function describeFailure(r: CaseResult, replay: (id: string) => string): string {
  return [
    `case ${r.id}  (${r.format}, ${r.model}, ${r.kind}, via ${r.target}, ${r.ms.toFixed(1)} ms)`,
    `  file:     ${r.file}`,
    `  mutation: ${r.note}`,
    `  outcome:  ${r.outcome}${r.why ? ` (${r.why})` : ''}`,
    ...(r.error ? [`  error:    ${(r.error.stack ?? `${r.error.name}: ${r.error.message}`).split('\n').join('\n            ')}`] : []),
    `  replay:   ${replay(r.id)}`,
  ].join('\n');
}

/** Each distinct failure: the first case in full, then every other like it on one line. */
export function formatFailures(results: readonly CaseResult[], replay: (id: string) => string, maxLines = 100): string {
  const groups = new Map<string, CaseResult[]>();
  for (const r of failures(results)) {
    const k = signature(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map((rs) => {
    const others = rs.slice(1, 1 + maxLines).map((r) => `  also ${r.id}: ${r.file}: ${r.why ?? ''}${r.error ? `; ${r.error.name}: ${r.error.message.split('\n')[0]}` : ''}`);
    if (rs.length > 1 + maxLines) others.push(`  ... and ${rs.length - 1 - maxLines} more`);
    return [`${rs.length} case${rs.length === 1 ? '' : 's'} of this kind:`, describeFailure(rs[0], replay), ...others].join('\n');
  }).join('\n\n');
}
