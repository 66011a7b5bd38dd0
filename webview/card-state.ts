// The model card's page state and the pure reducer that moves it: progress while the host reads
// the model, the card, or an error with a way to try again. main.ts feeds it the host's events and
// the retry button through a store and renders what it returns. The card's own controls (the
// sequence length, the tensor table's search, sort and page) stay with the elements they drive:
// they never outlive the card they belong to.
import type { ModelCard } from '../src/core/analysis/model-card';

export type CardState =
  | { view: 'progress'; message: string; fraction?: number }
  | { view: 'card'; card: ModelCard; fileName: string }
  | { view: 'error'; file: string; problem: string };

export type CardAction =
  // From the host. Payloads crossed a frame boundary, so the reducer checks them.
  | { type: 'progress'; message: string; fraction?: number }
  | { type: 'card'; card: ModelCard; fileName: string }
  | { type: 'error'; file: string; problem: string }
  // From the page.
  | { type: 'reload' }
  | { type: 'renderFailed'; message: string };

export const initialCardState: CardState = { view: 'progress', message: 'Waiting for the model…' };

/** Returns `state` itself when nothing changes, so main.ts asks the host to reload only once. */
export function cardReducer(state: CardState, action: CardAction): CardState {
  switch (action.type) {
    case 'progress': {
      if (typeof action.message !== 'string') return state;
      const fraction = typeof action.fraction === 'number' && Number.isFinite(action.fraction) ? action.fraction : undefined;
      if (state.view === 'progress' && state.message === action.message && state.fraction === fraction) return state;
      return { view: 'progress', message: action.message, fraction };
    }
    case 'card': {
      const named = typeof action.fileName === 'string' && action.fileName ? action.fileName : undefined;
      if (!looksLikeCard(action.card)) return { view: 'error', file: named ?? 'model', problem: 'The model card that arrived was incomplete.' };
      return { view: 'card', card: action.card, fileName: named ?? action.card.weightsPath };
    }
    case 'error':
      return {
        view: 'error',
        file: typeof action.file === 'string' ? action.file : 'unknown file',
        problem: typeof action.problem === 'string' ? action.problem : 'unknown problem',
      };
    case 'reload':
      return state.view === 'error' ? { view: 'progress', message: 'Opening the model again…' } : state;
    case 'renderFailed':
      return { view: 'error', file: state.view === 'card' ? state.fileName : 'model', problem: `The model card could not be shown: ${action.message}` };
    default:
      return state;
  }
}

/** A structural check of a 'card' payload before it is shown (a bad one is reported, not trusted). */
export function looksLikeCard(x: unknown): x is ModelCard {
  const c = x as Partial<ModelCard> | null;
  return !!c && typeof c === 'object' && Array.isArray(c.tensors) && Array.isArray(c.layers) && Array.isArray(c.dtypes)
    && !!c.params && typeof c.params.total === 'number' && !!c.flops && Array.isArray(c.flops.perLayer)
    && Array.isArray(c.familyEvidence) && Array.isArray(c.warnings) && !!c.bytes && !!c.architecture;
}
