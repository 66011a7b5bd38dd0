// The run panel's state and its pure reducer. The host sends one snapshot (a saved run, or a
// live one so far), then only new steps and evaluations; the reducer appends them to shared
// series (webview/shared/series.ts) in time proportional to the batch, never to the run, and
// keeps what the header needs: the last step, a short window of step times for steps/s, the
// stages, the clock. Nothing here touches the DOM: tested in Node, 10,000-step streams included.
import type { EvalLog, StepLog } from '../../src/core/training/training-loop';
import type { HostToRunEvents, RunHeader, RunLayerMap, RunPlan } from '../../src/shared/protocol';
import { emptySeries, seriesReducer, type SeriesPoint, type SeriesState } from '../shared/series';

/** Steps/s is measured over this many of the newest steps: recent enough to follow a change of pace. */
export const RATE_WINDOW = 32;

/** Where a stage of the job begins, on the panel's step axis. */
export interface StageMark {
  x: number;
  stage: string;
}

export interface LastStep {
  step: number;
  /** On the panel's axis: the step, moved on when a stage counts its steps from 0 again. */
  x: number;
  epoch: number;
  loss: number;
  stage?: string;
}

export interface RunState {
  /** Nothing from the host yet. */
  waiting: boolean;
  header?: RunHeader;
  plan?: RunPlan;
  /** Per step: loss, loss_<term>, lr, grad_norm. */
  steps: SeriesState;
  /** Per evaluation: accuracy, eval_loss, agreement, kl. */
  evalSeries: SeriesState;
  evals: readonly EvalLog[];
  /** Loss terms in order of appearance. */
  terms: readonly string[];
  stages: readonly StageMark[];
  last?: LastStep;
  /** Added to a step to place it on the axis. */
  offset: number;
  /** The newest steps' wall times and sizes, oldest first, at most RATE_WINDOW. */
  recent: ReadonlyArray<{ ms: number; examples: number }>;
  /** Steps received. */
  count: number;
  phase?: string;
  /** Steps received when the phase was reported: a phase newer than the last step is what the job is doing now. */
  phaseAt: number;
  /** The run's wall time as of `at` (the page's clock, ms). */
  clock: { elapsedMs: number; at: number };
  layerMap?: RunLayerMap;
  /** Cancel was pressed and the host has not yet said the job stopped. */
  cancelRequested: boolean;
  /** Steps and evaluations dropped: malformed, or not after the last one. */
  rejected: number;
  renderError?: string;
}

export type RunAction =
  | { type: 'snapshot'; payload: HostToRunEvents['snapshot']; at: number }
  | { type: 'progress'; payload: HostToRunEvents['progress']; at: number }
  | { type: 'header'; header: RunHeader }
  | { type: 'cancel' }
  | { type: 'renderFailed'; message: string };

export const initialRunState: RunState = {
  waiting: true, steps: emptySeries, evalSeries: emptySeries, evals: [], terms: [], stages: [], offset: 0, recent: [], count: 0, phaseAt: 0,
  clock: { elapsedMs: 0, at: 0 }, cancelRequested: false, rejected: 0,
};

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function looksLikeHeader(x: unknown): x is RunHeader {
  const h = x as Partial<RunHeader> | undefined;
  return !!h && typeof h.title === 'string' && typeof h.status === 'string' && typeof h.model === 'string' && typeof h.live === 'boolean';
}

function cleanPlan(x: unknown): RunPlan | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const p = x as Record<string, unknown>;
  const out: RunPlan = {};
  for (const k of ['totalSteps', 'stepsPerEpoch', 'epochs', 'startStep', 'trainExamples', 'evalExamples'] as const) if (finite(p[k]) && (p[k] as number) >= 0) out[k] = p[k] as number;
  if (Array.isArray(p.terms)) out.terms = p.terms.filter((t): t is string => typeof t === 'string');
  return out;
}

function cleanLayerMap(x: unknown): RunLayerMap | undefined {
  const m = x as Partial<RunLayerMap> | undefined;
  if (!m || typeof m !== 'object' || !finite(m.teacherLayers) || !finite(m.studentLayers) || !Array.isArray(m.links)) return undefined;
  return { teacherLayers: m.teacherLayers, studentLayers: m.studentLayers, links: m.links.filter((l) => l && typeof l === 'object') };
}

/** Appends a batch of steps and evaluations: O(batch + RATE_WINDOW + terms), whatever the run's length. */
function appendBatch(state: RunState, rawSteps: unknown, rawEvals: unknown): RunState {
  const steps = Array.isArray(rawSteps) ? (rawSteps as unknown[]) : [];
  const evals = Array.isArray(rawEvals) ? (rawEvals as unknown[]) : [];
  if (!steps.length && !evals.length) return state;
  let { last, offset, rejected, count } = state;
  let terms = state.terms;
  let stages = state.stages;
  const points: SeriesPoint[] = [];
  const recent: Array<{ ms: number; examples: number }> = [];
  for (const raw of steps) {
    const s = raw as Partial<StepLog> | null;
    if (!s || typeof s !== 'object' || !finite(s.step) || typeof s.loss !== 'number') { rejected++; continue; }
    const stage = typeof s.stage === 'string' ? s.stage : undefined;
    const newStage = stage !== last?.stage && (stage !== undefined || last !== undefined);
    // A stage that counts its steps from 0 again continues the axis rather than drawing over the last one.
    if (newStage && last && s.step + offset <= last.x) offset = last.x - s.step + 1;
    const x = s.step + offset;
    if (last && x <= last.x) { rejected++; continue; }
    if (newStage) stages = [...stages, { x, stage: stage ?? '' }];
    const values: Record<string, number> = { loss: s.loss };
    if (s.losses && typeof s.losses === 'object') {
      for (const [k, v] of Object.entries(s.losses)) {
        if (typeof v !== 'number') continue;
        values[`loss_${k}`] = v;
        if (!terms.includes(k)) terms = [...terms, k];
      }
    }
    if (finite(s.lr)) values.lr = s.lr;
    if (typeof s.gradNorm === 'number') values.grad_norm = s.gradNorm;
    points.push({ step: x, values });
    if (finite(s.ms) && s.ms >= 0) recent.push({ ms: s.ms, examples: finite(s.examples) ? s.examples : 0 });
    last = { step: s.step, x, epoch: finite(s.epoch) ? s.epoch : 0, loss: s.loss, ...(stage !== undefined ? { stage } : {}) };
    count++;
  }
  const evalPoints: SeriesPoint[] = [];
  const goodEvals: EvalLog[] = [];
  for (const raw of evals) {
    const e = raw as Partial<EvalLog> | null;
    if (!e || typeof e !== 'object' || !finite(e.step) || typeof e.accuracy !== 'number') { rejected++; continue; }
    const values: Record<string, number> = { accuracy: e.accuracy };
    if (typeof e.loss === 'number') values.eval_loss = e.loss;
    if (typeof e.agreement === 'number') values.agreement = e.agreement;
    if (typeof e.kl === 'number') values.kl = e.kl;
    evalPoints.push({ step: e.step + offset, values });
    goodEvals.push(e as EvalLog);
  }
  const window = recent.length >= RATE_WINDOW ? recent.slice(-RATE_WINDOW) : [...state.recent.slice(Math.max(0, state.recent.length + recent.length - RATE_WINDOW)), ...recent];
  return {
    ...state, last, offset, rejected, count, terms, stages, recent: window,
    steps: points.length ? seriesReducer(state.steps, { type: 'append', points }) : state.steps,
    evalSeries: evalPoints.length ? seriesReducer(state.evalSeries, { type: 'append', points: evalPoints }) : state.evalSeries,
    evals: goodEvals.length ? [...state.evals, ...goodEvals] : state.evals,
  };
}

function withTerms(terms: readonly string[], plan: RunPlan | undefined): readonly string[] {
  const extra = (plan?.terms ?? []).filter((t) => !terms.includes(t));
  return extra.length ? [...terms, ...extra] : terms;
}

export function runReducer(state: RunState, action: RunAction): RunState {
  switch (action.type) {
    case 'snapshot': {
      const p = action.payload;
      if (!p || !looksLikeHeader(p.header)) return { ...state, waiting: false, renderError: 'The run that arrived was incomplete.' };
      const plan = cleanPlan(p.plan);
      const fresh: RunState = {
        ...initialRunState, waiting: false, header: p.header, plan, terms: withTerms([], plan),
        phase: typeof p.phase === 'string' ? p.phase : undefined,
        clock: { elapsedMs: finite(p.elapsedMs) ? p.elapsedMs : 0, at: action.at },
        layerMap: cleanLayerMap(p.layerMap),
      };
      // The host drops a phase once steps follow it, so a snapshot's phase is the current one.
      const next = appendBatch(fresh, p.steps, p.evals);
      return { ...next, phaseAt: next.count };
    }
    case 'progress': {
      const p = action.payload;
      if (!p || typeof p !== 'object' || state.waiting) return state;
      let next = appendBatch(state, p.steps, p.evals);
      const plan = p.plan !== undefined ? cleanPlan(p.plan) : undefined;
      const layerMap = p.layerMap !== undefined ? cleanLayerMap(p.layerMap) : undefined;
      if (plan || layerMap || typeof p.phase === 'string' || finite(p.elapsedMs)) {
        next = {
          ...next,
          ...(layerMap ? { layerMap } : {}),
          ...(plan ? { plan, terms: withTerms(next.terms, plan) } : {}),
          ...(typeof p.phase === 'string' ? { phase: p.phase, phaseAt: next.count } : {}),
          ...(finite(p.elapsedMs) ? { clock: { elapsedMs: p.elapsedMs, at: action.at } } : {}),
        };
      }
      return next;
    }
    case 'header':
      if (!looksLikeHeader(action.header)) return state;
      return { ...state, header: action.header, cancelRequested: action.header.live && state.cancelRequested };
    case 'cancel':
      if (!state.header?.live || state.cancelRequested || state.header.status === 'cancelling') return state;
      return { ...state, cancelRequested: true };
    case 'renderFailed':
      return { ...state, renderError: action.message };
    default:
      return state;
  }
}
