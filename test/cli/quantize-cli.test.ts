// `compression-lab quantize` as a user runs it (the real bin and worker; `npm run build` first).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { buildEncoderClassifier } from '../../src/core/onnx/bert-builder';
import { writeModel } from '../../src/core/onnx/onnx-writer';
import { writeTokenData } from '../helpers/data';
import { BERT_FAMILY, requireShared } from '../helpers/paths';

requireShared();
const ROOT = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'mcl-quantize-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MODEL = path.join(dir, 'model.onnx');
writeModel(MODEL, buildEncoderClassifier({ family: 'bert', vocabSize: 500, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64, numLabels: 3 }));
const DEV = writeTokenData(path.join(dir, 'dev.jsonl'), 80, 4);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'compression-lab.js'), ...args], { encoding: 'utf8', timeout: 120_000, cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('quantize: the table of quantized and kept-float nodes, bytes before and after, the fusion, the evaluation, the run record', { timeout: 120_000 }, () => {
  const r = cli('quantize', MODEL, '--out', 'model.int8.onnx', '--eval', DEV, '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /weights int8 \(symmetric, [78]-bit, per tensor\); activations uint8, quantized at run time/);
  assert.match(r.stdout, /reduce_range (on|off) \(cpu default: /);
  // 13 MatMuls and the word embeddings (Gather).
  assert.match(r.stdout, /quantized \(14\):/);
  assert.match(r.stdout, /bert\.embeddings\.word_embeddings\.weight\s+500 x 32\s+62\.5 KB\s+15\.6 KB/);
  assert.match(r.stdout, /bert\.encoder\.layer\.0\.attention\.self\.query\.weight \(T\)\s+32 x 32\s+4\.00 KB\s+1\.00 KB/);
  assert.match(r.stdout, /kept float \(5\):/);
  assert.match(r.stdout, /classifier\/MatMul\S*\s+MatMul\s+classifier head, kept float/);
  assert.match(r.stdout, /weights [\d.]+ KB -> [\d.]+ KB \([\d.]+% smaller\); file/);
  assert.match(r.stdout, /parameters ([\d,]+) before, \1 after/);
  assert.match(r.stdout, /onnxruntime runs it as \d+ DynamicQuantizeMatMul \+ \d+ MatMulIntegerToFloat \(com\.microsoft\), 0 MatMulInteger left unfused/);
  assert.match(r.stdout, /on 80 rows: accuracy [\d.]+% float, [\d.]+% quantized; argmax agreement [\d.]+%/);
  assert.match(r.stdout, /latency: compression-lab compare /);
  assert.ok(existsSync(path.join(dir, 'model.int8.onnx')));
  const runs = readdirSync(path.join(dir, '.compression-lab', 'runs')).filter((f) => f.includes('-quantize-'));
  assert.equal(runs.length, 1);
  const record = JSON.parse(readFileSync(path.join(dir, '.compression-lab', 'runs', runs[0]), 'utf8')) as { kind: string; status: string; result: { report: { quantized: unknown[] }; evaluation: { agreement: number } } };
  assert.equal(record.kind, 'quantize');
  assert.equal(record.status, 'complete');
  assert.equal(record.result.report.quantized.length, 14);
  assert.ok(record.result.evaluation.agreement > 0);
});

test('quantize --json, --per-channel, --quantize-head, --exclude (repeated and comma-separated), --reduce-range', { timeout: 120_000 }, () => {
  const r = cli('quantize', path.join(BERT_FAMILY, 'bert-mini', 'model.onnx'), '--out', 'bm.int8.onnx', '--json', '--per-channel', '--quantize-head', '--reduce-range',
    '--exclude', '/bert/layer.0/attention/self/query/MatMul', '--exclude=onnx::MatMul_310,/bert/layer.1/output/dense/MatMul', '--no-run-record');
  assert.equal(r.code, 0, r.stderr);
  // stdout is that one JSON object and nothing else, so a pipe can parse it whole.
  const result = JSON.parse(r.stdout) as { report: { quantized: Array<{ node: string; weight: string }>; skipped: Array<{ node: string; why: string }>; settings: Record<string, unknown> }; cpu: { reduceRange: boolean; source: string } };
  assert.equal(result.report.settings.perChannel, true);
  assert.equal(result.report.settings.excludeHead, false);
  assert.equal(result.cpu.reduceRange, true);
  assert.equal(result.cpu.source, 'option');
  assert.ok(result.report.quantized.some((q) => q.weight === 'classifier.weight'));
  const excluded = result.report.skipped.filter((s) => s.why === 'excluded by name').map((s) => s.node).sort();
  assert.deepEqual(excluded, ['/bert/layer.0/attention/self/key/MatMul', '/bert/layer.0/attention/self/query/MatMul', '/bert/layer.1/output/dense/MatMul']);
  assert.equal(existsSync(path.join(dir, '.compression-lab', 'runs')) && readdirSync(path.join(dir, '.compression-lab', 'runs')).some((f) => f.includes('-quantize-bert-mini')), false);
});

test('quantize: bad input is one line, exit 2 for usage, 1 for files', { timeout: 120_000 }, () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['quantize', '--out', 'x.onnx'], 2, /quantize takes a model/],
    [['quantize', MODEL], 2, /quantize needs --out/],
    [['quantize', MODEL, MODEL, '--out', 'x.onnx'], 2, /quantize takes one model/],
    [['quantize', MODEL, '--out', 'x.onnx', '--weight-type', 'int4'], 2, /--weight-type must be int8, uint8 \(got 'int4'\)/],
    [['quantize', MODEL, '--out', 'x.onnx', '--keep-head', '--quantize-head'], 2, /--keep-head and --quantize-head contradict/],
    [['quantize', MODEL, '--out', 'x.onnx', '--reduce-range', '--no-reduce-range'], 2, /--reduce-range and --no-reduce-range contradict/],
    [['quantize', MODEL, '--out', 'x.onnx', '--tokenizer', DEV], 2, /--tokenizer is for --eval/],
    [['quantize', MODEL, '--out', 'x.onnx', '--exclude'], 2, /--exclude needs a node or weight name/],
    [['quantize', MODEL, '--out', 'x.onnx', '--exclude', 'a,,b'], 2, /--exclude takes names separated by commas/],
    [['quantize', MODEL, '--out', 'x.onnx', '--exclude', 'no.such.node', '--no-run-record'], 2, /--exclude names no MatMul or Gemm node or weight of this model: 'no\.such\.node'/],
    [['quantize', MODEL, '--out', MODEL], 1, /model\.onnx: the quantized model would overwrite the model this job reads/],
    [['quantize', MODEL, '--out', DEV, '--eval', DEV], 1, /the quantized model would overwrite the evaluation data/],
    [['quantize', path.join(dir, 'nope.onnx'), '--out', 'x.onnx', '--no-run-record'], 1, /nope\.onnx: no such file/],
    [['quantize', path.join(BERT_FAMILY, 'bert-mini', 'model.safetensors'), '--out', 'x.onnx', '--no-run-record'], 1, /not an ONNX model \(safetensors\)/],
  ];
  for (const [args, code, says] of cases) {
    const r = cli(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /, args.join(' '));
    assert.match(r.stderr, says);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error: ')).length, 1);
  }
});
