// The compression report panel's webview. It says 'ready', then shows the report the host built
// from the saved runs: the table (every missing or stale figure marked, with the reason as its
// tooltip and in the notes), the accuracy-latency chart with its frontier, parameters per
// component per model, and the layer maps side by side (the run panel's SVG). Refresh asks for
// a new build; the exports are written by the host. Model strings go into the page as text only
// (dom.ts); colours come from the theme, and the charts are drawn again when it changes.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { Chart } from 'chart.js';
import { Endpoint, type HostToReportEvents, type ReportEvents } from '../../src/shared/protocol';
import { h, replaceChildren } from '../dom';
import { followChartTheme } from '../shared/chart-theme';
import { createProgress } from '../shared/progress';
import { vscodeApi as vscode } from '../shared/vscode-api';
import { layoutLayerMap } from '../run/layer-map';
import { layerMapLegend, layerMapSvg } from '../run/layer-map-svg';
import { drawComponentsChart, drawTradeoffChart } from './charts';
import {
  COLUMNS, componentsChart, layerMaps, looksLikeReport, markCounts, reportRows, subtitle, tradeoffChart, type ReportCell, type ReportRowView,
} from './view-model';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeProgressRing());

const ep = new Endpoint<Record<string, never>, Record<string, never>, ReportEvents, HostToReportEvents>((m) => vscode.postMessage(m));
window.addEventListener('message', (e: MessageEvent) => ep.receive(e.data));
// The host rebuilds the report after a reload; the page only has to exist for VS Code to revive it.
vscode.setState({ view: 'report' });

const root = document.getElementById('root') ?? document.body.appendChild(h('div', { id: 'root' }));
const progress = createProgress({ className: 'progress-slot', layout: 'banner', label: 'Building the report' });
const errorSlot = h('div', { class: 'notice-slot' });
const viewSlot = h('div', { class: 'view-slot' });
replaceChildren(root, progress.element, errorSlot, viewSlot);
progress.update('Building the report…');

let charts: Chart[] = [];
let stopTheme: (() => void) | undefined;

function button(testid: string, label: string, title: string, onClick: () => void, primary = false): HTMLElement {
  return h('vscode-button', { testid, appearance: primary ? 'primary' : 'secondary', title, on: { click: onClick } }, label);
}

function cellNode(c: ReportCell, id: string): HTMLElement {
  const cls = ['num', c.mark ? `mark-${c.mark}` : ''].filter(Boolean).join(' ');
  return h('td', { class: cls, title: c.title, 'data-col': id, ...(c.mark ? { 'data-mark': c.mark } : {}) },
    c.text,
    c.mark ? h('span', { class: `mark-tag mark-tag-${c.mark}` }, c.mark) : null);
}

function rowNode(r: ReportRowView): HTMLElement {
  return h('tr', { testid: 'report-row', 'data-role': r.role, 'data-pareto': r.pareto ? 'true' : 'false', class: r.pareto ? 'is-pareto' : undefined },
    h('th', { scope: 'row', class: 'model-cell' },
      h('div', { class: 'model-line' },
        h('span', { class: `swatch slot-${r.slot % 6}`, 'aria-hidden': 'true' }),
        h('span', { class: 'model-name', testid: 'report-model', title: r.how }, r.name),
        r.pareto ? h('span', { class: 'tag tag-baseline', title: 'No other model is both as accurate and as fast' }, 'frontier') : null,
        r.gone ? h('span', { class: 'tag tag-status status-failed' }, 'file gone') : null),
      h('div', { class: 'model-path mono', title: r.path }, `${r.technique} · ${r.path}`)),
    ...COLUMNS.map((c) => cellNode(r.cells[c.id], c.id)));
}

function chartPanel(id: string, title: string, note: string, canvas: HTMLCanvasElement | null, cls: string, empty: string): HTMLElement {
  return h('section', { class: 'panel chart-panel', 'aria-labelledby': id },
    h('div', { class: 'section-head' }, h('h2', { id }, title), h('span', { class: 'muted chart-note' }, note)),
    canvas ? h('div', { class: `chart-box ${cls}` }, canvas) : h('p', { class: 'muted' }, empty));
}

function render(payload: HostToReportEvents['report']): void {
  const { report } = payload;
  stopTheme?.();
  for (const c of charts) c.destroy();
  charts = [];
  const rows = reportRows(report);
  const counts = markCounts(rows);
  const tradeoff = tradeoffChart(rows, report);
  const components = componentsChart(report);
  const maps = layerMaps(report);
  const tradeoffCanvas = tradeoff.points.length ? h('canvas', { role: 'img', 'aria-label': tradeoff.description }) : null;
  const componentsCanvas = components.labels.length ? h('canvas', { role: 'img', 'aria-label': components.description }) : null;
  const notes = [...report.rows.flatMap((r) => r.notes.map((n) => ({ model: r.name, text: n }))), ...report.warnings.map((w) => ({ model: '', text: w }))];
  const hasRows = rows.length > 0;

  const main = h('main', { class: 'report compare', testid: 'report-view' },
    h('header', { class: 'compare-header' },
      h('div', { class: 'title-block' },
        h('h1', { testid: 'report-title' }, 'Compression report'),
        h('div', { class: 'subtitle', testid: 'report-subtitle' }, subtitle(report, payload.runsFolder, payload.runCount))),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Report actions' },
        button('refresh-button', 'Refresh', 'Build the report again from the saved runs', () => { ep.emit('refresh', {}); progress.update('Building the report…'); }, true),
        button('export-html', 'Export HTML', 'One self-contained HTML file', () => ep.emit('export', { format: 'html' })),
        button('export-markdown', 'Export Markdown', 'The table and notes as Markdown', () => ep.emit('export', { format: 'markdown' })),
        button('export-csv', 'Export CSV', 'One line per model', () => ep.emit('export', { format: 'csv' })))),
    hasRows ? h('section', { class: 'panel', 'aria-labelledby': 'rows-h' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'rows-h' }, 'Models'),
        h('span', { class: 'muted', testid: 'report-marks' }, counts.missing || counts.stale
          ? `${counts.missing} figure${counts.missing === 1 ? '' : 's'} missing, ${counts.stale} stale: hover a marked cell for why`
          : 'every figure measured on the files as they are')),
      h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Report table' },
        h('table', { class: 'data compare-table report-table', testid: 'report-table' },
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Model'), ...COLUMNS.map((c) => h('th', { scope: 'col', class: 'num', title: c.title }, c.label)))),
          h('tbody', null, ...rows.map(rowNode)))))
      : h('section', { class: 'state-view empty-view', testid: 'report-empty' },
        h('h1', null, 'No compressed models yet'),
        h('p', { class: 'muted' }, 'Distil, quantize and benchmark models here (or with the compression-lab CLI in this folder): the report is built from their saved runs.')),
    hasRows ? h('div', { class: 'grid-2 charts' },
      chartPanel('tradeoff-h', 'Accuracy against latency', tradeoff.left.length ? `Not shown: ${tradeoff.left.join(', ')}` : 'Filled: on the frontier (dashed); up and left is better', tradeoffCanvas, 'chart-tradeoff', 'No model has both an accuracy and a latency yet.'),
      chartPanel('components-h', 'Parameters per component', 'Shared weights counted once', componentsCanvas, 'chart-components', 'No model file could be read.')) : null,
    maps.length ? h('section', { class: 'panel layer-map', 'aria-labelledby': 'maps-h', testid: 'report-layer-maps' },
      h('div', { class: 'section-head' }, h('h2', { id: 'maps-h' }, 'Layer maps'), h('span', { class: 'muted' }, 'teacher above, student below; 0 is the embeddings'), layerMapLegend()),
      h('div', { class: 'layer-maps' }, ...maps.map((m) => h('figure', { class: 'layer-map-figure', testid: 'report-layer-map' },
        h('div', { class: 'layer-map-box' }, layerMapSvg(layoutLayerMap(m.map, 420))),
        h('figcaption', { class: 'muted' }, m.name))))) : null,
    notes.length ? h('section', { class: 'callout warning', 'aria-labelledby': 'notes-h', testid: 'report-notes' },
      h('h2', { id: 'notes-h' }, `Notes (${notes.length})`),
      h('ul', null, ...notes.map((n) => h('li', { testid: 'report-note' }, n.model ? h('span', { class: 'status-model' }, `${n.model}: `) : null, n.text)))) : null);
  replaceChildren(viewSlot, main);
  replaceChildren(errorSlot);
  progress.idle();

  stopTheme = followChartTheme((theme) => {
    for (const c of charts) c.destroy();
    charts = [];
    if (tradeoffCanvas) charts.push(drawTradeoffChart(tradeoffCanvas, tradeoff, theme));
    if (componentsCanvas) charts.push(drawComponentsChart(componentsCanvas, components, theme));
  });
}

ep.on('busy', (p) => progress.update(typeof p?.message === 'string' ? p.message : 'Building the report…'));
ep.on('error', (p) => {
  progress.idle();
  replaceChildren(errorSlot, h('section', { class: 'callout error', role: 'alert', testid: 'report-error' },
    h('h2', null, 'The report could not be built'), h('p', { class: 'preserve' }, String(p?.message ?? 'unknown problem'))));
});
ep.on('report', (p) => {
  if (!p || !looksLikeReport(p.report)) {
    progress.idle();
    replaceChildren(errorSlot, h('section', { class: 'callout error', role: 'alert', testid: 'report-error' }, h('p', null, 'The report that arrived was incomplete.')));
    return;
  }
  try {
    render({ report: p.report, runsFolder: String(p.runsFolder ?? ''), runCount: Number(p.runCount) || 0 });
  } catch (e) {
    replaceChildren(errorSlot, h('section', { class: 'callout error', role: 'alert', testid: 'report-error' }, h('p', null, `The report could not be shown: ${e instanceof Error ? e.message : String(e)}`)));
  }
});
ep.emit('ready', {});
