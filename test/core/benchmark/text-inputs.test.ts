// Real inputs: SST-2's dev.tsv tokenized with bert-base-uncased's tokenizer.json (@huggingface/tokenizers),
// fed to bert-mini (a 500-token vocabulary: ids past it are mapped, with a warning) and to a builder
// model with bert-base's 30,522-token vocabulary (ids untouched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as ort from 'onnxruntime-node';
import { openModel } from '../../../src/core/open-model';
import { analyzeModel } from '../../../src/core/analysis/model-card';
import { buildEncoderClassifier } from '../../../src/core/onnx/bert-builder';
import { writeModel } from '../../../src/core/onnx/onnx-writer';
import { modelLimits, synthesizeInputs } from '../../../src/core/benchmark/input-synthesis';
import { toFeeds } from '../../../src/core/benchmark/ort-session';
import { readTexts, textBatches, TextInputError, tokenizeTexts } from '../../../src/core/benchmark/text-inputs';
import { BERT_FAMILY, requireShared, SHARED } from '../../helpers/paths';

requireShared();
const DEV = path.join(SHARED, 'data', 'sst2', 'dev.tsv');
const TOKENIZER = path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json');
const CLS = 101, SEP = 102, PAD = 0, UNK = 100;

test("dev.tsv: the header's sentence column, every row", () => {
  const texts = readTexts(DEV);
  assert.equal(texts.length, 872);
  assert.equal(texts[0], 'one long string of cliches .');
  assert.ok(texts.every((t) => !/^[01]\t/.test(t)), 'labels are not part of the text');
  assert.equal(readTexts(DEV, 10).length, 10);
});

test('bert-base-uncased tokenization: [CLS] ... [SEP], WordPiece ids', () => {
  const t = tokenizeTexts(DEV, TOKENIZER, 4);
  assert.deepEqual(t.ids[0], [CLS, 2028, 2146, 5164, 1997, 18856, 17322, 2015, 1012, SEP]); // one long string of cl ##iche ##s .
  assert.equal(t.padId, PAD);
  assert.equal(t.unkId, UNK);
  assert.equal(t.tokenizerVocab, 30522);
  assert.ok(t.specialIds.has(SEP));
});

test('batches are padded (mask 0) or truncated keeping the closing [SEP], cycling through the texts', () => {
  const t = tokenizeTexts(DEV, TOKENIZER, 8);
  const { batches, warnings } = textBatches(t, { batch: 2, seq: 12, maxBatches: 3 });
  assert.equal(batches.length, 3);
  const first = batches[0];
  assert.deepEqual(first.ids[0], [CLS, 2028, 2146, 5164, 1997, 18856, 17322, 2015, 1012, SEP, PAD, PAD]);
  assert.deepEqual(first.mask[0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(first.typeIds[0], new Array(12).fill(0));
  const long = batches[0].ids[1]; // the second dev sentence is 30+ tokens
  assert.equal(long.length, 12);
  assert.equal(long[0], CLS);
  assert.equal(long[11], SEP, 'truncation keeps [SEP] last');
  assert.ok(batches[0].mask[1].every((x) => x === 1));
  assert.match(warnings.join('\n'), /texts were longer than 12 tokens and were truncated/);
  const few = textBatches(tokenizeTexts(DEV, TOKENIZER, 3), { batch: 2, seq: 12, maxBatches: 4 });
  assert.equal(few.batches.length, 2, 'as many batches as the texts fill, rows cycling');
  assert.deepEqual(few.batches[1].ids[1], few.batches[0].ids[0]);
});

test('bert-mini (vocabulary 500) on real text: ids past its table become [UNK] with a warning, and it runs', async () => {
  const model = await openModel(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'));
  const limits = modelLimits(model, analyzeModel(model));
  assert.equal(limits.vocabSize, 500);
  const { batches, warnings } = textBatches(tokenizeTexts(DEV, TOKENIZER, 16), { batch: 4, seq: 32, vocabSize: limits.vocabSize });
  assert.match(warnings[0], /tokenizer\.json knows 30522 tokens but the model's embedding table has 500 rows: \d+ of \d+ token ids \(\d+\.\d%\) were past it and were replaced by id 100 \(\[UNK\]\)\. Timings are still valid/);
  const ids = batches[0].ids.flat();
  assert.ok(ids.every((x) => x < 500));
  assert.ok(ids.includes(CLS) && ids.includes(SEP) && ids.includes(UNK), 'special tokens keep their ids; the rest map to [UNK]');
  const feed = synthesizeInputs(model, { batch: 4, seq: 32, ...limits, text: batches[0] });
  assert.deepEqual(Array.from(feed.tensors[0].values as BigInt64Array, Number), ids);
  assert.deepEqual(Array.from(feed.tensors[1].values as BigInt64Array, Number), batches[0].mask.flat());
  const session = await ort.InferenceSession.create(model.weightsPath);
  try {
    const out = await session.run(toFeeds(feed.tensors));
    assert.deepEqual(out.logits.dims, [4, 3]);
  } finally {
    await session.release();
  }
});

test("a model with bert-base's vocabulary takes the tokenizer's ids unchanged", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-text-'));
  try {
    const file = path.join(dir, 'bert-vocab.onnx');
    writeModel(file, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 2 }));
    const model = await openModel(file);
    const limits = modelLimits(model, analyzeModel(model));
    const t = tokenizeTexts(DEV, TOKENIZER, 8);
    const { batches, warnings } = textBatches(t, { batch: 2, seq: 64, vocabSize: limits.vocabSize });
    assert.ok(!warnings.some((w) => /replaced/.test(w)), warnings.join('\n'));
    assert.deepEqual(batches[0].ids[0].slice(0, 10), t.ids[0]);
    const feed = synthesizeInputs(model, { batch: 2, seq: 64, ...limits, text: batches[0] });
    const session = await ort.InferenceSession.create(file);
    try {
      assert.deepEqual((await session.run(toFeeds(feed.tensors))).logits.dims, [2, 2]);
    } finally {
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad text inputs: errors name the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-text-bad-'));
  try {
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '\n\n');
    assert.throws(() => readTexts(empty), (e: Error) => e instanceof TextInputError && e.message.startsWith(`${empty}: no text found`));
    const lines = path.join(dir, 'lines.txt');
    writeFileSync(lines, 'first text\n\nsecond text\n');
    assert.deepEqual(readTexts(lines), ['first text', 'second text']);
    const missing = path.join(dir, 'tokenizer.json');
    assert.throws(() => tokenizeTexts(lines, missing), (e: Error) => e.message.startsWith(`${missing}: cannot read the tokenizer`));
    writeFileSync(missing, '{"model": ');
    assert.throws(() => tokenizeTexts(lines, missing), (e: Error) => e.message.startsWith(`${missing}: cannot read the tokenizer (`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
