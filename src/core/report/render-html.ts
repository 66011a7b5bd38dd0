// The report as one self-contained HTML file (inline CSS and SVG, no script, nothing fetched), so
// it opens offline anywhere and can be mailed or attached: the table, the accuracy-latency
// trade-off with its frontier, parameters per component per model, and the layer maps.
import type { LayerMap } from '../distill/layer-map';
import type { CompressionReport, ReportRow } from './build-report';
import { REPORT_COLUMNS, reportCells } from './render-text';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ab'];
const COMPONENT_COLORS: Record<string, string> = { embeddings: '#4e79a7', encoder: '#f28e2b', pooler: '#59a14f', head: '#e15759', other: '#bab0ab' };

function nice(max: number): number {
  const p = 10 ** Math.floor(Math.log10(max || 1));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max) ?? max;
}

/** Accuracy against p50 latency; frontier points filled and joined. */
export function tradeoffSvg(rows: readonly ReportRow[]): string {
  const pts = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.accuracy !== undefined && r.p50 !== undefined);
  const W = 640, H = 360, L = 60, B = 44, T = 16, R = 16;
  if (!pts.length) return `<p class="empty">No model has both an accuracy and a latency yet.</p>`;
  const xMax = nice(Math.max(...pts.map(({ r }) => r.p50!)) * 1.1);
  const accs = pts.map(({ r }) => 100 * r.accuracy!);
  const yMin = Math.max(0, Math.floor(Math.min(...accs) - 3));
  const yMax = Math.min(100, Math.ceil(Math.max(...accs) + 2));
  const x = (v: number) => L + ((W - L - R) * v) / xMax;
  const y = (v: number) => H - B - ((H - B - T) * (v - yMin)) / Math.max(1, yMax - yMin);
  const frontier = pts.filter(({ r }) => r.pareto).sort((a, b) => a.r.p50! - b.r.p50!);
  const ticks = Array.from({ length: 6 }, (_, k) => (xMax * k) / 5);
  const yTicks = Array.from({ length: 5 }, (_, k) => yMin + ((yMax - yMin) * k) / 4);
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="accuracy against latency">
  <g class="axis">${ticks.map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${T}" y2="${H - B}" class="grid"/><text x="${x(t)}" y="${H - B + 16}" text-anchor="middle">${t.toFixed(t < 10 ? 1 : 0)}</text>`).join('')}
  ${yTicks.map((t) => `<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${L - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(1)}%</text>`).join('')}
  <text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">p50 latency, ms (lower is better)</text>
  <text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">accuracy</text></g>
  ${frontier.length > 1 ? `<polyline class="frontier" points="${frontier.map(({ r }) => `${x(r.p50!)},${y(100 * r.accuracy!)}`).join(' ')}"/>` : ''}
  ${pts.map(({ r, i }) => `<g><circle cx="${x(r.p50!)}" cy="${y(100 * r.accuracy!)}" r="6" fill="${r.pareto ? PALETTE[i % PALETTE.length] : 'none'}" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2"><title>${esc(r.name)}: ${(100 * r.accuracy!).toFixed(2)}%, ${r.p50!.toFixed(2)} ms${r.pareto ? ' (frontier)' : ''}</title></circle><text x="${x(r.p50!) + 9}" y="${y(100 * r.accuracy!) - 8}">${esc(r.name)}</text></g>`).join('\n  ')}
</svg>`;
}

/** Parameters per component, one stacked bar per model. */
export function componentsSvg(rows: readonly ReportRow[]): string {
  const withParams = rows.filter((r) => r.components);
  if (!withParams.length) return '<p class="empty">No model file could be read.</p>';
  const W = 640, bar = 22, gap = 12, L = 150, R = 80;
  const H = withParams.length * (bar + gap) + 40;
  const max = Math.max(...withParams.map((r) => r.params ?? 0));
  const parts = ['embeddings', 'encoder', 'pooler', 'head', 'other'] as const;
  const bars = withParams.map((r, i) => {
    let at = L;
    const y = 10 + i * (bar + gap);
    const segs = parts.map((p) => {
      const v = r.components![p];
      const w = ((W - L - R) * v) / Math.max(1, max);
      const s = v ? `<rect x="${at}" y="${y}" width="${w}" height="${bar}" fill="${COMPONENT_COLORS[p]}"><title>${esc(r.name)}: ${p} ${v.toLocaleString('en-US')}</title></rect>` : '';
      at += w;
      return s;
    }).join('');
    return `<text x="${L - 8}" y="${y + bar / 2 + 4}" text-anchor="end">${esc(r.name)}</text>${segs}<text x="${at + 6}" y="${y + bar / 2 + 4}">${((r.params ?? 0) / 1e6).toFixed(2)} M</text>`;
  }).join('\n  ');
  const legend = parts.map((p, k) => `<rect x="${L + k * 95}" y="${H - 22}" width="12" height="12" fill="${COMPONENT_COLORS[p]}"/><text x="${L + k * 95 + 16}" y="${H - 12}">${p}</text>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="parameters per component">\n  ${bars}\n  ${legend}\n</svg>`;
}

/** Teacher layers on the left, student layers on the right, lines for what initialises and supervises what. */
export function layerMapSvg(name: string, map: LayerMap): string {
  const rowH = 22, W = 260;
  const n = Math.max(map.teacherLayers, map.studentLayers) + 1;
  const H = n * rowH + 34;
  const yT = (l: number) => 28 + (map.teacherLayers - l) * rowH;
  const yS = (l: number) => 28 + (map.studentLayers - l) * rowH;
  const label = (l: number) => (l === 0 ? 'emb' : `L${l}`);
  const box = (cx: number, cy: number, text: string) => `<rect x="${cx - 22}" y="${cy - 9}" width="44" height="18" rx="3" class="layer"/><text x="${cx}" y="${cy + 4}" text-anchor="middle">${text}</text>`;
  const lines = map.links.map((k) => `<line x1="${62}" y1="${yT(k.teacher)}" x2="${W - 62}" y2="${yS(k.student)}" class="link ${k.role}"><title>teacher ${label(k.teacher)} ${k.role === 'init' ? 'initialises' : k.role === 'supervise' ? 'supervises' : 'initialises and supervises'} student ${label(k.student)}</title></line>`).join('');
  return `<figure class="layermap"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="layer map of ${esc(name)}">
  <text x="40" y="14" text-anchor="middle" class="head">teacher</text><text x="${W - 40}" y="14" text-anchor="middle" class="head">student</text>
  ${lines}
  ${Array.from({ length: map.teacherLayers + 1 }, (_, l) => box(40, yT(l), label(l))).join('')}
  ${Array.from({ length: map.studentLayers + 1 }, (_, l) => box(W - 40, yS(l), label(l))).join('')}
</svg><figcaption>${esc(name)}</figcaption></figure>`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --grid: #d0d7de; --accent: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --grid: #30363d; --accent: #4493f8; } }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--grid); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
tr.pareto td:first-child { font-weight: 600; }
.muted, .empty, figcaption { color: var(--muted); }
svg { width: 100%; height: auto; max-width: 720px; font-size: 12px; fill: var(--fg); }
svg .grid { stroke: var(--grid); stroke-width: 1; }
svg .frontier { fill: none; stroke: var(--accent); stroke-width: 2; stroke-dasharray: 5 4; }
svg .layer { fill: none; stroke: var(--muted); }
svg .link { stroke: var(--accent); stroke-width: 1.5; }
svg .link.init { stroke-dasharray: 4 3; stroke: var(--muted); }
svg .link.both { stroke-width: 3; }
svg .head { font-weight: 600; }
.layermaps { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.layermap svg { width: 260px; }
`;

export function reportHtml(report: CompressionReport, title = 'Compression report'): string {
  const notes = [...report.rows.flatMap((r) => r.notes.map((n) => `${r.name}: ${n}`)), ...report.warnings];
  const maps = report.rows.filter((r) => r.layerMap).map((r) => layerMapSvg(r.name, r.layerMap!)).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="muted">Every figure measured on this machine; latency is p50 at batch ${report.config.batch}, sequence ${report.config.seq}${report.config.threads ? `, ${report.config.threads} threads` : ''}. Percentages are of the teacher. Made ${esc(report.created)}.</p>
<table>
<thead><tr>${REPORT_COLUMNS.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${report.rows.map((r) => `<tr${r.pareto ? ' class="pareto"' : ''} title="${esc(r.how)}">${reportCells(r).map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>
<p class="muted">* on the accuracy-latency frontier: no other model is both as accurate and as fast.</p>
<h2>Accuracy against latency</h2>
${tradeoffSvg(report.rows)}
<h2>Parameters per component</h2>
${componentsSvg(report.rows)}
${maps ? `<h2>Layer maps</h2>\n<div class="layermaps">${maps}</div>` : ''}
<h2>How each model is lightened</h2>
<ul>${report.rows.map((r) => `<li><b>${esc(r.name)}</b>, ${esc(r.technique)}: ${esc(r.how)}.</li>`).join('')}</ul>
${notes.length ? `<h2>Notes</h2>\n<ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
