// The demo's generated task: seeded, balanced, fully covered by its tokenizer, and one a bag of
// words cannot solve (the same words in another order carry the other label).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { generateReviews, labelOf, taskTokenizerJson } from '../../../src/core/demo/review-task';
import { loadTokenizer } from '../../../src/core/text/tokenizer';

test('seeded and balanced; the tokenizer knows every word ([CLS] ... [SEP], no [UNK])', () => {
  assert.deepEqual(generateReviews(50, 3), generateReviews(50, 3));
  const train = generateReviews(4000, 1);
  const pos = train.filter((r) => r.label === 1).length / train.length;
  assert.ok(pos > 0.45 && pos < 0.55, `positive share ${pos}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-task-'));
  try {
    const file = path.join(dir, 'tokenizer.json');
    writeFileSync(file, JSON.stringify(taskTokenizerJson()));
    const tok = loadTokenizer(file);
    for (const r of train.slice(0, 500)) {
      const ids = tok.tokenizer.encode(r.text).ids;
      assert.equal(ids[0], tok.tokenizer.token_to_id('[CLS]'));
      assert.equal(ids[ids.length - 1], tok.tokenizer.token_to_id('[SEP]'));
      assert.ok(!ids.includes(tok.unkId!), `no unknown token in "${r.text}"`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('word order decides: a naive Bayes bag of words stays near chance, and equal bags of words carry both labels', () => {
  const train = generateReviews(8000, 1);
  const dev = generateReviews(1000, 2);
  const words = (t: string) => t.split(/[ ,]+/).filter(Boolean);
  const counts = [new Map<string, number>(), new Map<string, number>()];
  const total = [0, 0];
  for (const r of train) for (const w of words(r.text)) { counts[r.label].set(w, (counts[r.label].get(w) ?? 0) + 1); total[r.label]++; }
  const V = new Set([...counts[0].keys(), ...counts[1].keys()]).size;
  const right = dev.filter((r) => {
    const score = [0, 1].map((c) => words(r.text).reduce((a, w) => a + Math.log(((counts[c].get(w) ?? 0) + 1) / (total[c] + V)), 0));
    return (score[1] > score[0] ? 1 : 0) === r.label;
  }).length;
  assert.ok(right / dev.length < 0.65, `bag of words: ${right / dev.length}`);
  for (const r of train) assert.equal(labelOf(r.text), r.label, r.text);
  // The same words, the negation in the other clause: the other label.
  const a = 'the plot was not good, but the cast was great';
  const b = 'the plot was good, but the cast was not great';
  assert.deepEqual(words(a).sort(), words(b).sort());
  assert.deepEqual([labelOf(a), labelOf(b)], [1, 0]);
  assert.deepEqual([labelOf('although the plot was bad, the cast was great'), labelOf('the cast was great, although the plot was bad'), labelOf('the plot was bad, although the cast was great')], [1, 1, 0]);
});
