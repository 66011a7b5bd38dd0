import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openModel } from '../../src/core/open-model';
import { analyzeModel } from '../../src/core/analysis/model-card';
import { BERT_FAMILY, SHARED, requireShared } from '../helpers/paths';
import { logitsOf, maxAbsDiff } from '../helpers/encoder-logits';

requireShared();
const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'compression-lab.js');
const TOKENIZER = path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json');
const tmp = mkdtempSync(path.join(tmpdir(), 'mcl-convert-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the real bin as a user would (it needs `npm run build` first, which `npm test` does). */
function cli(...args: string[]) {
  assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm run build)');
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of a shared model folder (config.json and one weights file), so outputs can go beside it. */
function copyModel(name: string, weights = 'model.safetensors'): string {
  const dir = path.join(tmp, `${name}-${readdirSync(tmp).length}`);
  mkdirSync(dir);
  for (const f of ['config.json', weights]) copyFileSync(path.join(BERT_FAMILY, name, f), path.join(dir, f));
  return dir;
}

/** A user error: exit 1 and one line naming the file or flag. */
function oneLineError(r: ReturnType<typeof cli>, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr + r.stdout);
  const first = r.stderr.split('\n')[0];
  assert.match(first, re);
  assert.match(first, /^error: /);
  if (code === 1) assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('convert: a Hugging Face folder becomes the builder ONNX (the exporter\'s logits) and a Hugging Face folder again', async () => {
  const src = copyModel('albert-mini', 'pytorch_model.bin');
  const out = path.join(tmp, 'albert-out', 'model.onnx');
  const hf = path.join(tmp, 'albert-hf');
  const r = cli('convert', src, '--out', out, '--hf-out', hf);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^read .*pytorch_model\.bin \(pytorch\): albert, 3 layers, hidden 64, 2 heads, 2 labels, 64,450 parameters$/m);
  assert.match(r.stdout, /^wrote .*model\.onnx \(/m);
  assert.match(r.stdout, /^wrote .*albert-hf.: config\.json, model\.safetensors$/m);
  assert.doesNotMatch(r.stdout, /warning|checked/, 'a checkpoint has no graph to check against');
  const d = maxAbsDiff(await logitsOf(out, 500), await logitsOf(path.join(BERT_FAMILY, 'albert-mini', 'model.onnx'), 500));
  assert.ok(d < 1e-4, `logits differ by ${d}`);
  const card = analyzeModel(await openModel(hf));
  assert.equal(card.family, 'ALBERT');
  assert.equal(card.params.total, 64450);

  const again = cli('convert', src, '--out', out, '--hf-out', hf);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(replacing its earlier output\)/);
});

test('convert: from an ONNX graph the result is checked against it; warnings are printed', () => {
  const r = cli('convert', path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), '--out', path.join(tmp, 'bert.onnx'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^checked: logits equal the source graph's on 2 x 16 tokens \(max \|difference\| /m);
  const m = cli('convert', copyModel('mobilebert-mini'), '--out', path.join(tmp, 'mobile.onnx'));
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^warning: .*config\.json: normalization_type is not set; Hugging Face's default no_norm is used/m);
});

test('build --tokenizer: the vocabulary is the tokenizer\'s; config.json beside; --hf-out carries the tokenizer; converting the folder back gives the same ONNX', async () => {
  const out = path.join(tmp, 'built', 'model.onnx');
  const hf = path.join(tmp, 'built-hf');
  const r = cli('build', '--family', 'distilbert', '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32', '--tokenizer', TOKENIZER, '--labels', '2', '--seed', '5', '--out', out, '--hf-out', hf);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^built distilbert: 1 layers, hidden 16, 2 heads, vocabulary 30522 \(the tokenizer's\), 2 labels, /m);
  const card = analyzeModel(await openModel(out));
  assert.equal(card.family, 'DistilBERT');
  assert.equal(card.architecture.vocabSize, 30522);
  const config = JSON.parse(readFileSync(path.join(tmp, 'built', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([config.model_type, config.vocab_size, config.dim, config.n_heads, config.num_labels, config.pad_token_id], ['distilbert', 30522, 16, 2, 2, 0]);
  assert.deepEqual(readdirSync(hf).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);

  const back = path.join(tmp, 'built-back.onnx');
  const c = cli('convert', hf, '--out', back);
  assert.equal(c.code, 0, c.stderr);
  assert.ok(readFileSync(back).equals(readFileSync(out)), 'the folder converts back to the very model built');

  const small = cli('build', '--family', 'mobilebert', '--layers', '1', '--hidden', '32', '--bottleneck', '8', '--ffns', '2', '--embedding', '8', '--heads', '2', '--intermediate', '16', '--vocab', '100', '--labels', '3', '--out', path.join(tmp, 'mb.onnx'));
  assert.equal(small.code, 0, small.stderr);
  const mb = analyzeModel(await openModel(path.join(tmp, 'mb.onnx')));
  assert.deepEqual([mb.family, mb.architecture.bottleneckSize, mb.architecture.feedForwardsPerLayer, mb.architecture.numLabels], ['MobileBERT', 8, 2, 3]);
});

test('bad input ends with one line and exit 1 (files) or 2 (usage)', () => {
  const text = path.join(tmp, 'notes.txt');
  writeFileSync(text, 'not a model\n');
  oneLineError(cli('convert', text, '--out', path.join(tmp, 'x.onnx')), 1, /notes\.txt: unsupported file type/);
  const empty = path.join(tmp, 'no-weights');
  mkdirSync(empty);
  writeFileSync(path.join(empty, 'config.json'), '{"model_type": "bert"}');
  oneLineError(cli('convert', empty, '--out', path.join(tmp, 'x.onnx')), 1, /no-weights: no model weights found in this folder/);
  oneLineError(cli('convert', path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), '--out', path.join(BERT_FAMILY, 'bert-mini', 'model.onnx')), 1, /--out would overwrite the model this job reads/);

  const foreign = path.join(tmp, 'foreign');
  mkdirSync(foreign);
  writeFileSync(path.join(foreign, 'model.safetensors'), 'someone else\'s');
  const out = path.join(tmp, 'not-written.onnx');
  oneLineError(cli('convert', copyModel('bert-mini'), '--out', out, '--hf-out', foreign), 1, /foreign: already holds model\.safetensors, not an earlier output of compression-lab/);
  assert.ok(!existsSync(out), 'a refused --hf-out leaves --out unwritten');

  oneLineError(cli('convert', path.join(BERT_FAMILY, 'bert-mini')), 2, /convert needs --out model\.onnx/);
  oneLineError(cli('convert', '--out', 'x.onnx'), 2, /convert takes one model/);
  oneLineError(cli('convert', path.join(BERT_FAMILY, 'bert-mini'), '--out', 'x.safetensors'), 2, /--out must be an \.onnx file/);
  oneLineError(cli('build', '--family', 'bert', '--layers', '2', '--hidden', '32', '--heads', '2', '--out', 'x.onnx'), 2, /build needs --intermediate, --labels, --vocab \(or --tokenizer\)/);
  const base = ['--layers', '2', '--hidden', '32', '--intermediate', '64', '--vocab', '100', '--labels', '2', '--out', path.join(tmp, 'y.onnx')];
  oneLineError(cli('build', '--family', 'bert', '--heads', '3', ...base), 2, /--heads 3 must divide the attention width 32 \(--hidden\)/);
  oneLineError(cli('build', '--family', 'roberta', '--heads', '2', ...base), 2, /--family must be bert, distilbert, albert, mobilebert/);
  oneLineError(cli('build', '--family', 'bert', '--heads', '2', '--bottleneck', '8', ...base), 2, /--bottleneck is for mobilebert models, not bert/);
  oneLineError(cli('build', '--family', 'albert', '--heads', '2', '--groups', '3', ...base), 2, /--groups 3 must divide --layers 2/);
  oneLineError(cli('build', '--family', 'bert', '--heads', '2', '--layers', '0', ...base.slice(2)), 2, /--layers must be a positive whole number/);
  oneLineError(cli('build', '--family', 'bert', '--heads', '2', '--tokenizer', TOKENIZER, ...base), 2, /give --vocab or --tokenizer, not both/);
  oneLineError(cli('build', '--family', 'bert', '--heads', '2', ...base.filter((a, i) => a !== '--vocab' && base[i - 1] !== '--vocab'), '--tokenizer', path.join(tmp, 'none.json')), 1, /none\.json: cannot read the tokenizer/);
});
