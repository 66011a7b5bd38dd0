// The job form's state and its pure reducer: the form the host described, what is in each field,
// which fields the user has edited (the host's derived defaults never overwrite those), the
// host's problems and whether a start is under way. main.ts renders it; nothing here touches the
// DOM, so every transition is tested in Node.
import type { JobFormField, JobFormProblems, JobFormSpec, JobFormValues } from '../../src/shared/protocol';

export interface FormState {
  spec?: JobFormSpec;
  values: Readonly<JobFormValues>;
  /** Fields the user edited. */
  touched: Readonly<Record<string, true>>;
  notes: Readonly<Record<string, string>>;
  problems: JobFormProblems;
  /** Start was pressed and the host has not answered. */
  starting: boolean;
  /** Start was pressed once: every problem shows, not only those of fields with something in them. */
  submitted: boolean;
}

export type FormAction =
  | { type: 'init'; spec: JobFormSpec; values: JobFormValues; notes: Record<string, string> }
  | { type: 'defaults'; values: JobFormValues; notes: Record<string, string> }
  | { type: 'edit'; field: string; value: string }
  | { type: 'problems'; problems: JobFormProblems }
  | { type: 'starting' }
  | { type: 'startAnswered'; started: boolean; problems: JobFormProblems }
  | { type: 'startFailed'; message: string };

export const initialFormState: FormState = { values: {}, touched: {}, notes: {}, problems: { fields: {} }, starting: false, submitted: false };

const isStrings = (x: unknown): x is Record<string, string> =>
  !!x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every((v) => typeof v === 'string');

function cleanProblems(p: unknown): JobFormProblems | undefined {
  const x = p as Partial<JobFormProblems> | undefined;
  if (!x || typeof x !== 'object' || !isStrings(x.fields)) return undefined;
  return { fields: { ...x.fields }, ...(typeof x.form === 'string' && x.form ? { form: x.form } : {}) };
}

function looksLikeSpec(x: unknown): x is JobFormSpec {
  const s = x as Partial<JobFormSpec> | undefined;
  return !!s && typeof s.title === 'string' && Array.isArray(s.sections)
    && s.sections.every((sec) => sec && Array.isArray(sec.fields) && sec.fields.every((f) => f && typeof f.id === 'string' && typeof f.label === 'string'));
}

export function formReducer(state: FormState, action: FormAction): FormState {
  switch (action.type) {
    case 'init':
      // A page restored or re-shown gets the host's values again, but keeps what the user typed.
      if (!looksLikeSpec(action.spec) || !isStrings(action.values)) return state;
      return {
        ...state, spec: action.spec,
        values: { ...action.values, ...pick(state.values, Object.keys(state.touched)) },
        notes: isStrings(action.notes) ? { ...action.notes } : {},
      };
    case 'defaults': {
      if (!isStrings(action.values)) return state;
      const values = { ...state.values };
      let changed = false;
      for (const [k, v] of Object.entries(action.values)) {
        if (state.touched[k] || values[k] === v) continue;
        values[k] = v;
        changed = true;
      }
      const notes = isStrings(action.notes) ? { ...state.notes, ...action.notes } : state.notes;
      if (!changed && notes === state.notes) return state;
      return { ...state, values: changed ? values : state.values, notes };
    }
    case 'edit': {
      if (typeof action.value !== 'string' || typeof action.field !== 'string') return state;
      if (state.values[action.field] === action.value && state.touched[action.field]) return state;
      return { ...state, values: { ...state.values, [action.field]: action.value }, touched: { ...state.touched, [action.field]: true } };
    }
    case 'problems': {
      const problems = cleanProblems(action.problems);
      return problems ? { ...state, problems } : state;
    }
    case 'starting':
      return state.starting ? state : { ...state, starting: true, submitted: true };
    case 'startAnswered': {
      const problems = cleanProblems(action.problems) ?? state.problems;
      return { ...state, starting: action.started, problems };
    }
    case 'startFailed':
      return { ...state, starting: false, problems: { ...state.problems, form: action.message || 'the job could not be started' } };
    default:
      return state;
  }
}

function pick(values: Readonly<JobFormValues>, keys: string[]): JobFormValues {
  const out: JobFormValues = {};
  for (const k of keys) if (values[k] !== undefined) out[k] = values[k];
  return out;
}

export function allFields(spec: JobFormSpec | undefined): JobFormField[] {
  return spec ? spec.sections.flatMap((s) => s.fields) : [];
}

/** Whether a field shows (epochs only while training for epochs; a recipe's fields while it is chosen). */
export function isVisible(state: FormState, field: JobFormField): boolean {
  if (!field.showWhen) return true;
  const { value } = field.showWhen;
  const current = state.values[field.showWhen.field] ?? '';
  return typeof value === 'string' ? current === value : Array.isArray(value) && value.includes(current);
}

/**
 * The problem shown beside a field: an empty field the user has not reached yet is not flagged
 * until Start is pressed; a hidden field's problem is not shown at all.
 */
export function shownProblem(state: FormState, field: JobFormField): string | undefined {
  const p = state.problems.fields[field.id];
  if (!p || !isVisible(state, field)) return undefined;
  return state.submitted || state.touched[field.id] || (state.values[field.id] ?? '').trim() ? p : undefined;
}

/** Problems that stop Start, counted over visible fields. */
export function blockingCount(state: FormState): number {
  return allFields(state.spec).filter((f) => isVisible(state, f) && state.problems.fields[f.id]).length + (state.problems.form ? 1 : 0);
}
