// The comparison panel's webview. It says 'ready', then shows what the host sends: the comparison
// (a table, three charts, the runs' status and environments), progress while a benchmark job runs
// (above the previous comparison when there is one, with a Cancel button), and errors. The user
// picks the configuration and the baseline and asks for exports; the host recomputes and answers
// with a new view. The panel's state lives in one store (state.ts has the reducer); this file
// renders it. Every model-provided string goes into the page as text (dom.ts); colours come from
// the VS Code theme's CSS variables.
import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { Chart } from 'chart.js';
import { Endpoint, type CompareEvents, type CompareView, type HostToCompareEvents } from '../../src/shared/protocol';
import { h, replaceChildren, type Child } from '../dom';
import { followChartTheme } from '../shared/chart-theme';
import { createProgress } from '../shared/progress';
import { drawLatencyChart, drawScatterChart, drawSeqChart } from './charts';
import { comparePanel, type ComparePanel, type CompareRowView } from './view-model';
import {
  compareReducer, initialCompareState, isPending, progressShown, showsEmpty, type CompareAction, type CompareState,
} from './state';
import { createStore } from '../shared/store';
import { vscodeApi as vscode } from '../shared/vscode-api';

provideVSCodeDesignSystem().register(vsCodeBadge(), vsCodeButton(), vsCodeProgressRing());


/** UI niceties only: the host restores the comparison itself after a reload. */
interface UiState {
  scrollY?: number;
  restoreKey?: string;
  /** The compared runs, for the host when its own state did not reach storage before a reload. */
  runFiles?: string[];
}

type ButtonElement = HTMLElement & { disabled: boolean };

const ep = new Endpoint<Record<string, never>, Record<string, never>, CompareEvents, HostToCompareEvents>((m) => vscode.postMessage(m));
window.addEventListener('message', (e: MessageEvent) => ep.receive(e.data));

const root = document.getElementById('root') ?? document.body.appendChild(h('div', { id: 'root' }));

const ui: UiState = (vscode.getState() as UiState | undefined) ?? {};
let scrollTimer = 0;
window.addEventListener('scroll', () => {
  clearTimeout(scrollTimer);
  scrollTimer = window.setTimeout(() => { ui.scrollY = Math.round(window.scrollY); vscode.setState(ui); }, 200);
}, { passive: true });

// ---------------------------------------------------------------------------------------------
// Page state: one store, rendered into three slots

const store = createStore(compareReducer, initialCompareState);

/** Dispatches a user's choice and tells the host only if the reducer took it as a change. */
function choose(action: CompareAction, tell: () => void): void {
  const before = store.getState();
  store.dispatch(action);
  if (store.getState() !== before) tell();
}

const progress = createProgress({ className: 'progress-slot', onCancel: () => choose({ type: 'cancel' }, () => ep.emit('cancel', {})) });
const noticeSlot = h('div', { class: 'notice-slot' });
const viewSlot = h('div', { class: 'view-slot' });
replaceChildren(root, progress.element, noticeSlot, viewSlot);

let charts: Chart[] = [];
/** Stops redrawing the shown comparison's charts on theme changes. */
let stopTheme: (() => void) | undefined;
let restoredScroll = false;

function render(s: CompareState, prev?: CompareState): void {
  if (s.view && s.view !== prev?.view) {
    try {
      renderView(s.view);
    } catch (e) {
      store.dispatch({ type: 'renderFailed', message: e instanceof Error ? e.message : String(e) });
    }
  }
  renderProgress(s);
  if (!prev || s.error !== prev.error || showsEmpty(s) !== showsEmpty(prev)) renderNotices(s);
  setPending(isPending(s));
}

function renderProgress(s: CompareState): void {
  const p = progressShown(s);
  if (!p.busy) { progress.idle(p.message); return; }
  progress.configure({ layout: p.layout, label: p.label, cancellable: p.cancellable, cancelling: p.cancelling });
  progress.update(p.message, p.fraction);
}

function renderNotices(s: CompareState): void {
  replaceChildren(noticeSlot,
    s.error ? h('section', { class: 'callout error', role: 'alert', testid: 'compare-error' },
      h('h2', null, 'Something went wrong'),
      h('p', { class: 'preserve' }, s.error)) : null);
  if (!s.view) {
    replaceChildren(viewSlot, showsEmpty(s) ? h('section', { class: 'state-view empty-view', testid: 'empty-view' },
      h('h1', null, 'Nothing to compare yet'),
      h('p', { class: 'muted' }, 'Benchmark two or more models, or open saved runs, to compare them here.')) : null);
  }
}

function setPending(on: boolean): void {
  const main = viewSlot.querySelector<HTMLElement>('[data-testid="compare-view"]');
  if (!main) return;
  main.classList.toggle('pending', on);
  if (on) main.setAttribute('aria-busy', 'true'); else main.removeAttribute('aria-busy');
}

// ---------------------------------------------------------------------------------------------
// The comparison

function renderView(v: CompareView): void {
  const panel = comparePanel(v);
  const focusKey = (document.activeElement as HTMLElement | null)?.closest?.('[data-focus]')?.getAttribute('data-focus') ?? undefined;
  const scrollY = window.scrollY;

  stopTheme?.();
  for (const c of charts) c.destroy();
  charts = [];

  const latencyCanvas = h('canvas', { role: 'img', testid: 'latency-chart', 'aria-label': panel.latency.description });
  const seqCanvas = h('canvas', { role: 'img', testid: 'seq-chart', 'aria-label': panel.seq.description });
  const scatterCanvas = h('canvas', { role: 'img', testid: 'scatter-chart', 'aria-label': panel.scatter.description });

  const hasRows = panel.rows.length > 0;
  const main = h('main', { class: 'compare', testid: 'compare-view' },
    header(panel, hasRows),
    panel.headline ? h('p', { class: 'headline', testid: 'headline' }, panel.headline) : null,
    statusSection(panel),
    warningSection(panel),
    tableSection(panel),
    hasRows ? h('div', { class: 'grid-2 charts' },
      chartPanel('latency-h', 'Latency per model', 'p50 (solid) and p95 (light) per batch', latencyCanvas, 'chart-latency'),
      chartPanel('scatter-h', 'Parameters vs latency', panel.scatter.missing.length ? `Not shown (no parameter count): ${panel.scatter.missing.join(', ')}` : 'Lower left is smaller and faster', scatterCanvas, 'chart-scatter', !panel.scatter.points.length)) : null,
    panel.seq.series.length ? chartPanel('seq-h', 'Latency vs sequence length', `p50 at batch ${v.config.batch}, ${v.config.threads} ${v.config.threads === 1 ? 'thread' : 'threads'}; the baseline is dashed`, seqCanvas, 'chart-seq') : null,
    environmentSection(panel));

  replaceChildren(viewSlot, main);

  stopTheme = followChartTheme((theme) => {
    for (const c of charts) c.destroy();
    charts = [];
    if (!hasRows) return;
    charts.push(drawLatencyChart(latencyCanvas, panel.latency, theme));
    if (panel.scatter.points.length) charts.push(drawScatterChart(scatterCanvas, panel.scatter, theme));
    if (panel.seq.series.length) charts.push(drawSeqChart(seqCanvas, panel.seq, theme));
  });

  if (focusKey) viewSlot.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focusKey)}"]`)?.focus({ preventScroll: true });
  if (!restoredScroll && ui.scrollY) {
    restoredScroll = true;
    window.scrollTo(0, ui.scrollY);
  } else {
    window.scrollTo(0, scrollY);
  }
  restoredScroll = true;
}

function header(panel: ComparePanel, hasRows: boolean): HTMLElement {
  const exportButton = (format: 'markdown' | 'csv', label: string) => {
    const b = h('vscode-button', {
      testid: `export-${format}`, 'data-focus': `export-${format}`, appearance: 'secondary',
      title: hasRows ? `Save the table as ${format === 'csv' ? 'CSV' : 'Markdown'}` : 'Nothing to export',
      on: { click: () => { if (!b.disabled) ep.emit('export', { format }); } },
    }, label) as ButtonElement;
    b.disabled = !hasRows;
    return b;
  };
  const select = h('select', { id: 'config-select', class: 'select', testid: 'config-select', 'data-focus': 'config-select', disabled: panel.config.length <= 1 },
    ...panel.config.map((o) => {
      const opt = h('option', { value: o.key }, o.label);
      opt.selected = o.selected;
      return opt;
    }));
  select.addEventListener('change', () => {
    const o = panel.config.find((c) => c.key === select.value);
    if (o) choose({ type: 'selectConfig', config: o.config }, () => ep.emit('setConfig', o.config));
  });
  return h('header', { class: 'compare-header' },
    h('div', { class: 'title-block' },
      h('h1', { testid: 'compare-title' }, panel.title),
      h('div', { class: 'subtitle', testid: 'compare-subtitle' }, panel.subtitle)),
    h('div', { class: 'controls' },
      h('div', { class: 'field' },
        h('label', { for: 'config-select' }, 'Configuration'),
        select),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Export' },
        exportButton('markdown', 'Export Markdown'),
        exportButton('csv', 'Export CSV'))));
}

function statusSection(panel: ComparePanel): HTMLElement | null {
  if (!panel.statuses.length) return null;
  return h('section', { class: 'callout runs', 'aria-labelledby': 'runs-h', testid: 'run-statuses' },
    h('h2', { id: 'runs-h' }, panel.statuses.length === 1 ? 'A run did not complete' : `${panel.statuses.length} runs did not complete`),
    h('ul', { class: 'status-list' }, ...panel.statuses.map((s) => h('li', { testid: 'run-status', 'data-status': s.status, 'data-model-index': s.index },
      h('span', { class: `status-tag status-${s.status}` }, s.label),
      h('span', { class: 'status-model' }, s.model),
      h('span', { class: 'status-detail' }, s.detail),
      s.error ? h('span', { class: 'status-error mono preserve' }, s.error) : null))));
}

function warningSection(panel: ComparePanel): HTMLElement | null {
  if (!panel.warnings.length) return null;
  return h('section', { class: 'callout warning', 'aria-labelledby': 'warnings-h', testid: 'warnings' },
    h('h2', { id: 'warnings-h' }, panel.warnings.length === 1 ? 'Warning' : `Warnings (${panel.warnings.length})`),
    h('ul', null, ...panel.warnings.map((w) => h('li', { testid: 'warning' }, w))));
}

function tableSection(panel: ComparePanel): HTMLElement {
  const noisy = panel.rows.filter((r) => r.noisy);
  const body = panel.rows.length
    ? h('table', { class: 'data compare-table', testid: 'compare-table' },
      h('caption', { class: 'visually-hidden' }, `Comparison at ${panel.subtitle}; choose the baseline in the first column`),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'pick', title: 'The model the others are compared with' }, 'Baseline'),
        h('th', { scope: 'col' }, 'Model'),
        ...panel.headers.map((c) => h('th', { scope: 'col', class: 'num', title: c.title, 'data-col': c.id }, c.label)))),
      h('tbody', null, ...panel.rows.map((r) => row(r, noisy.indexOf(r), panel.headers.some((c) => c.id === 'accuracy')))))
    : h('p', { class: 'muted empty-table', testid: 'no-rows' }, 'No model has a result at this configuration.');
  return h('section', { class: 'panel', 'aria-labelledby': 'results-h' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'results-h' }, 'Results'),
      h('span', { class: 'muted' }, `speed-up is the baseline’s p50 over each model’s; params %${panel.headers.some((c) => c.id === 'accuracy') ? ', size % and accuracy %' : ' and size %'} are shares of the baseline’s`)),
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Comparison table' }, body),
    noisy.length ? h('ol', { class: 'footnotes', testid: 'noisy-notes' }, ...noisy.map((r, i) => h('li', { id: `noisy-${i}`, testid: 'noisy-note' },
      h('span', { class: 'footnote-mark', 'aria-hidden': 'true' }, `${i + 1}`),
      h('span', null, h('span', { class: 'status-model' }, r.model), ` is noisy: ${r.noisyReason ?? ''}`)))) : null);
}

function row(r: CompareRowView, noisyIndex: number, withAccuracy: boolean): HTMLElement {
  const radio = h('input', {
    type: 'radio', name: 'baseline', class: 'baseline-radio', 'data-focus': `baseline-${r.index}`, testid: 'baseline-radio',
    'aria-label': `Use ${r.model} as the baseline`, disabled: r.index < 0,
  });
  radio.checked = r.baseline;
  radio.addEventListener('change', () => {
    if (radio.checked) choose({ type: 'selectBaseline', index: r.index }, () => ep.emit('setBaseline', { index: r.index }));
  });
  const tags: Child[] = [];
  if (r.baseline) tags.push(h('span', { class: 'tag tag-baseline', testid: 'baseline-tag' }, 'baseline'));
  if (r.noisy) tags.push(h('span', { class: 'tag tag-noisy', testid: 'noisy-tag', title: r.noisyReason, 'aria-describedby': `noisy-${noisyIndex}` }, `noisy ${noisyIndex + 1}`));
  if (r.status !== 'complete') tags.push(h('span', { class: `tag tag-status status-${r.status}` }, r.status === 'timeout' ? 'timed out' : r.status));
  return h('tr', { testid: 'compare-row', 'data-baseline': r.baseline ? 'true' : 'false', 'data-model-index': r.index, class: r.baseline ? 'is-baseline' : undefined },
    h('td', { class: 'pick' }, radio),
    h('th', { scope: 'row', class: 'model-cell' },
      h('div', { class: 'model-line' },
        h('span', { class: `swatch slot-${((r.color % 6) + 6) % 6}`, 'aria-hidden': 'true' }),
        h('span', { class: 'model-name', testid: 'compare-model', title: r.model }, r.model),
        ...tags),
      h('div', { class: 'model-path mono', title: r.path }, r.family ? `${r.family} · ${r.path}` : r.path)),
    h('td', { class: 'num', title: r.paramsExact }, r.paramsText),
    h('td', { class: 'num nowrap' }, r.sizeText),
    h('td', { class: 'num nowrap' }, r.flopsText),
    h('td', { class: 'num strong', testid: 'compare-p50' }, r.p50Text),
    h('td', { class: 'num' }, r.p95Text),
    h('td', { class: 'num' }, r.throughputText),
    h('td', { class: `num speedup trend-${r.trend}`, testid: 'compare-speedup' }, r.speedupText),
    h('td', { class: 'num' }, r.paramsPctText),
    h('td', { class: 'num' }, r.sizePctText),
    ...(withAccuracy ? [
      h('td', { class: 'num', testid: 'compare-accuracy' }, r.accuracyText),
      h('td', { class: 'num', testid: 'compare-accuracy-pct' }, r.accuracyPctText),
    ] : []));
}

function chartPanel(id: string, title: string, note: string, canvas: HTMLCanvasElement, cls: string, empty = false): HTMLElement {
  return h('section', { class: 'panel chart-panel', 'aria-labelledby': id },
    h('div', { class: 'section-head' }, h('h2', { id }, title), h('span', { class: 'muted chart-note' }, note)),
    empty
      ? h('p', { class: 'muted' }, 'No model has a parameter count to place on this chart.')
      : h('div', { class: `chart-box ${cls}` }, canvas));
}

function environmentSection(panel: ComparePanel): HTMLElement {
  const env = panel.environment;
  return h('section', { class: `panel environment${env.differs ? ' differs' : ''}`, 'aria-labelledby': 'env-h', testid: 'environment' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'env-h' }, 'Environment'),
      env.measured ? h('span', { class: 'muted' }, `measured ${env.measured}`) : null),
    env.differs ? h('p', { class: 'env-warning', role: 'note', testid: 'environment-mismatch' }, h('span', { class: 'status-icon', 'aria-hidden': 'true' }, '⚠'), env.text) : null,
    h('dl', { class: 'facts env-facts' }, ...env.facts.map((f) => h('div', { class: `fact${f.differs ? ' fact-differs' : ''}`, 'data-env': f.id },
      h('dt', null, f.label),
      h('dd', null, f.differs
        ? h('ul', { class: 'per-model' }, ...f.groups.map((g) => h('li', { testid: 'environment-value' },
          h('span', { class: 'env-value' }, g.value),
          h('span', { class: 'env-models' }, g.models.join(', ')))))
        : h('span', { class: f.id === 'cpu' ? undefined : 'mono' }, f.value))))));
}

// ---------------------------------------------------------------------------------------------
// Wiring

store.subscribe(render);
ep.on('view', (v) => {
  // The host rebuilds this panel after a window reload from its own state, found by this key.
  const runFiles = Array.isArray(v?.models) ? v.models.flatMap((m) => (typeof m?.runFile === 'string' ? [m.runFile] : [])) : [];
  if (typeof v?.restoreKey === 'string' && (ui.restoreKey !== v.restoreKey || String(ui.runFiles) !== String(runFiles))) {
    ui.restoreKey = v.restoreKey;
    if (runFiles.length) ui.runFiles = runFiles;
    vscode.setState(ui);
  }
  store.dispatch({ type: 'view', view: v });
});
ep.on('progress', (p) => store.dispatch({ type: 'progress', message: p?.message, fraction: p?.fraction }));
ep.on('idle', (p) => store.dispatch({ type: 'idle', message: p?.message }));
ep.on('error', (p) => store.dispatch({ type: 'error', message: p?.message }));

render(store.getState());
ep.emit('ready', {});
