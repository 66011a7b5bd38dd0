// The run panel's webview: a training-like run, live or saved. The host sends a snapshot, then
// only new steps and evaluations (state.ts appends them); this file draws at most once per
// animation frame, whatever the rate of messages: the header (status, step, steps/s, ETA,
// elapsed), the progress-and-cancel widget while a job is attached, a loss chart with one line
// per loss term, the learning rate, the evaluations (chart and table), stage markers and, for
// distillation, the teacher -> student layer map. The page keeps the run file in its state so
// VS Code can hand it back after a reload. Text from the host goes in as text only (dom.ts).
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';
import type { Chart } from 'chart.js';
import { Endpoint, type HostToRunEvents, type RunEvents } from '../../src/shared/protocol';
import { h, replaceChildren, setText } from '../dom';
import { followChartTheme, seriesColor, type ChartTheme } from '../shared/chart-theme';
import { createProgress } from '../shared/progress';
import { select, type SeriesState } from '../shared/series';
import { createStore } from '../shared/store';
import { vscodeApi as vscode } from '../shared/vscode-api';
import { createLiveChart, setData, type LineSpec, type LiveChartOptions } from './charts';
import { layoutLayerMap } from './layer-map';
import { layerMapLegend, layerMapSvg } from './layer-map-svg';
import { initialRunState, runReducer, type RunState } from './state';
import {
  evalNames, evalRows, formatLoss, headerView, lineLabel, lossNames, stageLegend, stageMarkers, statusOf,
} from './view-model';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeProgressRing());

type ButtonElement = HTMLElement & { disabled: boolean };

const ep = new Endpoint<Record<string, never>, Record<string, never>, RunEvents, HostToRunEvents>((m) => vscode.postMessage(m));
window.addEventListener('message', (e: MessageEvent) => ep.receive(e.data));

const store = createStore(runReducer, initialRunState);
ep.on('snapshot', (p) => store.dispatch({ type: 'snapshot', payload: p, at: performance.now() }));
ep.on('progress', (p) => store.dispatch({ type: 'progress', payload: p, at: performance.now() }));
ep.on('header', (header) => store.dispatch({ type: 'header', header }));

// ---------------------------------------------------------------------------------------------
// The page, built once and updated in place

const root = document.getElementById('root') ?? document.body.appendChild(h('div', { id: 'root' }));
const title = h('h1', { testid: 'run-title' }, 'Run');
const subtitle = h('div', { class: 'subtitle mono', testid: 'run-subtitle' });
const statusTag = h('span', { class: 'status-tag', testid: 'run-status' });
const progress = createProgress({
  layout: 'banner', label: 'Training in progress', className: 'progress-slot',
  onCancel: () => { store.dispatch({ type: 'cancel' }); ep.emit('cancel', {}); },
});
const compareButton = h('vscode-button', { testid: 'compare-button', appearance: 'secondary', hidden: true, on: { click: () => ep.emit('compare', {}) } }, 'Compare with the original') as ButtonElement;

function fact(id: string, label: string): HTMLElement {
  return h('div', { class: 'run-fact' }, h('dt', null, label), h('dd', { testid: `run-${id}`, class: 'num' }, '—'), h('dd', { class: 'fact-of muted', testid: `run-${id}-of` }));
}
const facts = {
  step: fact('step', 'Step'), epoch: fact('epoch', 'Epoch'), loss: fact('loss', 'Loss'),
  rate: fact('rate', 'Speed'), eta: fact('eta', 'Time left'), elapsed: fact('elapsed', 'Elapsed'),
};
const factValue = (f: HTMLElement) => f.querySelector('dd') as HTMLElement;
const factOf = (f: HTMLElement) => f.querySelector('.fact-of') as HTMLElement;
const errorBox = h('section', { class: 'callout error', role: 'alert', testid: 'run-error', hidden: true });

interface ChartSlot {
  id: string;
  section: HTMLElement;
  box: HTMLElement;
  canvas: HTMLCanvasElement;
  note: HTMLElement;
  chart?: Chart<'line'>;
  specs: LineSpec[];
  key: string;
  drawn: number;
  width: number;
}

function chartSlot(id: string, heading: string): ChartSlot {
  const canvas = h('canvas', { role: 'img', 'aria-label': heading });
  const box = h('div', { class: 'chart-box run-chart', testid: `chart-${id}` }, canvas);
  const note = h('span', { class: 'muted chart-note' });
  const section = h('section', { class: 'panel chart-panel', 'aria-labelledby': `${id}-h` },
    h('div', { class: 'section-head' }, h('h2', { id: `${id}-h` }, heading), note), box);
  return { id, section, box, canvas, note, specs: [], key: '', drawn: -1, width: 0 };
}

const lossSlot = chartSlot('loss', 'Loss');
const lrSlot = chartSlot('lr', 'Learning rate');
const evalSlot = chartSlot('eval', 'Evaluation');
const evalTable = h('div', { class: 'table-wrap eval-table-wrap', testid: 'eval-table' });
evalSlot.section.appendChild(evalTable);
const stagesBox = h('p', { class: 'stages muted', testid: 'run-stages', hidden: true });
const mapBox = h('div', { class: 'layer-map-box', testid: 'layer-map' });
const mapSection = h('section', { class: 'panel layer-map', 'aria-labelledby': 'map-h', hidden: true },
  h('div', { class: 'section-head' }, h('h2', { id: 'map-h' }, 'Teacher → student layers'), h('span', { class: 'muted' }, '0 is the embeddings'), layerMapLegend()),
  mapBox);

const main = h('main', { class: 'run', testid: 'run-view' },
  h('header', { class: 'run-header' },
    h('div', { class: 'title-block' }, title, subtitle),
    h('div', { class: 'run-actions' }, compareButton, statusTag)),
  progress.element,
  h('dl', { class: 'run-facts', testid: 'run-facts' }, ...Object.values(facts)),
  errorBox,
  stagesBox,
  h('div', { class: 'grid-2 run-charts' }, lossSlot.section, lrSlot.section),
  evalSlot.section,
  mapSection);
replaceChildren(root, main);
progress.configure({ cancellable: false });
progress.update('Loading the run…');

// ---------------------------------------------------------------------------------------------
// Drawing, once per frame at most

let theme: ChartTheme | undefined;
let frame = 0;
let drawnEvals: unknown;
let drawnMap: unknown;
let drawnMapWidth = 0;

function schedule(): void {
  if (!frame) frame = requestAnimationFrame(draw);
}

function draw(): void {
  frame = 0;
  const s = store.getState();
  try {
    drawHeader(s);
    drawCharts(s);
    drawEvalTable(s);
    drawLayerMap(s);
  } catch (e) {
    store.dispatch({ type: 'renderFailed', message: e instanceof Error ? e.message : String(e) });
  }
}

function text(e: HTMLElement, t: string): void {
  if (e.textContent !== t) setText(e, t);
}

function drawHeader(s: RunState): void {
  if (s.waiting) return;
  const v = headerView(s, performance.now());
  const st = statusOf(s);
  text(title, s.header?.title ?? 'Run');
  text(subtitle, s.header ? `${s.header.modelPath}${s.header.out ? ` → ${s.header.out}` : ''}` : '');
  text(statusTag, st.label);
  statusTag.className = `status-tag status-${st.status} tone-${st.tone}`;
  statusTag.setAttribute('data-status', st.status);
  text(factValue(facts.step), v.stepText);
  text(factOf(facts.step), v.stepOf);
  text(factOf(facts.epoch), v.epochOf);
  factValue(facts.step).setAttribute('data-step', String(v.step ?? 0));
  text(factValue(facts.epoch), v.epochText);
  text(factValue(facts.loss), v.lossText);
  text(factValue(facts.rate), v.rateText);
  text(factValue(facts.eta), v.etaText);
  text(factValue(facts.elapsed), v.elapsedText);
  const error = s.renderError ?? s.header?.error;
  errorBox.hidden = !error;
  text(errorBox, error ?? '');
  compareButton.hidden = !s.header?.compare;
  if (s.header?.compare) text(compareButton, s.header.compare.label);
  if (s.header?.live) {
    progress.configure({ cancellable: true, cancelling: s.cancelRequested || s.header.status === 'cancelling' });
    progress.update(v.progressMessage, v.fraction);
  } else {
    progress.idle(v.endMessage);
  }
  const legend = stageLegend(s);
  stagesBox.hidden = legend.length === 0;
  text(stagesBox, legend.length ? `Stages: ${legend.map((l) => `${l.stage} (${l.from})`).join(' · ')}` : '');
}

/** Makes the slot's chart anew when its lines or the theme changed, then gives it the newest points. */
function drawSlot(slot: ChartSlot, series: SeriesState, specs: LineSpec[], options: LiveChartOptions, s: RunState): void {
  slot.section.hidden = specs.length === 0;
  if (!theme || specs.length === 0) return;
  const key = specs.map((x) => `${x.name}:${x.color}`).join('|');
  if (key !== slot.key || !slot.chart) {
    slot.chart?.destroy();
    slot.chart = createLiveChart(slot.canvas, specs, options, theme);
    slot.specs = specs;
    slot.key = key;
    slot.drawn = -1;
  }
  const width = Math.round(slot.box.clientWidth);
  if (series.version === slot.drawn && width === slot.width) return;
  // About one point per pixel: more would not show, fewer would hide spikes.
  const data = select(series, { names: specs.map((x) => x.name), maxPoints: Math.max(64, Math.min(2000, width || 600)) });
  setData(slot.chart, slot.specs, data.lines, stageMarkers(s));
  slot.drawn = series.version;
  slot.width = width;
  const first = data.lines[0];
  slot.box.setAttribute('data-points', String(first?.count ?? 0));
  slot.box.setAttribute('data-drawn', String(data.lines.reduce((n, l) => n + l.points.length, 0)));
  if (first?.firstNonFiniteStep !== undefined) text(slot.note, `${lineLabel(first.name)} stopped being a number at step ${first.firstNonFiniteStep}`);
}

function drawCharts(s: RunState): void {
  if (!theme) return;
  const t = theme;
  const names = lossNames(s);
  const oneTerm = names.length === 2;
  const lossSpecs = names.map((name, i): LineSpec => ({
    name, label: lineLabel(name), color: seriesColor(t, i), width: i === 0 ? 2 : 1.5,
    // A single term usually equals the total: dashed and drawn over it, it stays visible.
    dash: i > 0 && oneTerm ? [6, 4] : undefined, order: i === 0 ? 1 : 0,
  }));
  drawSlot(lossSlot, s.steps, lossSpecs, { yTitle: 'loss', format: (y) => formatLoss(y) }, s);
  if (!lossSlot.note.textContent) text(lossSlot.note, names.length > 1 ? 'total and each term, before weighting' : '');
  const lrSpecs: LineSpec[] = s.steps.series.some((x) => x.name === 'lr') ? [{ name: 'lr', label: 'learning rate', color: seriesColor(t, 2) }] : [];
  drawSlot(lrSlot, s.steps, lrSpecs, { yTitle: 'learning rate', format: (y) => (y === 0 ? '0' : y.toExponential(2)), tick: (y) => (y === 0 ? '0' : y.toExponential(1)) }, s);
  const e = evalNames(s);
  const evalSpecs: LineSpec[] = [
    ...e.shares.map((name, i): LineSpec => ({ name, label: lineLabel(name), color: seriesColor(t, i === 0 ? 2 : 3), points: true, width: 2 })),
    ...e.losses.map((name, i): LineSpec => ({ name, label: lineLabel(name), color: seriesColor(t, i === 0 ? 1 : 4), points: true, dash: [5, 3], right: true })),
  ];
  if (evalSpecs.length) {
    evalSlot.box.hidden = false;
    drawSlot(evalSlot, s.evalSeries, evalSpecs, { yTitle: 'share of examples', rightTitle: 'loss', percent: true, format: (y) => formatLoss(y) }, s);
    text(evalSlot.note, 'after each epoch and at the end');
  } else {
    evalSlot.section.hidden = false;
    evalSlot.box.hidden = true;
    // The plan names evaluation examples only when there is evaluation data.
    const note = !s.header?.live ? 'This run has no evaluation.'
      : s.plan && s.plan.evalExamples === undefined ? 'No evaluation data was given.'
        : 'Evaluations come after each epoch and at the end.';
    text(evalSlot.note, note);
  }
}

function drawEvalTable(s: RunState): void {
  if (s.evals === drawnEvals) return;
  drawnEvals = s.evals;
  const { rows, agreement, stages } = evalRows(s);
  if (!rows.length) { replaceChildren(evalTable); return; }
  const head = ['Step', 'Epoch', 'Accuracy', 'Loss', ...(agreement ? ['Agreement', 'KL'] : []), ...(stages ? ['Stage'] : [])];
  replaceChildren(evalTable, h('table', { class: 'data eval-table' },
    h('caption', { class: 'visually-hidden' }, 'Evaluations'),
    h('thead', null, h('tr', null, ...head.map((c) => h('th', { scope: 'col', class: c !== 'Stage' ? 'num' : undefined }, c)))),
    h('tbody', null, ...rows.map((r) => h('tr', { testid: 'eval-row' },
      h('td', { class: 'num' }, r.step), h('td', { class: 'num' }, r.epoch), h('td', { class: 'num strong' }, r.accuracy), h('td', { class: 'num' }, r.loss),
      ...(agreement ? [h('td', { class: 'num' }, r.agreement ?? ''), h('td', { class: 'num' }, r.kl ?? '')] : []),
      ...(stages ? [h('td', null, r.stage ?? '')] : []))))));
}

function drawLayerMap(s: RunState): void {
  mapSection.hidden = !s.layerMap;
  if (!s.layerMap) return;
  const width = Math.round(mapBox.clientWidth) || 600;
  if (s.layerMap === drawnMap && width === drawnMapWidth) return;
  drawnMap = s.layerMap;
  drawnMapWidth = width;
  replaceChildren(mapBox, layerMapSvg(layoutLayerMap(s.layerMap, width)));
}

// ---------------------------------------------------------------------------------------------
// Wiring

store.subscribe((s, prev) => {
  // What VS Code hands back after a reload: the run file, and what a record does not keep.
  if (s.header?.runFile && (s.header.runFile !== prev.header?.runFile || s.plan !== prev.plan || s.layerMap !== prev.layerMap)) {
    vscode.setState({ runFile: s.header.runFile, ...(s.plan ? { plan: s.plan } : {}), ...(s.layerMap ? { layerMap: s.layerMap } : {}) });
  } else if (prev.header?.runFile && s.header && !s.header.runFile) {
    // A job that failed before doing any work leaves no run file to reopen.
    vscode.setState({});
  }
  schedule();
});

followChartTheme((t) => {
  theme = t;
  // Colours sit in many places of a chart's options: charts are made anew in the new theme.
  for (const slot of [lossSlot, lrSlot, evalSlot]) { slot.chart?.destroy(); slot.chart = undefined; slot.key = ''; }
  schedule();
});
new ResizeObserver(() => schedule()).observe(root);
// The elapsed clock and the ETA move on between messages.
setInterval(() => { if (store.getState().header?.live) schedule(); }, 1000);
ep.emit('ready', {});
