import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, type Reducer } from '../../webview/shared/store';

type Action = { type: 'add'; n: number } | { type: 'noop' };
const counter: Reducer<{ total: number }, Action> = (s, a) => (a.type === 'add' ? { total: s.total + a.n } : s);

test('dispatch runs the reducer; getState returns the latest state', () => {
  const store = createStore(counter, { total: 0 });
  store.dispatch({ type: 'add', n: 2 });
  store.dispatch({ type: 'add', n: 3 });
  assert.equal(store.getState().total, 5);
});

test('listeners hear each change with the state before it, and nothing when the reducer changes nothing', () => {
  const initial = { total: 0 };
  const store = createStore(counter, initial);
  const heard: Array<[number, number]> = [];
  store.subscribe((s, prev) => heard.push([prev.total, s.total]));
  store.dispatch({ type: 'noop' });
  assert.equal(store.getState(), initial);
  store.dispatch({ type: 'add', n: 1 });
  store.dispatch({ type: 'add', n: 1 });
  assert.deepEqual(heard, [[0, 1], [1, 2]]);
});

test('unsubscribe stops a listener, the others go on', () => {
  const store = createStore(counter, { total: 0 });
  let a = 0;
  let b = 0;
  const stopA = store.subscribe(() => { a++; });
  store.subscribe(() => { b++; });
  store.dispatch({ type: 'add', n: 1 });
  stopA();
  store.dispatch({ type: 'add', n: 1 });
  assert.deepEqual([a, b], [1, 2]);
});

test('an action dispatched by a listener runs after every listener has seen the change before it', () => {
  const store = createStore(counter, { total: 0 });
  const seen: string[] = [];
  store.subscribe((s) => { seen.push(`first ${s.total}`); if (s.total === 1) store.dispatch({ type: 'add', n: 10 }); });
  store.subscribe((s, prev) => seen.push(`second ${prev.total}->${s.total}`));
  store.dispatch({ type: 'add', n: 1 });
  assert.deepEqual(seen, ['first 1', 'second 0->1', 'first 11', 'second 1->11']);
  assert.equal(store.getState().total, 11);
});

test('a listener that throws does not wedge the store', () => {
  const store = createStore(counter, { total: 0 });
  let fail = true;
  store.subscribe(() => { if (fail) throw new Error('render failed'); });
  assert.throws(() => store.dispatch({ type: 'add', n: 1 }), /render failed/);
  fail = false;
  store.dispatch({ type: 'add', n: 1 });
  assert.equal(store.getState().total, 2);
});
