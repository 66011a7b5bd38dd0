import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { SHARED, requireShared } from '../helpers/paths';

requireShared();
const ROOT = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-train-cli-'));
const TOKENIZER = path.join(SHARED, 'tokenizers', 'bert-base-uncased', 'tokenizer.json');

function cli(...args: string[]) {
  assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm run build)');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), ...args], { encoding: 'utf8', timeout: 120_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('train on SST-2 text with the bert-base-uncased tokenizer: log lines, evaluation, a runnable model', { timeout: 180_000 }, () => {
  const model = path.join(dir, 'model.onnx');
  writeModel(model, buildEncoderClassifier({ family: 'bert', vocabSize: 30522, hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 128, numLabels: 2 }));
  const data = path.join(dir, 'sst2-head.tsv');
  writeFileSync(data, readFileSync(path.join(SHARED, 'data', 'sst2', 'dev.tsv'), 'utf8').split('\n').slice(0, 97).join('\n') + '\n');
  const out = path.join(dir, 'trained.onnx');
  const log = path.join(dir, 'log.jsonl');
  const r = cli('train', '--model', model, '--data', data, '--tokenizer', TOKENIZER, '--out', out, '--max-steps', '4', '--batch-size', '16', '--max-length', '64', '--optimizer', 'sgd', '--lr', '0.1', '--momentum', '0.9', '--eval', data, '--log', log, '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /trained 4 steps/);
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = lines.filter((l) => l.eval === undefined);
  assert.deepEqual(steps.map((l) => l.step), [1, 2, 3, 4]);
  for (const l of steps) assert.ok(Number.isFinite(l.loss) && Number.isFinite(l.lr));
  const evals = lines.filter((l) => l.eval);
  assert.ok(evals.length >= 1 && evals[0].accuracy >= 0 && evals[0].accuracy <= 1);
  const inspect = cli('inspect', out, '--json');
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.equal(JSON.parse(inspect.stdout).family, 'BERT');
});

test('train: bad data names the file and line; usage errors exit 2', () => {
  const model = path.join(dir, 'model.onnx');
  const bad = path.join(dir, 'bad.tsv');
  writeFileSync(bad, 'label\ttext\n1\ta fine row\nnot-a-label-row-without-tab\n');
  const r = cli('train', '--model', model, '--data', bad, '--tokenizer', TOKENIZER, '--out', path.join(dir, 'x.onnx'), '--text-column', 'sentence');
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(cli('train', '--model', model).code, 2);
  assert.equal(cli('train', '--model', model, '--data', bad, '--out', 'x.onnx', '--epochs', '1', '--max-steps', '2').code, 2);
});
