// The job form's webview: the fields the host describes (files with Browse, numbers, choices),
// its notes under them (what the model is) and its problems beside them, and Start. Every
// change goes to the host, which checks the values with the core's own checks and answers with
// problems by field. The page is built once from the form's description and then updated in
// place, so typing never loses focus. Text from the host goes in as text only (dom.ts).
import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeOption, vsCodeProgressRing, vsCodeRadio, vsCodeRadioGroup, vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import { Endpoint, type HostToJobFormEvents, type JobFormEvents, type JobFormField, type JobFormMethods, type JobFormSpec } from '../../src/shared/protocol';
import { h, replaceChildren, setText } from '../dom';
import { createStore } from '../shared/store';
import { vscodeApi as vscode } from '../shared/vscode-api';
import { blockingCount, formReducer, initialFormState, isVisible, shownProblem, type FormState } from './state';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeRadio(), vsCodeRadioGroup(), vsCodeTextField());

type ValueElement = HTMLElement & { value: string };
type ButtonElement = HTMLElement & { disabled: boolean };

const BROWSE_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 60_000;
/** Typing is checked once it pauses, not at every key. */
const TYPING_PAUSE_MS = 300;

const ep = new Endpoint<JobFormMethods, Record<string, never>, JobFormEvents, HostToJobFormEvents>((m) => vscode.postMessage(m));
window.addEventListener('message', (e: MessageEvent) => ep.receive(e.data));

const root = document.getElementById('root') ?? document.body.appendChild(h('div', { id: 'root' }));
const store = createStore(formReducer, initialFormState);

interface FieldView {
  field: JobFormField;
  row: HTMLElement;
  control: ValueElement;
  note: HTMLElement;
  error: HTMLElement;
}

let views: FieldView[] = [];
let built: JobFormSpec | undefined;
let startButton: ButtonElement | undefined;
let formProblem: HTMLElement | undefined;
let summary: HTMLElement | undefined;
/** Set while the page writes a control's value itself: the components report that as a change too. */
let applying = false;
let typingTimer = 0;
/** The field whose pause is awaited: another field's edit sends it at once, so its derived values are not lost. */
let pendingField: string | undefined;

function tellHost(field: string): void {
  ep.emit('changed', { field, values: { ...store.getState().values } });
}

function edited(field: string, value: string, pause: boolean): void {
  if (applying) return;
  store.dispatch({ type: 'edit', field, value });
  clearTimeout(typingTimer);
  if (pendingField !== undefined && pendingField !== field) tellHost(pendingField);
  pendingField = undefined;
  if (pause) {
    pendingField = field;
    typingTimer = window.setTimeout(() => { pendingField = undefined; tellHost(field); }, TYPING_PAUSE_MS);
  } else tellHost(field);
}

function control(f: JobFormField): ValueElement {
  const id = `input-${f.id}`;
  if (f.type === 'choice' && f.radio) {
    const group = h('vscode-radio-group', { id, testid: id, orientation: 'horizontal' },
      h('label', { slot: 'label' }, f.label),
      ...(f.options ?? []).map((o) => h('vscode-radio', { value: o.value, testid: `${id}-${o.value}` }, o.label))) as ValueElement;
    group.addEventListener('change', () => edited(f.id, group.value ?? '', false));
    return group;
  }
  if (f.type === 'choice') {
    const dd = h('vscode-dropdown', { id, testid: id, 'aria-label': f.label },
      ...(f.options ?? []).map((o) => h('vscode-option', { value: o.value }, o.label))) as ValueElement;
    dd.addEventListener('change', () => edited(f.id, dd.value ?? '', false));
    return dd;
  }
  const text = h('vscode-text-field', {
    id, testid: id, placeholder: f.placeholder, class: f.type === 'file' ? 'path-field' : 'number-field',
    ...(f.type === 'number' ? { inputmode: 'decimal' } : { spellcheck: 'false' }),
  }, f.label) as ValueElement;
  text.addEventListener('input', () => edited(f.id, text.value ?? '', true));
  text.addEventListener('change', () => edited(f.id, text.value ?? '', false));
  return text;
}

function fieldRow(f: JobFormField): FieldView {
  const c = control(f);
  const error = h('div', { class: 'field-error', id: `error-${f.id}`, testid: `error-${f.id}`, 'aria-live': 'polite' });
  const note = h('div', { class: 'field-note', testid: `note-${f.id}` });
  // The dropdown has no label slot of its own.
  const label = f.type === 'choice' && !f.radio ? h('label', { for: `input-${f.id}`, class: 'field-label' }, f.label) : null;
  const browse = f.type === 'file'
    ? h('vscode-button', { appearance: 'secondary', testid: `browse-${f.id}`, 'aria-label': `Browse for ${f.label}`, on: { click: () => void browseFor(f) } }, 'Browse…')
    : null;
  const row = h('div', { class: `form-field field-${f.type}${f.required ? ' required' : ''}`, testid: `field-${f.id}` },
    label,
    h('div', { class: 'field-line' }, c, browse),
    f.hint ? h('div', { class: 'field-hint' }, f.hint) : null,
    note, error);
  return { field: f, row, control: c, note, error };
}

async function browseFor(f: JobFormField): Promise<void> {
  try {
    const r = await ep.request('browse', { field: f.id, values: { ...store.getState().values } }, BROWSE_TIMEOUT_MS);
    if (typeof r?.value === 'string') {
      store.dispatch({ type: 'edit', field: f.id, value: r.value });
      tellHost(f.id);
    }
  } catch {
    // A dismissed or timed-out dialog leaves the field as it was.
  }
}

async function start(): Promise<void> {
  const s = store.getState();
  if (s.starting) return;
  clearTimeout(typingTimer);
  pendingField = undefined;
  store.dispatch({ type: 'starting' });
  try {
    const r = await ep.request('start', { values: { ...s.values } }, START_TIMEOUT_MS);
    store.dispatch({ type: 'startAnswered', started: !!r?.started, problems: r?.problems });
    if (!r?.started) document.querySelector<HTMLElement>('.form-field.invalid [data-testid^="input-"]')?.focus();
  } catch (e) {
    store.dispatch({ type: 'startFailed', message: e instanceof Error ? e.message : String(e) });
  }
}

function build(spec: JobFormSpec): void {
  built = spec;
  views = [];
  const sections = spec.sections.map((sec, i) => {
    const rows = sec.fields.map((f) => {
      const v = fieldRow(f);
      views.push(v);
      return v.row;
    });
    // Paths get a line each, wherever their section is; other fields share lines.
    const files = i === 0 || sec.fields.every((f) => f.type === 'file');
    return h('section', { class: `panel form-section ${files ? 'files' : 'params'}`, 'aria-labelledby': `section-${i}` },
      h('h2', { id: `section-${i}` }, sec.title),
      h('div', { class: 'form-grid' }, ...rows));
  });
  startButton = h('vscode-button', { testid: 'start-button', on: { click: () => void start() } }, spec.submitLabel) as ButtonElement;
  formProblem = h('div', { class: 'callout error form-problem', testid: 'form-problem', role: 'alert', hidden: true });
  summary = h('span', { class: 'muted', testid: 'form-summary', 'aria-live': 'polite' });
  const form = h('form', { class: 'job-form', testid: 'job-form', 'data-kind': spec.kind, novalidate: true, on: { submit: (e: Event) => { e.preventDefault(); void start(); } } },
    h('header', { class: 'form-header' },
      h('h1', { testid: 'form-title' }, spec.title),
      spec.intro ? h('p', { class: 'muted' }, spec.intro) : null),
    ...sections,
    formProblem,
    h('div', { class: 'form-actions' }, startButton, summary));
  replaceChildren(root, form);
}

function render(s: FormState, prev?: FormState): void {
  if (!s.spec) {
    if (!prev) replaceChildren(root, h('p', { class: 'muted' }, 'Loading the form…'));
    return;
  }
  if (s.spec !== built) build(s.spec);
  applying = true;
  try {
    for (const v of views) {
      const value = s.values[v.field.id] ?? '';
      if ((v.control.value ?? '') !== value) v.control.value = value;
      v.row.hidden = !isVisible(s, v.field);
      const problem = shownProblem(s, v.field);
      v.row.classList.toggle('invalid', !!problem);
      if (problem) { v.control.setAttribute('aria-invalid', 'true'); v.control.setAttribute('aria-describedby', `error-${v.field.id}`); }
      else { v.control.removeAttribute('aria-invalid'); v.control.removeAttribute('aria-describedby'); }
      if (v.error.textContent !== (problem ?? '')) setText(v.error, problem ?? '');
      const note = s.notes[v.field.id] ?? '';
      if (v.note.textContent !== note) setText(v.note, note);
    }
  } finally {
    applying = false;
  }
  if (formProblem) {
    const shown = s.submitted ? s.problems.form : undefined;
    formProblem.hidden = !shown;
    if ((formProblem.textContent ?? '') !== (shown ?? '')) setText(formProblem, shown ?? '');
  }
  if (startButton) {
    startButton.disabled = s.starting;
    setText(startButton, s.starting ? 'Starting…' : s.spec.submitLabel);
  }
  if (summary) {
    const n = blockingCount(s);
    setText(summary, s.starting ? '' : n && s.submitted ? `${n} problem${n === 1 ? '' : 's'} to fix` : '');
  }
}

store.subscribe(render);
render(store.getState());

ep.on('init', (p) => store.dispatch({ type: 'init', spec: p?.spec, values: p?.values, notes: p?.notes }));
ep.on('defaults', (p) => {
  store.dispatch({ type: 'defaults', values: p?.values, notes: p?.notes });
  // The host checks once the page's values include what it just derived.
  tellHost('');
});
ep.on('problems', (p) => store.dispatch({ type: 'problems', problems: p }));
ep.emit('ready', {});
// As in any form, Enter in a text field submits it.
root.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter' && (e.target as HTMLElement | null)?.tagName === 'VSCODE-TEXT-FIELD') { e.preventDefault(); void start(); }
});
