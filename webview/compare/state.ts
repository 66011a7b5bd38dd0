// The comparison panel's state and the pure reducer that moves it: what the host sent (the
// comparison, a job's progress, its outcome, errors) and what the user asked for (a baseline, a
// configuration, a cancel) that the host has not answered yet. main.ts feeds it the host's events
// and the user's clicks through a store and renders what it returns; nothing here touches the DOM,
// so every transition is tested in Node.
import type { BenchmarkConfig } from '../../src/core/benchmark/types';
import type { CompareView } from '../../src/shared/protocol';
import type { ProgressLayout } from '../shared/progress';
import { configKey, looksLikeCompareView } from './view-model';

export interface CompareJob {
  message: string;
  /** 0..1 when the host knows how far along the job is. */
  fraction?: number;
  /** Cancel was asked for and the host has not said the job stopped. */
  cancelling: boolean;
}

/** A choice sent to the host and not yet answered with a new view. */
export type CompareRequest = { baseline: number } | { config: BenchmarkConfig };

export interface CompareState {
  /** The last good comparison the host sent; a bad one leaves it in place. */
  view?: CompareView;
  /** True until the host has said anything (a panel restored after a reload waits for its runs). */
  waiting: boolean;
  job?: CompareJob;
  /** How the last job ended, shown until the next one starts. */
  idleMessage?: string;
  error?: string;
  requested?: CompareRequest;
}

export type CompareAction =
  // From the host. Payloads crossed a frame boundary, so the reducer checks them.
  | { type: 'view'; view: CompareView }
  | { type: 'progress'; message: string; fraction?: number }
  | { type: 'idle'; message?: string }
  | { type: 'error'; message: string }
  // From the page.
  | { type: 'renderFailed'; message: string }
  | { type: 'cancel' }
  | { type: 'selectBaseline'; index: number }
  | { type: 'selectConfig'; config: BenchmarkConfig };

export const initialCompareState: CompareState = { waiting: true };

/**
 * Returns `state` itself for an action that changes nothing (a malformed event, a click on what is
 * already chosen, a second Cancel): main.ts tells the host of a user's choice only when the state
 * changed, so a no-op here is also a message not sent.
 */
export function compareReducer(state: CompareState, action: CompareAction): CompareState {
  switch (action.type) {
    case 'view': {
      // Any view answers what was requested, even one that cannot be shown.
      const answered = { ...state, waiting: false, requested: undefined };
      if (!looksLikeCompareView(action.view)) return { ...answered, error: 'The comparison that arrived was incomplete.' };
      return { ...answered, view: action.view, error: undefined };
    }
    case 'progress': {
      if (typeof action.message !== 'string') return state;
      const fraction = typeof action.fraction === 'number' && Number.isFinite(action.fraction) ? action.fraction : undefined;
      if (!state.job) {
        // A new job: the last one's outcome and errors are history.
        return { ...state, job: { message: action.message, fraction, cancelling: false }, idleMessage: undefined, error: undefined };
      }
      if (state.job.message === action.message && state.job.fraction === fraction) return state;
      return { ...state, job: { ...state.job, message: action.message, fraction } };
    }
    case 'idle':
      return {
        ...state, waiting: false, job: undefined, requested: undefined,
        idleMessage: typeof action.message === 'string' && action.message ? action.message : undefined,
      };
    case 'error':
      return {
        ...state, waiting: false, job: undefined, requested: undefined,
        error: typeof action.message === 'string' && action.message ? action.message : 'unknown problem',
      };
    case 'renderFailed':
      return { ...state, error: `The comparison could not be shown: ${action.message}` };
    case 'cancel':
      if (!state.job || state.job.cancelling) return state;
      return { ...state, job: { ...state.job, cancelling: true } };
    case 'selectBaseline': {
      const { view, requested } = state;
      const i = action.index;
      if (!view || !Number.isInteger(i) || i < 0 || i >= view.models.length) return state;
      const current = requested && 'baseline' in requested ? requested.baseline : view.baseline;
      return i === current ? state : { ...state, requested: { baseline: i } };
    }
    case 'selectConfig': {
      const { view, requested } = state;
      const c = action.config;
      if (!view || ![c?.batch, c?.seq, c?.threads].every((x) => Number.isInteger(x) && x >= 1)) return state;
      const current = requested && 'config' in requested ? requested.config : view.config;
      return configKey(c) === configKey(current) ? state : { ...state, requested: { config: { batch: c.batch, seq: c.seq, threads: c.threads } } };
    }
    default:
      return state;
  }
}

// ---------------------------------------------------------------------------------------------
// What the page shows, derived

export type ProgressShown =
  | { busy: true; message: string; fraction?: number; layout: ProgressLayout; label: string; cancellable: boolean; cancelling: boolean }
  | { busy: false; message?: string };

/**
 * A job as a page of its own before the first comparison and as a banner above one after;
 * 'waiting' before the host has said anything; else the last job's outcome, if any.
 */
export function progressShown(s: CompareState): ProgressShown {
  if (s.job) {
    return { busy: true, message: s.job.message, fraction: s.job.fraction, layout: s.view ? 'banner' : 'page', label: 'Benchmark in progress', cancellable: true, cancelling: s.job.cancelling };
  }
  if (s.waiting && !s.view) return { busy: true, message: 'Waiting for the comparison…', layout: 'page', label: 'Waiting', cancellable: false, cancelling: false };
  return { busy: false, message: s.idleMessage };
}

/** Nothing to compare and nothing on the way. */
export function showsEmpty(s: CompareState): boolean {
  return !s.view && !s.waiting && !s.job;
}

/** The shown comparison is about to be replaced (dimmed, aria-busy). */
export function isPending(s: CompareState): boolean {
  return s.requested !== undefined;
}
