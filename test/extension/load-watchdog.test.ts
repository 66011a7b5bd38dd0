// The watchdog behind every panel of ours (real timers): a visible page that stays silent is
// reopened after the time, at most maxReopens times, then given up on; a page that speaks, a
// hidden panel and a closed one are left alone, hiding a panel stops its clock, and a reopen
// that fails ends the watch with the warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadWatchdog } from '../../src/extension/load-watchdog';

const T = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function watched(maxReopens = 2) {
  const reopens: number[] = [];
  let gaveUp = 0;
  const w = new LoadWatchdog({ timeoutMs: T, maxReopens, reopen: (n) => reopens.push(n), giveUp: () => { gaveUp++; } });
  return { w, reopens, gaveUp: () => gaveUp };
}

test('a visible page that stays silent is reopened after the time, then again, then given up on', async () => {
  const { w, reopens, gaveUp } = watched(2);
  w.visible(true);
  await sleep(T / 2);
  assert.deepEqual(reopens, [], 'not before the time');
  await sleep(T);
  assert.deepEqual(reopens, [1]);
  // The replacement panel reports itself visible: its own clock.
  w.visible(true);
  await sleep(T * 1.5);
  assert.deepEqual(reopens, [1, 2]);
  w.visible(true);
  await sleep(T * 1.5);
  assert.deepEqual(reopens, [1, 2], 'no more than maxReopens');
  assert.equal(gaveUp(), 1);
  assert.equal(w.attempts, 2);
  w.visible(true);
  await sleep(T * 1.5);
  assert.equal(gaveUp(), 1, 'given up once, and then silent');
});

test('a page that speaks in time is never reopened', async () => {
  const { w, reopens, gaveUp } = watched();
  w.visible(true);
  await sleep(T / 2);
  w.heard();
  await sleep(T * 2);
  w.visible(false);
  w.visible(true);
  await sleep(T * 2);
  assert.deepEqual(reopens, []);
  assert.equal(gaveUp(), 0);
});

test('a page that speaks after a reopen is left alone from then on', async () => {
  const { w, reopens } = watched();
  w.visible(true);
  await sleep(T * 1.5);
  assert.deepEqual(reopens, [1]);
  w.visible(true);
  w.heard();
  await sleep(T * 2);
  assert.deepEqual(reopens, [1]);
});

test('the clock runs only while the panel is visible', async () => {
  const { w, reopens } = watched();
  await sleep(T * 2);
  assert.deepEqual(reopens, [], 'never shown: VS Code may not have built its frame');
  w.visible(true);
  await sleep(T / 2);
  w.visible(false);
  await sleep(T * 2);
  assert.deepEqual(reopens, [], 'hidden before the time');
  w.visible(true);
  await sleep(T * 1.5);
  assert.deepEqual(reopens, [1], 'a full time again once shown');
});

test('a closed panel is not reopened', async () => {
  const { w, reopens, gaveUp } = watched();
  w.visible(true);
  w.dispose();
  await sleep(T * 2);
  w.visible(true);
  await sleep(T * 2);
  assert.deepEqual(reopens, []);
  assert.equal(gaveUp(), 0);
});

test('a reopen that throws ends the watch with the warning, once', async () => {
  let gaveUp = 0;
  let tried = 0;
  const w = new LoadWatchdog({ timeoutMs: T, maxReopens: 2, reopen: () => { tried++; throw new Error('no panel'); }, giveUp: () => { gaveUp++; } });
  w.visible(true);
  await sleep(T * 1.5);
  w.visible(true);
  await sleep(T * 1.5);
  assert.equal(tried, 1);
  assert.equal(gaveUp, 1);
});
