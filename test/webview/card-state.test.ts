import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../src/core/open-model';
import { analyzeModel, type ModelCard } from '../../src/core/analysis/model-card';
import { cardReducer, initialCardState, looksLikeCard, type CardAction, type CardState } from '../../webview/card-state';
import { createStore } from '../../webview/shared/store';

const CORPUS = path.resolve(__dirname, '../../../shared/corpus/bert-family');
let albert: Promise<ModelCard> | undefined;
const card = () => (albert ??= openModel(path.join(CORPUS, 'albert-mini')).then((m) => analyzeModel(m)));

function run(...actions: CardAction[]): CardState {
  return actions.reduce(cardReducer, initialCardState);
}

test('the card waits for the model first', () => {
  assert.deepEqual(initialCardState, { view: 'progress', message: 'Waiting for the model…' });
});

test('progress: message and fraction; the same again changes nothing; a malformed event is dropped', () => {
  const s = run({ type: 'progress', message: 'Reading model.onnx' }, { type: 'progress', message: 'Parsing', fraction: 0.4 });
  assert.deepEqual(s, { view: 'progress', message: 'Parsing', fraction: 0.4 });
  assert.equal(cardReducer(s, { type: 'progress', message: 'Parsing', fraction: 0.4 }), s);
  assert.equal(cardReducer(s, { type: 'progress', message: undefined as unknown as string }), s);
  assert.deepEqual(cardReducer(s, { type: 'progress', message: 'Parsing', fraction: Infinity }), { view: 'progress', message: 'Parsing', fraction: undefined });
});

test('card: shown under its file name, or its weights path when the host sent none', async () => {
  const c = await card();
  assert.deepEqual(run({ type: 'card', card: c, fileName: 'model.safetensors' }), { view: 'card', card: c, fileName: 'model.safetensors' });
  assert.deepEqual(run({ type: 'card', card: c, fileName: '' }), { view: 'card', card: c, fileName: c.weightsPath });
  assert.ok(looksLikeCard(c));
});

test('card: an incomplete one is an error naming the file', async () => {
  const c = await card();
  const broken = { ...c, tensors: undefined } as unknown as ModelCard;
  assert.equal(looksLikeCard(broken), false);
  assert.equal(looksLikeCard(null), false);
  assert.deepEqual(run({ type: 'card', card: broken, fileName: 'model.onnx' }), { view: 'error', file: 'model.onnx', problem: 'The model card that arrived was incomplete.' });
  assert.deepEqual(run({ type: 'card', card: null as unknown as ModelCard, fileName: 7 as unknown as string }), { view: 'error', file: 'model', problem: 'The model card that arrived was incomplete.' });
});

test('error: the file and the problem, with words for what is missing', () => {
  assert.deepEqual(run({ type: 'error', file: '/w/broken.onnx', problem: 'truncated' }), { view: 'error', file: '/w/broken.onnx', problem: 'truncated' });
  assert.deepEqual(run({ type: 'error', file: undefined as unknown as string, problem: undefined as unknown as string }), { view: 'error', file: 'unknown file', problem: 'unknown problem' });
});

test('reload: from an error only, to progress', () => {
  const failed = run({ type: 'error', file: 'f', problem: 'p' });
  assert.deepEqual(cardReducer(failed, { type: 'reload' }), { view: 'progress', message: 'Opening the model again…' });
  assert.equal(cardReducer(initialCardState, { type: 'reload' }), initialCardState);
});

test('renderFailed: an error naming the card that could not be shown', async () => {
  const s = run({ type: 'card', card: await card(), fileName: 'model.safetensors' }, { type: 'renderFailed', message: 'no canvas' });
  assert.deepEqual(s, { view: 'error', file: 'model.safetensors', problem: 'The model card could not be shown: no canvas' });
  assert.deepEqual(run({ type: 'renderFailed', message: 'x' }), { view: 'error', file: 'model', problem: 'The model card could not be shown: x' });
});

test('an unknown action changes nothing', () => {
  assert.equal(cardReducer(initialCardState, { type: 'nope' } as unknown as CardAction), initialCardState);
});

test('through the store: Try again twice asks the host to reload once', () => {
  const store = createStore(cardReducer, initialCardState);
  let reloads = 0;
  const retry = () => { const before = store.getState(); store.dispatch({ type: 'reload' }); if (store.getState() !== before) reloads++; };
  store.dispatch({ type: 'error', file: 'f', problem: 'p' });
  retry();
  retry();
  assert.equal(reloads, 1);
  assert.equal(store.getState().view, 'progress');
});
