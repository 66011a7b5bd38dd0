// The data pipeline: TSV/CSV/JSONL parsing, labels, pre-tokenized rows, errors naming file and
// line; SST-2's dev.tsv tokenized with bert-base-uncased's tokenizer.json and batched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DatasetError, describeLabels, readDataset, type DatasetOptions } from '../../../src/core/training/data/dataset';
import { Batcher, keptPositions, loadTokenizer, tokenizeDataset, type LoadedTokenizer } from '../../../src/core/training/data/batcher';
import type { Batch } from '../../../src/core/training/types';
import { requireShared, SHARED } from '../../helpers/paths';

requireShared();
const DEV = path.join(SHARED, 'data', 'sst2', 'dev.tsv');
const TOKENIZER = path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json');
const CLS = 101, SEP = 102, PAD = 0;

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'data-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const f = path.join(tmp, name);
  writeFileSync(f, content);
  return f;
}

/** Asserts a DatasetError whose message starts with "<file>:<line>:" and matches `problem`. */
function fails(f: string, options: DatasetOptions, line: number | undefined, problem: RegExp): void {
  assert.throws(() => readDataset(f, options), (e: unknown) => {
    assert.ok(e instanceof DatasetError, `a DatasetError, got ${e}`);
    assert.equal(e.file, f);
    assert.equal(e.line, line, e.message);
    assert.ok(e.message.startsWith(line === undefined ? `${f}:` : `${f}:${line}: `), e.message);
    assert.match(e.message, problem);
    return true;
  });
}

describe('dataset parsing', () => {
  it('TSV, GLUE style: header, tabs, quotes are ordinary characters, CRLF and blank lines', () => {
    const f = file('a.tsv', 'label\tsentence\r\n1\the said "hi" , twice\r\n\r\n0\t"quoted" start\r\n');
    const ds = readDataset(f);
    assert.equal(ds.kind, 'text');
    assert.equal(ds.textColumn, 'sentence');
    assert.deepEqual(ds.examples, [
      { line: 2, label: 1, text: 'he said "hi" , twice' },
      { line: 4, label: 0, text: '"quoted" start' },
    ]);
    assert.equal(ds.numLabels, 2);
    assert.equal(ds.labelNames, undefined);
    assert.deepEqual(ds.labelCounts, [1, 1]);
  });

  it('CSV, RFC 4180: quoted commas, doubled quotes, line breaks in quotes; string labels mapped to sorted ids', () => {
    const f = file('a.csv', 'text,label,extra\n"hello, world",pos,x\n"she said ""hi""",neg,\n"two\nlines",pos,"z"\nplain,neutral,\n');
    const ds = readDataset(f);
    assert.deepEqual(ds.examples.map((e) => [e.line, e.text, e.label]), [
      [2, 'hello, world', 2],
      [3, 'she said "hi"', 0],
      [4, 'two\nlines', 2],
      [6, 'plain', 1],
    ]);
    assert.deepEqual(ds.labelNames, ['neg', 'neutral', 'pos']);
    assert.equal(describeLabels(ds), 'label ids: 0="neg" (1), 1="neutral" (1), 2="pos" (2)');
    // The dev set maps with the training set's names, even when it lacks a class.
    const dev = readDataset(file('dev.csv', 'text,label\na,pos\nb,neg\n'), { labelNames: ds.labelNames });
    assert.deepEqual(dev.examples.map((e) => e.label), [2, 0]);
    assert.equal(dev.numLabels, 3);
    assert.match(dev.warnings.join(), /no examples of label 1 \(neutral\)/);
  });

  it('JSONL with named columns; --text-column / --label-column; sentence pairs', () => {
    const f = file('a.jsonl', '{"premise": "a cat", "hypothesis": "an animal", "gold": 1}\n\n{"premise": "x", "hypothesis": "y", "gold": 0}\n');
    const ds = readDataset(f, { textColumn: 'premise', textPairColumn: 'hypothesis', labelColumn: 'gold' });
    assert.deepEqual(ds.examples, [
      { line: 1, label: 1, text: 'a cat', textPair: 'an animal' },
      { line: 3, label: 0, text: 'x', textPair: 'y' },
    ]);
    assert.equal(readDataset(file('t.jsonl', '{"text": "only", "label": "yes"}\n')).examples[0].text, 'only');
  });

  it('pre-tokenized rows: input_ids with optional attention_mask / token_type_ids, as given', () => {
    const f = file('tok.jsonl', [
      '{"input_ids": [101, 7, 8, 102], "attention_mask": [1, 1, 1, 1], "token_type_ids": [0, 0, 1, 1], "label": 1}',
      '{"input_ids": [101, 9, 102], "label": 0}',
    ].join('\n'));
    const ds = readDataset(f);
    assert.equal(ds.kind, 'tokenized');
    assert.deepEqual(ds.examples[0], { line: 1, label: 1, inputIds: [101, 7, 8, 102], attentionMask: [1, 1, 1, 1], tokenTypeIds: [0, 0, 1, 1] });
    assert.deepEqual(ds.examples[1], { line: 2, label: 0, inputIds: [101, 9, 102] });
    // In a TSV cell: a JSON list or space-separated ids.
    const t = readDataset(file('tok.tsv', 'input_ids\tlabel\n[101, 5, 102]\t0\n101 6 102\t1\n'));
    assert.deepEqual(t.examples.map((e) => e.inputIds), [[101, 5, 102], [101, 6, 102]]);
  });

  it('bad inputs: errors name the file and the line', () => {
    fails(file('nolabel.tsv', 'sentence\tscore\nhi\t1\n'), {}, 1, /no label column 'label' in the header \(columns: 'sentence', 'score'\); name the label column/);
    fails(file('notext.tsv', 'label\tbody\n1\thi\n'), {}, 1, /no text column: looked for 'sentence' and 'text' and 'input_ids'/);
    fails(file('nocol.tsv', 'label\tsentence\n1\thi\n'), { textColumn: 'review' }, 1, /no text column 'review'/);
    fails(file('short.tsv', 'label\tsentence\n1\tok\n0\n'), {}, 3, /1 tab-separated field but the header has 2 \(missing 'sentence'\)/);
    fails(file('badlabel.tsv', 'label\tsentence\n1\ta\n0\tb\npositive\tc\n'), {}, 4, /bad label "positive": not an integer, but the labels before it are integer ids \(line 2 has 1\)/);
    fails(file('float.jsonl', '{"text": "a", "label": 0.5}\n'), {}, 1, /bad label 0.5/);
    fails(file('neg.tsv', 'label\tsentence\n-1\ta\n'), {}, 2, /bad label -1: class ids must be integers >= 0/);
    fails(file('empty.csv', 'text,label\na,\n'), {}, 2, /empty label/);
    fails(file('unknown.csv', 'text,label\na,maybe\n'), { labelNames: ['neg', 'pos'] }, 2, /bad label "maybe": not one of the label names "neg", "pos"/);
    fails(file('trunc.jsonl', '{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n{"text": "c", "lab'), {}, 3, /not valid JSON \(the line looks truncated\)/);
    fails(file('array.jsonl', '["a", 1]\n'), {}, 1, /each line must be a JSON object, found an array/);
    fails(file('ragged.jsonl', '{"input_ids": [1, 2, 3], "label": 0}\n{"input_ids": [1, 2, 3], "attention_mask": [1, 1], "label": 0}\n'), {}, 2, /ragged row: 'input_ids' has 3 ids but 'attention_mask' has 2/);
    fails(file('badids.jsonl', '{"input_ids": [1, "x"], "label": 0}\n'), {}, 1, /'input_ids'\[1\] is "x": expected an integer >= 0/);
    fails(file('mixed.jsonl', '{"input_ids": [1, 2], "label": 0}\n{"text": "b", "label": 0}\n'), {}, 2, /missing 'input_ids'/);
    fails(file('textnum.jsonl', '{"text": "a", "label": 0}\n{"text": 5, "label": 0}\n'), {}, 2, /text 'text' must be a string, found 5/);
    fails(file('quote.csv', 'text,label\n"fine",1\n"never closed,1\nmore,0\n'), {}, 3, /a quoted field is never closed/);
    fails(file('after.csv', 'text,label\n"a"b,1\n'), {}, 2, /unexpected "b" after a closing quote/);
    fails(file('nofmt.txt', 'x'), {}, undefined, /cannot tell the format from the extension '.txt'/);
    fails(path.join(tmp, 'absent.tsv'), {}, undefined, /cannot read the file \(ENOENT\)/);
    fails(file('headeronly.tsv', 'label\tsentence\n'), {}, undefined, /a header but no rows/);
  });
});

describe('truncation', () => {
  const special = new Set([CLS, SEP]);
  it('keeps [CLS] and the closing [SEP]; pairs lose tokens from the longer text first', () => {
    const single = [CLS, 1, 2, 3, 4, 5, SEP];
    assert.deepEqual(keptPositions(single, special, 5).map((i) => single[i]), [CLS, 1, 2, 3, SEP]);
    const pair = [CLS, 1, 2, 3, 4, 5, 6, SEP, 7, 8, SEP];
    assert.deepEqual(keptPositions(pair, special, 8).map((i) => pair[i]), [CLS, 1, 2, 3, SEP, 7, 8, SEP]);
    assert.deepEqual(keptPositions(pair, special, 7).map((i) => pair[i]), [CLS, 1, 2, SEP, 7, 8, SEP]);
    assert.deepEqual(keptPositions(pair, special, 6).map((i) => pair[i]), [CLS, 1, 2, SEP, 7, SEP], 'on a tie, the second text loses first');
    assert.deepEqual(keptPositions([1, 2, 3, 4], special, 2), [0, 1], 'no specials: a plain cut');
  });
});

describe('SST-2 dev.tsv with bert-base-uncased', () => {
  let tok: LoadedTokenizer;
  before(() => {
    tok = loadTokenizer(TOKENIZER);
  });

  function rowsOf(b: Batch): Array<{ ids: bigint[]; mask: bigint[]; types: bigint[] }> {
    return Array.from({ length: b.batch }, (_, r) => ({
      ids: [...b.inputIds.subarray(r * b.seq, (r + 1) * b.seq)],
      mask: [...b.attentionMask.subarray(r * b.seq, (r + 1) * b.seq)],
      types: [...(b.tokenTypeIds as BigInt64Array).subarray(r * b.seq, (r + 1) * b.seq)],
    }));
  }

  it('reads 872 rows with integer labels; tokenizes [CLS] ... [SEP]', () => {
    const ds = readDataset(DEV);
    assert.equal(ds.examples.length, 872);
    assert.equal(ds.examples[0].text, 'one long string of cliches .');
    assert.equal(ds.examples[0].line, 2);
    assert.deepEqual(ds.labelCounts, [428, 444]);
    const td = tokenizeDataset(ds, tok, { maxLength: 128, vocabSize: 30522, numLabels: 2 });
    assert.equal(td.size, 872);
    assert.deepEqual([...td.ids.subarray(td.offsets[0], td.offsets[1])], [CLS, 2028, 2146, 5164, 1997, 18856, 17322, 2015, 1012, SEP]);
    assert.equal(td.truncated, 0);
    assert.equal(td.typeIds, null, 'single sentences: all type ids are 0');
    assert.equal(td.padId, PAD);
    assert.throws(() => tokenizeDataset(ds, tok, { maxLength: 128, vocabSize: 500 }), (e: Error) => e instanceof DatasetError && e.message.startsWith(`${DEV}:2: token id`) && /not this model's tokenizer/.test(e.message));
    assert.throws(() => tokenizeDataset(ds, tok, { maxLength: 128, numLabels: 1 }), /label 1 is past the model's 1 classes/);
  });

  it('each batch is padded to its own longest row; masks, pads and [SEP] are right', () => {
    const td = tokenizeDataset(readDataset(DEV), tok, { maxLength: 128 });
    const batcher = new Batcher(td, { batchSize: 32, seed: 3 });
    assert.equal(batcher.batchesPerEpoch, 28); // 27 full + 8 rows
    const seen = new Set<number>();
    const seqs = new Set<number>();
    for (const { rows, batch } of batcher.epoch(0)) {
      const lengths = [...rows].map((r) => td.offsets[r + 1] - td.offsets[r]);
      assert.equal(batch.seq, Math.max(...lengths), 'padded to the longest row of this batch');
      assert.equal(batch.inputIds.length, batch.batch * batch.seq);
      seqs.add(batch.seq);
      rowsOf(batch).forEach((row, k) => {
        const len = lengths[k];
        assert.deepEqual(row.mask, [...Array(len).fill(1n), ...Array(batch.seq - len).fill(0n)]);
        assert.deepEqual(row.ids.slice(len), Array(batch.seq - len).fill(BigInt(PAD)));
        assert.equal(row.ids[0], BigInt(CLS));
        assert.equal(row.ids[len - 1], BigInt(SEP));
        assert.deepEqual(row.ids.slice(0, len), [...td.ids.subarray(td.offsets[rows[k]], td.offsets[rows[k] + 1])].map(BigInt));
        assert.ok(row.types.every((t) => t === 0n));
        assert.equal(batch.labels[k], BigInt(td.labels[rows[k]]));
        seen.add(rows[k]);
      });
    }
    assert.equal(seen.size, 872, 'every row once per epoch');
    assert.ok(seqs.size > 1, 'batches have different lengths');
    // Without type ids, and with lengths rounded up to a multiple of 8.
    const b8 = new Batcher(td, { batchSize: 32, tokenTypeIds: false, padToMultipleOf: 8 });
    const first = b8.epoch(0).next().value?.batch as Batch;
    assert.equal(first.tokenTypeIds, undefined);
    assert.equal(first.seq % 8, 0);
  });

  it('truncation to a short maximum keeps the final [SEP]', () => {
    const td = tokenizeDataset(readDataset(DEV), tok, { maxLength: 16 });
    assert.ok(td.truncated > 400, `${td.truncated} rows truncated`);
    for (let r = 0; r < td.size; r++) {
      const len = td.offsets[r + 1] - td.offsets[r];
      assert.ok(len <= 16);
      assert.equal(td.ids[td.offsets[r] + len - 1], SEP);
      assert.equal(td.ids[td.offsets[r]], CLS);
    }
  });

  it('length buckets cut padding; same seed, same order; other seeds and epochs, other orders', () => {
    const td = tokenizeDataset(readDataset(DEV), tok, { maxLength: 128 });
    const plain = new Batcher(td, { batchSize: 16, seed: 7 });
    const bucketed = new Batcher(td, { batchSize: 16, seed: 7, bucketBatches: 8 });
    const p = plain.paddingStats(0);
    const b = bucketed.paddingStats(0);
    assert.equal(p.tokens, b.tokens);
    assert.ok(b.padTokens < p.padTokens / 3, `padding tokens: ${b.padTokens} with buckets, ${p.padTokens} without`);
    // Count the padding from the batches themselves too.
    let pads = 0;
    for (const { batch } of bucketed.epoch(0)) pads += batch.attentionMask.filter((m) => m === 0n).length;
    assert.equal(pads, b.padTokens);

    const order = (bt: Batcher, epoch: number) => bt.order(epoch).map((rows) => [...rows].join(',')).join(';');
    assert.equal(order(bucketed, 0), order(new Batcher(td, { batchSize: 16, seed: 7, bucketBatches: 8 }), 0));
    assert.notEqual(order(bucketed, 0), order(new Batcher(td, { batchSize: 16, seed: 8, bucketBatches: 8 }), 0));
    assert.notEqual(order(bucketed, 0), order(bucketed, 1));
    assert.equal(new Set(bucketed.order(1).flatMap((rows) => [...rows])).size, 872, 'buckets also cover every row once');
    const unshuffled = new Batcher(td, { batchSize: 16, shuffle: false });
    assert.deepEqual([...unshuffled.order(0)[0]], Array.from({ length: 16 }, (_, i) => i));
    assert.equal(new Batcher(td, { batchSize: 16, dropLast: true }).batchesPerEpoch, 54);
  });

  it('resuming mid-epoch gives the same remaining batches', () => {
    const td = tokenizeDataset(readDataset(DEV), tok, { maxLength: 128 });
    const options = { batchSize: 32, seed: 11, bucketBatches: 4 };
    const whole = [...new Batcher(td, options).epoch(2)];
    const resumed = new Batcher(td, options);
    assert.equal(resumed.orderKey(), new Batcher(td, options).orderKey());
    const rest = [...resumed.epoch(2, 10)];
    assert.equal(rest.length, whole.length - 10);
    rest.forEach((r, k) => {
      const w = whole[k + 10];
      assert.equal(r.position, w.position);
      assert.deepEqual(r.rows, w.rows);
      assert.deepEqual(r.batch, w.batch);
    });
    assert.deepEqual([...resumed.epoch(2, whole.length)], [], 'resuming at the end: nothing left');
    assert.throws(() => [...resumed.epoch(2, whole.length + 1)], /outside epoch 2/);
  });

  it('sentence pairs: [CLS] a [SEP] b [SEP] with type ids, truncated longest first', () => {
    const f = file('pairs.jsonl', '{"s1": "the cat sat on the long mat today", "s2": "a cat sat", "label": 1}\n');
    const td = tokenizeDataset(readDataset(f, { textColumn: 's1', textPairColumn: 's2' }), tok, { maxLength: 10 });
    const b = new Batcher(td, { batchSize: 1 }).batch([0]);
    const text = tok.tokenizer.decode([...b.inputIds].map(Number));
    assert.equal(text, '[CLS] the cat sat on [SEP] a cat sat [SEP]');
    assert.deepEqual([...(b.tokenTypeIds as BigInt64Array)], [0n, 0n, 0n, 0n, 0n, 0n, 1n, 1n, 1n, 1n]);
    assert.equal(td.truncated, 1);
  });

  it('a missing or broken tokenizer.json is an error naming it', () => {
    assert.throws(() => loadTokenizer(path.join(tmp, 'none.json')), (e: Error) => e.message.startsWith(path.join(tmp, 'none.json')) && /cannot read the tokenizer/.test(e.message));
    const ds = readDataset(DEV, { limit: 3 });
    assert.equal(ds.examples.length, 3);
    assert.throws(() => tokenizeDataset(ds, undefined, { maxLength: 8 }), /the rows are text: a tokenizer \(tokenizer.json\) is needed/);
  });

  it('pre-tokenized rows are batched as given (their masks kept)', () => {
    const f = file('pre.jsonl', [
      '{"input_ids": [101, 7, 8, 102], "attention_mask": [1, 1, 1, 0], "token_type_ids": [0, 0, 1, 1], "label": 1}',
      '{"input_ids": [101, 9, 102], "label": 0}',
    ].join('\n'));
    const td = tokenizeDataset(readDataset(f), tok, { maxLength: 8 });
    const b = new Batcher(td, { batchSize: 2, shuffle: false }).batch([0, 1]);
    assert.equal(b.seq, 4);
    assert.deepEqual([...b.inputIds], [101n, 7n, 8n, 102n, 101n, 9n, 102n, 0n]);
    assert.deepEqual([...b.attentionMask], [1n, 1n, 1n, 0n, 1n, 1n, 1n, 0n]);
    assert.deepEqual([...(b.tokenTypeIds as BigInt64Array)], [0n, 0n, 1n, 1n, 0n, 0n, 0n, 0n]);
    assert.deepEqual([...b.labels], [1n, 0n]);
  });
});
