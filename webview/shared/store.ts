// One place for a panel's state: the host's messages and the user's clicks become actions, a pure
// reducer turns the state and an action into the next state, and the DOM code renders from the
// state it is handed. Keeping the reducer pure is what lets it be tested in Node with no DOM, and
// what lets a renderer skip work by comparing the previous state with the new one by identity.

/** A pure function: no DOM, no messages, no clocks. Returns `state` itself when nothing changes. */
export type Reducer<S, A> = (state: S, action: A) => S;

/** Called after each change with the new state and the one before it. */
export type Listener<S> = (state: S, previous: S) => void;

export interface Store<S, A> {
  getState(): S;
  dispatch(action: A): void;
  /** Returns a function that stops the listener. */
  subscribe(listener: Listener<S>): () => void;
}

export function createStore<S, A>(reducer: Reducer<S, A>, initial: S): Store<S, A> {
  let state = initial;
  let listeners: ReadonlyArray<Listener<S>> = [];
  // A listener may dispatch (a render that fails reports it). Running that action at once would
  // hand the listeners after it a state they skipped over; queueing it keeps every listener
  // seeing every change, in order.
  const queue: A[] = [];
  let running = false;

  function dispatch(action: A): void {
    queue.push(action);
    if (running) return;
    running = true;
    try {
      while (queue.length) {
        const previous = state;
        const next = reducer(previous, queue.shift() as A);
        if (next === previous) continue;
        state = next;
        for (const l of listeners) l(next, previous);
      }
    } finally {
      // A listener that throws must not leave the store refusing every later action; what was
      // queued behind the failure goes with it rather than running under a later dispatch.
      running = false;
      queue.length = 0;
    }
  }

  function subscribe(listener: Listener<S>): () => void {
    listeners = [...listeners, listener];
    return () => { listeners = listeners.filter((l) => l !== listener); };
  }

  return { getState: () => state, dispatch, subscribe };
}
