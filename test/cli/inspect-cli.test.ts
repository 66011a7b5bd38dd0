import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { BERT_FAMILY, requireShared } from '../helpers/paths';

requireShared();
const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'compression-lab.js');

/** Runs the real bin as a user would (it needs `npm run build` first, which `npm test` does). */
function cli(...args: string[]) {
  assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm run build)');
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('inspect --json prints the card with the documented fields', () => {
  const r = cli('inspect', path.join(BERT_FAMILY, 'albert-mini', 'model.onnx'), '--json', '--seq', '64');
  assert.equal(r.code, 0, r.stderr);
  const card = JSON.parse(r.stdout);
  assert.equal(card.format, 'onnx');
  assert.equal(card.family, 'ALBERT');
  assert.equal(card.params.total, 64450);
  assert.deepEqual(Object.keys(card.params.byComponent).sort(), ['embeddings', 'encoder', 'head', 'other', 'pooler']);
  assert.equal(card.layers.length, 3);
  assert.deepEqual(card.layers.map((l: { index: number; params: number; sharedWith: number[] }) => [l.index, l.params, l.sharedWith]), [[0, 49984, [1, 2]], [1, 49984, [0, 2]], [2, 49984, [0, 1]]]);
  assert.ok(Array.isArray(card.dtypes) && card.dtypes[0].dtype === 'float32');
  assert.ok(card.bytes.onDisk > 0 && card.bytes.weights === 64450 * 4);
  assert.equal(card.flops.seq, 64);
  assert.ok(card.flops.total > 0);
  assert.equal(card.tensors, undefined, 'tensor table only with --tensors');
});

test('inspect --tensors adds the tensor table; text output names family and parameters', () => {
  const j = JSON.parse(cli('inspect', path.join(BERT_FAMILY, 'distilbert-mini', 'pytorch_model.bin'), '--json', '--tensors').stdout);
  assert.equal(j.params.total, 140482);
  assert.ok(j.tensors.some((t: { name: string; component: string }) => t.name === 'pre_classifier.weight' && t.component === 'head'));
  const text = cli('inspect', path.join(BERT_FAMILY, 'mobilebert-mini'));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /family MobileBERT/);
  assert.match(text.stdout, /parameters {2}38,914 unique/);
  assert.match(text.stdout, /bottleneck width 16/);
});

test('bad input: a clear error naming the file, exit code 1, no stack trace', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcl-cli-'));
  const bad = path.join(dir, 'broken.onnx');
  writeFileSync(bad, readFileSync(path.join(BERT_FAMILY, 'bert-mini', 'model.onnx')).subarray(0, 5000));
  const r = cli('inspect', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const missing = cli('inspect', path.join(dir, 'nope.onnx'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such file/);
});

test('usage errors exit 2 and print usage', () => {
  assert.equal(cli('inspect').code, 2);
  const r = cli('inspect', 'x.onnx', '--seq', 'zero');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--seq must be a positive whole number/);
  assert.equal(cli('frobnicate').code, 2);
});
