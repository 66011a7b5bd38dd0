// The model card webview. It says 'ready', then shows what the host sends: progress while the
// model is read, the card, or an error with a way to try again (the page state and its reducer
// are in card-state.ts). All model-provided strings go into the page as text (dom.ts); colours
// come from the VS Code theme's CSS variables.
import {
  provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeProgressRing, vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import type { Chart } from 'chart.js';
import { Endpoint, type HostToWebviewEvents, type WebviewEvents, type WebviewMethods } from '../src/shared/protocol';
import type { ModelCard } from '../src/core/analysis/model-card';
import type { FlopsReport } from '../src/core/analysis/flops';
import { append, h, replaceChildren, setText } from './dom';
import { drawComponentChart, drawLayerChart } from './charts';
import { followChartTheme } from './shared/chart-theme';
import { createProgress } from './shared/progress';
import { createStore } from './shared/store';
import { cardReducer, initialCardState, type CardAction, type CardState } from './card-state';
import {
  componentChart, componentRows, configRows, configSummary, dtypeRows, formatCount, formatMacs, formatMacsShort,
  layerChart, layerMap, parseSeq, quantizationView, summaryOf, TensorTable, type Fact, type LayerMap, type QuantizationRowView,
  type SortDir, type TensorSortKey,
} from './view-model';
import { vscodeApi as vscode } from './shared/vscode-api';

provideVSCodeDesignSystem().register(vsCodeBadge(), vsCodeButton(), vsCodeProgressRing(), vsCodeTextField());


/** What survives the panel being hidden and shown again (per file). */
interface UiState {
  fileName?: string;
  seq?: number;
  search?: string;
  sort?: TensorSortKey;
  dir?: SortDir;
  page?: number;
}

type FieldElement = HTMLElement & { value: string };
type ButtonElement = HTMLElement & { disabled: boolean };

const FLOPS_TIMEOUT_MS = 30_000;

const ep = new Endpoint<WebviewMethods, Record<string, never>, WebviewEvents, HostToWebviewEvents>((m) => vscode.postMessage(m));
window.addEventListener('message', (e: MessageEvent) => ep.receive(e.data));

const root = document.getElementById('root') ?? document.body.appendChild(h('div', { id: 'root' }));

let ui: UiState = (vscode.getState() as UiState | undefined) ?? {};
function saveUi(patch: Partial<UiState>): void {
  ui = { ...ui, ...patch };
  vscode.setState(ui);
}

// ---------------------------------------------------------------------------------------------
// Views

/** Whatever the current view needs torn down when another replaces it. */
let teardown: (() => void) | undefined;

function show(view: HTMLElement, after?: () => (() => void) | void): void {
  teardown?.();
  teardown = undefined;
  replaceChildren(root, view);
  const t = after?.();
  if (t) teardown = t;
}

/** The one progress widget, put back on the page whenever the host reports progress again. */
const progress = createProgress();

function showProgress(message: string, fraction?: number): void {
  if (!root.contains(progress.element)) show(progress.element);
  progress.update(message, fraction);
}

function showError(file: string, problem: string): void {
  const retry = h('vscode-button', { testid: 'retry-button', on: { click: () => choose({ type: 'reload' }, () => ep.emit('reload', {})) } }, 'Try again');
  const view = h('div', { class: 'state-view error-view', testid: 'error-view', role: 'alert' },
    h('h1', { class: 'error-title' }, 'This model could not be opened'),
    h('dl', { class: 'error-facts' },
      h('dt', null, 'File'), h('dd', { testid: 'error-file', class: 'mono' }, file),
      h('dt', null, 'Problem'), h('dd', { testid: 'error-message' }, problem)),
    h('p', { class: 'muted' }, 'Fix the file on disk, then try again.'),
    retry,
  );
  show(view);
  retry.focus();
}

// ---------------------------------------------------------------------------------------------
// The card

function isFlopsReport(x: unknown): x is FlopsReport {
  const f = x as Partial<FlopsReport> | null;
  return !!f && typeof f === 'object' && typeof f.total === 'number' && typeof f.seq === 'number' && Array.isArray(f.perLayer) && !!f.byComponent;
}

function showCard(card: ModelCard, fileName: string): void {
  if (ui.fileName !== fileName) saveUi({ fileName, seq: undefined, search: '', sort: 'order', dir: 'asc', page: 0 });
  let flops = card.flops;
  const summary = summaryOf(card, flops);
  const map = layerMap(card, flops);
  const charts: Chart[] = [];

  // -- header and headline tiles
  const header = h('header', { class: 'card-header', testid: 'card-header' },
    h('div', { class: 'title-block' },
      h('h1', { testid: 'file-name', title: card.weightsPath }, fileName),
      h('div', { class: 'subtitle mono', testid: 'file-path' }, card.path)));

  const seqField = h('vscode-text-field', { testid: 'seq-input', id: 'seq-input', value: String(flops.seq), size: 8, maxlength: 9, inputmode: 'numeric', class: 'seq-field' }, 'Sequence length') as FieldElement;
  const seqApply = h('vscode-button', { testid: 'seq-apply', appearance: 'secondary' }, 'Update') as ButtonElement;
  const seqError = h('div', { class: 'field-error', testid: 'seq-error', id: 'seq-error', 'aria-live': 'polite' });
  const tiles = summary.headline.map((f) => tile(f, f.id === 'flops-value'
    ? h('div', { class: 'seq-control' }, h('div', { class: 'seq-row' }, seqField, seqApply), seqError)
    : undefined));
  const flopsValue = tiles.find((t) => t.querySelector('[data-testid="flops-value"]'))?.querySelector<HTMLElement>('[data-testid="flops-value"]');
  const flopsDetail = tiles.find((t) => t.querySelector('[data-testid="flops-value"]'))?.querySelector<HTMLElement>('.tile-detail');

  const warnings = card.warnings.length
    ? h('section', { id: 'warnings', class: 'callout warning', testid: 'warnings', 'aria-labelledby': 'warnings-h' },
      h('h2', { id: 'warnings-h' }, card.warnings.length === 1 ? 'Warning' : `Warnings (${card.warnings.length})`),
      h('ul', null, ...card.warnings.map((w) => h('li', { testid: 'warning' }, w))))
    : null;

  // -- evidence and details
  const evidence = h('section', { id: 'evidence', class: 'panel', 'aria-labelledby': 'evidence-h' },
    h('h2', { id: 'evidence-h' }, `Why ${card.family}`),
    summary.evidence.length
      ? h('ul', { class: 'evidence', testid: 'evidence' }, ...summary.evidence.map((e) => h('li', { testid: 'evidence-item' }, e)))
      : h('p', { class: 'muted' }, 'Nothing in the file names its family.'));
  const details = h('section', { id: 'details', class: 'panel', 'aria-labelledby': 'details-h' },
    h('h2', { id: 'details-h' }, 'Details'),
    h('dl', { class: 'facts', testid: 'details' }, ...summary.details.map(fact)));

  // -- components
  const compBody = h('tbody');
  const compFoot = h('tfoot');
  const compCanvas = h('canvas', { role: 'img', testid: 'component-chart' });
  const renderComponents = () => {
    const rows = componentRows(card, flops);
    replaceChildren(compBody, ...rows.map((r) => h('tr', { testid: 'component-row', 'data-component': r.component },
      h('th', { scope: 'row' }, h('span', { class: `swatch swatch-${r.component}`, 'aria-hidden': 'true' }), r.component),
      h('td', { class: 'num', testid: 'component-params' }, r.paramsText),
      h('td', { class: 'num' }, h('span', { class: 'share' }, h('span', { class: 'share-track', 'aria-hidden': 'true' }, h('span', { class: `share-bar fill-${r.component}`, 'data-pct': r.percent.toFixed(1) })), r.percentText)),
      h('td', { class: 'num', testid: 'component-macs' }, r.macsText))));
    compBody.querySelectorAll<HTMLElement>(".share-bar").forEach((bar) => { bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.pct)))}%`; });
    replaceChildren(compFoot, h('tr', null,
      h('th', { scope: 'row' }, 'total'),
      h('td', { class: 'num' }, formatCount(card.params.total)),
      h('td', { class: 'num' }, '100%'),
      h('td', { class: 'num' }, formatMacsShort(flops.total))));
    return rows;
  };
  const compRows = renderComponents();
  const compData = componentChart(compRows);
  const compShares = compRows.filter((r) => r.params > 0).map((r) => r.percentText);
  compCanvas.setAttribute('aria-label', `Bar chart of parameters by component: ${compRows.filter((r) => r.params > 0).map((r) => `${r.component} ${r.paramsText} (${r.percentText})`).join(', ')}. The table beside it has the same numbers.`);
  const compBox = h('div', { class: 'chart-box chart-components' }, compCanvas);
  compBox.style.height = `${Math.max(120, compData.labels.length * 40 + 40)}px`;
  const components = h('section', { id: 'components', class: 'panel', 'aria-labelledby': 'components-h' },
    h('h2', { id: 'components-h' }, 'Parameters by component'),
    h('div', { class: 'split' },
      compBox,
      h('div', { class: 'table-wrap' },
        h('table', { class: 'data', testid: 'component-table' },
          h('caption', { class: 'visually-hidden' }, 'Parameters and multiply-adds by component'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Component'), h('th', { scope: 'col', class: 'num' }, 'Parameters'), h('th', { scope: 'col', class: 'num' }, 'Share'), h('th', { scope: 'col', class: 'num', testid: 'component-macs-header' }, `MACs @ ${flops.seq}`))),
          compBody, compFoot))));

  // -- layers
  const layerBody = h('tbody');
  const layerCanvas = h('canvas', { role: 'img', testid: 'layer-chart' });
  const hasWidth = map.rows.some((r) => r.widthText);
  const macsHeader = h('th', { scope: 'col', class: 'num' }, `MACs @ ${flops.seq}`);
  const renderLayers = (m: LayerMap) => replaceChildren(layerBody, ...m.rows.map((r) => h('tr', {
    testid: 'layer-row', 'data-layer': r.index, 'data-shared': r.shared ? 'true' : 'false', class: r.shared ? 'shared' : undefined,
  },
  h('th', { scope: 'row', class: 'num' }, String(r.index)),
  h('td', { class: 'num' }, r.paramsText),
  h('td', { class: 'num' }, r.macsText),
  h('td', { class: 'mono' }, r.weights),
  hasWidth ? h('td', { testid: 'layer-width' }, r.widthText ?? '') : null,
  h('td', { testid: 'layer-shared' }, r.shared
    ? h('span', { class: 'shared-mark' }, h('span', { class: `set-tag set-${(r.sharedSetIndex ?? 0) % 5}` }, r.sharedSet ?? ''), r.sharedText)
    : h('span', { class: 'muted' }, 'own weights')))));
  renderLayers(map);
  const lchart = layerChart(map);
  layerCanvas.setAttribute('aria-label', `Bar chart of parameters per executed layer, ${map.executed} layers${map.sharedSets.length ? `; ${map.sharedSets.map((s) => s.text).join('; ')}` : ''}. The layer table below has the same numbers.`);
  const legend = map.rows.length ? h('ul', { class: 'legend', testid: 'layer-legend', 'aria-label': 'Layer map legend' },
    map.rows.some((r) => !r.shared) ? h('li', null, h('span', { class: 'swatch swatch-own', 'aria-hidden': 'true' }), 'weights of its own') : null,
    ...map.sharedSets.map((s) => h('li', { testid: 'shared-set' }, h('span', { class: `swatch swatch-set set-${s.index % 5}`, 'aria-hidden': 'true' }), s.text))) : null;
  const layers = h('section', { id: 'layers', class: 'panel', 'aria-labelledby': 'layers-h' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'layers-h' }, 'Layer map'),
      h('span', { class: 'muted', testid: 'layer-counts' }, `${map.executed} executed · ${map.unique} distinct ${map.unique === 1 ? 'weight set' : 'weight sets'}`)),
    map.rows.length
      ? [
        h('div', { class: 'chart-box chart-layers' }, layerCanvas),
        legend,
        h('div', { class: 'table-wrap scroll-y', tabindex: 0, role: 'region', 'aria-label': 'Layer table' },
          h('table', { class: 'data', testid: 'layer-table' },
            h('caption', { class: 'visually-hidden' }, 'Executed encoder layers'),
            h('thead', null, h('tr', null,
              h('th', { scope: 'col', class: 'num' }, 'Layer'), h('th', { scope: 'col', class: 'num' }, 'Parameters'), macsHeader,
              h('th', { scope: 'col' }, 'Weights'), hasWidth ? h('th', { scope: 'col' }, 'Width') : null, h('th', { scope: 'col' }, 'Shared'))),
            layerBody)),
      ].reduce((frag, e) => { append(frag, e); return frag; }, document.createDocumentFragment())
      : h('p', { class: 'muted' }, 'No encoder layers were found in this model.'));

  // -- dtypes and config.json
  const dtypes = h('section', { id: 'dtypes', class: 'panel', 'aria-labelledby': 'dtypes-h' },
    h('h2', { id: 'dtypes-h' }, 'Data types'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data', testid: 'dtype-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'dtype'), h('th', { scope: 'col', class: 'num' }, 'Tensors'), h('th', { scope: 'col', class: 'num' }, 'Elements'), h('th', { scope: 'col', class: 'num' }, 'Bytes'), h('th', { scope: 'col', class: 'num' }, 'Share'))),
      h('tbody', null, ...dtypeRows(card).map((d) => h('tr', { testid: 'dtype-row' },
        h('th', { scope: 'row', class: 'mono' }, d.dtype), h('td', { class: 'num' }, d.tensors), h('td', { class: 'num' }, d.elements), h('td', { class: 'num' }, d.bytes), h('td', { class: 'num' }, d.share)))))));
  const cfgRows = configRows(card.configCheck);
  const config = h('section', { id: 'config', class: 'panel', 'aria-labelledby': 'config-h' },
    h('h2', { id: 'config-h' }, 'config.json vs weights'),
    h('p', { class: cfgRows.some((r) => r.flagged) ? 'config-summary bad' : 'config-summary', testid: 'config-summary' }, configSummary(card)),
    cfgRows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data', testid: 'config-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col', class: 'num' }, 'config.json'), h('th', { scope: 'col', class: 'num' }, 'Weights'), h('th', { scope: 'col' }, 'Status'))),
      h('tbody', null, ...cfgRows.map((r) => h('tr', { testid: 'config-row', 'data-flagged': r.flagged ? 'true' : 'false', class: r.flagged ? 'flagged' : undefined },
        h('th', { scope: 'row', class: 'mono' }, r.field), h('td', { class: 'num' }, r.config), h('td', { class: 'num' }, r.weights),
        h('td', null, h('span', { class: `status status-${r.status}` }, h('span', { class: 'status-icon', 'aria-hidden': 'true' }, r.status === 'agrees' ? '✓' : r.status === 'disagrees' ? '✕' : '–'), r.statusText))))))) : null);

  // -- quantization (quantized models only)
  const quantization = quantizationSection(card);

  // -- tensors
  const tensors = tensorSection(card);

  const view = h('main', { class: 'card', testid: 'model-card' },
    header,
    h('section', { id: 'summary', class: 'tiles', 'aria-label': 'Summary' }, ...tiles),
    warnings,
    h('div', { class: 'grid-2' },
      h('div', { class: 'stack' }, evidence, config),
      h('div', { class: 'stack' }, details, dtypes)),
    components,
    quantization,
    layers,
    tensors.section);

  // -- sequence length
  let seqRequest = 0;
  let pendingSeq: number | undefined;
  const setSeqError = (msg: string) => {
    setText(seqError, msg);
    if (msg) { seqField.setAttribute('aria-invalid', 'true'); seqField.setAttribute('aria-describedby', 'seq-error'); seqField.classList.add('invalid'); }
    else { seqField.removeAttribute('aria-invalid'); seqField.classList.remove('invalid'); }
  };
  const updateFlops = () => {
    if (flopsValue) setText(flopsValue, formatMacs(flops.total));
    if (flopsDetail) setText(flopsDetail, `per sequence of ${formatCount(flops.seq)} tokens`);
    renderComponents();
    renderLayers(layerMap(card, flops));
    setText(macsHeader, `MACs @ ${flops.seq}`);
    const ch = components.querySelector('[data-testid="component-macs-header"]');
    if (ch) setText(ch, `MACs @ ${flops.seq}`);
  };
  const applySeq = async () => {
    const check = parseSeq(seqField.value ?? '');
    if (!check.ok) { setSeqError(check.error); return; }
    setSeqError('');
    if (check.seq === (pendingSeq ?? flops.seq)) return;
    const mine = ++seqRequest;
    pendingSeq = check.seq;
    flopsValue?.classList.add('pending');
    if (flopsDetail) setText(flopsDetail, `computing for ${formatCount(check.seq)} tokens…`);
    try {
      const report = await ep.request('flops', { seq: check.seq }, FLOPS_TIMEOUT_MS);
      if (mine !== seqRequest) return;
      if (!isFlopsReport(report)) throw new Error('the reply was not a FLOPs report');
      flops = report;
      saveUi({ seq: report.seq });
      updateFlops();
    } catch (e) {
      if (mine !== seqRequest) return;
      setSeqError(`Could not compute FLOPs: ${e instanceof Error ? e.message : String(e)}`);
      updateFlops();
    } finally {
      if (mine === seqRequest) { flopsValue?.classList.remove('pending'); pendingSeq = undefined; }
    }
  };
  seqField.addEventListener('input', () => {
    const text = seqField.value ?? '';
    const check = parseSeq(text);
    setSeqError(check.ok || text.trim() === '' ? '' : check.error);
  });
  seqField.addEventListener('keydown', (e: KeyboardEvent) => { if (e.key === 'Enter') { e.preventDefault(); void applySeq(); } });
  seqField.addEventListener('change', () => void applySeq());
  seqApply.addEventListener('click', () => void applySeq());

  show(view, () => {
    const stopTheme = followChartTheme((theme) => {
      for (const c of charts.splice(0)) c.destroy();
      if (compData.values.length) charts.push(drawComponentChart(compCanvas, compData, compShares, theme));
      if (map.rows.length) {
        charts.push(drawLayerChart(layerCanvas, lchart, (i) => {
          const r = map.rows[i];
          if (!r) return '';
          const lines = [r.shared ? `shared set ${r.sharedSet}: ${r.sharedText}` : 'weights of its own', `weights ${r.weights}`];
          if (r.widthText) lines.push(r.widthText);
          return lines.join('\n');
        }, theme));
      }
    });
    if (ui.seq !== undefined && ui.seq !== flops.seq) { seqField.value = String(ui.seq); void applySeq(); }
    return () => { stopTheme(); for (const c of charts.splice(0)) c.destroy(); };
  });
}

const QUANT_MARK: Record<QuantizationRowView['state'], { cls: string; icon: string; text: string }> = {
  all: { cls: 'status-agrees', icon: '✓', text: 'all quantized' },
  some: { cls: 'status-unchecked', icon: '–', text: 'partly' },
  none: { cls: 'status-unchecked', icon: '–', text: 'float' },
};

/** Which weights are integers, by component and by layer, and the bytes that saved. */
function quantizationSection(card: ModelCard): HTMLElement | null {
  const view = quantizationView(card);
  if (!view) return null;
  const mark = (r: QuantizationRowView) => {
    const m = QUANT_MARK[r.state];
    return h('span', { class: `status ${m.cls}` }, h('span', { class: 'status-icon', 'aria-hidden': 'true' }, m.icon), m.text);
  };
  const head = (first: string) => h('thead', null, h('tr', null,
    h('th', { scope: 'col' }, first), h('th', { scope: 'col', class: 'num' }, 'Quantized'), h('th', { scope: 'col', class: 'num' }, 'Float bytes'),
    h('th', { scope: 'col', class: 'num' }, 'Now'), h('th', { scope: 'col', class: 'num' }, 'Saved'), h('th', { scope: 'col' }, 'State')));
  const cells = (r: QuantizationRowView) => [
    h('td', { class: 'num', testid: 'quantization-count' }, r.quantizedText), h('td', { class: 'num' }, r.beforeText),
    h('td', { class: 'num' }, r.afterText), h('td', { class: 'num', testid: 'quantization-saved' }, r.savedText), h('td', null, mark(r))];
  return h('section', { id: 'quantization', class: 'panel', testid: 'quantization', 'aria-labelledby': 'quantization-h' },
    h('h2', { id: 'quantization-h' }, 'Quantization'),
    h('p', { testid: 'quantization-headline' }, view.headline),
    h('dl', { class: 'facts', testid: 'quantization-facts' }, ...view.facts.map(fact)),
    h('div', { class: 'split' },
      h('div', { class: 'table-wrap' }, h('table', { class: 'data', testid: 'quantization-components' },
        h('caption', { class: 'visually-hidden' }, 'Quantized weight matrices by component'),
        head('Component'),
        h('tbody', null, ...view.components.map((r) => h('tr', { testid: 'quantization-component-row', 'data-component': r.key, 'data-state': r.state },
          h('th', { scope: 'row' }, r.key), ...cells(r)))))),
      view.layers.length ? h('div', { class: 'table-wrap scroll-y', tabindex: 0, role: 'region', 'aria-label': 'Quantization by layer' }, h('table', { class: 'data', testid: 'quantization-layers' },
        h('caption', { class: 'visually-hidden' }, 'Quantized weight matrices by executed layer'),
        head('Layer'),
        h('tbody', null, ...view.layers.map((r) => h('tr', { testid: 'quantization-layer-row', 'data-layer': r.key, 'data-state': r.state },
          h('th', { scope: 'row', class: 'num' }, r.key), ...cells(r)))))) : null));
}

function tile(f: Fact, extra?: HTMLElement): HTMLElement {
  return h('div', { class: 'tile', testid: `tile-${f.id}` },
    h('div', { class: 'tile-label' }, f.label),
    h('div', { class: 'tile-value', testid: f.id }, f.value),
    f.detail ? h('div', { class: 'tile-detail' }, f.detail) : null,
    extra);
}

function fact(f: Fact): HTMLElement {
  return h('div', { class: 'fact' },
    h('dt', null, f.label),
    h('dd', null, h('span', { testid: f.id, class: /path|file|meta-/.test(f.id) ? 'mono' : undefined }, f.value), f.detail ? h('span', { class: 'fact-detail' }, f.detail) : null));
}

// ---------------------------------------------------------------------------------------------
// The tensor table

const TENSOR_COLUMNS: Array<{ key: TensorSortKey; label: string; num?: boolean }> = [
  { key: 'name', label: 'Name' },
  { key: 'shape', label: 'Shape', num: true },
  { key: 'dtype', label: 'dtype' },
  { key: 'elements', label: 'Elements', num: true },
  { key: 'bytes', label: 'Bytes', num: true },
  { key: 'component', label: 'Component' },
  { key: 'layers', label: 'Layers' },
  { key: 'role', label: 'Role' },
];

function tensorSection(card: ModelCard): { section: HTMLElement } {
  const table = new TensorTable(card.tensors);
  let state = { search: ui.search ?? '', sort: ui.sort ?? ('order' as TensorSortKey), dir: ui.dir ?? ('asc' as SortDir), page: ui.page ?? 0 };

  const search = h('vscode-text-field', {
    testid: 'tensor-search', id: 'tensor-search', placeholder: 'name, dtype, component, role, or layer:3', value: state.search, class: 'search-field', 'aria-label': 'Filter tensors',
  }, 'Filter') as FieldElement;
  const count = h('span', { class: 'muted', testid: 'tensor-count', 'aria-live': 'polite' });
  const body = h('tbody');
  const headCells = TENSOR_COLUMNS.map((c) => {
    const btn = h('button', { class: 'sort', type: 'button', testid: `sort-${c.key}`, on: { click: () => sortBy(c.key) } }, c.label, h('span', { class: 'sort-arrow', 'aria-hidden': 'true' }));
    return { key: c.key, th: h('th', { scope: 'col', class: c.num ? 'num' : undefined }, btn), btn };
  });
  const prev = h('vscode-button', { testid: 'pager-prev', appearance: 'secondary', 'aria-label': 'Previous page', on: { click: () => go(state.page - 1) } }, '‹ Previous') as ButtonElement;
  const next = h('vscode-button', { testid: 'pager-next', appearance: 'secondary', 'aria-label': 'Next page', on: { click: () => go(state.page + 1) } }, 'Next ›') as ButtonElement;
  const pageStatus = h('span', { testid: 'pager-status', class: 'muted' });

  const render = () => {
    const page = table.query(state);
    state.page = page.page;
    saveUi({ search: state.search, sort: state.sort, dir: state.dir, page: state.page });
    if (page.rows.length === 0) {
      replaceChildren(body, h('tr', { class: 'empty' }, h('td', { colspan: TENSOR_COLUMNS.length + 1 }, state.search.trim() ? `No tensors match “${state.search.trim()}”.` : 'This model stores no tensors.')));
    } else {
      const frag = document.createDocumentFragment();
      for (const r of page.rows) {
        frag.appendChild(h('tr', { testid: 'tensor-row', 'data-order': r.order },
          h('td', { class: 'name-cell' },
            h('span', { class: 'mono tensor-name', testid: 'tensor-name', title: r.name }, ...breakable(r.name)),
            r.resolvedName ? h('span', { class: 'resolved mono', title: r.resolvedName }, 'as ', ...breakable(r.resolvedName)) : null),
          h('td', { class: 'num mono nowrap' }, r.shape),
          h('td', { class: 'mono' }, r.dtype),
          h('td', { class: 'num' }, r.elements),
          h('td', { class: 'num nowrap' }, r.bytes),
          h('td', null, r.component),
          h('td', { class: 'nowrap' }, r.layers),
          h('td', { class: 'muted' }, r.role),
          h('td', { class: 'muted note' }, r.note)));
      }
      replaceChildren(body, frag);
    }
    const filtered = page.matched !== page.total;
    setText(count, page.matched === 0
      ? `0 of ${formatCount(page.total)} tensors`
      : `${formatCount(page.first)}–${formatCount(page.last)} of ${formatCount(page.matched)} ${filtered ? `matching (${formatCount(page.total)} in all)` : 'tensors'}`);
    setText(pageStatus, `Page ${page.page + 1} of ${page.pages}`);
    prev.disabled = page.page <= 0;
    next.disabled = page.page >= page.pages - 1;
    for (const c of headCells) {
      const active = c.key === state.sort;
      c.th.setAttribute('aria-sort', active ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      c.btn.classList.toggle('active', active);
      const arrow = c.btn.querySelector('.sort-arrow');
      if (arrow) setText(arrow, active ? (state.dir === 'asc' ? ' ▲' : ' ▼') : '');
    }
  };
  const sortBy = (key: TensorSortKey) => {
    if (state.sort === key) {
      // asc -> desc -> back to file order
      if (state.dir === 'asc') state = { ...state, dir: 'desc' };
      else state = { ...state, sort: 'order', dir: 'asc' };
    } else state = { ...state, sort: key, dir: key === 'elements' || key === 'bytes' ? 'desc' : 'asc' };
    state.page = 0;
    render();
  };
  const go = (page: number) => { state.page = page; render(); };
  let pendingSearch = 0;
  search.addEventListener('input', () => {
    cancelAnimationFrame(pendingSearch);
    pendingSearch = requestAnimationFrame(() => { state = { ...state, search: search.value ?? '', page: 0 }; render(); });
  });
  search.addEventListener('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Escape' && search.value) { e.preventDefault(); search.value = ''; state = { ...state, search: '', page: 0 }; render(); }
  });
  render();

  const section = h('section', { id: 'tensors', class: 'panel', 'aria-labelledby': 'tensors-h' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'tensors-h' }, 'Tensors'),
      h('vscode-badge', { testid: 'tensor-total' }, formatCount(card.tensors.length))),
    h('div', { class: 'toolbar' }, search, count),
    h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Tensor table' },
      h('table', { class: 'data tensors', testid: 'tensor-table' },
        h('caption', { class: 'visually-hidden' }, 'Stored tensors; column headers sort'),
        h('thead', null, h('tr', null, ...headCells.map((c) => c.th), h('th', { scope: 'col' }, 'Notes'))),
        body)),
    h('nav', { class: 'pager', 'aria-label': 'Tensor pages', testid: 'pager' }, prev, pageStatus, next));
  return { section };
}

/** A dotted name as text nodes with line-break opportunities after each '.' or '/' (no HTML is parsed). */
function breakable(name: string): Node[] {
  if (name.length <= 60) return [document.createTextNode(name)];
  const out: Node[] = [];
  for (const part of name.split(/(?<=[./])/)) {
    if (out.length) out.push(document.createElement('wbr'));
    out.push(document.createTextNode(part));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Wiring: the page state in one store (card-state.ts has the reducer), rendered here

const store = createStore(cardReducer, initialCardState);

/** Dispatches a user's request and tells the host only if the reducer took it as a change. */
function choose(action: CardAction, tell: () => void): void {
  const before = store.getState();
  store.dispatch(action);
  if (store.getState() !== before) tell();
}

function render(s: CardState): void {
  switch (s.view) {
    case 'progress':
      showProgress(s.message, s.fraction);
      return;
    case 'card':
      try {
        showCard(s.card, s.fileName);
      } catch (e) {
        store.dispatch({ type: 'renderFailed', message: e instanceof Error ? e.message : String(e) });
      }
      return;
    case 'error':
      showError(s.file, s.problem);
      return;
  }
}

store.subscribe(render);
ep.on('progress', (p) => store.dispatch({ type: 'progress', message: p?.message, fraction: p?.fraction }));
ep.on('card', (p) => store.dispatch({ type: 'card', card: p?.card, fileName: p?.fileName }));
ep.on('error', (p) => store.dispatch({ type: 'error', file: p?.file, problem: p?.problem }));

render(store.getState());
ep.emit('ready', {});
