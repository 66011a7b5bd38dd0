import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint, isMessage, RequestTimeoutError, validSeq, type Message } from '../../src/shared/protocol';
import { UserError } from '../../src/core/errors';
import { ModelReadError } from '../../src/core/model';

type A = { add: { params: { a: number; b: number }; result: number }; fail: { params: Record<string, never>; result: void } };
type Ev = { ping: { n: number } };

/** Two endpoints joined back to back, asynchronously, like postMessage. */
function pair() {
  const ends: { left?: Endpoint<A, Record<string, never>, Record<string, never>, Ev>; right?: Endpoint<Record<string, never>, A, Ev, Record<string, never>> } = {};
  const left = new Endpoint<A, Record<string, never>, Record<string, never>, Ev>((m: Message) => setImmediate(() => ends.right!.receive(m)), 200);
  const right = new Endpoint<Record<string, never>, A, Ev, Record<string, never>>((m: Message) => setImmediate(() => left.receive(m)), 200);
  ends.right = right;
  return { left, right };
}

test('requests are answered by id, errors come back as rejections', async () => {
  const { left, right } = pair();
  right.handle('add', ({ a, b }) => a + b);
  right.handle('fail', () => { throw new Error('nope'); });
  const [x, y] = await Promise.all([left.request('add', { a: 1, b: 2 }), left.request('add', { a: 10, b: 20 })]);
  assert.deepEqual([x, y], [3, 30]);
  await assert.rejects(left.request('fail', {}), /nope/);
});

test('a request nobody answers times out; an unknown method is refused', async () => {
  const silent = new Endpoint<A, Record<string, never>, Record<string, never>, Record<string, never>>(() => {}, 50);
  await assert.rejects(silent.request('add', { a: 1, b: 1 }), RequestTimeoutError);
  const { left } = pair();
  await assert.rejects(left.request('add', { a: 1, b: 1 }), /unknown method 'add'/);
});

test('events reach their listeners; malformed messages are dropped', async () => {
  const { left, right } = pair();
  const got: number[] = [];
  left.on('ping', (p) => got.push(p.n));
  right.emit('ping', { n: 7 });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, [7]);
  for (const bad of [null, 42, 'x', {}, { kind: 'reply', id: 'x', ok: true }, { kind: 'request', id: 1 }, { kind: 'event' }]) {
    assert.equal(isMessage(bad), false, JSON.stringify(bad));
    left.receive(bad);
  }
});

test('failAll rejects what is pending', async () => {
  const ep = new Endpoint<A, Record<string, never>, Record<string, never>, Record<string, never>>(() => {}, 10_000);
  const p = ep.request('add', { a: 1, b: 1 });
  ep.failAll(new Error('worker died'));
  await assert.rejects(p, /worker died/);
});

test('sequence lengths from the webview are validated', () => {
  assert.equal(validSeq({ seq: 128 }), 128);
  for (const bad of [{ seq: 0 }, { seq: 1.5 }, { seq: '128' }, { seq: 2e6 }, null, {}]) assert.equal(validSeq(bad), undefined);
});

test('a user error crosses the channel whole (a UserError with name, code, file, problem); an internal one keeps its stack', async () => {
  const { left, right } = pair();
  right.handle('fail', () => { throw new ModelReadError('/models/x.onnx', 'the file is truncated'); });
  const e = await left.request('fail', {}).then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof UserError, 'still a UserError on this side');
  assert.deepEqual([e.name, e.code, e.file, e.problem, e.message], ['ModelReadError', 'model-unreadable', '/models/x.onnx', 'the file is truncated', '/models/x.onnx: the file is truncated']);
  right.handle('fail', () => { throw new TypeError('x is undefined'); });
  const internal = await left.request('fail', {}).then(() => undefined, (err: unknown) => err as Error);
  assert.ok(internal && !(internal instanceof UserError));
  assert.equal(internal.name, 'TypeError');
  assert.match(internal.stack ?? '', /protocol\.test\.ts/, 'the remote stack');
});
