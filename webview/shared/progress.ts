// One progress-and-cancel widget for every panel: a message, a bar when the host says how far
// along it is (a ring when it cannot), and a Cancel button when the work can be stopped; when the
// work is over, the outcome as a status notice, or nothing. It updates its elements in place, so
// a stream of progress events neither rebuilds the DOM nor moves keyboard focus off Cancel.
// The data-testids (progress-view, progress-message, cancel-button, idle-message) are the ones
// the panels had before and the tests find them by.
import { h, replaceChildren, setText } from '../dom';

/** A whole page while nothing else is shown, or a banner above content that stays visible. */
export type ProgressLayout = 'page' | 'banner';

export interface ProgressOptions {
  layout?: ProgressLayout;
  /** Names the status region for screen readers ('Benchmark in progress'). */
  label?: string;
  /** Offers Cancel; called once per piece of work, after which the button says "Cancelling…". */
  onCancel?: () => void;
  /** Classes for the widget's own element, which the page places. */
  className?: string;
}

/** What can change while the widget is on the page. */
export interface ProgressSettings {
  layout?: ProgressLayout;
  label?: string;
  /** Whether Cancel is offered (only with onCancel). */
  cancellable?: boolean;
  /** Cancel was asked for and the work has not stopped yet. */
  cancelling?: boolean;
}

export interface ProgressWidget {
  readonly element: HTMLElement;
  /** Busy: `message`, and a bar at `fraction` (0..1) when there is one, else a ring. */
  update(message: string, fraction?: number): void;
  /** Not busy: `message` as a status notice, or nothing at all. */
  idle(message?: string): void;
  configure(settings: ProgressSettings): void;
}

type ButtonElement = HTMLElement & { disabled: boolean };

/** A fraction as a whole percentage in 0..100; undefined when there is no usable fraction. */
export function percentOf(fraction: number | undefined): number | undefined {
  return typeof fraction === 'number' && Number.isFinite(fraction) ? Math.round(Math.min(1, Math.max(0, fraction)) * 100) : undefined;
}

export function createProgress(options: ProgressOptions = {}): ProgressWidget {
  const settings: Required<Omit<ProgressSettings, 'label'>> & { label?: string } = {
    layout: options.layout ?? 'page', label: options.label, cancellable: !!options.onCancel, cancelling: false,
  };
  let busy = false;
  let pct: number | undefined;

  const ring = h('vscode-progress-ring', { class: 'progress-ring', 'aria-hidden': 'true' });
  const message = h('p', { class: 'state-message', testid: 'progress-message' });
  const fill = h('div', { class: 'progress-fill' });
  const track = h('div', { class: 'progress-track', role: 'progressbar', 'aria-label': 'Progress', 'aria-valuemin': 0, 'aria-valuemax': 100, hidden: true }, fill);
  const cancel = h('vscode-button', {
    testid: 'cancel-button', appearance: 'secondary', 'data-focus': 'cancel', on: { click: () => requestCancel() },
  }, 'Cancel') as ButtonElement;
  const view = h('div', { testid: 'progress-view', role: 'status', 'aria-live': 'polite' }, ring, h('div', { class: 'progress-body' }, message, track));
  const notice = h('p', { class: 'notice', role: 'status', testid: 'idle-message' });
  const element = h('div', { class: ['progress', options.className].filter(Boolean).join(' ') });

  function requestCancel(): void {
    // The button is disabled while cancelling, but a click queued before that must not cancel twice.
    if (!busy || !settings.cancellable || settings.cancelling || !options.onCancel) return;
    settings.cancelling = true;
    render();
    options.onCancel();
  }

  function render(): void {
    if (!busy) return;
    view.className = settings.layout === 'banner' ? 'progress-view progress-banner' : 'progress-view state-view';
    if (settings.label) view.setAttribute('aria-label', settings.label); else view.removeAttribute('aria-label');
    ring.hidden = pct !== undefined;
    track.hidden = pct === undefined;
    if (pct !== undefined) {
      track.setAttribute('aria-valuenow', String(pct));
      fill.style.width = `${pct}%`;
    }
    const offer = settings.cancellable && !!options.onCancel;
    if (offer && cancel.parentElement !== view) view.appendChild(cancel);
    if (!offer && cancel.parentElement) cancel.remove();
    cancel.disabled = settings.cancelling;
    const label = settings.cancelling ? 'Cancelling…' : 'Cancel';
    if (cancel.textContent !== label) setText(cancel, label);
  }

  return {
    element,
    update(text, fraction) {
      if (message.textContent !== text) setText(message, text);
      pct = percentOf(fraction);
      if (!busy) {
        busy = true;
        replaceChildren(element, view);
      }
      render();
    },
    idle(text) {
      busy = false;
      settings.cancelling = false;
      if (text) {
        setText(notice, text);
        replaceChildren(element, notice);
      } else {
        replaceChildren(element);
      }
    },
    configure(change) {
      if (change.layout !== undefined) settings.layout = change.layout;
      if ('label' in change) settings.label = change.label;
      if (change.cancellable !== undefined) settings.cancellable = change.cancellable;
      if (change.cancelling !== undefined) settings.cancelling = change.cancelling;
      render();
    },
  };
}
